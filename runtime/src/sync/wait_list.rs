//! [`WaitList`]: the wakers of a channel's receivers, for the channels that
//! wake all of them at once ([`broadcast`](super::broadcast) and
//! [`watch`](super::watch)).
//!
//! Each receiver owns one slot for its whole life, so registering,
//! refreshing and withdrawing its waker is an index, not a search, and a
//! send that wakes a hundred receivers walks only the slots that hold a
//! waker. It lives inside the channel's mutex, like every waiter list here:
//! wakers are collected under the lock and woken after it.

use std::task::Waker;

use super::update;

/// The receivers' wakers: see the module docs.
///
/// # Invariant
///
/// `listed` holds each slot at most once: exactly the slots whose `listed`
/// flag is set. So it never grows past the number of slots, which never
/// grows past the most receivers alive at once.
#[derive(Debug, Default)]
pub(super) struct WaitList {
    /// One per receiver alive (or per free slot, kept for reuse).
    slots: Vec<Slot>,
    /// Free slots.
    free: Vec<usize>,
    /// Slots that may hold a waker since the last [`WaitList::take_all`].
    listed: Vec<usize>,
}

/// One receiver's place.
#[derive(Debug, Default)]
struct Slot {
    /// Its task, while it waits.
    waker: Option<Waker>,
    /// True while the slot is in `listed`.
    listed: bool,
}

impl WaitList {
    /// A slot for a new receiver.
    pub(super) fn add(&mut self) -> usize {
        match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot::default());
                self.slots.len() - 1
            }
        }
    }

    /// Frees the slot of a receiver that is gone; returns its waker, to
    /// drop after unlocking.
    pub(super) fn remove(&mut self, index: usize) -> Option<Waker> {
        self.free.push(index);
        self.slots[index].waker.take()
    }

    /// Stores the receiver's waker unless the one there wakes the same
    /// task; returns the replaced one, to drop after unlocking.
    pub(super) fn register(&mut self, index: usize, waker: &Waker) -> Option<Waker> {
        let slot = &mut self.slots[index];
        if !slot.listed {
            slot.listed = true;
            self.listed.push(index);
        }
        match &mut slot.waker {
            Some(stored) => update(stored, waker),
            None => {
                slot.waker = Some(waker.clone());
                None
            }
        }
    }

    /// Withdraws the receiver's waker (its wait was dropped); returns it,
    /// to drop after unlocking.
    pub(super) fn withdraw(&mut self, index: usize) -> Option<Waker> {
        self.slots[index].waker.take()
    }

    /// Moves every stored waker into `wakers`, to wake after unlocking.
    pub(super) fn take_all(&mut self, wakers: &mut Vec<Waker>) {
        // One allocation for them all, rather than a doubling per power of
        // two: a broadcast to 100 receivers wakes 100 at once.
        wakers.reserve(self.listed.len());
        for index in self.listed.drain(..) {
            let slot = &mut self.slots[index];
            slot.listed = false;
            wakers.extend(slot.waker.take());
        }
    }

    /// True if no receiver is waiting.
    pub(super) fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_util::Counter;
    use super::*;

    #[test]
    fn registering_again_and_again_lists_a_slot_once() {
        let mut list = WaitList::default();
        let slot = list.add();
        let waker = Waker::from(Counter::new());
        for _ in 0..100 {
            drop(list.register(slot, &waker));
            drop(list.withdraw(slot));
        }
        assert_eq!(list.listed.len(), 1);
        let mut wakers = Vec::new();
        list.take_all(&mut wakers);
        assert!(wakers.is_empty());
        assert!(list.is_empty());
    }

    #[test]
    fn slots_are_reused() {
        let mut list = WaitList::default();
        let a = list.add();
        drop(list.remove(a));
        assert_eq!(list.add(), a);
        assert_eq!(list.slots.len(), 1);
    }
}
