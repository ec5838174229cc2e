//! 5. epoll, edge-triggered: register once, drain until `EAGAIN`.
//!
//! ```text
//! cargo run -p runtime --example step5-epoll-edge
//! ```
//!
//! # Changes, not conditions
//!
//! Add `EPOLLET` to the events and epoll reports an fd when its state
//! *changes*: bytes arrived in the receive buffer, room appeared in the send
//! buffer, the peer hung up. An fd that simply stays readable is not
//! reported again, however often `epoll_wait` is called:
//!
//! ```
//! use std::io::Write;
//! use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
//! use std::os::unix::net::UnixStream;
//!
//! // SAFETY: epoll_create1 takes only a flag word.
//! let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
//! assert!(epoll >= 0, "{}", std::io::Error::last_os_error());
//! // SAFETY: epoll_create1 just returned this fd, and nothing else owns it.
//! let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
//!
//! let (ours, mut theirs) = UnixStream::pair()?;
//! let events = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
//! let mut interest = libc::epoll_event { events: events as u32, u64: 42 };
//! // SAFETY: `interest` is a valid epoll_event, only read during the call.
//! let rc = unsafe {
//!     libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, ours.as_raw_fd(), &mut interest)
//! };
//! assert_eq!(rc, 0);
//!
//! // The event mask of the one fd reported by `epoll_wait`, or None.
//! let reported = || {
//!     let mut events = [libc::epoll_event { events: 0, u64: 0 }; 8];
//!     // SAFETY: `events` has room for the 8 entries the kernel may write.
//!     let n = unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), 8, 0) };
//!     (n == 1).then(|| events[0].events) // copied out: the struct is packed
//! };
//!
//! // Just registered: the current state counts as a change (writable).
//! assert_eq!(reported(), Some(libc::EPOLLOUT as u32));
//! assert_eq!(reported(), None); // still writable, but nothing changed
//!
//! theirs.write_all(b"x")?;
//! let mask = reported().expect("new data is a change");
//! assert_ne!(mask & libc::EPOLLIN as u32, 0);
//! // Not read, and yet not reported again: the edge has been delivered.
//! assert_eq!(reported(), None);
//!
//! theirs.write_all(b"y")?; // more data: a new edge
//! assert!(reported().is_some());
//! # std::io::Result::Ok(())
//! ```
//!
//! # What that buys, and what it asks
//!
//! Since a writable socket is not reported over and over, the interest no
//! longer has to change: each connection is registered **once**, for input,
//! output and the peer's half-close together (`EPOLLIN | EPOLLOUT |
//! EPOLLRDHUP | EPOLLET`), and never touched again until it is closed. The
//! `epoll_ctl` per message of chapter 4 is gone, and so is half of its
//! `epoll_wait`s: the read and the write of one echo follow each other
//! without a wait in between.
//!
//! The price is a rule that must never be broken: **after an edge, keep
//! going until the kernel says `EAGAIN`**. Bytes left in the buffer bring no
//! new event. A server that reads one buffer-full of a 100 KiB message and
//! then waits for epoll waits for ever, while the rest of the message sits
//! in the kernel. The same goes for the listener (several connections may
//! be queued behind one edge, so accept until `EAGAIN`) and for writing
//! (room reported once must be used until `send` says `EAGAIN`).
//!
//! `runtime/examples/step5-epoll-edge.rs` follows the rule. Its function
//! `pump` reads, sends the echo, reads again, until a syscall says
//! `EAGAIN`; the test `step5_epoll_edge_drains_until_eagain` in
//! `runtime/tests/examples.rs` echoes 200,000-byte messages through it,
//! which takes many reads per edge. Two details there lead into the next
//! chapters:
//!
//! * **It remembers.** Each connection keeps two flags, `readable` and
//!   `writable`: set when an edge says so, cleared only when a syscall says
//!   `EAGAIN`. That memory lets `pump` stop early without losing an edge:
//!   when the peer is not taking its echo, the server stops reading (reading
//!   more would only pile bytes up) and the connection stays marked
//!   readable, to be picked up again when the send buffer drains. That is
//!   chapter 6, cached readiness.
//! * **It takes turns.** A client that sends as fast as the server echoes
//!   would keep "until `EAGAIN`" going for ever, and every other client
//!   would wait. So `pump` stops after a few dozen syscalls, puts the
//!   connection on a list of unfinished work, and the next `epoll_wait` does
//!   not sleep while that list is not empty. That is the cooperative budget
//!   of chapter 8.
//!
//! # In this runtime
//!
//! Every fd is registered edge-triggered, once, when its I/O object is
//! created: `runtime/src/sys/epoll.rs`, `Epoll::add`, which always sets
//! `EPOLLET` (and `EPOLLRDHUP` with `EPOLLIN`), called by
//! `runtime/src/reactor/mod.rs`, `Reactor::register`. It is deleted when
//! the object is dropped, before the fd is closed (`Reactor::deregister`).
//! In between, no `epoll_ctl` is ever made. Any fd you own can join in
//! through [`AsyncFd`](crate::io::unix::AsyncFd), registered the same way.
//! The benchmarks' floor, `bench/src/bin/epoll-echo-server.rs`, is the same
//! loop without a runtime.
