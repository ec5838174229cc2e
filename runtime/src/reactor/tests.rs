//! The reactor's unit tests, through the [`Registration`] every I/O type
//! uses.

use super::*;
use crate::sys::eventfd::Notifier;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts its wakes.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn woken_count(counter: &CountingWaker) -> usize {
    counter.0.load(Ordering::SeqCst)
}

fn reactor() -> (Rc<Reactor>, Notifier) {
    let notifier = Notifier::new().unwrap();
    (
        Rc::new(
            notifier
                .with_fd(|fd| Reactor::new(fd, None))
                .unwrap()
                .unwrap(),
        ),
        notifier,
    )
}

/// A socket pair whose first end is nonblocking and registered with
/// `reactor`, after a turn that took its first events.
fn registered_pair(reactor: &Rc<Reactor>) -> (Registration<UnixStream>, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let registration = Registration::new(a, reactor.clone()).unwrap();
    reactor.turn(Some(Duration::ZERO), |_| {});
    (registration, b)
}

/// Clears `direction` the way an operation does: it said `WouldBlock`.
fn would_block(registration: &Registration<UnixStream>, direction: Direction) {
    let result = registration.try_io(direction, |_| {
        Err::<(), _>(io::ErrorKind::WouldBlock.into())
    });
    assert_eq!(result.unwrap_err().kind(), io::ErrorKind::WouldBlock);
}

/// Polls `direction` with `waker`, outside any task poll.
fn poll_with(
    registration: &Registration<UnixStream>,
    waker: &Waker,
    direction: Direction,
) -> Poll<io::Result<Ready>> {
    registration.poll_ready(&mut Context::from_waker(waker), direction)
}

/// Parks a new counting waker on `direction`, as a waker (no task is being
/// polled).
fn park(registration: &Registration<UnixStream>, direction: Direction) -> Arc<CountingWaker> {
    registration.reactor().start_poll(None);
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(counter.clone());
    assert!(poll_with(registration, &waker, direction).is_pending());
    counter
}

#[test]
fn readiness_wakes_every_parked_task_once() {
    let (reactor, _notifier) = reactor();
    let (registration, mut b) = registered_pair(&reactor);
    let first = park(&registration, Direction::Read);
    let second = park(&registration, Direction::Read);
    b.write_all(b"x").unwrap();
    reactor.turn(Some(Duration::from_secs(5)), |_| {});
    assert_eq!(woken_count(&first), 1);
    assert_eq!(woken_count(&second), 1);
    // Still cached as readable until a syscall says otherwise.
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    let ready = poll_with(&registration, &waker, Direction::Read);
    assert!(matches!(ready, Poll::Ready(Ok(r)) if r.is_readable()));
    would_block(&registration, Direction::Read);
    assert!(poll_with(&registration, &waker, Direction::Read).is_pending());
}

#[test]
fn poll_ready_reports_only_the_bits_of_its_direction() {
    let (reactor, _notifier) = reactor();
    let (registration, b) = registered_pair(&reactor);
    drop(b);
    reactor.turn(Some(Duration::from_secs(5)), |_| {});
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    let Poll::Ready(Ok(read)) = poll_with(&registration, &waker, Direction::Read) else {
        panic!("a hung-up socket is readable");
    };
    assert!(read.is_read_closed());
    assert!(!read.is_writable() && !read.is_write_closed());
}

#[test]
fn the_polled_task_parks_by_id_and_its_id_is_handed_over() {
    let (reactor, _notifier) = reactor();
    let (registration, mut b) = registered_pair(&reactor);

    let task = Arc::new(CountingWaker::default());
    let task_waker = Waker::from(task.clone());
    let other = Arc::new(CountingWaker::default());
    let other_waker = Waker::from(other.clone());
    let id = Key::from_u64(7);
    reactor.start_poll(Some(PollingTask::new(id, &task_waker)));
    assert!(poll_with(&registration, &task_waker, Direction::Read).is_pending());
    // Polled again while still parked: not parked twice.
    assert!(poll_with(&registration, &task_waker, Direction::Read).is_pending());
    // Another waker seen during the same poll (a combinator's own, say) is
    // not the task's: it parks as a waker.
    assert!(poll_with(&registration, &other_waker, Direction::Read).is_pending());
    reactor.end_poll();

    b.write_all(b"x").unwrap();
    let mut woken = Vec::new();
    reactor.turn(Some(Duration::from_secs(5)), |id| woken.push(id));
    assert_eq!(woken, [id], "the task's id is handed over, once");
    assert_eq!(woken_count(&task), 0, "not through its waker");
    assert_eq!(woken_count(&other), 1);
}

#[test]
fn outside_a_poll_the_same_waker_parks_as_a_waker() {
    let (reactor, _notifier) = reactor();
    let (registration, mut b) = registered_pair(&reactor);
    let task = Arc::new(CountingWaker::default());
    let task_waker = Waker::from(task.clone());
    reactor.start_poll(Some(PollingTask::new(Key::from_u64(7), &task_waker)));
    reactor.end_poll();
    assert!(poll_with(&registration, &task_waker, Direction::Read).is_pending());
    b.write_all(b"x").unwrap();
    let mut woken = Vec::new();
    reactor.turn(Some(Duration::from_secs(5)), |id| woken.push(id));
    assert!(woken.is_empty());
    assert_eq!(woken_count(&task), 1);
}

#[test]
fn deregister_hands_over_the_ids_parked_on_the_slot() {
    let (reactor, _notifier) = reactor();
    let (registration, _b) = registered_pair(&reactor);
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    let (reader, writer) = (Key::from_u64(1), Key::from_u64(2));
    reactor.start_poll(Some(PollingTask::new(reader, &waker)));
    assert!(poll_with(&registration, &waker, Direction::Read).is_pending());
    reactor.start_poll(Some(PollingTask::new(writer, &waker)));
    // A fresh socket is writable: make it look full to park a writer.
    would_block(&registration, Direction::Write);
    assert!(poll_with(&registration, &waker, Direction::Write).is_pending());
    reactor.end_poll();
    drop(registration);
    let mut woken = Vec::new();
    reactor.take_woken(|id| woken.push(id));
    assert_eq!(woken, [reader, writer]);
}

#[test]
fn hang_up_makes_both_directions_ready_for_good() {
    let (reactor, _notifier) = reactor();
    let (registration, b) = registered_pair(&reactor);
    drop(b);
    reactor.turn(Some(Duration::from_secs(5)), |_| {});
    would_block(&registration, Direction::Read);
    would_block(&registration, Direction::Write);
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    assert!(poll_with(&registration, &waker, Direction::Read).is_ready());
    assert!(poll_with(&registration, &waker, Direction::Write).is_ready());
}

#[test]
fn a_shut_down_reactor_fails_what_would_wait_and_keeps_what_was_reported() {
    let (reactor, _notifier) = reactor();
    let (registration, mut b) = registered_pair(&reactor);
    b.write_all(b"x").unwrap();
    reactor.turn(Some(Duration::from_secs(5)), |_| {});
    would_block(&registration, Direction::Write);
    let parked = park(&registration, Direction::Write);
    reactor.shut_down();
    assert_eq!(woken_count(&parked), 1, "the parked writer is woken");
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    // Both directions get one more syscall, reported or not.
    assert!(matches!(
        poll_with(&registration, &waker, Direction::Read),
        Poll::Ready(Ok(r)) if r.is_readable()
    ));
    assert!(matches!(
        poll_with(&registration, &waker, Direction::Write),
        Poll::Ready(Ok(r)) if r.is_writable()
    ));
    // Once a syscall says `WouldBlock`, waiting would be for ever: the try
    // fails, and so does every wait after it.
    let err = registration
        .try_io(Direction::Write, |_| {
            Err::<(), _>(io::ErrorKind::WouldBlock.into())
        })
        .unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
    assert!(matches!(
        poll_with(&registration, &waker, Direction::Write),
        Poll::Ready(Err(_))
    ));
    let err = registration
        .try_io(Direction::Write, |_| Ok(()))
        .unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
    let (c, _d) = UnixStream::pair().unwrap();
    assert!(Registration::new(c, reactor.clone()).is_err());
}

#[test]
fn a_waiter_parked_when_the_reactor_shuts_down_is_woken() {
    let (reactor, _notifier) = reactor();
    let (registration, _b) = registered_pair(&reactor);
    let parked = park(&registration, Direction::Read);
    reactor.shut_down();
    assert_eq!(woken_count(&parked), 1);
}

#[test]
fn a_guard_clears_only_if_no_event_came_since() {
    let (reactor, _notifier) = reactor();
    let (registration, mut b) = registered_pair(&reactor);
    b.write_all(b"x").unwrap();
    reactor.turn(Some(Duration::from_secs(5)), |_| {});
    let seen = registration.event_count();
    b.write_all(b"y").unwrap();
    reactor.turn(Some(Duration::from_secs(5)), |_| {});
    registration.clear_if_unchanged(Direction::Read, seen);
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    assert!(
        poll_with(&registration, &waker, Direction::Read).is_ready(),
        "an event after the guard was taken keeps the direction ready"
    );
    registration.clear_if_unchanged(Direction::Read, registration.event_count());
    assert!(poll_with(&registration, &waker, Direction::Read).is_pending());
}

#[test]
fn a_regular_file_is_refused_with_a_message_that_says_why() {
    let (reactor, _notifier) = reactor();
    let file = std::fs::File::open("/proc/self/status").unwrap();
    let err = Registration::new(file, reactor).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("epoll cannot watch"), "{err}");
}

/// The registration follows the open file description, so a description
/// kept alive by a `dup` keeps reporting events under the old token even
/// after its fd number was closed and reused. The generation in the token
/// is what stops such an event from waking the slot's new owner.
#[test]
fn stale_event_for_a_reused_fd_number_wakes_nobody() {
    // Other tests open fds on other threads and may take the number first;
    // retry until the kernel hands the same number back.
    let reused = (0..50).any(|_| stale_event_scenario());
    assert!(reused, "the fd number was never reused in 50 attempts");
}

/// Runs the scenario; false if the fd number was not reused (nothing was
/// checked).
fn stale_event_scenario() -> bool {
    let (reactor, _notifier) = reactor();
    let (old, mut old_peer) = UnixStream::pair().unwrap();
    let old_fd = old.as_raw_fd();
    let (old_key, _old_slot) = reactor.register(old.as_fd(), Interest::BOTH).unwrap();
    reactor.turn(Some(Duration::ZERO), |_| {});

    // Forget the slot without EPOLL_CTL_DEL, keep the description alive
    // through a duplicate, and close the original fd number.
    let keep_alive = old.try_clone().unwrap();
    reactor.slots.borrow_mut().remove(old_key);
    drop(old);

    // The next socket gets the same fd number and the same slab index.
    let (new, _new_peer) = UnixStream::pair().unwrap();
    if new.as_raw_fd() != old_fd {
        return false;
    }
    let registration = Registration::new(new, reactor.clone()).unwrap();
    assert_eq!(
        registration.key().to_u64() as u32,
        old_key.to_u64() as u32,
        "the index was not reused"
    );
    assert_ne!(registration.key(), old_key);
    reactor.turn(Some(Duration::ZERO), |_| {});
    let parked = park(&registration, Direction::Read);

    // Data for the *old* description: epoll reports it under the old token.
    old_peer.write_all(b"stale").unwrap();
    reactor.turn(Some(Duration::from_millis(50)), |_| {});
    assert_eq!(woken_count(&parked), 0, "a stale event woke the new owner");
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    assert!(poll_with(&registration, &waker, Direction::Read).is_pending());
    drop(keep_alive);
    true
}

#[test]
fn notifier_is_reported_as_a_wakeup() {
    let (reactor, notifier) = reactor();
    assert!(!reactor.turn(Some(Duration::ZERO), |_| {}));
    notifier.notify().unwrap();
    assert!(reactor.turn(Some(Duration::from_secs(5)), |_| {}));
}

#[test]
fn deregister_wakes_parked_tasks_and_frees_the_slot() {
    let (reactor, _notifier) = reactor();
    let (registration, _b) = registered_pair(&reactor);
    let parked = park(&registration, Direction::Read);
    assert_eq!(reactor.counts().registrations, 1);
    let _open = registration.into_inner();
    assert_eq!(reactor.counts().registrations, 0);
    assert_eq!(woken_count(&parked), 1);
    let counts = reactor.counts();
    assert_eq!((counts.registered, counts.deregistered), (1, 1));
}
