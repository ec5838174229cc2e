//! [`Histogram`]: durations counted in power-of-two buckets, in fixed
//! memory.

use std::time::Duration;

/// How many buckets: the last holds everything from about 1 s up.
const BUCKETS: usize = 21;

/// Durations counted in buckets whose bounds double: bucket 0 holds
/// everything under 1 µs, bucket `i` from 2^(i-1) µs up to 2^i µs, and the
/// last everything from about half a second up. From
/// [`Metrics::poll_time_histogram`](crate::Metrics::poll_time_histogram)
/// and [`Metrics::schedule_latency_histogram`](crate::Metrics::schedule_latency_histogram).
///
/// # Examples
///
/// ```
/// let rt = runtime::Builder::new().enable_metrics_histograms().build()?;
/// rt.block_on(async {
///     runtime::spawn(async {}).await.unwrap();
/// });
/// let polls = rt.metrics().poll_time_histogram.expect("enabled");
/// assert_eq!(polls.total(), 1);
/// assert!(polls.bucket_range(0).end <= std::time::Duration::from_micros(1));
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Histogram {
    /// How many durations fell in each bucket.
    counts: [u64; BUCKETS],
}

impl Histogram {
    /// Counts one duration.
    pub(crate) fn record(&mut self, duration: Duration) {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        let bucket = (u64::BITS - micros.leading_zeros()) as usize;
        self.counts[bucket.min(BUCKETS - 1)] += 1;
    }

    /// How many buckets there are.
    pub fn bucket_count(&self) -> usize {
        BUCKETS
    }

    /// How many durations fell in bucket `i`.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`bucket_count`](Histogram::bucket_count).
    pub fn bucket(&self, i: usize) -> u64 {
        self.counts[i]
    }

    /// The durations bucket `i` holds (the last one's end is `Duration::MAX`).
    ///
    /// # Panics
    ///
    /// If `i` is not below [`bucket_count`](Histogram::bucket_count).
    pub fn bucket_range(&self, i: usize) -> std::ops::Range<Duration> {
        assert!(i < BUCKETS, "bucket {i} of {BUCKETS}");
        let start = if i == 0 { 0 } else { 1u64 << (i - 1) };
        let end = if i + 1 == BUCKETS {
            Duration::MAX
        } else {
            Duration::from_micros(1u64 << i)
        };
        Duration::from_micros(start)..end
    }

    /// How many durations were counted in all.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_duration_lands_in_the_bucket_whose_range_holds_it() {
        let mut histogram = Histogram::default();
        for micros in [0u64, 1, 2, 3, 1_000, 999_999, 10_000_000] {
            let d = Duration::from_micros(micros);
            let before = histogram;
            histogram.record(d);
            let bucket = (0..BUCKETS)
                .find(|&i| histogram.bucket(i) != before.bucket(i))
                .unwrap();
            assert!(
                histogram.bucket_range(bucket).contains(&d),
                "{micros} us in {bucket}"
            );
        }
        assert_eq!(histogram.total(), 7);
    }
}
