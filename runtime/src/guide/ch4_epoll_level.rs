//! 4. epoll, level-triggered: the kernel keeps the set.
//!
//! ```text
//! cargo run -p runtime --example step4-epoll-level
//! ```
//!
//! # Three calls instead of one
//!
//! epoll splits `poll`'s one call into three, so that the set of watched fds
//! lives in the kernel and is not passed again and again:
//!
//! * `epoll_create1` makes an epoll instance, itself an fd.
//! * `epoll_ctl` changes what it watches: `EPOLL_CTL_ADD` an fd with the
//!   events of interest (`EPOLLIN`, `EPOLLOUT`, ...) and a 64-bit data word
//!   of our choosing, `EPOLL_CTL_MOD` to change those events,
//!   `EPOLL_CTL_DEL` to stop.
//! * `epoll_wait` sleeps until some watched fd is ready and fills an array
//!   with **only the ready ones**: their events, and the data word we gave,
//!   which is how we tell which connection it is.
//!
//! The kernel does the bookkeeping as things happen: when a socket's buffer
//! changes, the socket itself puts its entry on the epoll instance's ready
//! list. `epoll_wait` hands over that list, so its cost follows the number
//! of ready fds, not the number of watched ones.
//!
//! # Level-triggered
//!
//! By default an fd is reported on *every* `epoll_wait` for as long as its
//! condition holds: a socket with unread bytes is reported as readable each
//! time, until they are read. That forgives a lot (read a little, and the
//! next wait reminds you of the rest), and `poll` behaves the same way:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
//! use std::os::unix::net::UnixStream;
//!
//! // SAFETY: epoll_create1 takes only a flag word.
//! let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
//! assert!(epoll >= 0, "{}", std::io::Error::last_os_error());
//! // SAFETY: epoll_create1 just returned this fd, and nothing else owns it.
//! let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
//!
//! let (mut ours, mut theirs) = UnixStream::pair()?;
//! let mut interest = libc::epoll_event { events: libc::EPOLLIN as u32, u64: 42 };
//! // SAFETY: `interest` is a valid epoll_event, only read during the call.
//! let rc = unsafe {
//!     libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, ours.as_raw_fd(), &mut interest)
//! };
//! assert_eq!(rc, 0);
//!
//! // How many fds one `epoll_wait` reports, without waiting (timeout 0).
//! let ready_now = || {
//!     let mut events = [libc::epoll_event { events: 0, u64: 0 }; 8];
//!     // SAFETY: `events` has room for the 8 entries the kernel may write.
//!     let n = unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), 8, 0) };
//!     if n > 0 {
//!         let token = events[0].u64; // copied out: the struct is packed
//!         assert_eq!(token, 42);
//!     }
//!     n
//! };
//!
//! theirs.write_all(b"x")?;
//! assert_eq!(ready_now(), 1);
//! assert_eq!(ready_now(), 1); // still unread, so reported again
//! ours.read_exact(&mut [0])?;
//! assert_eq!(ready_now(), 0); // drained: no longer ready
//! # std::io::Result::Ok(())
//! ```
//!
//! # The classic server, and its `epoll_ctl` per message
//!
//! The echo server of the classic tutorials, rewritten in Rust in
//! `runtime/examples/step4-epoll-level.rs` (functions `serve`, `receive`
//! and `send_echo`), watches each connection for `EPOLLIN`. When one is
//! readable it reads what came, then switches the connection's interest
//! to `EPOLLOUT`; when it is writable it sends the echo and switches back
//! to `EPOLLIN`. It prints every step, so you can watch it:
//!
//! ```text
//! listening on 127.0.0.1:6666
//! waiting for activity...
//! 1 event(s), handling them
//!   fd 3: events 0x1 (EPOLLIN)
//!   new connection from 127.0.0.1:36752 on fd 5, watching EPOLLIN
//! waiting for activity...
//! 1 event(s), handling them
//!   fd 5: events 0x1 (EPOLLIN)
//!   received 13 B from 127.0.0.1:36752: "hello, epoll\n"
//!   fd 5 now watched for EPOLLOUT
//! waiting for activity...
//! 1 event(s), handling them
//!   fd 5: events 0x4 (EPOLLOUT)
//!   sent 13 B to 127.0.0.1:36752
//!   fd 5 now watched for EPOLLIN
//! waiting for activity...
//! 1 event(s), handling them
//!   fd 5: events 0x1 (EPOLLIN)
//!   client 127.0.0.1:36752 closed, fd 5 unwatched
//! ```
//!
//! Why switch at all? Because level-triggered epoll reports a condition
//! for as long as it holds, and a socket's send buffer almost always has
//! room: a connection left watched for `EPOLLOUT` would be reported by
//! every `epoll_wait`, which would never sleep again, and the server would
//! be back to busy polling. So interest in writing must be switched on
//! only while there is something to write, and off again afterwards.
//!
//! That costs, per message, two `epoll_ctl`s on top of the `recv` and the
//! `send` the work needs, and a trip through `epoll_wait` between the read
//! and the write. With one client that is six system calls per message;
//! with many busy clients one `epoll_wait` serves many of them, and
//! chapter 9 counts 4.1 per message, two of them `epoll_ctl`. (Trying the
//! `send` at once, and watching for `EPOLLOUT` only when it could not take
//! everything, would save most of them; the next chapter goes further.)
//!
//! # In this runtime
//!
//! The runtime's epoll wrapper is `runtime/src/sys/epoll.rs`: `Epoll::new`
//! (`epoll_create1`), `Epoll::add` and `Epoll::delete` (`epoll_ctl`), and
//! `Epoll::wait` (`epoll_wait`, its timeout rounded up to whole
//! milliseconds so that a timer never fires early). There is no
//! `Epoll::modify`: the runtime never changes a registration, because it
//! registers edge-triggered.
