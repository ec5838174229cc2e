//! Helpers shared by the integration tests: a connected TCP pair, deadlines
//! that turn a hang into a clear failure, an open-fd counter, drop counters
//! and a small deterministic PRNG.
//!
//! Every test binary includes this module with `mod util;` and uses only
//! part of it.

#![allow(dead_code)]

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use runtime::net::{TcpListener, TcpStream};

/// How long a test may take before the deadline helpers call it hung. Far
/// above what any test needs, so that only a real hang trips it.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A connected `(client, server)` pair over loopback.
///
/// # Panics
///
/// Outside a runtime, or if the loopback connection fails.
pub async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("listener address");
    let client = TcpStream::connect(addr)
        .await
        .expect("connect over loopback");
    let (server, peer) = listener.accept().await.expect("accept over loopback");
    assert_eq!(peer, client.local_addr().expect("client address"));
    (client, server)
}

/// Awaits `future`, panicking with `what` if it takes longer than
/// [`DEADLINE`]. Uses the runtime's own timer, so it suits tests whose hang
/// would be a missing wakeup on a socket; for tests of the wake machinery
/// itself (where a timer turning the loop would hide a lost eventfd ring)
/// use [`Watchdog`].
pub async fn deadline<F: Future>(what: &str, future: F) -> F::Output {
    deadline_in(DEADLINE, what, future).await
}

/// [`deadline`] with an explicit limit.
pub async fn deadline_in<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    match runtime::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?}: {what} (a lost wakeup or a deadlock?)"),
    }
}

/// Runs `future` on a new runtime under a [`Watchdog`], holding
/// [`fd_shared`]. The watchdog is not a runtime timer, so it does not show
/// in the timer counts some tests check.
pub fn run<F: Future>(name: &'static str, future: F) -> F::Output {
    let _fds = fd_shared();
    let _watchdog = Watchdog::new(name, DEADLINE);
    runtime::block_on(future)
}

/// Polls `future` exactly once with the current task's context.
pub async fn poll_once<F: Future + ?Sized>(mut future: Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

/// Sleeps `requested` and checks that it did not end early.
pub async fn sleep_not_early(requested: Duration) {
    let start = std::time::Instant::now();
    runtime::time::sleep(requested).await;
    let elapsed = start.elapsed();
    assert!(
        elapsed >= requested,
        "sleep({requested:?}) ended after {elapsed:?}"
    );
}

/// Yields until `done` holds, at most `limit` times.
pub async fn yield_until(limit: usize, mut done: impl FnMut() -> bool) {
    for _ in 0..limit {
        if done() {
            return;
        }
        runtime::task::yield_now().await;
    }
    assert!(done(), "condition not reached after {limit} yields");
}

/// A thread that kills the whole test process with a clear message if it
/// is not dropped within its limit. Unlike [`deadline`] it involves no
/// runtime timer, so it cannot mask a lost wakeup by turning the loop.
#[derive(Debug)]
pub struct Watchdog {
    /// Dropped (disconnected) to call the dog off.
    done: Option<mpsc::Sender<()>>,
    /// The watching thread.
    thread: Option<thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts watching; `what` names the test in the failure message.
    pub fn new(what: &'static str, limit: Duration) -> Watchdog {
        let (done, rx) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                // Straight to the stderr fd: `eprintln!` would go to the
                // test harness's capture, which the abort throws away.
                let message = format!(
                    "WATCHDOG: `{what}` did not finish within {limit:?}: a wakeup was lost \
                     or the runtime deadlocked; aborting the test process\n"
                );
                let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
                std::process::abort();
            }
        });
        Watchdog {
            done: Some(done),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The environment variable that tells a re-executed test binary which
/// test body to run (see [`in_child_process`]).
const CHILD_VAR: &str = "RUNTIME_TESTS_CHILD";

/// Runs `body` in a child process: the test binary re-executes itself with
/// only the test `name`, and the parent checks that the child succeeded.
/// For tests whose failure mode is an abort (a panic in a thread-local
/// destructor, a fatal signal), which would otherwise kill every test of
/// the binary. `name` must be the calling test function's name.
pub fn in_child_process(name: &str, body: impl FnOnce()) {
    if std::env::var(CHILD_VAR).as_deref() == Ok(name) {
        body();
        return;
    }
    // Spawning opens pipes: keep fd-counting tests of this binary out.
    let _fds = fd_shared();
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = std::process::Command::new(exe)
        .args([
            name,
            "--exact",
            "--include-ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_VAR, name)
        .output()
        .expect("re-execute the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`{name}` failed in its child process ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("1 passed"),
        "the child process did not run `{name}`:\n{stdout}"
    );
}

/// The number of open file descriptors of this process.
pub fn open_fd_count() -> usize {
    // The directory listing itself holds one fd while it is read; it is
    // counted every time, so comparisons are unaffected.
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// Serialises tests that count file descriptors against the others of the
/// same binary, which run on parallel threads and open sockets.
static FD_LOCK: RwLock<()> = RwLock::new(());

/// Taken by every test that opens fds, so that an fd-counting test does not
/// run at the same time.
pub fn fd_shared() -> RwLockReadGuard<'static, ()> {
    FD_LOCK.read().unwrap_or_else(|e| e.into_inner())
}

/// Taken by a test that counts fds or relies on fd numbering: no other
/// test of the binary opens or closes fds meanwhile.
pub fn fd_exclusive() -> RwLockWriteGuard<'static, ()> {
    FD_LOCK.write().unwrap_or_else(|e| e.into_inner())
}

/// Compiles only if `T` is `Send`.
pub fn assert_send<T: Send>() {}

/// Compiles only if `T` is `Sync`.
pub fn assert_sync<T: Sync>() {}

/// Counts its drops in a static counter.
#[derive(Debug)]
pub struct DropCounter(pub &'static AtomicUsize);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// xorshift64*: a small deterministic PRNG, so no `rand` dependency.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (any value; zero is remapped).
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// A fresh directory under `std::env::temp_dir()`, unique to this process
/// and call, removed with everything in it when dropped: for Unix socket
/// files.
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates `<temp>/runtime-test-<name>-<pid>-<n>`.
    ///
    /// # Panics
    ///
    /// If the directory cannot be created.
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("runtime-test-{name}-{}-{n}", std::process::id()));
        // Left over from a crashed run of a process with the same pid.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).expect("create a temporary directory");
        TempDir(path)
    }

    /// The path of `name` inside the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
