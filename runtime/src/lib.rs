//! A single-threaded async runtime built from scratch on Linux epoll.
//!
//! A program that talks to many sockets should neither block a thread per
//! socket nor spin asking every socket whether it has data yet. The kernel's
//! epoll watches any number of file descriptors and says which became
//! readable or writable. This crate turns that into plain sequential code:
//!
//! 1. A task `.await`s a read. The socket has no data, so the read returns
//!    `WouldBlock`; the task is parked on the socket's slot in the reactor
//!    (by its id when it is one of this runtime's tasks, else as its
//!    [`Waker`](std::task::Waker)) and returns `Pending`.
//! 2. The executor runs other tasks. When none is ready it calls
//!    `epoll_wait`, with the next timer deadline as the timeout.
//! 3. epoll reports the socket readable. The reactor caches that readiness
//!    and wakes the parked task, which goes back on the run queue.
//! 4. The executor polls the task again; the read now succeeds.
//!
//! The layers, bottom up, each using only those below it: `sys` (the only
//! code that calls `libc`), the slab, the `reactor` (epoll, readiness,
//! wakers), [`time`], the executor ([`Runtime`], [`block_on`], [`spawn`]),
//! and the public face: [`net`] (TCP, UDP and Unix sockets), [`io`] (the
//! async read/write traits, tokio's toolkit of buffered readers and
//! writers, lines, copy, split and duplex, pipes, and nonblocking standard
//! streams), [`process`] (child processes), [`fs`] (files on the blocking
//! pool), [`task`] (spawning, joining, and [`task::spawn_blocking`] for
//! blocking work on a thread pool), [`sync`] (channels, locks, semaphores,
//! `Notify` and watch/broadcast, usable from other threads), and [`signal`] (Ctrl-C and other signals as
//! futures).
//!
//! Waiting on several futures at once reads as it does with tokio:
//! [`select!`] (the first to finish wins, the others are dropped),
//! [`join!`] and [`try_join!`] (all of them, on this task), and for two
//! futures [`future::or`] and [`future::race`]. `#[runtime::main]` and
//! `#[runtime::test]` run an `async fn` on a new runtime.
//!
//! Everything runs on one thread, so futures need not be `Send`; wakers are
//! `Send + Sync` and may be fired from any thread, which rings an eventfd to
//! interrupt `epoll_wait`.
//!
//! `unsafe` lives in `sys` (the syscalls) and in one more place: a spawned
//! task's future is polled where it lies in the task's `Rc` cell, which
//! never moves (`executor/cell.rs`). Each block says why it is sound.
//!
//! # The event trace
//!
//! Set `RUNTIME_TRACE=1` in the environment of any program on the runtime
//! (or call [`Builder::trace`]) and it prints what the runtime does, one
//! line per step, in the words of an epoll tutorial: each `epoll_wait`
//! with its timeout and how many events it returned, each event's fd, what
//! it brought and which task it woke, each task poll with what the task
//! read and wrote and where it parked, spawns, timers and registrations:
//!
//! ```text
//! +1.204813s turn: epoll_wait(timeout 300 s) -> 1 event after 2.1 s
//! +1.204815s   fd 7 [conn 127.0.0.1:51334] readable (token 3.1) -> wakes task 4 "conn 127.0.0.1:51334"
//! +1.204817s task 4 "conn 127.0.0.1:51334" polled 1.9 us: read 12 B on fd 7, wrote 12 B on fd 7, read would block on fd 7 -> parked on fd 7 readable
//! ```
//!
//! Off, it costs one test per task poll and per turn. [`dump`] lists every
//! live task and what it waits on; [`metrics`] counts what the runtime did,
//! with tokio's names.
//!
//! # Example: an echo server and a client
//!
//! ```
//! use runtime::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime::net::{TcpListener, TcpStream};
//!
//! async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
//!     let mut buf = vec![0; 4096];
//!     loop {
//!         let n = stream.read(&mut buf).await?;
//!         if n == 0 {
//!             return Ok(()); // the peer closed its side
//!         }
//!         stream.write_all(&buf[..n]).await?;
//!     }
//! }
//!
//! runtime::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     runtime::spawn(async move {
//!         loop {
//!             let (stream, _peer) = listener.accept().await?;
//!             runtime::spawn(echo(stream));
//!         }
//!         #[allow(unreachable_code)]
//!         std::io::Result::Ok(())
//!     });
//!
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello, epoll").await?;
//!     client.close().await?; // half-close: the server sees EOF
//!     let mut echoed = Vec::new();
//!     client.read_to_end(&mut echoed).await?;
//!     assert_eq!(echoed, b"hello, epoll");
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]
#![doc(test(attr(deny(warnings))))]

mod blocking;
mod coop;
mod executor;
mod loom;
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_model;
mod macros;
mod reactor;
mod slab;
mod sys;
mod trace;

pub mod fs;
pub mod future;
pub mod guide;
pub mod io;
pub mod net;
pub mod process;
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;

pub use executor::{
    block_on, dump, metrics, Builder, CoreId, GroupError, Handle, Metrics, Runtime, RuntimeGroup,
    TaskDump, TaskInfo, TryCurrentError,
};
pub use task::spawn;
pub use trace::Histogram;

/// tokio's `tokio::runtime` path for what lives at this crate's root, so
/// that `use tokio::runtime::{Builder, Handle, Runtime}` ports by renaming
/// the crate alone. (A bare `use runtime::runtime;` would shadow the
/// crate's name in that file: import the items, or the module under
/// another name.)
///
/// # Examples
///
/// ```
/// use runtime::runtime::Builder;
///
/// let rt = Builder::new_current_thread().enable_all().build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # std::io::Result::Ok(())
/// ```
pub mod runtime {
    pub use crate::executor::{Builder, Handle, Runtime, TryCurrentError};
}

#[doc(hidden)]
pub use macros::__private;

/// Runs `async fn main` on a new [`Runtime`]: the attribute turns it into
/// a plain `fn main` that builds the runtime and blocks on the body.
///
/// ```text
/// #[runtime::main]                     fn main() -> R {
/// async fn main() -> R {         =>        runtime::Runtime::new()
///     body                                     .expect("...")
/// }                                            .block_on(async { body })
///                                      }
/// ```
///
/// The function may return anything `main` may, such as
/// `std::io::Result<()>`, and use `?`. It may have any name (to run an
/// `async fn` from a plain one) but no parameters or generics.
///
/// `flavor = "current_thread"` is accepted and changes nothing, so that a
/// tokio program's attribute ports unchanged: every runtime here runs on
/// one thread. `crate = "path"` names the runtime crate where it is not
/// `::runtime` (a renamed dependency). Anything else, or an `fn` that is
/// not `async`, is a compile error pointing at the offending tokens.
///
/// Needs the `macros` feature (on by default).
///
/// # Panics
///
/// If the runtime cannot be built (no file descriptors left, say).
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok(())
/// }
/// ```
#[cfg(feature = "macros")]
#[doc(inline)]
pub use runtime_macros::main;

/// Runs an `async fn` test on a new [`Runtime`]: the attribute adds
/// `#[test]` and turns the function into a plain one that builds the
/// runtime and blocks on the body.
///
/// Each test gets a runtime of its own, dropped when the test ends. The
/// function may return `()` or a `Result`, as a `#[test]` may, and other
/// attributes (`#[ignore]`, `#[should_panic]`) stay; writing `#[test]`
/// as well is an error.
///
/// `#[runtime::test(start_paused = true)]` starts the runtime with its
/// clock paused (see [`time::pause`]): time moves only when the test
/// [`advance`](time::advance)s it or when every task is waiting on a
/// timer, and then at once, so a test of minutes of timeouts runs in
/// microseconds. As for [`main`], `flavor = "current_thread"` and
/// `crate = "path"` are accepted, and anything else is a compile error.
///
/// Needs the `macros` feature (on by default).
///
/// # Panics
///
/// If the runtime cannot be built, or if the test does.
///
/// # Examples
///
/// ```
/// # // rustdoc builds examples without `--test`, which drops `#[test]`
/// # // functions after the attribute expanded them: this checks the
/// # // attribute accepts them; runtime/tests/macros.rs runs such tests.
/// #[runtime::test]
/// async fn spawned_task_answers() {
///     let answer = runtime::spawn(async { 6 * 7 }).await.unwrap();
///     assert_eq!(answer, 42);
/// }
///
/// #[runtime::test(start_paused = true)]
/// async fn an_hour_in_no_time() {
///     use std::time::Duration;
///     use runtime::time::{sleep, Instant};
///
///     let start = Instant::now();
///     sleep(Duration::from_secs(3600)).await;
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// }
/// ```
#[cfg(feature = "macros")]
#[doc(inline)]
pub use runtime_macros::test;
