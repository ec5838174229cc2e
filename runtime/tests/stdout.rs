//! `stdout()` and `stderr()`: every byte arrives, in order; a stdout
//! nobody reads does not stall the runtime; and the shared file
//! description is never made nonblocking.
//!
//! Each test body runs in a child process whose stdout and stderr are
//! pipes this test reads, so the harness's own output is around ours:
//! the bodies frame their bytes with markers.

mod util;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use runtime::io::AsyncWriteExt;
use util::Watchdog;

/// The environment variable naming the body a re-executed binary runs.
const CHILD_VAR: &str = "RUNTIME_STDOUT_TEST_CHILD";

/// Start and end markers around a body's output.
const BEGIN: &[u8] = b"<<<BEGIN>>>";
/// See [`BEGIN`].
const END: &[u8] = b"<<<END>>>";

/// Whether this process is the child running `name`'s body.
fn is_child(name: &str) -> bool {
    std::env::var(CHILD_VAR).as_deref() == Ok(name)
}

/// Re-executes this test binary to run test `name` with piped stdout and
/// stderr; `delay` before reading stdout (to leave it unread a while).
/// Returns what was between the markers on each stream.
fn run_child(name: &str, delay: Duration) -> (Vec<u8>, Vec<u8>) {
    let _fds = util::fd_shared();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_VAR, name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut err = Vec::new();
        stderr.read_to_end(&mut err).unwrap();
        err
    });
    std::thread::sleep(delay);
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let err = err_reader.join().unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "child `{name}` failed ({status}):\n{}\n{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    (framed(&out), framed(&err))
}

/// The bytes between [`BEGIN`] and [`END`], or empty.
fn framed(all: &[u8]) -> Vec<u8> {
    let find = |needle: &[u8]| all.windows(needle.len()).position(|w| w == needle);
    match (find(BEGIN), find(END)) {
        (Some(start), Some(end)) => all[start + BEGIN.len()..end].to_vec(),
        _ => Vec::new(),
    }
}

/// The `flags:` of `/proc/self/fdinfo/<fd>`, octal.
fn fd_flags(fd: i32) -> u32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
    let line = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap();
    u32::from_str_radix(line.trim(), 8).unwrap()
}

/// `O_NONBLOCK` on x86-64 and aarch64 Linux.
const O_NONBLOCK: u32 = 0o4000;

/// The payload: numbered lines, so that a lost, doubled or reordered
/// chunk shows.
fn payload(lines: usize) -> Vec<u8> {
    (0..lines)
        .flat_map(|i| format!("line {i:07}\n").into_bytes())
        .collect()
}

#[test]
fn every_byte_arrives_in_order_on_both_streams() {
    const NAME: &str = "every_byte_arrives_in_order_on_both_streams";
    const LINES: usize = 100_000; // 1.3 MB: many chunks, a full queue
    if is_child(NAME) {
        let _watchdog = Watchdog::new(NAME, util::DEADLINE);
        runtime::block_on(async {
            let mut out = runtime::io::stdout();
            let mut err = runtime::io::stderr();
            out.write_all(BEGIN).await.unwrap();
            err.write_all(BEGIN).await.unwrap();
            // Small writes (coalesced) and one big one.
            for line in payload(LINES).chunks(13) {
                out.write_all(line).await.unwrap();
            }
            err.write_all(&payload(LINES)).await.unwrap();
            out.write_all(END).await.unwrap();
            err.write_all(END).await.unwrap();
            out.flush().await.unwrap();
            err.flush().await.unwrap();
        });
        return;
    }
    let (out, err) = run_child(NAME, Duration::ZERO);
    let expected = payload(LINES);
    assert!(
        out == expected,
        "stdout: {} bytes of {}",
        out.len(),
        expected.len()
    );
    assert!(
        err == expected,
        "stderr: {} bytes of {}",
        err.len(),
        expected.len()
    );
}

/// What the stalled child says on stderr once it has shown that its
/// runtime runs on while stdout is not read.
const STALLED: &str = "STALLED";

#[test]
fn an_unread_stdout_does_not_stall_the_runtime_nor_turn_nonblocking() {
    const NAME: &str = "an_unread_stdout_does_not_stall_the_runtime_nor_turn_nonblocking";
    const LINES: usize = 100_000; // 1.3 MB: more than the pipe and the queue
    if is_child(NAME) {
        let _watchdog = Watchdog::new(NAME, util::DEADLINE);
        assert_eq!(fd_flags(1) & O_NONBLOCK, 0, "stdout starts blocking");
        runtime::block_on(async {
            let writer = runtime::spawn(async {
                let mut out = runtime::io::stdout();
                out.write_all(BEGIN).await.unwrap();
                out.write_all(&payload(LINES)).await.unwrap();
                out.write_all(END).await.unwrap();
                out.flush().await.unwrap();
            });
            // The parent reads nothing until we say so: the pipe fills,
            // the writer thread blocks, the queue fills, and the writer
            // task waits. The runtime must go on running timers.
            for _ in 0..20 {
                runtime::time::sleep(Duration::from_millis(5)).await;
            }
            assert!(
                !writer.is_finished(),
                "1.3 MB cannot fit before the parent reads"
            );
            eprintln!("{STALLED}");
            writer.await.unwrap();
        });
        assert_eq!(fd_flags(1) & O_NONBLOCK, 0, "stdout is still blocking");
        return;
    }
    let _fds = util::fd_shared();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([NAME, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_VAR, NAME)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr until the child says it ran on; only then stdout.
    let (stalled, stalled_rx) = std::sync::mpsc::channel();
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut err = Vec::new();
        let mut buf = [0; 4096];
        loop {
            let n = stderr.read(&mut buf).unwrap();
            if n == 0 {
                return err;
            }
            err.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&err).contains(STALLED) {
                let _ = stalled.send(());
            }
        }
    });
    let said = stalled_rx.recv_timeout(util::DEADLINE);
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let err = err_reader.join().unwrap();
    let status = child.wait().unwrap();
    assert!(
        said.is_ok() && status.success(),
        "{status}: {}",
        String::from_utf8_lossy(&err)
    );
    assert!(framed(&out) == payload(LINES), "{} bytes", out.len());
}

/// What the closed-stdout child prints on stderr as its body starts.
const STARTED: &str = "child body started";

#[test]
fn a_closed_stdout_is_an_error_not_a_panic_or_a_hang() {
    const NAME: &str = "a_closed_stdout_is_an_error_not_a_panic_or_a_hang";
    if is_child(NAME) {
        let _watchdog = Watchdog::new(NAME, util::DEADLINE);
        // The parent closes its read end once it sees this: the harness has
        // written all it writes before a test by now.
        eprintln!("{STARTED}");
        runtime::block_on(async {
            let mut out = runtime::io::stdout();
            // The parent closed its read end (the writes block until then): EPIPE (SIGPIPE is ignored by
            // the Rust runtime), reported by a write or by the flush.
            let mut failed = None;
            for _ in 0..100 {
                let written = out.write_all(&[b'x'; 65536]).await;
                let flushed = out.flush().await;
                if let Err(e) = written.and(flushed) {
                    failed = Some(e);
                    break;
                }
            }
            let e = failed.expect("writing to a closed pipe fails");
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
            eprintln!(
                "{}ok{}",
                String::from_utf8_lossy(BEGIN),
                String::from_utf8_lossy(END)
            );
        });
        return;
    }
    let _fds = util::fd_shared();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([NAME, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_VAR, NAME)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of stdout once the test's body has started (closing
    // it earlier makes the harness fail before it runs the body); stderr is
    // read to its end meanwhile.
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut err = Vec::new();
    let mut buf = [0; 1024];
    while !String::from_utf8_lossy(&err).contains(STARTED) {
        let n = stderr.read(&mut buf).unwrap();
        assert_ne!(
            n,
            0,
            "the child ended early: {}",
            String::from_utf8_lossy(&err)
        );
        err.extend_from_slice(&buf[..n]);
    }
    drop(stdout);
    stderr.read_to_end(&mut err).unwrap();
    // The harness itself then fails to print to the closed stdout, so the
    // child's exit status says nothing; the marker says the body passed.
    child.wait().unwrap();
    assert_eq!(framed(&err), b"ok", "{}", String::from_utf8_lossy(&err));
}
