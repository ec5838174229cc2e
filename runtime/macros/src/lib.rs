//! `#[runtime::main]` and `#[runtime::test]`: the attribute macros of the
//! `runtime` crate, which re-exports them (behind its default feature
//! `macros`) and documents them with examples; use them from there.
//!
//! Both turn an `async fn` into a plain `fn` whose body builds a runtime
//! and blocks on the original body:
//!
//! ```text
//! #[runtime::main]                      fn main() -> R {
//! async fn main() -> R {          =>        ::runtime::Runtime::new()
//!     body                                      .expect("...")
//! }                                             .block_on(async { body })
//!                                       }
//! ```
//!
//! `#[runtime::test]` does the same and adds `#[test]`;
//! `#[runtime::test(start_paused = true)]` builds the runtime with
//! `runtime::Builder::new().start_paused(true).build()`.
//!
//! The crate depends on nothing but `proc_macro`: the function and the
//! options are parsed by hand (`function.rs`, `options.rs`), and each
//! misuse becomes a `compile_error!` at the user's offending tokens
//! (`error.rs`). The expansion is in `expand.rs`.

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod error;
mod expand;
mod function;
mod options;

/// Which attribute is expanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[runtime::main]`.
    Main,
    /// `#[runtime::test]`.
    Test,
}

impl Kind {
    /// The attribute as the user writes it, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "runtime::main",
            Kind::Test => "runtime::test",
        }
    }

    /// The options it takes, for messages.
    pub(crate) fn options(self) -> &'static str {
        match self {
            Kind::Main => "`flavor = \"current_thread\"` and `crate = \"path\"`",
            Kind::Test => {
                "`start_paused = true`, `flavor = \"current_thread\"` and `crate = \"path\"`"
            }
        }
    }
}

/// Runs an `async fn main` on a new runtime: see `runtime::main`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, args, item)
}

/// Runs an `async fn` test on a new runtime: see `runtime::test`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Test, args, item)
}
