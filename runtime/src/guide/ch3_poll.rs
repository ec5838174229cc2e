//! 3. `select` and `poll`: the kernel watches a set, handed over whole.
//!
//! ```text
//! cargo run -p runtime --example step3-poll
//! ```
//!
//! # A call that waits for any of many
//!
//! The fix for both earlier problems is a system call that sleeps until
//! *any* of a set of fds is ready. `select(2)` was the first; `poll(2)` is
//! the same idea with a nicer interface. The program passes an array of
//! `pollfd` entries (an fd, and the events it cares about: `POLLIN` to
//! read, `POLLOUT` to write); the kernel checks them all, puts the thread
//! to sleep if none is ready, wakes it when one becomes ready (or a timeout
//! passes), marks the ready entries' `revents`, and returns how many it
//! marked:
//!
//! ```
//! use std::io::Write;
//! use std::os::fd::AsRawFd;
//! use std::os::unix::net::UnixStream;
//!
//! let (quiet, _peer) = UnixStream::pair()?;
//! let (talkative, mut sender) = UnixStream::pair()?;
//! sender.write_all(b"x")?;
//!
//! let mut fds = [
//!     libc::pollfd { fd: quiet.as_raw_fd(), events: libc::POLLIN, revents: 0 },
//!     libc::pollfd { fd: talkative.as_raw_fd(), events: libc::POLLIN, revents: 0 },
//! ];
//! // SAFETY: `fds` is valid for reads and writes of its 2 entries for the
//! // call, and the kernel writes only their `revents`.
//! let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, 1_000) };
//! // How many are ready, not which: the caller looks at every entry.
//! assert_eq!(ready, 1);
//! assert_eq!(fds[0].revents, 0);
//! assert_eq!(fds[1].revents & libc::POLLIN, libc::POLLIN);
//! # std::io::Result::Ok(())
//! ```
//!
//! The server (`runtime/examples/step3-poll.rs`, function `serve`) builds
//! that array each round: the listener for `POLLIN`, and each connection
//! for `POLLIN`, or `POLLOUT` while part of its echo is still unsent. Then
//! it sleeps in `poll`, and walks the array for the marked entries. An
//! idle server now sleeps, and a message is noticed as soon as it arrives.
//!
//! # What is still wrong
//!
//! The kernel remembers nothing between two calls. Each call copies the
//! whole array in, checks every fd in it (hooking the thread onto each
//! one's wait queue, and unhooking it afterwards), and copies it back; and
//! the program then scans the whole array to find the few marked entries.
//! So every round costs time in proportion to the number of connections,
//! however few of them are busy: with ten thousand connections and one
//! message, ten thousand entries are passed, checked and scanned to find
//! one. `select` adds a limit on top: its bit sets hold fds below
//! `FD_SETSIZE`, 1,024.
//!
//! # In this runtime
//!
//! Nothing uses `select` or `poll`; the next chapter's epoll replaces them.
//! What carries over is the shape of the loop, "sleep until something is
//! ready, then serve what is": the executor's loop in
//! `runtime/src/executor/mod.rs`, `Core::tick`, ends every tick with one
//! such sleep, the reactor's turn (chapter 8).
