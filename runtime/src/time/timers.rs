//! The timer store: a binary min-heap of deadlines over a slab of wakers.
//!
//! * **Insert** puts the waker in the slab and `(deadline, key)` on the
//!   heap: O(1) for the slab, O(log n) worst case for the heap (O(1) on
//!   average for random deadlines).
//! * **Cancel** removes the slab entry only: O(1). Its heap entry goes
//!   stale; the slab key's generation makes sure it can never match a later
//!   timer that reuses the slot. Stale entries are skipped when they reach
//!   the top, and the heap is compacted whenever they reach half the number
//!   of live timers, so a million create-and-drop cycles leave it empty.
//! * **Fire** pops due entries from the top: O(log n) each.
//!
//! Measured with `cargo bench -p bench --bench runtime` (a million sleeps
//! with random deadlines: insert, cancel half, fire the rest): an ordered
//! map keyed by `(deadline, id)` pays a tree walk through cold memory for
//! every insert and cancel; this heap, with 16-byte entries and compaction
//! of stale ones, came out faster than both it and tokio's timer wheel on
//! the machine it was measured on (see the README).

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::slab::{Key, Slab};
use crate::trace::Tracer;

/// Names a pending timer in the store.
pub(crate) type TimerKey = Key;

/// Heap entries below which compaction is not worth it.
const MIN_COMPACT_LEN: usize = 1024;

/// The store's state, behind one `RefCell`.
struct Inner {
    /// The waker of every pending timer.
    wakers: Slab<Waker>,
    /// `(deadline, key)` of every pending timer, earliest on top, plus stale
    /// entries of cancelled ones. Deadlines are nanoseconds after `origin`,
    /// which keeps an entry at 16 bytes: a million fit in fewer cache lines.
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    /// The instant deadlines are counted from.
    origin: Instant,
    /// Timers removed (cancelled or fired) since memory was last given
    /// back: the check runs once per that many, so that it costs O(1) per
    /// removal, amortised.
    removed_since_shrink: usize,
}

impl Default for Inner {
    fn default() -> Inner {
        Inner {
            wakers: Slab::default(),
            heap: BinaryHeap::new(),
            origin: Instant::now(),
            removed_since_shrink: 0,
        }
    }
}

impl Inner {
    /// `instant` as nanoseconds after `origin` (0 for anything before it:
    /// such a deadline has passed anyway). Exact: `Instant` counts
    /// nanoseconds too.
    fn nanos(&self, instant: Instant) -> u64 {
        let nanos = instant.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// Whether the heap holds so many stale entries that compacting pays.
    fn needs_compaction(&self) -> bool {
        let (heap, live) = (self.heap.len(), self.wakers.len());
        heap > MIN_COMPACT_LEN && heap > live + live / 2
    }

    /// Gives memory back once most of it is free: the slab's free tail
    /// and the heap's spare capacity. A burst of a million timeouts does
    /// not pin their memory for the life of the runtime.
    fn give_back_memory(&mut self) {
        if self.removed_since_shrink < MIN_COMPACT_LEN.max(self.wakers.slots() / 2) {
            return;
        }
        self.removed_since_shrink = 0;
        self.wakers.shrink();
        let (len, capacity) = (self.heap.len(), self.heap.capacity());
        if capacity > MIN_COMPACT_LEN && capacity > 4 * len {
            self.heap.shrink_to(2 * len);
        }
    }

    /// Drops stale entries from the top of the heap.
    fn skip_stale(&mut self) {
        while let Some(&Reverse((_, key))) = self.heap.peek() {
            if self.wakers.get(Key::from_u64(key)).is_some() {
                return;
            }
            self.heap.pop();
        }
    }
}

/// The runtime's pending timers.
#[derive(Default)]
pub(crate) struct Timers {
    /// The store.
    inner: RefCell<Inner>,
    /// Wakers of due timers, woken after the borrow ends; reused.
    due: RefCell<Vec<Waker>>,
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("pending", &self.len())
            .finish()
    }
}

impl Timers {
    /// Adds a timer for `deadline` that wakes `waker`.
    pub(crate) fn insert(&self, deadline: Instant, waker: &Waker) -> TimerKey {
        let mut inner = self.inner.borrow_mut();
        let key = inner.wakers.insert(waker.clone());
        let deadline = inner.nanos(deadline);
        inner.heap.push(Reverse((deadline, key.to_u64())));
        key
    }

    /// Replaces the waker of a pending timer; false if it already fired or
    /// was cancelled.
    pub(crate) fn update(&self, key: TimerKey, waker: &Waker) -> bool {
        let mut inner = self.inner.borrow_mut();
        let Some(stored) = inner.wakers.get_mut(key) else {
            return false;
        };
        if !stored.will_wake(waker) {
            let old = std::mem::replace(stored, waker.clone());
            drop(inner);
            drop(old); // dropping a waker may run arbitrary code: no borrow held
        }
        true
    }

    /// Cancels a timer (a no-op if it already fired).
    pub(crate) fn remove(&self, key: TimerKey) {
        let removed = {
            let mut inner = self.inner.borrow_mut();
            let removed = inner.wakers.remove(key);
            if inner.needs_compaction() {
                let Inner { wakers, heap, .. } = &mut *inner;
                heap.retain(|&Reverse((_, key))| wakers.get(Key::from_u64(key)).is_some());
            }
            inner.removed_since_shrink += 1;
            inner.give_back_memory();
            removed
        };
        drop(removed); // after the borrow, as above
    }

    /// True if no timer is pending (the heap may hold stale entries).
    pub(crate) fn is_empty(&self) -> bool {
        self.inner.borrow().heap.is_empty()
    }

    /// The earliest deadline among the timers whose waker's data address
    /// is `waker_data`: what a task dump says a task waits for.
    pub(crate) fn deadline_of(&self, waker_data: usize) -> Option<Instant> {
        let inner = self.inner.borrow();
        inner
            .heap
            .iter()
            .filter(|Reverse((_, key))| {
                inner
                    .wakers
                    .get(Key::from_u64(*key))
                    .is_some_and(|waker| waker.data() as usize == waker_data)
            })
            .map(|Reverse((deadline, _))| inner.origin + Duration::from_nanos(*deadline))
            .min()
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.inner.borrow().wakers.len()
    }

    /// The earliest pending deadline: `None` without timers.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let mut inner = self.inner.borrow_mut();
        inner.skip_stale();
        let &Reverse((deadline, _)) = inner.heap.peek()?;
        Some(inner.origin + Duration::from_nanos(deadline))
    }

    /// Wakes every timer whose deadline is `now` or earlier, telling
    /// `tracer` whom each wakes.
    pub(crate) fn fire_due(&self, now: Instant, tracer: Option<&Tracer>) {
        let mut inner = self.inner.borrow_mut();
        if inner.heap.is_empty() {
            return;
        }
        let mut due = std::mem::take(&mut *self.due.borrow_mut());
        {
            let now = inner.nanos(now);
            while let Some(&Reverse((deadline, key))) = inner.heap.peek() {
                if deadline > now {
                    break;
                }
                inner.heap.pop();
                due.extend(inner.wakers.remove(Key::from_u64(key)));
                inner.removed_since_shrink += 1;
            }
            inner.give_back_memory();
            drop(inner);
        }
        for waker in due.drain(..) {
            if let Some(tracer) = tracer {
                tracer.timer_fired(waker.data() as usize);
            }
            waker.wake();
        }
        *self.due.borrow_mut() = due;
    }

    /// Drops every timer (runtime shutdown).
    pub(crate) fn clear(&self) {
        let all = std::mem::take(&mut *self.inner.borrow_mut());
        drop(all);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn due_timers_fire_once_and_cancelled_ones_never() {
        let timers = Timers::default();
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let past = Instant::now();
        let future = past + Duration::from_secs(3600);
        let a = timers.insert(past, &waker);
        let b = timers.insert(past, &waker);
        let _later = timers.insert(future, &waker);
        timers.remove(b);
        assert_eq!(timers.len(), 2);
        timers.fire_due(Instant::now(), None);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(timers.len(), 1);
        assert!(!timers.update(a, &waker), "a fired timer cannot be updated");
        timers.fire_due(Instant::now(), None);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(timers.next_deadline().unwrap() > Instant::now() + Duration::from_secs(3500));
    }

    #[test]
    fn cancelled_timers_do_not_pile_up_in_the_heap() {
        let timers = Timers::default();
        let waker = Waker::from(Arc::new(Count::default()));
        let far = Instant::now() + Duration::from_secs(3600);
        let _live = timers.insert(far, &waker);
        for i in 0..100_000u64 {
            let key = timers.insert(far + Duration::from_nanos(i), &waker);
            timers.remove(key);
        }
        assert_eq!(timers.len(), 1);
        let heap_len = timers.inner.borrow().heap.len();
        assert!(
            heap_len <= MIN_COMPACT_LEN + 1,
            "heap kept {heap_len} stale entries"
        );
    }

    #[test]
    fn a_million_cancelled_timers_give_their_memory_back() {
        let timers = Timers::default();
        let waker = Waker::from(Arc::new(Count::default()));
        let far = Instant::now() + Duration::from_secs(3600);
        // A long-lived timer, then a burst of a million timeouts that are
        // all cancelled. (The slab gives back its free *tail*: a timer
        // registered after the burst and still pending would hold it until
        // it fires.)
        let _live = timers.insert(far, &waker);
        let keys: Vec<TimerKey> = (0..1_000_000u64)
            .map(|i| timers.insert(far + Duration::from_nanos(i), &waker))
            .collect();
        let full = timers.inner.borrow().wakers.capacity();
        assert!(full >= 1_000_000);
        for key in keys {
            timers.remove(key);
        }
        assert_eq!(timers.len(), 1);
        let inner = timers.inner.borrow();
        assert!(
            inner.wakers.capacity() < full / 100,
            "the slab kept room for {} timers",
            inner.wakers.capacity()
        );
        assert!(
            inner.heap.capacity() <= 4 * MIN_COMPACT_LEN,
            "the heap kept room for {} entries",
            inner.heap.capacity()
        );
    }

    #[test]
    fn fired_timers_give_their_memory_back() {
        let timers = Timers::default();
        let waker = Waker::from(Arc::new(Count::default()));
        let now = Instant::now();
        for _ in 0..100_000 {
            timers.insert(now, &waker);
        }
        timers.fire_due(now, None);
        assert_eq!(timers.len(), 0);
        let inner = timers.inner.borrow();
        assert!(
            inner.wakers.capacity() < 1_000,
            "{}",
            inner.wakers.capacity()
        );
        assert!(
            inner.heap.capacity() <= 4 * MIN_COMPACT_LEN,
            "{}",
            inner.heap.capacity()
        );
    }

    #[test]
    fn a_stale_heap_entry_does_not_fire_the_slots_next_owner() {
        let timers = Timers::default();
        let early = Arc::new(Count::default());
        let late = Arc::new(Count::default());
        let now = Instant::now();
        let cancelled = timers.insert(now, &Waker::from(early.clone()));
        timers.remove(cancelled);
        // Reuses the slot, with a later deadline.
        let _reused = timers.insert(now + Duration::from_secs(3600), &Waker::from(late.clone()));
        timers.fire_due(Instant::now(), None);
        assert_eq!(late.0.load(Ordering::SeqCst), 0);
        assert_eq!(early.0.load(Ordering::SeqCst), 0);
        assert_eq!(timers.len(), 1);
    }
}
