//! End-to-end tests of the echo binaries and the runtime; see `tests/`.
//!
//! This library holds what those tests share: finding (or building) the
//! `echo-server` and `echo-client` binaries, starting a server on a free
//! loopback port, waiting for a child process with a deadline, and small
//! helpers for reading `/proc`. Nothing here waits without a bound.

#![warn(missing_docs)]

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a test waits for a binary to start, answer or exit before it
/// gives up: generous, so a loaded two-core machine never trips it.
pub const WATCHDOG: Duration = Duration::from_secs(10);

/// How long a nested `cargo build` of the binaries may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// What cargo prints when another cargo holds the build directory's lock.
const CARGO_LOCK_MESSAGE: &str = "Blocking waiting for file lock";

/// How long the nested cargo may wait for the build directory lock: long
/// enough for another cargo to finish, short enough that a lock held by the
/// cargo running these tests (a deadlock) is given up on soon.
const LOCK_GRACE: Duration = Duration::from_secs(30);

/// The advice given when the binaries cannot be built here.
const BUILD_FIRST: &str = "run `cargo build --workspace` (or `cargo test --workspace`) first";

/// The path of the `echo-server` binary, built from the current sources.
///
/// # Panics
///
/// If the binary cannot be built (the message says why, and how to build
/// it by hand).
pub fn server_bin() -> PathBuf {
    binary("echo-server")
}

/// The path of the `echo-client` binary, built from the current sources.
///
/// # Panics
///
/// As [`server_bin`].
pub fn client_bin() -> PathBuf {
    binary("echo-client")
}

/// Finds the workspace binary `name` in the target directory this test
/// executable was built into (`target/<profile>/deps/<test>` →
/// `target/<profile>/<name>`), after making sure it is up to date.
///
/// Cargo builds a package's binaries only for that package's own
/// integration tests, so `cargo test -p tests` alone may not have built
/// them, or may leave them older than their sources (and a stale binary
/// makes these tests report on old code). So once per test process this
/// runs `$CARGO build -p echo-server -p echo-client`, which costs well under
/// a second when everything is fresh, as it is under
/// `cargo test --workspace`.
///
/// The cargo running the tests releases the build directory lock before it
/// runs them, so this does not deadlock. Should a cargo version keep the
/// lock, the nested cargo reports that it is blocked and is stopped after
/// [`LOCK_GRACE`]; then binaries already built are used as they are (with a
/// warning), and missing ones make the test panic asking for
/// `cargo build --workspace`.
fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), BuildError>> = OnceLock::new();
    let dir = profile_dir();
    let path = dir.join(name);
    match BUILT.get_or_init(|| build_binaries(&dir)) {
        Ok(()) => {}
        Err(BuildError::Locked(e)) if path.is_file() => {
            eprintln!(
                "warning: using {} as it is, maybe stale: {e}",
                path.display()
            );
        }
        Err(BuildError::Locked(e) | BuildError::Failed(e)) => {
            panic!("cannot build {name} into {}: {e}", dir.display())
        }
    }
    assert!(
        path.is_file(),
        "{name} is missing from {} after building it; {BUILD_FIRST}",
        dir.display()
    );
    path
}

/// Why the nested `cargo build` did not succeed.
#[derive(Debug)]
enum BuildError {
    /// It waited too long for the build directory lock.
    Locked(String),
    /// It failed, or could not run, or took too long.
    Failed(String),
}

/// The directory holding the workspace's binaries for this build
/// (`target/debug`, `target/release`, `target/<triple>/debug`, ...).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the path of the test executable");
    let mut dir = exe
        .parent()
        .expect("the test executable is in a directory")
        .to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir
}

/// Runs `$CARGO build -p echo-server -p echo-client` for the profile (and
/// target triple) that `dir` belongs to, with a deadline, giving up at once
/// if cargo reports that it is waiting for the build lock.
fn build_binaries(dir: &Path) -> Result<(), BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace");
    let mut command = Command::new(&cargo);
    command
        .arg("build")
        .args(["-p", "echo-server", "-p", "echo-client"])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"));
    build_location_args(&mut command, dir);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BuildError::Failed(format!("cannot run {cargo:?}: {e}; {BUILD_FIRST}")))?;

    // Watch cargo's stderr line by line for the lock message.
    let (lines, lines_rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr is piped");
    let reader = thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + BUILD_TIMEOUT;
    let mut blocked_until = None;
    let mut log = String::new();
    let outcome = loop {
        match lines_rx.recv_timeout(Duration::from_millis(20)) {
            Ok(line) => {
                if line.contains(CARGO_LOCK_MESSAGE) && blocked_until.is_none() {
                    blocked_until = Some(Instant::now() + LOCK_GRACE);
                }
                if line.contains("Compiling") || line.contains("Finished") {
                    // It got the lock after all.
                    blocked_until = None;
                }
                log.push_str(&line);
                log.push('\n');
                continue;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // cargo closed stderr: it is exiting.
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
        }
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break Ok(()),
            Ok(Some(status)) => {
                break Err(BuildError::Failed(format!(
                    "cargo build failed ({status}):\n{log}"
                )))
            }
            Ok(None) if blocked_until.is_some_and(|t| Instant::now() >= t) => {
                break Err(BuildError::Locked(format!(
                    "the nested cargo waited {LOCK_GRACE:?} for the build directory lock \
                     (held by the cargo running these tests, or another one); {BUILD_FIRST}"
                )))
            }
            Ok(None) if Instant::now() >= deadline => {
                break Err(BuildError::Failed(format!(
                    "cargo build took over {BUILD_TIMEOUT:?}; {BUILD_FIRST}"
                )))
            }
            Ok(None) => {}
            Err(e) => break Err(BuildError::Failed(format!("cannot wait for cargo: {e}"))),
        }
    };
    if outcome.is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let _ = reader.join();
    outcome
}

/// Adds `--profile` (and `--target`, `--target-dir`) so the nested build
/// writes into the same directory `dir` as the outer one.
fn build_location_args(command: &mut Command, dir: &Path) {
    let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    command.args([
        "--profile",
        if profile == "debug" { "dev" } else { profile },
    ]);
    let Some(parent) = dir.parent() else { return };
    // `target/<profile>` or `target/<triple>/<profile>`: the target directory
    // is the one cargo tagged with CACHEDIR.TAG.
    if parent.join("CACHEDIR.TAG").is_file() {
        command.arg("--target-dir").arg(parent);
    } else if let (Some(triple), Some(target_dir)) = (parent.file_name(), parent.parent()) {
        command
            .arg("--target")
            .arg(triple)
            .arg("--target-dir")
            .arg(target_dir);
    }
}

/// Waits for `child` to exit, polling every few milliseconds.
///
/// # Panics
///
/// If it is still running after `timeout`: it is killed (and reaped) first.
pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "process {} still running after {timeout:?}; killed it",
                    child.id()
                );
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("cannot wait for process {}: {e}", child.id()),
        }
    }
}

/// Collects everything a reader produces on a thread, so a child never
/// blocks on a full pipe while the test waits for something else.
#[derive(Debug)]
pub struct Collector {
    /// The bytes read so far.
    bytes: Arc<Mutex<Vec<u8>>>,
    /// The thread reading; `None` once joined.
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    /// Starts reading `reader` to its end on a new thread.
    pub fn new(mut reader: impl Read + Send + 'static) -> Collector {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let sink = bytes.clone();
        let thread = thread::spawn(move || {
            let mut buf = vec![0; 64 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        });
        Collector {
            bytes,
            thread: Some(thread),
        }
    }

    /// How many bytes have been read so far.
    pub fn len(&self) -> usize {
        self.bytes.lock().unwrap().len()
    }

    /// Whether nothing has been read so far.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of what has been read so far, as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }

    /// Waits until the reader reaches its end (the child exited and closed
    /// the pipe), then returns everything read.
    ///
    /// # Panics
    ///
    /// If the end does not come within `timeout` (a grandchild may still
    /// hold the pipe open).
    pub fn finish(mut self, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        let thread = self.thread.take().expect("finish is called once");
        while !thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the pipe was not closed within {timeout:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
        thread.join().expect("the collector thread does not panic");
        std::mem::take(&mut *self.bytes.lock().unwrap())
    }
}

/// What a finished child produced.
#[derive(Debug)]
pub struct Output {
    /// How it exited.
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr, as text.
    pub stderr: String,
}

/// Spawns `command` with stdout and stderr piped (stdin as the command
/// says), collects both while it runs, and waits at most `timeout`.
///
/// # Panics
///
/// If it cannot be spawned or runs past `timeout` (it is killed first).
pub fn run(command: &mut Command, timeout: Duration) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {command:?}: {e}"));
    finish(child, timeout)
}

/// Runs the binary at `bin` with `args` and stdin empty, for at most
/// [`WATCHDOG`]: how the binaries' command-line tests run them.
///
/// # Panics
///
/// As [`run`].
pub fn run_args(bin: &str, args: &[&str]) -> Output {
    run(Command::new(bin).args(args).stdin(Stdio::null()), WATCHDOG)
}

/// Asserts that `bin` rejects an unknown flag with a usage error: a failure
/// status, the flag named on stderr with the usage, nothing on stdout.
///
/// # Panics
///
/// If it does not.
pub fn assert_unknown_flag_is_a_usage_error(bin: &str) {
    let output = run_args(bin, &["--no-such-flag"]);
    assert!(!output.status.success(), "{:?}", output.status);
    let stderr = output.stderr;
    assert!(
        stderr.contains("error: unexpected argument '--no-such-flag'"),
        "{stderr}"
    );
    assert!(stderr.contains("Usage:"), "{stderr}");
    assert!(output.stdout.is_empty());
}

/// Waits for a child spawned with stdout and stderr piped (and not yet
/// taken), collecting both, for at most `timeout`.
///
/// # Panics
///
/// As [`run`].
pub fn finish(mut child: Child, timeout: Duration) -> Output {
    let stdout = Collector::new(child.stdout.take().expect("stdout is piped"));
    let stderr = Collector::new(child.stderr.take().expect("stderr is piped"));
    let status = wait_with_timeout(&mut child, timeout);
    Output {
        status,
        stdout: stdout.finish(WATCHDOG),
        stderr: String::from_utf8_lossy(&stderr.finish(WATCHDOG)).into_owned(),
    }
}

/// A running `echo-server`, killed when dropped.
pub struct Server {
    /// The server process.
    child: Child,
    /// The address from its `listening on` line.
    addr: SocketAddr,
    /// Its stderr, collected by a thread as it comes.
    stderr: Arc<Mutex<String>>,
    /// Drains stdout after the first line, so the server never blocks on it.
    _stdout: Collector,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("pid", &self.child.id())
            .field("addr", &self.addr)
            .finish()
    }
}

/// Starts `echo-server --addr 127.0.0.1:0` plus `args`, and waits (at most
/// [`WATCHDOG`]) for its `listening on <addr>` line.
///
/// # Panics
///
/// If it cannot start, or its first line is missing or malformed.
pub fn start_server(args: &[&str]) -> Server {
    let mut command = Command::new(server_bin());
    command.args(["--addr", "127.0.0.1:0"]).args(args);
    start_server_command(&mut command)
}

/// Starts `command`, which runs `echo-server` (through a shell that sets a
/// limit first, say) and must make it listen on a free loopback port, and
/// waits as [`start_server`] does.
///
/// # Panics
///
/// As [`start_server`].
pub fn start_server_command(command: &mut Command) -> Server {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo-server");
    let stderr = collect_text(child.stderr.take().expect("stderr is piped"));
    let (line, stdout) = first_line(child.stdout.take().expect("stdout is piped"));
    let line = match line.recv_timeout(WATCHDOG) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "echo-server printed no first line within {WATCHDOG:?}; stderr: {}",
                stderr.lock().unwrap()
            );
        }
    };
    let addr = line
        .trim_end()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("echo-server's first line is {line:?}, not `listening on <addr>`");
        });
    Server {
        child,
        addr,
        stderr,
        _stdout: stdout,
    }
}

/// Reads the first line of `stdout` on a thread and sends it; the thread
/// then drains the rest into the returned collector.
fn first_line(stdout: ChildStdout) -> (mpsc::Receiver<String>, Collector) {
    let (tx, rx) = mpsc::channel();
    let (reader_tx, reader_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        // An error or EOF leaves the line empty; the parse reports it.
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = reader_tx.send(reader);
    });
    let drain = LateReader {
        pending: Some(reader_rx),
        reader: None,
    };
    (rx, Collector::new(drain))
}

/// A reader that becomes available later, through a channel: lets the
/// stdout collector take over the `BufReader` once the first line is read.
struct LateReader<R> {
    /// The channel the reader arrives on.
    pending: Option<mpsc::Receiver<R>>,
    /// The reader once it arrived.
    reader: Option<R>,
}

impl<R: Read> Read for LateReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(pending) = self.pending.take() {
            // The sending thread ends after one read_line, which returns at
            // the first newline or at EOF, so this recv is bounded by it.
            self.reader = pending.recv().ok();
        }
        match &mut self.reader {
            Some(reader) => reader.read(buf),
            None => Ok(0),
        }
    }
}

/// Collects a child's stderr as text on a thread.
fn collect_text(stderr: ChildStderr) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    text
}

impl Server {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (at most [`WATCHDOG`]) until stderr contains `needle`, and
    /// returns all of stderr.
    ///
    /// # Panics
    ///
    /// If `needle` does not show up in time.
    pub fn wait_for_stderr(&self, needle: &str) -> String {
        wait_for_text("stderr", needle, || self.stderr())
    }

    /// Waits (at most [`WATCHDOG`]) until stdout (after its first line)
    /// contains `needle`, and returns it.
    ///
    /// # Panics
    ///
    /// If `needle` does not show up in time.
    pub fn wait_for_stdout(&self, needle: &str) -> String {
        wait_for_text("stdout", needle, || self.stdout())
    }

    /// The server's resident memory in KiB (`VmRSS` of `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    /// Kills the server (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        wait_with_timeout(&mut self.child, WATCHDOG);
    }

    /// Sends the signal `name` (`INT`, `TERM`, ...) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits (at most `timeout`) for the server to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        wait_with_timeout(&mut self.child, timeout)
    }

    /// What the server printed on stdout after its first line.
    pub fn stdout(&self) -> String {
        self._stdout.text()
    }

    /// Whether the server is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// Polls `text` every 5 ms until it contains `needle` (at most
/// [`WATCHDOG`]), and returns it; `stream` names it in the panic.
fn wait_for_text(stream: &str, needle: &str, text: impl Fn() -> String) -> String {
    let deadline = Instant::now() + WATCHDOG;
    loop {
        let text = text();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "echo-server's {stream} lacks {needle:?} after {WATCHDOG:?}; it is:\n{text}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time process `pid` has used so far, user plus system (fields 14
/// and 15 of `/proc/<pid>/stat`, in clock ticks of 10 ms on Linux).
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/<pid>/stat");
    // The command name (field 2) may contain spaces; count from after it.
    let after_name = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// `VmRSS` of process `pid` in KiB.
///
/// # Panics
///
/// If `/proc/<pid>/status` cannot be read or lacks the line.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS line in /proc/{pid}/status:\n{status}"))
}

/// The file status flags of this process's descriptor `fd`, from the
/// `flags:` line of `/proc/self/fdinfo/<fd>` (octal there). They belong to
/// the open file description, so they show changes made through any
/// duplicate of it, in this process or another.
///
/// # Panics
///
/// If the line cannot be read or parsed.
pub fn fd_status_flags(fd: i32) -> u32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
        .unwrap_or_else(|e| panic!("cannot read /proc/self/fdinfo/{fd}: {e}"));
    info.lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .and_then(|octal| u32::from_str_radix(octal.trim(), 8).ok())
        .unwrap_or_else(|| panic!("no flags line in /proc/self/fdinfo/{fd}:\n{info}"))
}

/// `O_NONBLOCK` as `/proc/<pid>/fdinfo` shows it (octal 04000 on Linux).
pub const O_NONBLOCK: u32 = 0o4000;

/// A deterministic stream of pseudo-random bytes (xorshift64), so large
/// transfers are not periodic and a misplaced chunk shows up.
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// A loopback address on which nothing listens (a port just bound and
/// released; nothing else on the machine should grab it meanwhile).
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address")
}

/// Index of the first byte where `a` and `b` differ, for assertion
/// messages that would otherwise print megabytes.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Asserts that two large byte strings are equal, reporting lengths and the
/// first differing offset instead of the contents.
#[track_caller]
pub fn assert_same_bytes(got: &[u8], expected: &[u8]) {
    if let Some(at) = first_difference(got, expected) {
        panic!(
            "bytes differ at offset {at}: got {} bytes, expected {} bytes",
            got.len(),
            expected.len()
        );
    }
}

/// Writes `chunk` over and over (the stream `chunk.iter().cycle()`, each
/// write going on where the last one stopped) as fast as a nonblocking
/// `stream` takes it, up to `limit` bytes, until no progress has been made
/// for `idle`, or the watchdog ends. Returns the number of bytes written;
/// `stream` is blocking again afterwards.
///
/// # Panics
///
/// If a write fails other than with `WouldBlock`.
pub fn push_until_blocked(stream: &TcpStream, chunk: &[u8], limit: usize, idle: Duration) -> usize {
    stream.set_nonblocking(true).unwrap();
    let mut writer = stream;
    let deadline = Instant::now() + WATCHDOG;
    let mut last_progress = Instant::now();
    let mut written = 0;
    while written < limit && Instant::now() < deadline {
        let start = written % chunk.len();
        let len = (chunk.len() - start).min(limit - written);
        match writer.write(&chunk[start..start + len]) {
            Ok(n) => {
                written += n;
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if last_progress.elapsed() >= idle {
                    break;
                }
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("writing failed after {written} bytes: {e}"),
        }
    }
    stream.set_nonblocking(false).unwrap();
    written
}

/// Connects to `addr` with read and write timeouts of [`WATCHDOG`], so no
/// test blocks for ever on a misbehaving server.
///
/// # Panics
///
/// If the connection fails.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream.set_read_timeout(Some(WATCHDOG)).unwrap();
    stream.set_write_timeout(Some(WATCHDOG)).unwrap();
    stream
}

/// Writes `data` to `stream`, reads back exactly as many bytes, and checks
/// they are the same.
///
/// # Panics
///
/// If the write or the read fails, or the echo differs.
#[track_caller]
pub fn round_trip(stream: &mut TcpStream, data: &[u8]) {
    stream.write_all(data).expect("write to echo-server");
    let mut back = vec![0; data.len()];
    stream.read_exact(&mut back).expect("read the echo");
    assert_same_bytes(&back, data);
}
