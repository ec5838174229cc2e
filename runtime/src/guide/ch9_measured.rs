//! 9. Measured: the six servers under one load.
//!
//! `bench/guide.sh` runs each example under the same load and prints this
//! table. Each server is pinned to core 0 and the project's load generator,
//! `echo-client bench`, to core 1 (as `bench/run.sh` pins them): 50
//! connections, 512-byte messages, one in flight on each, every echoed
//! byte checked. It measures messages per second; the server's CPU time
//! (user + system) per message; system calls per message, with
//! `strace -c -f` attached during a second run of the same load; and CPU
//! while 1,000 connections opened by `bench/src/bin/idle-conns.rs` sit
//! idle, both the CPU the server got and the time it was *runnable* (on a
//! CPU, or waiting for one: what it would have used on a quiet machine).
//!
//! # A quick run on a shared 2-core VM
//!
//! Measured on 2026-12-02 at 00:13 UTC, with the examples and
//! `bench/guide.sh` as they are in this tree, on the runtime of main's
//! commit 81392a2 (the run's tree was 2e845c6, this branch before its last
//! rebase onto main), with
//!
//! ```text
//! RESULTS=/tmp/guide-results2 QUICK=1 ROUNDS=3 bench/guide.sh
//! ```
//!
//! that is, three rounds (the order of the six rotating), 2 s of load per
//! run and 2 s of idle, medians shown, release build, on a KVM guest with
//! 2 vCPUs (AMD EPYC, family 25), 24 GiB, Linux 6.18, rustc 1.95.0. **The
//! machine was shared and busy**: other jobs were compiling, and the load
//! average was 12.9 before the run, on two cores. The servers got a share
//! of core 0, not the core; round-to-round, messages per second varied by
//! up to 2.6 times as the other jobs came and went. So read the first two
//! columns as a rough order, not as figures for this runtime (the README's
//! benchmarks were run with the machine to themselves). The system call
//! counts, and the idle columns, hardly depend on speed (the busy poller's
//! empty polls excepted) and are solid.
//!
//! | step | msg/s | server CPU per msg | syscalls per msg | most frequent (per msg) | of which failed (EAGAIN) | CPU with 1,000 idle conns (runnable) |
//! |---|---:|---:|---:|---|---:|---:|
//! | `step1-blocking` | 3,383 | 24.8 µs | 2.12 | `recvfrom` 1.01, `sendto` 1.00, `rt_sigprocmask` 0.02, `sigaltstack` 0.02 | 0.00 | 0.00 % (0.00 %) |
//! | `step2-busy-poll` | 3,942 | 48.4 µs | 7.96 | `recvfrom` 5.13, `accept4` 1.49, `sendto` 1.00 | 5.94 | 30.36 % (100.58 %) |
//! | `step3-poll` | 7,123 | 13.9 µs | 2.05 | `recvfrom` 1.00, `sendto` 1.00, `poll` 0.04 | 0.00 | 0.00 % (0.00 %) |
//! | `step4-epoll-level` | 6,423 | 16.0 µs | 4.10 | `epoll_ctl` 2.01, `recvfrom` 1.00, `sendto` 1.00, `epoll_wait` 0.07 | 0.00 | 0.00 % (0.00 %) |
//! | `step5-epoll-edge` | 7,533 | 11.0 µs | 3.04 | `recvfrom` 1.98, `sendto` 1.00, `epoll_wait` 0.04 | 0.98 | 0.00 % (0.00 %) |
//! | `step6-runtime` | 6,985 | 12.1 µs | 2.06 | `recvfrom` 1.00, `sendto` 1.00, `epoll_wait` 0.04, `epoll_ctl` 0.01 | 0.00 | 0.00 % (0.00 %) |
//!
//! # What it shows
//!
//! * **Busy polling burns a core doing nothing.** With every client idle,
//!   `step2-busy-poll` was runnable 100.6 % of the time: it never once
//!   chose to sleep. It got 30 % of core 0 only because the other jobs on
//!   the machine took the rest; on a quiet machine that is the whole core.
//!   Under load, it made 5.9 system calls per message that found nothing
//!   (`EAGAIN`), and that is with `strace` slowing every call down: the
//!   faster the calls, the more empty ones fit between two messages. Its
//!   CPU per message was the highest of the six.
//! * **Everything that sleeps in the kernel costs nothing while idle**:
//!   0.00 % for the five others, including one thousand threads asleep in
//!   `read` (step 1) and one thousand fds in `poll`'s list (step 3).
//! * **Blocking is not slow per call, it is expensive per connection.**
//!   Step 1 makes the two calls the work needs (the odd `rt_sigprocmask`
//!   and `sigaltstack` are thread start-up), but every message wakes a
//!   different thread, and its CPU per message was the highest after the
//!   busy poller's.
//! * **`poll` shares its call among the ready fds** (0.04 `poll` per
//!   message here, 25 messages a call), but each call passes and scans all
//!   51 fds; with 50 connections that cost is still small.
//! * **Level-triggered epoll pays `epoll_ctl` twice per message**: 2.01
//!   of its 4.10 calls per message switch the interest to `EPOLLOUT` and
//!   back. With a single connection it is exactly 6.00 calls per message
//!   (`epoll_wait` 2.00, `epoll_ctl` 2.00, `recvfrom` 1.00, `sendto` 1.00;
//!   same command with `CONNS=1 ROUNDS=1 STEPS=step4-epoll-level`).
//! * **Edge-triggered epoll drops the `epoll_ctl`s but drains until
//!   `EAGAIN`**: one `recvfrom` per message returns data, and nearly one
//!   more (0.98) returns `EAGAIN`.
//! * **The runtime makes the two calls the work needs**, plus its share of
//!   `epoll_wait` (and the `epoll_ctl` to add and delete each connection
//!   once, 0.01 per message here): the short-read rule of chapter 6 saves
//!   the `recvfrom` that step 5 spends on `EAGAIN`, and the whole server is
//!   two `async fn`s.
