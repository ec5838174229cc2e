//! The macros tokio users type: [`select!`](crate::select),
//! [`join!`](crate::join), [`try_join!`](crate::try_join) and
//! [`pin!`](crate::pin), written with
//! `macro_rules!` alone, and the little they need at run time.
//!
//! The macros are exported at the crate root, as `#[macro_export]` puts
//! them; what their expansions call lives in [`__private`], which is
//! public only so that the expansions, compiled in the user's crate, can
//! reach it. It is not part of the API.

mod join;
mod maybe_done;
mod pin;
pub(crate) mod rng;
mod select;

/// What the macros' expansions call; not part of the API, and it may
/// change at any time.
#[doc(hidden)]
pub mod __private {
    pub use super::maybe_done::MaybeDone;

    /// A number in `0..n` from this thread's generator: where `select!`
    /// starts polling.
    #[inline]
    pub fn random_below(n: u32) -> u32 {
        super::rng::below(n)
    }

    /// The index `offset` places after `start`, going round `0..count`:
    /// the order in which the macros visit their futures. A function
    /// rather than an inline `%`, which would be `% 1` for one future and
    /// trip clippy's `modulo_one` in the user's crate.
    #[inline]
    pub fn nth_after(start: u32, offset: u32, count: u32) -> u32 {
        (start + offset) % count
    }
}
