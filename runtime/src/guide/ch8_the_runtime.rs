//! 8. The runtime: executor, reactor, timers and the budget, together.
//!
//! ```text
//! cargo run -p runtime --example step6-runtime
//! RUNTIME_TRACE=1 cargo run -p runtime --example step6-runtime
//! ```
//!
//! # The echo server, once more
//!
//! `runtime/examples/step6-runtime.rs` is the echo server on this crate. Its
//! heart reads like step 1, a loop per connection:
//!
//! ```
//! use runtime::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime::net::{TcpListener, TcpStream};
//!
//! async fn serve(listener: TcpListener) -> std::io::Result<()> {
//!     loop {
//!         let (stream, _peer) = listener.accept().await?;
//!         runtime::spawn(echo(stream)); // a task, not a thread
//!     }
//! }
//!
//! async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
//!     let mut buf = vec![0; 16 * 1024];
//!     loop {
//!         let n = stream.read(&mut buf).await?; // where step 1 slept
//!         if n == 0 {
//!             return Ok(());
//!         }
//!         stream.write_all(&buf[..n]).await?;
//!     }
//! }
//!
//! runtime::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     runtime::spawn(serve(listener));
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello, epoll").await?;
//!     let mut echoed = [0; 12];
//!     client.read_exact(&mut echoed).await?;
//!     assert_eq!(&echoed, b"hello, epoll");
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```
//!
//! and it runs like step 5: one thread, every socket registered once,
//! edge-triggered, readiness cached. Where step 1's thread slept in `read`,
//! the task's read finds the socket not ready, parks the task on the
//! socket's slot and returns `Pending`, and the thread goes on with other
//! tasks. Each piece of the earlier chapters has its place:
//!
//! | chapter | in the runtime |
//! |---|---|
//! | 2: nonblocking sockets, `EAGAIN` | `runtime/src/sys/socket.rs`; `WouldBlock` ends a try in `Registration::poll_io` |
//! | 5: edge-triggered, register once | `runtime/src/sys/epoll.rs`, `Epoll::add`; `runtime/src/reactor/mod.rs`, `Reactor::register` |
//! | 5: drain until `EAGAIN` | the `loop` in `Registration::poll_io` (`runtime/src/reactor/registration.rs`) |
//! | 6: cached readiness | `IoSlot` and `IoSlot::apply` / `IoSlot::clear` in `runtime/src/reactor/mod.rs` |
//! | 7: wakers | `runtime/src/executor/waker.rs`, `TaskWaker`; `runtime/src/reactor/waiters.rs` |
//! | 5, "take turns": the budget | `runtime/src/coop.rs`, `poll_proceed` |
//!
//! # The loop
//!
//! The executor (`runtime/src/executor/mod.rs`, `Core::tick`) repeats one
//! tick:
//!
//! 1. **Run what is ready.** Pop tasks off the run queue and poll each
//!    once, at most [`Builder::event_interval`](crate::Builder::event_interval)
//!    (61) of them, so that a queue that never empties still lets the
//!    reactor in regularly.
//! 2. **Turn the reactor** (`Reactor::turn`): one `epoll_wait`. Its timeout
//!    says what the thread has left to do: zero if tasks are still queued
//!    (look, do not sleep), else the time until the next timer's deadline,
//!    else no limit at all. The events it returns become cached readiness,
//!    and the tasks parked on those sockets go onto the run queue.
//! 3. **Fire due timers, and take in the world.** Wake the sleeps whose
//!    deadline passed, move tasks woken from other threads (the remote
//!    queue, chapter 7) onto the local queue, and wake the tasks that
//!    yielded during the tick.
//!
//! Then again. When nothing is ready and no timer is due, the thread spends
//! its time asleep inside `epoll_wait`: the one place it ever sleeps.
//!
//! # Timers
//!
//! [`time::sleep`](crate::time::sleep) puts a deadline and a waker into
//! the timer store, a binary heap of deadlines (`runtime/src/time/timers.rs`,
//! `Timers::insert`); dropping the `Sleep` cancels it (`Timers::remove`).
//! The nearest deadline (`Timers::next_deadline`) becomes `epoll_wait`'s
//! timeout, rounded **up** to whole milliseconds (`runtime/src/sys/epoll.rs`,
//! `Epoll::wait`), so the thread never wakes before it; after the turn,
//! `Timers::fire_due` wakes every sleep whose deadline has passed. No
//! timer thread, and no syscall per timer:
//!
//! ```
//! use std::time::Duration;
//! use runtime::time::{sleep, Instant};
//!
//! runtime::block_on(async {
//!     let start = Instant::now();
//!     let slow = runtime::spawn(async { sleep(Duration::from_millis(30)).await; "slow" });
//!     let fast = runtime::spawn(async { sleep(Duration::from_millis(10)).await; "fast" });
//!     assert_eq!(fast.await.unwrap(), "fast");
//!     assert_eq!(slow.await.unwrap(), "slow");
//!     // Both slept at once, on one thread, and neither woke early.
//!     assert!(start.elapsed() >= Duration::from_millis(30));
//! });
//! ```
//!
//! # The cooperative budget
//!
//! One thread, no preemption: a task runs until it returns `Pending`. A
//! task whose socket never runs dry (or whose channel never empties) would
//! never return `Pending` on its own, and everything else on the thread
//! would wait: the unbounded "drain until `EAGAIN`" of chapter 5. So each
//! poll of a task gets a budget, [`Builder::budget`](crate::Builder::budget)
//! operations (128). Every operation that finds its resource ready charges
//! one unit (`runtime/src/coop.rs`, `poll_proceed`, called by
//! `Registration::poll_io` and by channels, timers and join handles). Once
//! the budget is spent, the next such operation returns `Pending` without
//! doing anything, and the task is woken again after the next reactor turn,
//! behind the tasks that turn made ready. The cached readiness (chapter 6)
//! is what makes this safe with edge-triggered epoll: the socket is still
//! marked ready when the task comes back, so no edge is lost.
//!
//! ```
//! use std::cell::Cell;
//! use std::rc::Rc;
//!
//! let rt = runtime::Runtime::new()?;
//! rt.block_on(async {
//!     let (tx, mut rx) = runtime::sync::mpsc::unbounded_channel();
//!     for i in 0..1_000 {
//!         tx.send(i).unwrap();
//!     }
//!     drop(tx);
//!     let other_ran = Rc::new(Cell::new(false));
//!     let flag = other_ran.clone();
//!     // Always ready: 1,000 messages wait in the channel.
//!     let greedy = runtime::spawn(async move {
//!         let mut seen_before_the_other_ran = 0;
//!         while rx.recv().await.is_some() {
//!             if !flag.get() {
//!                 seen_before_the_other_ran += 1;
//!             }
//!         }
//!         seen_before_the_other_ran
//!     });
//!     let other = runtime::spawn(async move { other_ran.set(true) });
//!     // The greedy task was made to yield after its budget, and the other
//!     // task ran in between.
//!     assert_eq!(greedy.await.unwrap(), 128);
//!     other.await.unwrap();
//! });
//! assert!(rt.metrics().budget_forced_yield_count >= 1);
//! # std::io::Result::Ok(())
//! ```
//!
//! [`task::yield_now`](crate::task::yield_now) yields by hand,
//! [`task::consume_budget`](crate::task::consume_budget) charges the budget
//! from a loop that does no I/O, and
//! [`task::unconstrained`](crate::task::unconstrained) lifts it.
//!
//! # Watching it work
//!
//! Set `RUNTIME_TRACE=1` (or call [`Builder::trace`](crate::Builder::trace))
//! and the runtime prints its steps as step 4 prints its own. One
//! connection of `step6-runtime`, one 13-byte line echoed, then closed
//! (fd 5 is the listener, fd 6 the connection; the accept loop is the
//! `block_on` future, hence "the block_on future" and a waker rather than a
//! task id):
//!
//! ```text
//! +1.596456s turn: epoll_wait(timeout none) -> 1 event after 1.6 s
//! +1.596534s   fd 5 readable (token 0.0) -> wakes 1 other waker(s)
//! +1.596647s fd 6 registered
//! +1.596712s task 1 spawned
//! +1.596771s the block_on future polled 197.4 us: read done on fd 5, read would block on fd 5 -> parked on fd 5 readable
//! +1.596815s task 1 polled 31.8 us -> parked on fd 6 readable
//! +1.596829s turn: epoll_wait(timeout none) -> 1 event after 4.6 us
//! +1.596837s   fd 6 writable (token 1.0) -> nobody waits
//! +1.804425s turn: epoll_wait(timeout none) -> 1 event after 207.6 ms
//! +1.804494s   fd 6 readable + writable (token 1.0) -> wakes task 1
//! +1.804619s task 1 polled 103.8 us: read 13 B on fd 6, wrote 13 B on fd 6 -> parked on fd 6 readable
//! +2.020446s turn: epoll_wait(timeout none) -> 1 event after 215.8 ms
//! +2.020528s   fd 6 readable + writable + read-closed (token 1.0) -> wakes task 1
//! +2.020576s fd 6 deregistered
//! +2.020737s task 1 polled 182.5 us: read 0 B on fd 6 -> done
//! +2.020740s task 1 finished
//! ```
//!
//! Everything of the earlier chapters is in there: one registration per
//! fd and no `epoll_ctl` per message (chapter 5); the first edge of a new
//! socket is "writable", and nobody waits for it, but it is remembered
//! (chapter 6); the read of 13 bytes was short, so the task parked without
//! the `recv` that would only have said `EAGAIN` (chapter 6); and each
//! `epoll_wait` returned only the one fd that changed (chapter 4). (The
//! "polled" times are those of an unoptimised debug build, traced.)
//! [`dump`](crate::dump) lists every live task and what it waits for, and
//! [`metrics`](crate::metrics()) counts what the runtime did, under tokio's
//! names.
