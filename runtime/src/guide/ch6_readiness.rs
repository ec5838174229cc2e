//! 6. Cached readiness, and when it is cleared.
//!
//! Edge-triggered epoll tells each change once. An event can arrive while
//! no task is waiting for it (the task that will read the socket is busy
//! elsewhere, or has not got to its `read` yet), and the next event may
//! never come. So the reactor **remembers** what epoll said, per fd, until
//! a system call proves it wrong. This chapter is the readiness model the
//! reactor (`runtime/src/reactor/`) implements.
//!
//! # The model
//!
//! * **Register once, edge-triggered.** An fd is added to epoll when its
//!   I/O object is created, for `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`
//!   (or only the directions an [`AsyncFd`] asks for), and never modified
//!   afterwards: no `epoll_ctl` per operation (chapter 5).
//!
//! * **Readiness is cached per slot.** Each registered fd has a slot in the
//!   reactor (`runtime/src/reactor/mod.rs`, `IoSlot`) holding [`Ready`]
//!   bits. Each turn of the reactor (`Reactor::turn`) ORs what epoll
//!   reported into those bits (`IoSlot::apply`) and wakes the tasks parked
//!   on a direction that just became ready.
//!
//! * **An operation is a loop: wait, try, clear.** Every read, write,
//!   accept or send goes through one function,
//!   `runtime/src/reactor/registration.rs`, `Registration::poll_io`: if the
//!   slot's bits say the direction is not ready, park the task and return
//!   `Pending`; if they say it is, make the syscall; if the syscall says
//!   `WouldBlock`, clear the direction's bits (`IoSlot::clear`) and go round
//!   again, which parks the task. Because an edge-triggered fd reports only
//!   changes, the bits must stay set until a syscall shows the kernel's
//!   buffer drained.
//!
//! * **A short transfer proves it too.** A stream read that returns fewer
//!   bytes than asked for emptied the receive buffer, and a write that took
//!   fewer than offered filled the send buffer; either way, epoll reports
//!   the next change. So `Registration::poll_stream_io` clears the
//!   direction after a short read or write, saving the syscall that would
//!   only have said `EAGAIN`. (Datagrams must not do this: a short datagram
//!   says nothing about the next one.)
//!
//! * **No reactor tick needed inside one poll.** tokio guards that clearing
//!   with a count of reactor turns, because its reactor may run on another
//!   thread between the check and the syscall, and an event in that gap
//!   must not be cleared away. Here the check, the syscall and the clearing
//!   happen within one poll, on the one thread that also turns the reactor,
//!   so no event can slip in between. Only a readiness guard that a user
//!   holds across an `.await` ([`AsyncFd::readable`]) can see a turn before
//!   it clears, so each slot counts its events and a guard clears only if
//!   none arrived since it was made (`Registration::clear_if_unchanged`).
//!
//! * **Hang-up and error wake both directions** and stay set, so that the
//!   next read returns end of file or the error, and the next write returns
//!   the error.
//!
//! * **Tokens carry a generation.** The epoll data word of a registration
//!   is its slot's key, `(generation << 32) | index`
//!   (`runtime/src/slab.rs`, `Key::to_u64`). When a slot is freed its
//!   generation goes up, so an event that was already queued for a
//!   registration that is gone finds no match and is dropped, even if both
//!   the fd number and the slot index have been reused since. (The
//!   examples of chapters 4 and 5 use the bare fd number as the token. That
//!   is safe there only because one `epoll_wait` lists each fd at most
//!   once, and they close a connection only after handling its event of the
//!   batch, so no stale event can follow; a program whose tasks close
//!   sockets at any time needs the generation.)
//!
//! * **`EPOLL_CTL_DEL` before close.** An epoll registration belongs to the
//!   open file description, not to the fd number: a duplicate of the fd
//!   would keep it alive after `close`. So a registration deletes itself
//!   before its fd is closed (`Reactor::deregister`, called from
//!   `Registration`'s `Drop`).
//!
//! * **Any number of tasks** may wait on one slot and direction
//!   (`runtime/src/reactor/waiters.rs`, `Waiters`); the turn that makes the
//!   direction ready wakes them all. A task of this runtime parks by its id,
//!   a plain number, rather than by a clone of its `Waker` (chapter 7).
//!
//! * **A budget per poll.** Every operation that finds its direction ready
//!   charges the polled task one unit (`runtime/src/coop.rs`,
//!   `poll_proceed`); a task whose budget is spent yields, so that a socket
//!   that never runs dry cannot starve the rest (chapter 8).
//!
//! * **Shutdown.** Dropping the runtime marks the fds that outlive it ready
//!   for good (`Ready::SHUT_DOWN`, `Reactor::shut_down`) and wakes whoever
//!   still waits on them (tasks of other runtimes). Where an operation would
//!   then wait for a turn that will never come, `Registration::poll_ready`
//!   fails instead: the one place that turns "the runtime is gone" into an
//!   error.
//!
//! # Seeing it from outside
//!
//! [`AsyncFd`] puts any nonblocking fd on the reactor and shows the cache at
//! work: waiting gives a guard that proves the direction was ready, and the
//! readiness stays until an operation through the guard says `WouldBlock`.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//! use runtime::io::unix::AsyncFd;
//!
//! runtime::block_on(async {
//!     let (ours, mut theirs) = UnixStream::pair()?;
//!     ours.set_nonblocking(true)?;
//!     let ours = AsyncFd::new(ours)?;
//!     theirs.write_all(b"abc")?; // one edge
//!
//!     // Read two bytes of three: not drained, so the readiness stays.
//!     let mut guard = ours.readable().await?;
//!     let mut buf = [0; 2];
//!     let n = guard.try_io(|fd| fd.get_ref().read(&mut buf)).expect("ready");
//!     assert_eq!(n?, 2);
//!
//!     // No new edge came, but the cache still says readable: the wait
//!     // returns at once, and the last byte is there.
//!     let mut guard = ours.readable().await?;
//!     let n = guard.try_io(|fd| fd.get_ref().read(&mut buf)).expect("ready");
//!     assert_eq!(n?, 1);
//!
//!     // The next read says WouldBlock: the guard clears the readiness...
//!     let mut guard = ours.readable().await?;
//!     assert!(guard.try_io(|fd| fd.get_ref().read(&mut buf)).is_err());
//!
//!     // ...so now a wait really waits, for epoll's next report.
//!     let waited = runtime::time::timeout(Duration::from_millis(20), ours.readable()).await;
//!     assert!(waited.is_err(), "nothing was sent, so nothing is ready");
//!
//!     theirs.write_all(b"d")?; // a new edge
//!     let _guard = ours.readable().await?;
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```
//!
//! The runtime's own sockets do the same inside their `poll_*` methods, so
//! `stream.read(&mut buf).await` costs, when data is waiting, one `recv`
//! and no `epoll_ctl`, and, when the read comes up short, not even the
//! `recv` that would only have said `EAGAIN`.
//!
//! [`AsyncFd`]: crate::io::unix::AsyncFd
//! [`AsyncFd::readable`]: crate::io::unix::AsyncFd::readable
//! [`Ready`]: crate::io::Ready
