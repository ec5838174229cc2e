//! A small per-thread pseudo-random generator for the macros' fair start.
//!
//! `select!` and [`race`](crate::future::race) pick which future to poll
//! first at random, so that one that is always ready cannot starve the
//! others. That needs a number that is cheap and unpredictable enough, not
//! one that is good for statistics or secrets: xorshift64* is three shifts
//! and a multiply, and its upper bits are well spread.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

thread_local! {
    /// The generator's state on this thread; 0 until the first draw seeds
    /// it.
    ///
    /// # Invariant
    ///
    /// Never 0 once seeded: xorshift maps 0 to 0 for ever.
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// The multiplier of xorshift64* (Vigna, "An experimental exploration of
/// Marsaglia's xorshift generators, scrambled").
const MULTIPLIER: u64 = 0x2545_f491_4f6c_dd1d;

/// A seed that differs between threads and between runs: std's
/// `RandomState` draws its keys from the operating system once per thread
/// and changes them at each call.
fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    // `| 1`: a zero state would stay zero.
    hasher.finish() | 1
}

/// A number in `0..n`, drawn from this thread's generator.
///
/// # Panics
///
/// If `n` is 0.
pub(crate) fn below(n: u32) -> u32 {
    assert!(n > 0, "no number lies in 0..0");
    let state = STATE.with(|cell| {
        let mut x = cell.get();
        if x == 0 {
            x = seed();
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        cell.set(x);
        x
    });
    // The upper 32 bits of the scrambled state, scaled into 0..n by a
    // multiply and a shift (Lemire's trick; no division, a bias of at most
    // n / 2^32).
    let bits = state.wrapping_mul(MULTIPLIER) >> 32;
    ((bits * u64::from(n)) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::below;

    #[test]
    fn stays_in_range_and_reaches_every_value() {
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            let n = below(7);
            seen[n as usize] += 1;
        }
        // Each value is expected 1,000 times; 700 is far outside chance.
        assert!(seen.iter().all(|&count| count > 700), "{seen:?}");
    }

    #[test]
    fn one_value_range() {
        assert!((0..100).all(|_| below(1) == 0));
    }

    #[test]
    fn threads_draw_different_sequences() {
        let draw = || (0..8).map(|_| below(u32::MAX)).collect::<Vec<_>>();
        let here = draw();
        let there = std::thread::spawn(draw).join().unwrap();
        assert_ne!(here, there);
    }
}
