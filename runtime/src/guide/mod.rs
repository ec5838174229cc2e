//! A guide from blocking I/O to this runtime, one step at a time.
//!
//! This module holds no code; it is documentation only. It walks the road
//! most of us took to learn event-driven networking, the road of the classic
//! epoll echo-server tutorials: a server that blocks, one that spins, one
//! that asks `poll(2)`, then epoll in its two modes, and finally the pieces
//! an async runtime adds on top (cached readiness, the `Waker`, an executor
//! with timers and a budget). Each step is a complete echo server you can
//! run, and each chapter points at the code in this crate that does the
//! same job for real.
//!
//! | chapter | the idea | run it |
//! |---|---|---|
//! | [1. Blocking I/O](ch1_blocking) | a thread sleeps in `read`; one thread per connection | `step1-blocking` |
//! | [2. Busy polling](ch2_busy_polling) | nonblocking sockets, asked in a loop that never sleeps | `step2-busy-poll` |
//! | [3. `select` and `poll`](ch3_poll) | the kernel watches a set of fds, handed over whole on every call | `step3-poll` |
//! | [4. epoll, level-triggered](ch4_epoll_level) | the kernel keeps the set; the interest changes with every message | `step4-epoll-level` |
//! | [5. epoll, edge-triggered](ch5_epoll_edge) | register once, drain until `EAGAIN` | `step5-epoll-edge` |
//! | [6. Cached readiness](ch6_readiness) | remember what epoll said until a syscall disproves it | |
//! | [7. The `Waker` and the promise of `Pending`](ch7_wakers) | who calls whom back, and when | |
//! | [8. The runtime](ch8_the_runtime) | the executor, the reactor, timers and the budget, together | `step6-runtime` |
//! | [9. Measured](ch9_measured) | all six servers under the same load | `bench/guide.sh` |
//!
//! Every example is an echo server on `127.0.0.1:6666`, the port the
//! tutorials use and the default of this workspace's `echo-client`:
//!
//! ```text
//! cargo run -p runtime --example step4-epoll-level      # prints every step it takes
//! cargo run -p echo-client                              # in a second terminal: type a line
//! ```
//!
//! Each takes `--addr HOST:PORT` (port 0 picks a free one; the first line
//! printed says which) and `--quiet`, which silences everything after that
//! first line. Steps 2 to 5 call `libc` directly, since the system calls are
//! the point; each `unsafe` block there says why it is sound. The sources
//! are in `runtime/examples/`, and `runtime/tests/examples.rs` checks that
//! each one echoes every byte.
//!
//! The runtime itself hides all of these steps, but can show them: run any
//! program on it with `RUNTIME_TRACE=1` (chapter 8) and it prints each
//! `epoll_wait`, each event and each task it wakes, much as step 4 prints
//! its own.

pub mod ch1_blocking;
pub mod ch2_busy_polling;
pub mod ch3_poll;
pub mod ch4_epoll_level;
pub mod ch5_epoll_edge;
pub mod ch6_readiness;
pub mod ch7_wakers;
pub mod ch8_the_runtime;
pub mod ch9_measured;
