//! Child processes: many children leave no zombie and no fd behind, big
//! outputs arrive whole, `output()` matches `std`'s, `kill_on_drop` kills
//! and reaps, dropped children are reaped anyway, and the blocking-pool
//! fallback (for kernels without pidfds) does the same.
//!
//! Every test runs its children under [`util::run`], which holds the fd
//! lock shared; the tests that count fds or zombies hold it exclusively,
//! so no other test of this binary spawns meanwhile.

mod util;

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::pin::pin;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::process::{Command, Stdio};
use util::{deadline, fd_exclusive, open_fd_count, poll_once, run, Watchdog, DEADLINE};

/// A command that learns of its child's exit from a pidfd (`true`) or from
/// the blocking-pool fallback (`false`).
fn command(program: &str, pidfd: bool) -> Command {
    let mut cmd = Command::new(program);
    cmd.use_pidfd(pidfd);
    cmd
}

/// The state letter of process `pid` from `/proc/<pid>/stat`, and its
/// parent's pid; `None` once the process is gone (reaped).
fn proc_state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything: the fields
    // after the last `)` are "state ppid ...".
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// The pids of this process's children that are zombies.
fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| matches!(proc_state(pid), Some(('Z', ppid)) if ppid == me))
        .collect()
}

/// Whether `pid` is still our child (running or a zombie).
fn is_our_child(pid: u32) -> bool {
    matches!(proc_state(pid), Some((_, ppid)) if ppid == std::process::id())
}

/// Waits, turning the runtime, until `pid` is no child of ours any more:
/// reaped.
async fn until_reaped(pid: u32) {
    deadline("the child to be reaped", async {
        while is_our_child(pid) {
            runtime::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
}

/// Spawns and waits `total` `true` children, `width` at a time, and
/// checks that each succeeded.
async fn spawn_and_wait_many(total: usize, width: usize, pidfd: bool) {
    let mut tasks = runtime::task::JoinSet::new();
    for lane in 0..width {
        let count = total / width + usize::from(lane < total % width);
        tasks.spawn(async move {
            for _ in 0..count {
                let status = command("true", pidfd).status().await.expect("run `true`");
                assert!(status.success());
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a lane of children");
    }
}

/// Checks that `many` children leave neither zombies nor fds behind.
fn no_zombie_and_no_fd_left(name: &'static str, total: usize, pidfd: bool) {
    let _fds = fd_exclusive();
    let _watchdog = Watchdog::new(name, DEADLINE);
    runtime::block_on(async {
        // Warm up: the runtime's own fds (blocking pool, signal-free) and
        // the first spawn's lazily made state are not what is counted.
        command("true", pidfd).status().await.unwrap();
        let baseline = open_fd_count();
        spawn_and_wait_many(total, 50, pidfd).await;
        assert_eq!(open_fd_count(), baseline, "fds back to the baseline");
        assert_eq!(zombie_children(), Vec::<u32>::new(), "no zombie left");
    });
}

#[test]
fn a_thousand_children_fifty_at_a_time_leave_no_zombie_and_no_fd() {
    no_zombie_and_no_fd_left(
        "a_thousand_children_fifty_at_a_time_leave_no_zombie_and_no_fd",
        1000,
        true,
    );
}

#[test]
fn fallback_children_leave_no_zombie_and_no_fd() {
    no_zombie_and_no_fd_left("fallback_children_leave_no_zombie_and_no_fd", 200, false);
}

/// The line the big-output child repeats: 32 bytes with its `\n`.
const LINE: &str = "0123456789abcdefghijklmnopqrstu";

#[test]
fn sixteen_mib_of_stdout_arrive_whole_line_by_line() {
    for pidfd in [true, false] {
        run("sixteen_mib", async {
            const TOTAL: usize = 16 << 20;
            let mut child = command("sh", pidfd)
                .args(["-c", &format!("yes {LINE} | head -c {TOTAL}")])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdout = child.stdout.take().unwrap();
            // Read by chunks and split into lines here (the io toolkit's
            // `lines()` is not on main yet): every line must be whole.
            let mut buf = vec![0; 64 * 1024];
            let mut partial = Vec::new();
            let (mut bytes, mut lines) = (0, 0);
            loop {
                let n = stdout.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                bytes += n;
                partial.extend_from_slice(&buf[..n]);
                let complete = partial
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                for line in partial[..complete]
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                {
                    assert_eq!(line, LINE.as_bytes(), "line {lines}");
                    lines += 1;
                }
                partial.drain(..complete);
            }
            assert_eq!(bytes, TOTAL);
            assert_eq!(lines, TOTAL / (LINE.len() + 1));
            assert!(partial.is_empty(), "16 MiB is a whole number of lines");
            assert!(child.wait().await.unwrap().success());
        });
    }
}

#[test]
fn output_equals_what_std_gives() {
    // Both streams past a pipe's capacity (64 KiB), interleaved, and an
    // exit code: a reader that drained one stream before the other would
    // deadlock here.
    let script = "i=0; while [ $i -lt 3000 ]; do \
                  echo \"out line $i with some padding to fill the pipe\"; \
                  echo \"err line $i with some padding to fill the pipe\" >&2; \
                  i=$((i+1)); done; exit 3";
    let expected = std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(expected.stdout.len() > 128 * 1024);
    for pidfd in [true, false] {
        let ours = run("output", async {
            command("sh", pidfd)
                .args(["-c", script])
                .output()
                .await
                .unwrap()
        });
        assert_eq!(ours, expected);
    }
    // The defaults of `output` are for that call only: stdin was null.
    let read_stdin = run("output stdin", async {
        Command::new("wc").arg("-c").output().await.unwrap()
    });
    assert_eq!(String::from_utf8_lossy(&read_stdin.stdout).trim(), "0");
}

#[test]
fn stdin_piped_into_cat_comes_back() {
    for pidfd in [true, false] {
        run("cat", async {
            let mut child = command("cat", pidfd)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let mut stdout = child.stdout.take().unwrap();
            // More than both pipes hold: writer and reader must overlap.
            let mut data = vec![0; 1 << 20];
            util::XorShift::new(12).fill(&mut data);
            let sent = data.clone();
            let writer = runtime::spawn(async move {
                stdin.write_all(&sent).await.unwrap();
                stdin.close().await.unwrap();
            });
            let mut echoed = Vec::new();
            stdout.read_to_end(&mut echoed).await.unwrap();
            writer.await.unwrap();
            assert!(echoed == data, "cat gave back what it was given");
            assert!(child.wait().await.unwrap().success());
        });
    }
}

#[test]
fn a_child_that_exits_before_the_wait_is_reaped_by_it() {
    for pidfd in [true, false] {
        run("exits first", async {
            let mut child = command("true", pidfd).spawn().unwrap();
            let pid = child.id().unwrap();
            // Without turning the runtime: the child becomes a zombie
            // that nobody has reaped yet.
            let start = std::time::Instant::now();
            while proc_state(pid).map(|(state, _)| state) != Some('Z') {
                assert!(start.elapsed() < DEADLINE, "`true` did not exit");
                std::thread::sleep(Duration::from_millis(1));
            }
            let status = deadline("wait", child.wait()).await.unwrap();
            assert!(status.success());
            assert_eq!(proc_state(pid), None, "reaped");
            assert_eq!(child.id(), None);
            // Waiting again gives the same status.
            assert_eq!(child.wait().await.unwrap(), status);
            assert_eq!(child.try_wait().unwrap(), Some(status));
        });
    }
}

#[test]
fn kill_on_drop_kills_and_reaps() {
    for pidfd in [true, false] {
        run("kill_on_drop", async {
            let child = command("sleep", pidfd)
                .arg("1000")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let pid = child.id().unwrap();
            drop(child);
            until_reaped(pid).await;
        });
    }
}

#[test]
fn a_dropped_child_without_kill_on_drop_runs_on_and_is_reaped() {
    for pidfd in [true, false] {
        run("dropped child", async {
            let (marker, path) = temp_path("ran-on");
            let child = command("sh", pidfd)
                .args(["-c", &format!("sleep 0.2; echo done > {path}")])
                .spawn()
                .unwrap();
            let pid = child.id().unwrap();
            drop(child);
            until_reaped(pid).await;
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                "done\n",
                "not killed"
            );
            drop(marker);
        });
    }
}

#[test]
fn a_child_orphaned_by_its_runtime_is_reaped_by_a_later_spawn() {
    // Exclusive: another test's spawn would sweep the list too.
    let _fds = fd_exclusive();
    let _watchdog = Watchdog::new("orphaned by its runtime", DEADLINE);
    // The runtime goes away while the child still runs, so no task of it
    // can reap the child; the process-wide list must.
    let pid = runtime::block_on(async {
        let child = Command::new("sleep").arg("0.1").spawn().unwrap();
        let pid = child.id().unwrap();
        drop(child);
        pid
    });
    assert!(runtime::process::detached_orphans() >= 1);
    let start = std::time::Instant::now();
    while proc_state(pid).map(|(state, _)| state) != Some('Z') {
        assert!(start.elapsed() < DEADLINE, "`sleep 0.1` did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
    // A zombie until the next spawn sweeps the list.
    runtime::block_on(async { Command::new("true").status().await.unwrap() });
    assert_eq!(proc_state(pid), None, "the sweep reaped it");
}

#[test]
fn wait_is_cancel_safe() {
    for pidfd in [true, false] {
        run("wait cancel", async {
            let mut child = command("sleep", pidfd).arg("0.1").spawn().unwrap();
            {
                let wait = pin!(child.wait());
                assert!(poll_once(wait).await.is_pending());
            } // dropped mid-way
            let timed_out = runtime::time::timeout(Duration::from_millis(1), child.wait()).await;
            assert!(timed_out.is_err());
            assert!(child.id().is_some(), "still waitable");
            let status = deadline("wait", child.wait()).await.unwrap();
            assert!(status.success());
        });
    }
}

#[test]
fn kill_and_try_wait() {
    for pidfd in [true, false] {
        run("kill", async {
            let mut child = command("sleep", pidfd).arg("1000").spawn().unwrap();
            assert_eq!(child.try_wait().unwrap(), None);
            child.kill().await.unwrap();
            let status = child.try_wait().unwrap().expect("killed and reaped");
            assert_eq!(status.signal(), Some(9));
            // Killing a reaped child does nothing and is no error.
            child.start_kill().unwrap();
            child.kill().await.unwrap();
        });
    }
}

#[test]
fn spawn_errors_name_the_program_and_keep_the_kind() {
    run("spawn errors", async {
        let err = Command::new("/no/such/dir/program").spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("/no/such/dir/program"), "{err}");
        // A directory cannot be executed, even by root.
        let err = Command::new("/").spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        let err = Command::new("true")
            .current_dir("/no/such/dir")
            .status()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

/// The `flags:` field (octal) of `/proc/<pid>/fdinfo/<fd>`.
fn fd_flags(fdinfo: &str) -> u32 {
    let line = fdinfo
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .expect("a flags line");
    u32::from_str_radix(line.trim(), 8).expect("octal flags")
}

/// `O_NONBLOCK` on x86-64 and aarch64 Linux.
const O_NONBLOCK: u32 = 0o4000;

#[test]
fn our_ends_are_nonblocking_and_the_childs_are_not() {
    use std::os::fd::AsRawFd;
    run("blocking ends", async {
        // The child looks at its own stdin and stdout.
        let child = Command::new("sh")
            .args(["-c", "cat /proc/self/fdinfo/0; cat /proc/self/fdinfo/1 >&2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let ours = child.stdin.as_ref().unwrap().as_raw_fd();
        let our_info = std::fs::read_to_string(format!("/proc/self/fdinfo/{ours}")).unwrap();
        assert_ne!(fd_flags(&our_info) & O_NONBLOCK, 0, "our end: {our_info}");
        let output = child.wait_with_output().await.unwrap();
        let child_stdin = String::from_utf8(output.stdout).unwrap();
        let child_stdout = String::from_utf8(output.stderr).unwrap();
        assert_eq!(fd_flags(&child_stdin) & O_NONBLOCK, 0, "{child_stdin}");
        assert_eq!(fd_flags(&child_stdout) & O_NONBLOCK, 0, "{child_stdout}");
    });
}

#[test]
fn one_childs_stdout_feeds_anothers_stdin() {
    run("pipeline", async {
        let mut first = Command::new("echo")
            .arg("piped along")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout: Stdio = first.stdout.take().unwrap().try_into().unwrap();
        let second = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(stdout)
            .output();
        let output = second.await.unwrap();
        assert_eq!(output.stdout, b"PIPED ALONG\n");
        assert!(first.wait().await.unwrap().success());
    });
}

#[test]
fn a_pipe_end_serves_as_a_childs_stdout() {
    run("pipe as stdout", async {
        let (writer, mut reader) = runtime::io::pipe().unwrap();
        let mut child = Command::new("sh")
            .args(["-c", "echo one; echo two"])
            .stdout(Stdio::try_from(writer).unwrap())
            .spawn()
            .unwrap();
        let mut got = Vec::new();
        // EOF comes only once the child exits: our copy of the write end
        // went into the spawn and was closed after it.
        deadline("read", reader.read_to_end(&mut got))
            .await
            .unwrap();
        assert_eq!(got, b"one\ntwo\n");
        assert!(child.wait().await.unwrap().success());
    });
}

/// A path in the temp dir unique to this test process, removed when the
/// guard drops.
fn temp_path(name: &str) -> (TempFile, String) {
    let path = std::env::temp_dir().join(format!("runtime-process-{}-{name}", std::process::id()));
    let path = path.to_str().expect("a UTF-8 temp path").to_owned();
    (TempFile(path.clone()), path)
}

/// Removes its file when dropped.
struct TempFile(String);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
