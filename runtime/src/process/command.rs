//! [`Command`]: a process builder in tokio's shape, around
//! `std::process::Command`, which does the fork and exec.

use std::ffi::OsStr;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use super::reap::{self, Exit};
use super::{Child, ChildStderr, ChildStdin, ChildStdout};
use crate::executor::context;

/// A process builder: what to run, its arguments, environment, working
/// directory and standard streams; then [`spawn`](Command::spawn),
/// [`status`](Command::status) or [`output`](Command::output).
///
/// The same as `std::process::Command` (which it wraps: see
/// [`as_std_mut`](Command::as_std_mut) for what this type does not
/// repeat), plus [`kill_on_drop`](Command::kill_on_drop), with the waiting
/// done on the runtime. A `Command` may spawn any number of children.
///
/// # Examples
///
/// ```
/// use runtime::process::Command;
///
/// runtime::block_on(async {
///     let output = Command::new("sh")
///         .arg("-c")
///         .arg("echo \"$GREETING, $0\"")
///         .arg("world")
///         .env("GREETING", "hello")
///         .output()
///         .await?;
///     assert_eq!(output.stdout, b"hello, world\n");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Command {
    /// What to run and how; its stdio settings are the user's, or the
    /// defaults of [`spawn`](Command::spawn) (inherit).
    std: std::process::Command,
    /// Kill the child when its `Child` is dropped unreaped.
    kill_on_drop: bool,
    /// Learn of the exit from a pidfd (false: the fallback, for tests).
    use_pidfd: bool,
    /// Which of stdin, stdout, stderr the user configured: `output` uses
    /// its own defaults for the others.
    configured: [bool; 3],
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("command", &self.std)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish_non_exhaustive()
    }
}

impl From<std::process::Command> for Command {
    /// Takes over a configured `std` command. Its stdio settings are
    /// treated as the user's (`std` does not tell whether they were set),
    /// so [`output`](Command::output) pipes none of them by itself.
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            use_pidfd: true,
            configured: [true; 3],
        }
    }
}

/// Indices into [`Command::configured`].
const STDIN: usize = 0;
/// See [`STDIN`].
const STDOUT: usize = 1;
/// See [`STDIN`].
const STDERR: usize = 2;

impl Command {
    /// A command to run `program`, found on `PATH` unless it contains a
    /// `/`; no arguments, the parent's environment and working directory,
    /// and (for [`spawn`](Command::spawn) and [`status`](Command::status))
    /// the parent's stdin, stdout and stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let status = runtime::process::Command::new("true").status().await?;
    ///     assert!(status.success());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command {
            std: std::process::Command::new(program),
            kill_on_drop: false,
            use_pidfd: true,
            configured: [false; 3],
        }
    }

    /// Adds one argument.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let out = runtime::process::Command::new("echo").arg("one arg").output().await?;
    ///     assert_eq!(out.stdout, b"one arg\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds several arguments.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let out = runtime::process::Command::new("echo").args(["a", "b"]).output().await?;
    ///     assert_eq!(out.stdout, b"a b\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let out = runtime::process::Command::new("sh")
    ///         .args(["-c", "echo $COLOUR"])
    ///         .env("COLOUR", "teal")
    ///         .output()
    ///         .await?;
    ///     assert_eq!(out.stdout, b"teal\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.env(key, val);
        self
    }

    /// Sets several environment variables for the child.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let out = runtime::process::Command::new("sh")
    ///         .args(["-c", "echo $A$B"])
    ///         .envs([("A", "1"), ("B", "2")])
    ///         .output()
    ///         .await?;
    ///     assert_eq!(out.stdout, b"12\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let out = runtime::process::Command::new("sh")
    ///         .args(["-c", "echo \"[$HOME]\""])
    ///         .env_remove("HOME")
    ///         .output()
    ///         .await?;
    ///     assert_eq!(out.stdout, b"[]\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus whatever
    /// [`env`](Command::env) adds afterwards).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let out = runtime::process::Command::new("/usr/bin/env")
    ///         .env_clear()
    ///         .env("ONLY", "me")
    ///         .output()
    ///         .await?;
    ///     assert_eq!(out.stdout, b"ONLY=me\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory. (A relative program path is
    /// looked up from the parent's directory, as in `std`: use an absolute
    /// one to be sure.)
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let out = runtime::process::Command::new("pwd").current_dir("/").output().await?;
    ///     assert_eq!(out.stdout, b"/\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's stdin: [`Stdio::piped()`] (then
    /// [`Child::stdin`] is the writing end), [`Stdio::null()`],
    /// [`Stdio::inherit()`] (the default, but for
    /// [`output`](Command::output), where it is null), or an fd or file.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::process::{Command, Stdio};
    ///
    /// runtime::block_on(async {
    ///     let out = Command::new("wc").arg("-c").stdin(Stdio::null()).output().await?;
    ///     assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self.configured[STDIN] = true;
        self
    }

    /// Sets the child's stdout, as [`stdin`](Command::stdin) does (the
    /// default is inherit, but for [`output`](Command::output), where it
    /// is piped).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::process::{Command, Stdio};
    ///
    /// runtime::block_on(async {
    ///     let out = Command::new("echo").arg("gone").stdout(Stdio::null()).output().await?;
    ///     assert!(out.stdout.is_empty());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self.configured[STDOUT] = true;
        self
    }

    /// Sets the child's stderr, as [`stdout`](Command::stdout) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::process::{Command, Stdio};
    ///
    /// runtime::block_on(async {
    ///     let mut child = Command::new("sh")
    ///         .args(["-c", "echo hidden >&2"])
    ///         .stderr(Stdio::null())
    ///         .spawn()?;
    ///     assert!(child.stderr.is_none());
    ///     child.wait().await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self.configured[STDERR] = true;
        self
    }

    /// Whether dropping the [`Child`] before it was reaped kills the
    /// process (`SIGKILL`). Off by default: a dropped child runs on, and
    /// is reaped in the background once it exits either way (see the
    /// [module docs](super#orphans)).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let child = runtime::process::Command::new("sleep")
    ///         .arg("100")
    ///         .kill_on_drop(true)
    ///         .spawn()?;
    ///     drop(child); // killed now, reaped in the background
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// For tests: whether to learn of exits from a pidfd (the default) or
    /// from the fallback on the blocking pool that kernels without pidfds
    /// get (`false`).
    #[doc(hidden)]
    pub fn use_pidfd(&mut self, use_pidfd: bool) -> &mut Command {
        self.use_pidfd = use_pidfd;
        self
    }

    /// The wrapped `std::process::Command`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut cmd = runtime::process::Command::new("ls");
    /// cmd.arg("-l");
    /// assert_eq!(cmd.as_std().get_program(), "ls");
    /// ```
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The wrapped `std::process::Command`, mutably: for what this type
    /// does not repeat, such as `std::os::unix::process::CommandExt`
    /// (`uid`, `gid`, `process_group`, `arg0`, `pre_exec`). Stdio set
    /// through it counts as set (for [`output`](Command::output)'s
    /// defaults) only if it is set here too.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::CommandExt;
    ///
    /// runtime::block_on(async {
    ///     let mut cmd = runtime::process::Command::new("sh");
    ///     cmd.args(["-c", "echo $0"]);
    ///     cmd.as_std_mut().arg0("renamed");
    ///     assert_eq!(cmd.output().await?.stdout, b"renamed\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the child and returns it at once; piped streams are its
    /// public fields.
    ///
    /// # Errors
    ///
    /// If the program cannot be started (`NotFound`, `PermissionDenied`,
    /// ...; the message names the program and keeps the kind), or no file
    /// descriptor is left for the pipes.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::process::Command;
    ///
    /// runtime::block_on(async {
    ///     let mut child = Command::new("true").spawn()?;
    ///     assert!(child.wait().await?.success());
    ///
    ///     let err = Command::new("/no/such/program").spawn().unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     assert!(err.to_string().contains("/no/such/program"));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let core = context::current();
        reap::sweep();
        let mut child = self.std.spawn().map_err(|e| {
            let program = self.std.get_program().to_string_lossy();
            io::Error::new(e.kind(), format!("cannot spawn `{program}`: {e}"))
        })?;
        // From here on a process runs: every path out leaves it to a
        // `Child` (which reaps it, also when dropped) or reaps it.
        let pid = child.id();
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        // The std handle only closes the streams we took when dropped; it
        // neither waits nor kills.
        drop(child);
        let exit = Exit::watch(&core, pid, self.use_pidfd)?;
        let mut child = Child::new(pid, exit, self.kill_on_drop);
        child.stdin = stdin.map(ChildStdin::from_std).transpose()?;
        child.stdout = stdout.map(ChildStdout::from_std).transpose()?;
        child.stderr = stderr.map(ChildStderr::from_std).transpose()?;
        Ok(child)
    }

    /// Runs the child to completion and returns its exit status. Its
    /// streams are inherited unless configured; piped ones are closed
    /// before waiting (so the child cannot block on them).
    ///
    /// As in tokio, the child is spawned by this call, not at the first
    /// poll, and the future borrows nothing: `Command::new(..).status()`
    /// may be awaited later.
    ///
    /// Cancel-safe in that nothing is lost but the wait: dropping the
    /// future drops the [`Child`], which is killed if
    /// [`kill_on_drop`](Command::kill_on_drop) and reaped either way.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn) and [`Child::wait`].
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let status = runtime::process::Command::new("sh").args(["-c", "exit 42"]).status().await?;
    ///     assert_eq!(status.code(), Some(42));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + 'static {
        let spawned = self.spawn();
        async move {
            let mut child = spawned?;
            drop(child.stdout.take());
            drop(child.stderr.take());
            child.wait().await
        }
    }

    /// Runs the child to completion, collecting its stdout and stderr.
    /// As with `std`'s `output`, streams not configured default to piped
    /// (stdout, stderr) and null (stdin), for this call only. The child is
    /// spawned by this call, as for [`status`](Command::status).
    ///
    /// Not cancel-safe: dropping the future loses the output (the child is
    /// killed if [`kill_on_drop`](Command::kill_on_drop), and reaped either
    /// way).
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn) and [`Child::wait_with_output`].
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let out = runtime::process::Command::new("sh")
    ///         .args(["-c", "printf out; printf err >&2; exit 1"])
    ///         .output()
    ///         .await?;
    ///     assert_eq!(out.stdout, b"out");
    ///     assert_eq!(out.stderr, b"err");
    ///     assert_eq!(out.status.code(), Some(1));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> + 'static {
        let defaults: [fn() -> Stdio; 3] = [Stdio::null, Stdio::piped, Stdio::piped];
        self.with_defaults(defaults);
        let spawned = self.spawn();
        // Back to `spawn`'s defaults for the streams the user left alone.
        self.with_defaults([Stdio::inherit; 3]);
        async move { spawned?.wait_with_output().await }
    }

    /// Sets each stream the user did not configure to its default.
    fn with_defaults(&mut self, defaults: [fn() -> Stdio; 3]) {
        let [stdin, stdout, stderr] = defaults;
        if !self.configured[STDIN] {
            self.std.stdin(stdin());
        }
        if !self.configured[STDOUT] {
            self.std.stdout(stdout());
        }
        if !self.configured[STDERR] {
            self.std.stderr(stderr());
        }
    }
}
