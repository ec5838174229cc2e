//! Who waits on one direction of one registration: [`Waiters`], and the
//! [`PollingTask`] that lets a task of this runtime park by id.
//!
//! # Parking by id
//!
//! While the executor polls a task it tells the reactor the task's id and
//! the identity of its waker ([`PollingTask`]). A `poll_*` call whose
//! context carries exactly that waker parks the id, a plain `Copy` value,
//! instead of a clone of the waker, and the turn hands woken ids straight to
//! the executor's run queue: no reference count changes hands, no
//! thread-local is looked up and no waker vtable is called on the hot path.
//! Any other waker (the `block_on` future's, a combinator's own, another
//! executor's) is parked and woken as a `Waker`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::task::{RawWakerVTable, Waker};

use crate::slab::Key;

/// Waiters parked on one direction of one slot before they are all evicted
/// (woken), until evictions show that more of them are alive; see
/// [`Waiters::park`].
pub(crate) const MAX_PARKED: usize = 64;

/// The task the executor is polling right now, as the reactor sees it: its
/// id, and the identity of the waker the executor handed to `poll`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PollingTask {
    /// The task's slab key in the executor.
    id: Key,
    /// The waker's data pointer; compared, never dereferenced.
    waker_data: *const (),
    /// The waker's vtable; compared, never called.
    waker_vtable: *const RawWakerVTable,
}

impl PollingTask {
    /// Task `id`, polled with `waker`.
    pub(crate) fn new(id: Key, waker: &Waker) -> PollingTask {
        PollingTask {
            id,
            waker_data: waker.data(),
            waker_vtable: waker.vtable(),
        }
    }

    /// The task's slab key.
    pub(crate) fn id(&self) -> Key {
        self.id
    }

    /// True if `waker` is the very waker the task is polled with: same
    /// data and same vtable. (While the task is being polled its waker is
    /// alive, so no other waker can share that data pointer.) A clone made
    /// elsewhere may carry a different copy of the vtable and not match;
    /// that only costs the fast path, never a wake-up.
    fn polls_with(&self, waker: &Waker) -> bool {
        std::ptr::eq(waker.data(), self.waker_data)
            && std::ptr::eq(waker.vtable(), self.waker_vtable)
    }
}

/// One parked waiter.
#[derive(Debug)]
pub(crate) enum Waiter {
    /// A task of this runtime, parked by id: waking it is a push onto the
    /// run queue.
    Task(Key),
    /// Any other waker.
    Waker(Waker),
}

impl Waiter {
    /// Wakes the waiter: a task id goes to `wake_task`.
    #[inline]
    pub(crate) fn wake(self, wake_task: &mut impl FnMut(Key)) {
        match self {
            Waiter::Task(id) => wake_task(id),
            Waiter::Waker(waker) => waker.wake(),
        }
    }
}

/// A waiter about to park, borrowed so that a waker already parked is not
/// cloned again.
#[derive(Debug, Clone, Copy)]
enum Parking<'a> {
    /// The polled task, by id.
    Task(Key),
    /// Any other waker.
    Waker(&'a Waker),
}

impl Parking<'_> {
    /// True if `parked` wakes the same task.
    fn is(self, parked: &Waiter) -> bool {
        match (self, parked) {
            (Parking::Task(id), Waiter::Task(parked)) => id == *parked,
            (Parking::Waker(waker), Waiter::Waker(parked)) => waker.will_wake(parked),
            _ => false,
        }
    }

    /// The waiter to store.
    fn to_waiter(self) -> Waiter {
        match self {
            Parking::Task(id) => Waiter::Task(id),
            Parking::Waker(waker) => Waiter::Waker(waker.clone()),
        }
    }

    /// Who this waiter is, for recognising it after an eviction.
    fn identity(self) -> Identity {
        match self {
            Parking::Task(id) => Identity::Task(id),
            Parking::Waker(waker) => Identity::of(waker),
        }
    }
}

/// Who a parked waiter is, kept after the waiter itself was evicted: a
/// task id, or a waker's data and vtable addresses (compared, never
/// dereferenced, and holding no reference count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Identity {
    /// A task of this runtime.
    Task(Key),
    /// Any other waker.
    Waker(usize, usize),
}

impl Identity {
    /// The identity of `waker`.
    fn of(waker: &Waker) -> Identity {
        Identity::Waker(waker.data() as usize, waker.vtable() as *const _ as usize)
    }
}

/// The tasks parked on one direction of one slot.
///
/// The first waiter is stored inline, so the common case (one task per
/// direction) allocates nothing; a waiter that would wake the same task as
/// one already stored is not stored again, so the list is bounded by the
/// number of distinct tasks waiting.
///
/// # Stale waiters and the limit
///
/// A poll-based read has no hook to run when its future is dropped, so a
/// waiter whose future is gone stays parked until the direction's next
/// event. Many short-lived tasks parking on a socket that never becomes
/// ready would pile up, so the list has a limit: when it is full, every
/// waiter is evicted, that is woken (a spurious wake: a task still
/// interested polls and parks again, a finished one ignores it). Only the
/// live ones come back, and they are counted: the next limit is
/// [`MAX_PARKED`] plus twice the number that came back since the previous
/// eviction. So a socket with more live waiters than the limit evicts a
/// few times, the limit grows past them, and it settles (never a busy
/// loop); dead waiters never raise the limit, so memory stays
/// proportional to the live ones.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    /// The first parked waiter.
    first: Option<Waiter>,
    /// Further waiters, one per other waiting task.
    ///
    /// # Invariant
    ///
    /// Empty whenever `first` is `None`.
    rest: Vec<Waiter>,
    /// Waiters recent evictions woke that have not parked again since, with
    /// the count of those that have; `None` until the first eviction.
    evicted: Option<Box<Evicted>>,
}

/// What [`Waiters`] remembers of its recent evictions.
#[derive(Debug, Default)]
struct Evicted {
    /// Who was evicted and has not come back yet. An evicted waker is kept
    /// (a clone) so that its address cannot be reused by a new waker that
    /// would then pass for it.
    waiting_to_return: HashMap<Identity, Option<Waker>>,
    /// How many evicted waiters came back.
    returned: usize,
    /// The current limit on parked waiters.
    limit: usize,
}

impl Waiters {
    /// Parks the polled task on `waiters`: by id if `waker` is the one
    /// the executor polls it with (`polling`), else as a waker. Waiters
    /// evicted to make room are woken; their ids go to `wake_task`.
    ///
    /// The common case, the polled task parking by id on a list that is
    /// empty and has never evicted anyone (so there is no return to count),
    /// is inlined; everything else goes through [`Waiters::park`], out of
    /// line, so that the ready path around it stays small.
    #[inline]
    pub(crate) fn park_polled(
        waiters: &RefCell<Waiters>,
        polling: Option<PollingTask>,
        waker: &Waker,
        wake_task: impl FnMut(Key),
    ) {
        let waiter = match polling {
            Some(task) if task.polls_with(waker) => Parking::Task(task.id),
            _ => Parking::Waker(waker),
        };
        if let Parking::Task(id) = waiter {
            let mut parked = waiters.borrow_mut();
            if parked.first.is_none() && parked.evicted.is_none() {
                parked.first = Some(Waiter::Task(id));
                return;
            }
        }
        Waiters::park_slow(waiters, waiter, wake_task);
    }

    /// [`Waiters::park_polled`] for every case but the common one.
    #[inline(never)]
    fn park_slow(waiters: &RefCell<Waiters>, waiter: Parking<'_>, mut wake_task: impl FnMut(Key)) {
        let evicted = waiters.borrow_mut().park(waiter);
        if let Some(evicted) = evicted {
            evicted
                .into_iter()
                .for_each(|waiter| waiter.wake(&mut wake_task));
        }
    }

    /// True if the task with slab key `task`, or a waker whose data
    /// address is `waker_data`, is parked here (for task dumps).
    pub(crate) fn holds(&self, task: Key, waker_data: usize) -> bool {
        self.first
            .iter()
            .chain(&self.rest)
            .any(|waiter| match waiter {
                Waiter::Task(id) => *id == task,
                Waiter::Waker(waker) => waker.data() as usize == waker_data,
            })
    }

    /// How many waiters may be parked before the next eviction.
    fn limit(&self) -> usize {
        self.evicted.as_ref().map_or(MAX_PARKED, |e| e.limit)
    }

    /// Parks `waiter` unless the same task is already parked here; when
    /// the list is full, evicts every waiter parked so far and returns
    /// them to be woken (see the type's docs).
    #[must_use = "the returned waiters must be woken, after the borrow ends"]
    fn park(&mut self, waiter: Parking<'_>) -> Option<Vec<Waiter>> {
        match &self.first {
            None => {
                self.first = Some(waiter.to_waiter());
                self.note_return(waiter);
            }
            Some(first) if waiter.is(first) => {}
            Some(_) => {
                if self.rest.iter().any(|parked| waiter.is(parked)) {
                    return None;
                }
                if self.rest.len() + 2 > self.limit() {
                    return Some(self.evict_all_for(waiter));
                }
                self.rest.push(waiter.to_waiter());
                self.note_return(waiter);
            }
        }
        None
    }

    /// Counts `waiter` if the last eviction woke it: it is alive.
    fn note_return(&mut self, waiter: Parking<'_>) {
        if let Some(evicted) = &mut self.evicted {
            if evicted
                .waiting_to_return
                .remove(&waiter.identity())
                .is_some()
            {
                evicted.returned += 1;
            }
        }
    }

    /// Evicts every parked waiter, leaves `waiter` as the only one, and
    /// sets the next limit from how many of the previous eviction's
    /// waiters came back.
    #[cold]
    fn evict_all_for(&mut self, waiter: Parking<'_>) -> Vec<Waiter> {
        let mut evicted = std::mem::take(&mut self.rest);
        evicted.extend(self.first.replace(waiter.to_waiter()));
        let memory = self.evicted.get_or_insert_with(Box::default);
        memory.limit = MAX_PARKED + 2 * memory.returned;
        memory.returned = 0;
        // Live waiters may come back only after the next eviction or two
        // (the run queue is first in, first out), so the evicted are
        // remembered across evictions, up to a few limits' worth: dead
        // ones never come back and must not be kept for ever.
        if memory.waiting_to_return.len() > 4 * memory.limit {
            memory.waiting_to_return.clear();
        }
        memory
            .waiting_to_return
            .extend(evicted.iter().map(|waiter| match waiter {
                Waiter::Task(id) => (Identity::Task(*id), None),
                Waiter::Waker(waker) => (Identity::of(waker), Some(waker.clone())),
            }));
        evicted
    }

    /// Takes every waiter parked in `waiters` and hands each to `wake`,
    /// with no borrow held while it runs (a waker may do anything, even
    /// park again here).
    #[inline(always)]
    pub(crate) fn wake_all(waiters: &RefCell<Waiters>, wake: &mut impl FnMut(Waiter)) {
        let mut parked = waiters.borrow_mut();
        // `rest` only fills once `first` is taken, so no first, no waiter:
        // the common case for the direction an event did not change.
        let Some(first) = parked.first.take() else {
            return;
        };
        if parked.rest.is_empty() {
            // The next common case: one waiter.
            drop(parked);
            wake(first);
            return;
        }
        let rest = std::mem::take(&mut parked.rest);
        drop(parked);
        wake(first);
        Waiters::wake_rest(rest, wake);
    }

    /// Hands the waiters beyond the first to `wake`.
    #[cold]
    fn wake_rest(rest: Vec<Waiter>, wake: &mut impl FnMut(Waiter)) {
        rest.into_iter().for_each(wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn parked_wakers_are_bounded_and_evicted_ones_are_woken() {
        let waiters = RefCell::new(Waiters::default());
        let parked: Vec<Arc<CountingWaker>> = (0..MAX_PARKED * 3)
            .map(|_| {
                let counter = Arc::new(CountingWaker::default());
                let waker = Waker::from(counter.clone());
                Waiters::park_polled(&waiters, None, &waker, |_| {});
                counter
            })
            .collect();
        let waiters = waiters.borrow();
        assert!(waiters.rest.len() < MAX_PARKED);
        let woken = parked
            .iter()
            .filter(|w| w.0.load(Ordering::SeqCst) == 1)
            .count();
        assert_eq!(
            woken + waiters.rest.len() + 1,
            parked.len(),
            "every waker is parked or woken"
        );
    }

    #[test]
    fn the_polled_task_is_parked_once_by_id() {
        let waiters = RefCell::new(Waiters::default());
        let waker = Waker::from(Arc::new(CountingWaker::default()));
        let task = PollingTask::new(Key::from_u64(3), &waker);
        Waiters::park_polled(&waiters, Some(task), &waker, |_| {});
        Waiters::park_polled(&waiters, Some(task), &waker, |_| {});
        let mut woken = Vec::new();
        Waiters::wake_all(&waiters, &mut |waiter| woken.push(waiter));
        assert!(matches!(woken[..], [Waiter::Task(id)] if id == Key::from_u64(3)));
    }

    #[test]
    fn live_waiters_beyond_the_limit_settle_after_a_few_evictions() {
        // 150 live tasks keep parking on one direction: every evicted one
        // parks again at once, as a task still waiting would.
        let wakers: Vec<Waker> = (0..150)
            .map(|_| Waker::from(Arc::new(CountingWaker::default())))
            .collect();
        let mut waiters = Waiters::default();
        let mut evictions = 0;
        let mut to_park: Vec<usize> = (0..wakers.len()).collect();
        while let Some(i) = to_park.pop() {
            if let Some(evicted) = waiters.park(Parking::Waker(&wakers[i])) {
                evictions += 1;
                assert!(evictions <= 8, "evictions do not settle: {evictions}");
                for waiter in evicted {
                    let Waiter::Waker(waker) = waiter else {
                        unreachable!()
                    };
                    let j = wakers.iter().position(|w| w.will_wake(&waker)).unwrap();
                    to_park.insert(0, j);
                }
            }
        }
        assert_eq!(waiters.rest.len() + 1, wakers.len(), "all 150 are parked");
        // Dead waiters do not raise the limit: after 1,000 that never come
        // back, it is down to the minimum, and what is remembered of them
        // stays bounded.
        let bound = MAX_PARKED + 2 * wakers.len();
        for _ in 0..1_000 {
            let dead = Waker::from(Arc::new(CountingWaker::default()));
            let _ = waiters.park(Parking::Waker(&dead));
            assert!(waiters.rest.len() < bound);
        }
        assert_eq!(waiters.limit(), MAX_PARKED);
        let remembered = waiters.evicted.as_ref().unwrap().waiting_to_return.len();
        assert!(
            remembered <= 5 * bound,
            "{remembered} evicted waiters remembered"
        );
    }
}
