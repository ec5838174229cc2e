//! Probe futures for the tests of `select!`, `join!` and the combinators:
//! each logs its polls and its drop, in order, into a log its test reads.
//!
//! Included by `select.rs` and `join.rs` with `mod probe;`; each uses only
//! part of it.

#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Something a probe did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Probe `id` was polled.
    Polled(usize),
    /// Probe `id` was dropped.
    Dropped(usize),
    /// The test itself marked a point (a handler ran, say).
    Mark(&'static str),
}

/// The events of one test's probes, shared by the probes and the test.
#[derive(Debug, Clone, Default)]
pub struct Log(Rc<RefCell<Vec<Event>>>);

impl Log {
    /// A new, empty log.
    pub fn new() -> Log {
        Log::default()
    }

    /// Appends an event.
    pub fn push(&self, event: Event) {
        self.0.borrow_mut().push(event);
    }

    /// Appends a mark.
    pub fn mark(&self, what: &'static str) {
        self.push(Event::Mark(what));
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.0.borrow().clone()
    }

    /// The ids of the probes polled so far, in the order of their polls.
    pub fn polls(&self) -> Vec<usize> {
        self.0
            .borrow()
            .iter()
            .filter_map(|event| match event {
                Event::Polled(id) => Some(*id),
                _ => None,
            })
            .collect()
    }

    /// How often probe `id` was polled.
    pub fn polls_of(&self, id: usize) -> usize {
        self.polls().iter().filter(|&&polled| polled == id).count()
    }

    /// Whether probe `id` was dropped.
    pub fn dropped(&self, id: usize) -> bool {
        self.0.borrow().contains(&Event::Dropped(id))
    }

    /// Forgets every event so far.
    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }
}

/// How a probe behaves while it is not ready.
#[derive(Debug, Clone, Copy)]
enum Waits {
    /// Pending this many more polls, waking itself each time.
    Polls(usize),
    /// Pending for ever, never waking: something else must end the wait.
    Forever,
}

/// A future that logs every poll and its drop, and is ready with its
/// output after a number of pending polls (or never).
#[derive(Debug)]
pub struct Probe<T> {
    /// The name it logs under.
    id: usize,
    /// Where it logs.
    log: Log,
    /// What it does until it is ready.
    waits: Waits,
    /// Its output, until it returns it.
    output: Option<T>,
}

/// Probe `id`, ready with `output` at its first poll.
pub fn ready<T>(log: &Log, id: usize, output: T) -> Probe<T> {
    after(log, id, 0, output)
}

/// Probe `id`, pending (and waking itself) `pending` polls, then ready
/// with `output`.
pub fn after<T>(log: &Log, id: usize, pending: usize, output: T) -> Probe<T> {
    Probe {
        id,
        log: log.clone(),
        waits: Waits::Polls(pending),
        output: Some(output),
    }
}

/// Probe `id`, pending for ever without waking.
pub fn never<T>(log: &Log, id: usize) -> Probe<T> {
    Probe {
        id,
        log: log.clone(),
        waits: Waits::Forever,
        output: None,
    }
}

impl<T> Unpin for Probe<T> {}

impl<T> Future for Probe<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.log.push(Event::Polled(self.id));
        match self.waits {
            Waits::Forever => Poll::Pending,
            Waits::Polls(left @ 1..) => {
                self.waits = Waits::Polls(left - 1);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Waits::Polls(0) => Poll::Ready(
                self.output
                    .take()
                    .expect("a probe was polled after it finished"),
            ),
        }
    }
}

impl<T> Drop for Probe<T> {
    fn drop(&mut self) {
        self.log.push(Event::Dropped(self.id));
    }
}
