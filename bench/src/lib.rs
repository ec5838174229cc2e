//! Helpers shared by the benchmarks: interleaved rounds, medians, a
//! deterministic PRNG, and the side-by-side report.
//!
//! Each benchmark runs the same workload on our runtime and on tokio's
//! `current_thread` runtime, alternating between them for several rounds so
//! that noise from a shared machine hits both alike, and reports the median
//! time per operation of each and their ratio.

use std::time::{Duration, Instant};

pub mod affinity;
pub mod server_args;
pub mod socket_echo;
pub mod tokio_echo;

/// Rounds per benchmark; the median is reported.
pub const ROUNDS: usize = 5;

/// A small xorshift PRNG: deterministic, fast, no dependency.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

/// The median of some durations.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times `f` once.
pub fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Runs `ours` and `tokio` alternately for [`ROUNDS`] rounds; each returns
/// the time its measured part took for `ops` operations. Prints one line:
/// nanoseconds per operation for each and the ratio ours / tokio.
pub fn compare(
    name: &str,
    ops: u64,
    mut ours: impl FnMut() -> Duration,
    mut tokio: impl FnMut() -> Duration,
) -> f64 {
    let mut ours_samples = Vec::new();
    let mut tokio_samples = Vec::new();
    for _ in 0..ROUNDS {
        ours_samples.push(ours());
        tokio_samples.push(tokio());
    }
    let ours_ns = median(ours_samples).as_nanos() as f64 / ops as f64;
    let tokio_ns = median(tokio_samples).as_nanos() as f64 / ops as f64;
    let ratio = ours_ns / tokio_ns;
    println!("{name:<40} ours {ours_ns:>9.1} ns/op   tokio {tokio_ns:>9.1} ns/op   ours/tokio {ratio:>5.2}");
    ratio
}

/// A tokio `current_thread` runtime with time and I/O enabled.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build tokio's runtime")
}
