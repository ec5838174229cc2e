//! The guide's six example servers (`runtime/examples/step*.rs`), run as
//! the real programs: each is started on a free loopback port, must echo
//! every byte of small and large messages on two connections at once,
//! print the steps it promises (or nothing with `--quiet`), and reject bad
//! arguments with a usage error. Every wait has a deadline.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Every example, by its cargo name.
const EXAMPLES: [&str; 6] = [
    "step1-blocking",
    "step2-busy-poll",
    "step3-poll",
    "step4-epoll-level",
    "step5-epoll-edge",
    "step6-runtime",
];

/// The longest any one wait may take: generous, for a loaded two-core
/// machine, and still a clear failure instead of a hang.
const WATCHDOG: Duration = Duration::from_secs(10);

/// How long the nested `cargo build` of the examples may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// How long that build may wait for another cargo's lock on the build
/// directory before the tests fall back on the examples already built.
const LOCK_GRACE: Duration = Duration::from_secs(30);

/// A message larger than 64 KiB, more than any socket buffer takes in one
/// call at first, so every server has to loop (and the edge-triggered one
/// has to drain until `EAGAIN` several times).
const LARGE: usize = 200_000;

#[test]
fn step1_blocking_echoes_every_byte() {
    check_echo("step1-blocking", &["new connection from", "closed"]);
}

#[test]
fn step2_busy_poll_echoes_every_byte() {
    check_echo("step2-busy-poll", &["new connection from", "closed"]);
}

#[test]
fn step3_poll_echoes_every_byte() {
    check_echo(
        "step3-poll",
        &["new connection from", "poll(3 fds) -> ", "closed"],
    );
}

#[test]
fn step4_epoll_level_prints_each_step_of_the_echo() {
    check_echo(
        "step4-epoll-level",
        &[
            "waiting for activity...",
            "1 event(s), handling them",
            "(EPOLLIN)",
            "new connection from",
            "received 13 B from",
            "now watched for EPOLLOUT",
            "(EPOLLOUT)",
            "sent 13 B to",
            "now watched for EPOLLIN",
            "closed, fd",
        ],
    );
}

#[test]
fn step5_epoll_edge_drains_until_eagain() {
    check_echo(
        "step5-epoll-edge",
        &[
            "new connection from",
            "received 13 B from",
            "sent 13 B to",
            "recv: EAGAIN, drained",
            "closed",
        ],
    );
}

#[test]
fn step6_runtime_echoes_every_byte() {
    check_echo("step6-runtime", &["new connection from", "closed"]);
}

#[test]
fn quiet_examples_print_only_their_address() {
    for name in EXAMPLES {
        let server = Example::start(name, &["--quiet"]);
        let mut client = connect(server.addr);
        round_trip(&mut client, b"hello, quiet server\n");
        drop(client);
        // Time for the printouts a non-quiet server would make on close.
        thread::sleep(Duration::from_millis(200));
        let out = server.stdout();
        assert_eq!(
            out,
            format!("listening on {}\n", server.addr),
            "{name} --quiet"
        );
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let cases: [&[&str]; 5] = [
        &["--addr"],
        &["--addr", "localhost:6666"],
        &["--addr", "127.0.0.1:65536"],
        &["--addr", "127.0.0.1:-1"],
        &["--no-such-flag"],
    ];
    for name in EXAMPLES {
        for args in cases {
            let (status, stdout, stderr) = run_to_end(name, args);
            assert_eq!(status.code(), Some(2), "{name} {args:?}: {stderr}");
            assert!(stdout.is_empty(), "{name} {args:?} printed {stdout:?}");
            assert!(
                stderr.starts_with(&format!("{name}: ")) && stderr.contains("usage: "),
                "{name} {args:?}: {stderr}"
            );
        }
        let (status, stdout, _) = run_to_end(name, &["--help"]);
        assert!(status.success(), "{name} --help: {status}");
        assert!(stdout.starts_with(&format!("usage: {name} ")), "{stdout}");
    }
}

/// Starts example `name` and checks it echoes, byte for byte, on two
/// connections at once: the second is served while the first is open, a
/// short message, a run of small ones, one of [`LARGE`] bytes written
/// while the echo is read; then both close, and its printout holds each
/// of `expected`, in order.
fn check_echo(name: &str, expected: &[&str]) {
    let server = Example::start(name, &[]);
    let mut first = connect(server.addr);
    let mut second = connect(server.addr);
    // Served while `first` is open and silent: nobody is stuck on it.
    round_trip(&mut second, b"the second connection first");
    round_trip(&mut first, b"hello, epoll\n");
    for i in 0..20 {
        round_trip(&mut first, format!("message {i}").as_bytes());
    }
    round_trip(&mut first, &pattern(LARGE, 7));
    round_trip(&mut second, &pattern(LARGE, 11));
    round_trip(&mut first, b"still there after the large one");
    drop(first);
    drop(second);
    let out = server.wait_for_stdout(|out| out.matches("closed").count() >= 2);
    let mut rest = out.as_str();
    for step in expected {
        match rest.find(step) {
            Some(at) => rest = &rest[at + step.len()..],
            None => panic!("{name} did not print {step:?} (in order); it printed:\n{out}"),
        }
    }
}

/// `len` bytes that differ from message to message (`seed`), so a byte
/// echoed from the wrong place or the wrong message shows.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Connects to `addr` with [`WATCHDOG`] as the read and write timeout.
fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, WATCHDOG)
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    stream.set_read_timeout(Some(WATCHDOG)).unwrap();
    stream.set_write_timeout(Some(WATCHDOG)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Sends `message` (from another thread, so a server that echoes while it
/// reads never finds both sides' buffers full) and reads the echo back,
/// checking every byte.
fn round_trip(stream: &mut TcpStream, message: &[u8]) {
    let mut writer = stream.try_clone().expect("clone the client socket");
    let data = message.to_vec();
    let sending = thread::spawn(move || writer.write_all(&data));
    let deadline = Instant::now() + WATCHDOG;
    let mut echoed = vec![0; message.len()];
    let mut got = 0;
    while got < echoed.len() {
        assert!(
            Instant::now() < deadline,
            "only {got} of {} B echoed within {WATCHDOG:?}",
            message.len()
        );
        match stream.read(&mut echoed[got..]) {
            Ok(0) => panic!(
                "the server closed after echoing {got} of {} B",
                message.len()
            ),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("reading the echo after {got} B: {e}"),
        }
    }
    // The write is done: every byte of it came back.
    sending
        .join()
        .expect("the writer thread does not panic")
        .expect("the message is sent");
    if let Some(at) = message.iter().zip(&echoed).position(|(a, b)| a != b) {
        panic!(
            "echoed byte {at} of {} is {:#x}, not {:#x}",
            message.len(),
            echoed[at],
            message[at]
        );
    }
}

/// A running example server, killed when dropped.
struct Example {
    /// The process.
    child: Child,
    /// Where it listens, from its first line.
    addr: SocketAddr,
    /// Everything it printed on stdout so far, collected by a thread.
    stdout: Arc<Mutex<String>>,
    /// The same for stderr.
    stderr: Arc<Mutex<String>>,
}

impl Example {
    /// Starts example `name` with `--addr 127.0.0.1:0` and `args`, and waits
    /// (at most [`WATCHDOG`]) for its `listening on ADDR` line.
    fn start(name: &str, args: &[&str]) -> Example {
        let mut child = Command::new(example_bin(name))
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let (stderr, _) = collect_lines(child.stderr.take().expect("stderr is piped"));
        let (stdout, first_line) = collect_lines(child.stdout.take().expect("stdout is piped"));
        let line = first_line.recv_timeout(WATCHDOG).unwrap_or_default();
        let addr = line.strip_prefix("listening on ").map(str::parse);
        let Some(Ok(addr)) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.lock().unwrap().clone();
            panic!("{name}'s first line is {line:?}, not `listening on ADDR`; stderr: {stderr}");
        };
        Example {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    /// What it printed so far.
    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits (at most [`WATCHDOG`]) until what it printed satisfies `done`,
    /// and returns it.
    fn wait_for_stdout(&self, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WATCHDOG;
        loop {
            let out = self.stdout();
            if done(&out) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WATCHDOG:?} for the server's printout; so far:\n{out}\nstderr:\n{}",
                self.stderr.lock().unwrap()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `pipe` line by line on a thread into the returned text, and
/// sends the first line (without its newline) on the channel.
fn collect_lines(pipe: impl Read + Send + 'static) -> (Arc<Mutex<String>>, mpsc::Receiver<String>) {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let (first, first_rx) = mpsc::channel();
    thread::spawn(move || {
        for (i, line) in BufReader::new(pipe).lines().enumerate() {
            let Ok(line) = line else { return };
            if i == 0 {
                let _ = first.send(line.clone());
            }
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    (text, first_rx)
}

/// Runs example `name` with `args` to its end (at most [`WATCHDOG`]):
/// its status, stdout and stderr.
fn run_to_end(name: &str, args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = Command::new(example_bin(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = wait_with_timeout(&mut child, name);
    // It has exited (or was killed), so both pipes are closed and the
    // readers are at their end.
    (status, out.join().unwrap(), err.join().unwrap())
}

/// Waits for `child` to exit, at most [`WATCHDOG`]; kills it and panics if
/// it does not.
fn wait_with_timeout(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + WATCHDOG;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {WATCHDOG:?}; killed it");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// The path of example `name`'s binary, built from the current sources:
/// next to this test's own binary, `target/<profile>/examples/<name>`.
///
/// `cargo test -p runtime` builds the examples before it runs the tests,
/// but `cargo test --test examples` does not, so once per test process
/// this runs `$CARGO build -p runtime --examples` for the same profile
/// (quick when they are fresh). Should that cargo wait over
/// [`LOCK_GRACE`] for another one's lock on the build directory, it is
/// stopped and the binaries already there are used, with a warning.
fn example_bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let dir = profile_dir();
    let path = dir.join("examples").join(name);
    if let Err(e) = BUILT.get_or_init(|| build_examples(&dir)) {
        assert!(path.is_file(), "cannot build the examples: {e}");
        eprintln!("warning: using {} as it is: {e}", path.display());
    }
    assert!(
        path.is_file(),
        "{} is missing after the build",
        path.display()
    );
    path
}

/// `target/<profile>` (or `target/<triple>/<profile>`): the directory of
/// this test binary, less its `deps`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut dir = exe.parent().expect("a directory").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// Runs `$CARGO build -p runtime --examples` into `dir`'s profile and
/// target directory, with a deadline, giving up early if it is stuck on
/// the build directory's lock.
fn build_examples(dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runtime/ is inside the workspace");
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let mut command = Command::new(&cargo);
    command
        .args(["build", "-p", "runtime", "--examples", "--profile", profile])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"));
    if let Some(parent) = dir.parent() {
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
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cargo:?}: {e}"))?;
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    let stderr = child.stderr.take().expect("stderr is piped");
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let started = Instant::now();
    let mut locked_since = None;
    let outcome = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break if status.success() {
                Ok(())
            } else {
                Err(format!(
                    "cargo build failed ({status}):\n{}",
                    log.lock().unwrap()
                ))
            };
        }
        let text = log.lock().unwrap().clone();
        let blocked = text.contains("Blocking waiting for file lock")
            && !text.contains("Compiling")
            && !text.contains("Finished");
        if blocked && locked_since.is_none() {
            locked_since = Some(Instant::now());
        }
        if locked_since.is_some_and(|t| t.elapsed() > LOCK_GRACE) {
            break Err(format!(
                "waited {LOCK_GRACE:?} for the build directory lock"
            ));
        }
        if started.elapsed() > BUILD_TIMEOUT {
            break Err(format!("cargo build took over {BUILD_TIMEOUT:?}"));
        }
        thread::sleep(Duration::from_millis(20));
    };
    if outcome.is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
    outcome
}
