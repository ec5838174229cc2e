//! Child processes as async values: [`Command`] and [`Child`], in
//! `tokio::process`'s shape.
//!
//! ```
//! use runtime::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime::process::{Command, Stdio};
//!
//! runtime::block_on(async {
//!     let mut child = Command::new("tr")
//!         .arg("a-z")
//!         .arg("A-Z")
//!         .stdin(Stdio::piped())
//!         .stdout(Stdio::piped())
//!         .spawn()?;
//!     let mut stdin = child.stdin.take().unwrap();
//!     let mut stdout = child.stdout.take().unwrap();
//!     stdin.write_all(b"shout\n").await?;
//!     drop(stdin); // end of input
//!     let mut loud = Vec::new();
//!     stdout.read_to_end(&mut loud).await?;
//!     assert_eq!(loud, b"SHOUT\n");
//!     assert!(child.wait().await?.success());
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```
//!
//! # How the exit is learned: a pidfd, no `SIGCHLD`
//!
//! `std::process::Command` forks and execs the child. Right after, we open
//! a *pidfd* for it (`pidfd_open`, Linux 5.3): a file descriptor that
//! refers to that one process and turns readable when it exits. It is
//! registered with the reactor like a socket, so [`Child::wait`] parks on
//! it and costs nothing while the child runs; `waitid(P_PIDFD, ...)` then
//! reaps exactly this child. There is no `SIGCHLD` handler (this module
//! installs none, and needs none: a program's own `SIGCHLD` handling is
//! left alone), no helper thread, and no zombie once the child is
//! waited for. Killing goes through `pidfd_send_signal`, which cannot hit
//! a recycled pid.
//!
//! Two things in the rest of the program would steal our children: a
//! `waitpid(-1, ...)` (reaping any child), and `SIGCHLD` set to
//! `SIG_IGN` (the kernel then reaps them itself). [`Child::wait`] then
//! fails with an error that says so, rather than hanging.
//!
//! # Without pidfds: a waiter on the blocking pool
//!
//! On a kernel without pidfds (before 5.3, or a seccomp filter that
//! refuses `pidfd_open`), or when no fd is left for one, each child gets a
//! waiter job on the runtime's blocking pool instead
//! ([`spawn_blocking`](crate::task::spawn_blocking)'s threads): it blocks
//! in `waitid(WNOWAIT)` until the child exits, without reaping it, and
//! wakes the waiting task, which reaps. A child in this mode occupies one
//! pool thread for its whole life, so a program that keeps more children
//! running than the pool has threads (512 by default) sees the waits of
//! the later ones delayed until threads free up.
//!
//! # Orphans
//!
//! A [`Child`] dropped before its process was reaped (after sending
//! `SIGKILL`, with [`Command::kill_on_drop`]) is still reaped once the
//! process exits: with a pidfd, a small detached task on the child's
//! runtime watches the pidfd and reaps; if that runtime is gone, the pidfd
//! joins a process-wide list that each later [`Command::spawn`] sweeps
//! with a nonblocking wait. In the fallback, the child's own waiter job
//! reaps it. So zombies never pile up; at most the children orphaned after
//! their runtime was dropped stay zombies until the next spawn (or the
//! program's exit).
//!
//! # Standard streams
//!
//! Piped streams ([`Stdio::piped()`]) are pipes that `std` creates,
//! close-on-exec; our ends ([`ChildStdin`], [`ChildStdout`],
//! [`ChildStderr`]) are then made nonblocking and put on the reactor. The
//! child's ends stay blocking: each end of a pipe is its own open file
//! description. An inherited stream is never touched, so a shared terminal
//! never becomes nonblocking. Any of our ends, and the ends of
//! [`io::pipe()`](crate::io::pipe), convert into a [`Stdio`] for another
//! child (made blocking again first), to build pipelines.

mod child;
mod command;
mod reap;
mod stdio;

pub use child::Child;
pub use command::Command;
#[doc(hidden)]
pub use reap::detached_orphans;
pub use stdio::{ChildStderr, ChildStdin, ChildStdout};

/// What to connect a child's standard stream to: `std`'s type, as in
/// tokio.
///
/// # Examples
///
/// ```
/// use runtime::process::{Command, Stdio};
///
/// runtime::block_on(async {
///     let mut child = Command::new("true").stdout(Stdio::piped()).spawn()?;
///     assert!(child.stdout.is_some());
///     child.wait().await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub use std::process::Stdio;

/// How a child exited: `std`'s type, as in tokio.
pub use std::process::ExitStatus;

/// A finished child's status and collected output: `std`'s type, as in
/// tokio.
pub use std::process::Output;
