//! `runtime::io::stdin()` with stdin a pipe, a regular file, and `/dev/null`.
//!
//! Each case re-runs this test binary as a child whose stdin is set up by
//! the parent; the child reads stdin through the runtime and writes what it
//! got to a file the parent checks.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runtime::io::{AsyncBufReadExt, AsyncReadExt};

/// Set in the child: what to do and where to write the result.
const MODE_VAR: &str = "RUNTIME_STDIN_TEST_MODE";
const OUT_VAR: &str = "RUNTIME_STDIN_TEST_OUT";

/// The child's side. It does nothing when run as an ordinary test.
#[test]
fn child_reads_stdin_through_the_runtime() {
    let (Ok(mode), Ok(out)) = (std::env::var(MODE_VAR), std::env::var(OUT_VAR)) else {
        return;
    };
    let result = runtime::block_on(async {
        match mode.as_str() {
            "bytes" => {
                let mut all = Vec::new();
                runtime::io::stdin().read_to_end(&mut all).await?;
                Ok(all)
            }
            "lines" => {
                let mut lines = runtime::io::stdin().lines();
                let mut joined = Vec::new();
                while let Some(line) = lines.next_line().await? {
                    joined.extend_from_slice(line.as_bytes());
                    joined.push(b'|');
                }
                Ok(joined)
            }
            "lines-in-a-timeout-loop" => {
                // Each `next_line` gets a short timeout, as a program that
                // also watches other things would: most time out in the
                // middle of a line, and must lose nothing when dropped.
                let mut lines = runtime::io::stdin().lines();
                let mut joined = Vec::new();
                let mut timeouts = 0u32;
                loop {
                    let next = lines.next_line();
                    match runtime::time::timeout(Duration::from_millis(20), next).await {
                        Ok(Ok(Some(line))) => {
                            joined.extend_from_slice(line.as_bytes());
                            joined.push(b'|');
                        }
                        Ok(Ok(None)) => break,
                        Ok(Err(e)) => return Err(e),
                        Err(_) => timeouts += 1,
                    }
                }
                // The check that the test exercised what it is about.
                assert!(timeouts > 0, "no read timed out: the input came too fast");
                Ok(joined)
            }
            other => panic!("unknown mode {other}"),
        }
    });
    let bytes: Vec<u8> =
        result.unwrap_or_else(|e: std::io::Error| format!("error: {e}").into_bytes());
    std::fs::write(out, bytes).unwrap();
}

/// The arguments that make the test binary run only the child's side.
const CHILD_ARGS: [&str; 3] = [
    "child_reads_stdin_through_the_runtime",
    "--exact",
    "--test-threads=1",
];

/// Runs the child with `stdin`, in `mode`, and returns what it read.
fn run_child(mode: &str, stdin: Stdio, feed: Option<Vec<u8>>) -> Vec<u8> {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(CHILD_ARGS);
    run_command(command, mode, stdin, feed)
}

/// Runs the child in `mode` with its stdin piped from the shell command
/// `producer`, and returns what it read.
fn run_child_fed_by(mode: &str, producer: &str) -> Vec<u8> {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("({producer}) | \"$0\" \"$@\""))
        .arg(std::env::current_exe().unwrap())
        .args(CHILD_ARGS);
    run_command(command, mode, Stdio::null(), None)
}

/// Runs `command` (the child, perhaps behind a shell) in `mode`, and
/// returns what the child read.
fn run_command(mut command: Command, mode: &str, stdin: Stdio, feed: Option<Vec<u8>>) -> Vec<u8> {
    let out = temp_path(mode);
    let mut child = command
        .env(MODE_VAR, mode)
        .env(OUT_VAR, &out)
        .stdin(stdin)
        .stdout(Stdio::null())
        .spawn()
        .expect("re-run the test binary");
    if let Some(data) = feed {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child did not finish reading stdin");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "the child failed: {status}");
    let got = std::fs::read(&out).expect("the child wrote its result");
    let _ = std::fs::remove_file(&out);
    got
}

fn temp_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "runtime-stdin-{}-{tag}-{:?}",
        std::process::id(),
        Instant::now()
    ))
}

fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn a_pipe_is_read_completely() {
    let data = pseudo_random(3 * 1024 * 1024 + 17);
    let got = run_child("bytes", Stdio::piped(), Some(data.clone()));
    assert!(got == data, "got {} bytes, sent {}", got.len(), data.len());
}

#[test]
fn a_regular_file_is_read_completely() {
    let data = pseudo_random(1024 * 1024 + 3);
    let path = temp_path("file");
    std::fs::write(&path, &data).unwrap();
    let file = std::fs::File::open(Path::new(&path)).unwrap();
    let got = run_child("bytes", Stdio::from(file), None);
    let _ = std::fs::remove_file(&path);
    assert!(got == data, "got {} bytes, sent {}", got.len(), data.len());
}

#[test]
fn dev_null_is_empty() {
    assert_eq!(run_child("bytes", Stdio::null(), None), b"");
}

#[test]
fn lines_come_without_their_endings() {
    let got = run_child(
        "lines",
        Stdio::piped(),
        Some(b"one\ntwo\r\n\nlast without newline".to_vec()),
    );
    assert_eq!(
        String::from_utf8(got).unwrap(),
        "one|two||last without newline|"
    );
}

#[test]
fn a_line_that_arrives_in_two_pieces_survives_next_line_timing_out_between_them() {
    let got = run_child_fed_by(
        "lines-in-a-timeout-loop",
        "printf 'hello wo'; sleep .2; printf 'rld\\n'; sleep .1; printf 'second\\n'",
    );
    assert_eq!(String::from_utf8(got).unwrap(), "hello world|second|");
}
