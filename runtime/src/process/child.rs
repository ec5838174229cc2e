//! [`Child`]: a running (or exited) child process.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::pin::Pin;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

use super::reap::Exit;
use super::{ChildStderr, ChildStdin, ChildStdout};
use crate::io::AsyncRead;

/// A child process spawned by [`Command::spawn`](super::Command::spawn).
///
/// Its exit is learned from a pidfd on the reactor (or the blocking-pool
/// fallback; see the [module docs](super)). The piped standard streams are
/// public fields, as in tokio and `std`: `take()` them to use them apart
/// from the `Child`.
///
/// Dropping a `Child` does not wait for the process: with
/// [`kill_on_drop(true)`](super::Command::kill_on_drop) it is killed,
/// and either way it is reaped in the background once it exits, so no
/// zombie stays behind (see the [module docs](super#orphans)).
///
/// # Examples
///
/// ```
/// use runtime::process::Command;
///
/// runtime::block_on(async {
///     let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn()?;
///     assert!(child.id().is_some());
///     let status = child.wait().await?;
///     assert_eq!(status.code(), Some(3));
///     assert_eq!(child.id(), None, "reaped");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Child {
    /// The child's stdin, if it was [piped](std::process::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// The process id.
    pid: u32,
    /// How the exit is learned, or the status once reaped.
    exit: Exit,
    /// Kill the process when the `Child` is dropped unreaped.
    kill_on_drop: bool,
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field("exit", &self.exit)
            .field("kill_on_drop", &self.kill_on_drop)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

impl Child {
    /// A `Child` for `pid`, without its streams yet.
    pub(crate) fn new(pid: u32, exit: Exit, kill_on_drop: bool) -> Child {
        Child {
            stdin: None,
            stdout: None,
            stderr: None,
            pid,
            exit,
            kill_on_drop,
        }
    }

    /// The process id while the child is not reaped; `None` once
    /// [`wait`](Child::wait) or [`try_wait`](Child::try_wait) has reaped
    /// it (the pid may then belong to another process), as in tokio.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let mut child = runtime::process::Command::new("true").spawn()?;
    ///     let pid = child.id().unwrap();
    ///     assert!(pid > 0);
    ///     child.wait().await?;
    ///     assert_eq!(child.id(), None);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn id(&self) -> Option<u32> {
        (!self.exit.is_reaped()).then_some(self.pid)
    }

    /// Waits for the child to exit, reaps it, and returns its status.
    /// Closes the child's stdin first (drops [`Child::stdin`]), so that a
    /// child reading its input to the end cannot make the wait hang.
    /// Waiting again returns the same status.
    ///
    /// Cancel-safe: dropping the future leaves the child as it was,
    /// still waitable. The status is only taken from the kernel by a poll
    /// that returns it.
    ///
    /// # Errors
    ///
    /// If someone else reaped the child (a `waitpid(-1)` elsewhere in the
    /// process, or `SIGCHLD` set to `SIG_IGN`); if the runtime the child was
    /// spawned on was dropped (its reactor can no longer report the exit).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let mut child = runtime::process::Command::new("false").spawn()?;
    ///     let status = child.wait().await?;
    ///     assert!(!status.success());
    ///     assert_eq!(child.wait().await?, status);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.exit.poll_wait(cx)).await
    }

    /// Reaps the child if it has exited, without waiting: `Ok(None)` while
    /// it runs. Does not close stdin.
    ///
    /// # Errors
    ///
    /// As [`wait`](Child::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let mut child = runtime::process::Command::new("sleep").arg("10").spawn()?;
    ///     assert_eq!(child.try_wait()?, None);
    ///     child.kill().await?;
    ///     assert!(child.try_wait()?.is_some());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.exit.try_wait()
    }

    /// Sends the child `SIGKILL` without waiting for it to die. A child
    /// reaped already gets nothing, and `Ok(())` is returned (as `std`'s
    /// `Child::kill` does; tokio returns an error there).
    ///
    /// # Errors
    ///
    /// If the signal cannot be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    ///
    /// runtime::block_on(async {
    ///     let mut child = runtime::process::Command::new("sleep").arg("10").spawn()?;
    ///     child.start_kill()?;
    ///     assert_eq!(child.wait().await?.signal(), Some(9));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.exit.kill()
    }

    /// Sends the child `SIGKILL` and waits for it to exit:
    /// [`start_kill`](Child::start_kill), then [`wait`](Child::wait).
    ///
    /// Cancel-safe as `wait` is: dropping the future after the signal was
    /// sent leaves a dying child, still waitable.
    ///
    /// # Errors
    ///
    /// As `start_kill` and `wait`.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let mut child = runtime::process::Command::new("sleep").arg("10").spawn()?;
    ///     child.kill().await?;
    ///     assert_eq!(child.id(), None, "killed and reaped");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Waits for the child to exit while reading all of its piped stdout
    /// and stderr (both at once, so a child that fills one pipe cannot
    /// block while we read the other). Streams that were not piped give
    /// empty output. Closes stdin first, as [`wait`](Child::wait) does.
    ///
    /// Not cancel-safe: dropping the future drops the `Child` and the
    /// output read so far (the child is then killed if `kill_on_drop`, and
    /// reaped either way).
    ///
    /// # Errors
    ///
    /// A read error of either stream, or a wait error.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::process::{Command, Stdio};
    ///
    /// runtime::block_on(async {
    ///     let child = Command::new("sh")
    ///         .args(["-c", "echo out; echo err >&2"])
    ///         .stdout(Stdio::piped())
    ///         .stderr(Stdio::piped())
    ///         .spawn()?;
    ///     let output = child.wait_with_output().await?;
    ///     assert_eq!(output.stdout, b"out\n");
    ///     assert_eq!(output.stderr, b"err\n");
    ///     assert!(output.status.success());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut stdout = Drain::new(self.stdout.take());
        let mut stderr = Drain::new(self.stderr.take());
        let mut status = None;
        poll_fn(|cx| {
            let out = stdout.poll(cx)?;
            let err = stderr.poll(cx)?;
            if status.is_none() {
                if let Poll::Ready(result) = self.exit.poll_wait(cx) {
                    status = Some(result?);
                }
            }
            match (out, err, status) {
                (Poll::Ready(()), Poll::Ready(()), Some(_)) => Poll::Ready(io::Result::Ok(())),
                _ => Poll::Pending,
            }
        })
        .await?;
        Ok(Output {
            status: status.expect("the wait completed"),
            stdout: stdout.bytes,
            stderr: stderr.bytes,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // The status left behind is never read.
        let exit = std::mem::replace(&mut self.exit, Exit::Reaped(ExitStatus::from_raw(0)));
        exit.orphan(self.kill_on_drop);
    }
}

/// Reads one of a child's output streams to the end, for
/// [`Child::wait_with_output`].
struct Drain<R> {
    /// The stream, until its end.
    reader: Option<R>,
    /// What was read.
    bytes: Vec<u8>,
}

/// Bytes `Drain` asks for per read at most.
const DRAIN_CHUNK: usize = 64 * 1024;

impl<R: AsyncRead + Unpin> Drain<R> {
    /// Drains `reader` (nothing if `None`).
    fn new(reader: Option<R>) -> Drain<R> {
        Drain {
            reader,
            bytes: Vec::new(),
        }
    }

    /// Ready once the stream ended.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(reader) = &mut self.reader else {
            return Poll::Ready(Ok(()));
        };
        loop {
            let filled = self.bytes.len();
            self.bytes.resize(filled + DRAIN_CHUNK, 0);
            let poll = Pin::new(&mut *reader).poll_read(cx, &mut self.bytes[filled..]);
            let n = match &poll {
                Poll::Ready(Ok(n)) => *n,
                _ => 0,
            };
            self.bytes.truncate(filled + n);
            match poll {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(0)) => {
                    self.reader = None;
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Ok(_)) => {}
            }
        }
    }
}
