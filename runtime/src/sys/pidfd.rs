//! Child processes: a pidfd to learn of a child's exit without `SIGCHLD`,
//! and the pid-based calls of the fallback for kernels without pidfds.
//!
//! A pidfd (`pidfd_open(2)`, Linux 5.3) is a file descriptor that refers to
//! one process. It turns readable when the process exits, so epoll can
//! watch it like a socket, and `waitid(P_PIDFD, ...)` (Linux 5.4) reaps
//! exactly that process. Signals go through `pidfd_send_signal(2)`. None of
//! these can hit a recycled pid: the fd refers to the process itself, and
//! the pid of an unreaped child is never reused anyway.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use super::syscall;

/// A pidfd: an fd that refers to one child process, readable once it has
/// exited.
#[derive(Debug)]
pub(crate) struct PidFd {
    /// The fd (close-on-exec: `pidfd_open` always sets it).
    fd: OwnedFd,
}

impl PidFd {
    /// Opens a pidfd for `pid`, which must be an unreaped child of ours (a
    /// running one or a zombie).
    ///
    /// # Errors
    ///
    /// `ENOSYS` on kernels before 5.3 (or under a seccomp filter that
    /// refuses the call), `ESRCH` if the process was reaped already,
    /// `EMFILE`/`ENFILE` when no fd is left.
    pub(crate) fn open(pid: u32) -> io::Result<PidFd> {
        let pid = libc::pid_t::try_from(pid)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
        // SAFETY: `pidfd_open` takes a pid and flags (0) by value and
        // touches no memory of ours.
        let fd = unsafe { syscall!(syscall(libc::SYS_pidfd_open, pid, 0)) }?;
        let fd = libc::c_int::try_from(fd)
            .map_err(|_| io::Error::other("pidfd_open returned an fd out of range"))?;
        // SAFETY: `pidfd_open` succeeded, so `fd` is a fresh descriptor
        // nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(PidFd { fd })
    }

    /// Reaps the process if it has exited: `Ok(None)` while it runs.
    ///
    /// # Errors
    ///
    /// `ECHILD` if it was reaped already (by us, or by someone calling
    /// `waitpid(-1)` or ignoring `SIGCHLD`).
    pub(crate) fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        loop {
            // SAFETY: all-zero bytes are a valid `siginfo_t`; `si_pid`
            // staying 0 is how `WNOHANG` says "still running".
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: `info` is a live, writable `siginfo_t`; the fd is open
            // for as long as `self` lives, and `P_PIDFD` takes it as the id.
            let res = unsafe {
                syscall!(waitid(
                    libc::P_PIDFD,
                    self.fd.as_raw_fd() as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG
                ))
            };
            match res {
                Ok(_) => return Ok(status_from_siginfo(&info)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends `SIGKILL` to the process.
    ///
    /// # Errors
    ///
    /// `ESRCH` if it was reaped already; `ENOSYS` on kernels before 5.1.
    pub(crate) fn kill(&self) -> io::Result<()> {
        // SAFETY: `pidfd_send_signal` takes the open fd, a signal number, a
        // null `siginfo` (the kernel fills in a default one) and flags 0.
        unsafe {
            syscall!(syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0
            ))
        }?;
        Ok(())
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The exit status `waitid` left in `info`, or `None` if it reaped nothing
/// (`si_pid` 0 under `WNOHANG`).
fn status_from_siginfo(info: &libc::siginfo_t) -> Option<ExitStatus> {
    // SAFETY: `waitid` filled in a SIGCHLD-style `siginfo_t` (or left the
    // zeroed one alone), for which `si_pid` and `si_status` are the fields
    // that are set.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return None;
    }
    // Rebuild the `wait(2)` status word that `ExitStatus` is made from.
    let raw = match info.si_code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        // CLD_KILLED; `WEXITED` alone reports no stops or continues.
        _ => status & 0x7f,
    };
    Some(ExitStatus::from_raw(raw))
}

/// Blocks until child `pid` has exited, **without reaping it**
/// (`WNOWAIT`): the fallback waiter, run on a blocking-pool thread. The
/// child stays a zombie, so its pid cannot be reused until
/// [`try_reap`] reaps it.
///
/// # Errors
///
/// `ECHILD` if `pid` is no unreaped child of ours.
pub(crate) fn wait_exited(pid: u32) -> io::Result<()> {
    let id = libc::id_t::from(pid);
    loop {
        // SAFETY: all-zero bytes are a valid `siginfo_t`.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a live, writable `siginfo_t`; `P_PID` takes a
        // pid as the id.
        let res = unsafe {
            syscall!(waitid(
                libc::P_PID,
                id,
                &mut info,
                libc::WEXITED | libc::WNOWAIT
            ))
        };
        match res {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reaps child `pid` if it has exited: `Ok(None)` while it runs.
///
/// The caller must know that `pid` is still an unreaped child of ours
/// (else it may be another process by now); the fallback keeps that under
/// a lock.
///
/// # Errors
///
/// `ECHILD` if `pid` is no unreaped child of ours.
pub(crate) fn try_reap(pid: u32) -> io::Result<Option<ExitStatus>> {
    let pid = pid_of(pid)?;
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a live, writable int.
        match unsafe { syscall!(waitpid(pid, &mut status, libc::WNOHANG)) } {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(ExitStatus::from_raw(status))),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Sends `SIGKILL` to child `pid`, which the caller knows to be unreaped
/// (see [`try_reap`]).
///
/// # Errors
///
/// The `kill` error.
pub(crate) fn kill(pid: u32) -> io::Result<()> {
    let pid = pid_of(pid)?;
    // SAFETY: `kill` takes two integers; the caller guarantees `pid` is an
    // unreaped child of ours, so no other process gets the signal.
    unsafe { syscall!(kill(pid, libc::SIGKILL)) }?;
    Ok(())
}

/// `e`, with a word on who is to blame if it is `ECHILD` (the child was
/// reaped by someone else); other errors as they are.
pub(crate) fn explain_echild(e: io::Error) -> io::Error {
    if e.raw_os_error() != Some(libc::ECHILD) {
        return e;
    }
    io::Error::new(
        e.kind(),
        format!(
            "{e}: the child was reaped by someone else (a `waitpid(-1)` elsewhere in the \
             process, or SIGCHLD set to SIG_IGN)"
        ),
    )
}

/// `pid` as a `pid_t`, refusing values that would mean a process group.
fn pid_of(pid: u32) -> io::Result<libc::pid_t> {
    match libc::pid_t::try_from(pid) {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "pid out of range",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // These reap through the pidfd or by pid, not through `std`'s `wait`.
    #[test]
    #[allow(clippy::zombie_processes)]
    fn a_pidfd_reaps_its_child_with_its_status() {
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 7"])
            .spawn()
            .unwrap();
        let pidfd = PidFd::open(child.id()).unwrap();
        let status = loop {
            if let Some(status) = pidfd.try_wait().unwrap() {
                break status;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert_eq!(status.code(), Some(7));
        // Reaped: a second wait says so, and signals fail.
        assert_eq!(
            pidfd.try_wait().unwrap_err().raw_os_error(),
            Some(libc::ECHILD)
        );
        assert!(pidfd.kill().is_err());
    }

    #[test]
    #[allow(clippy::zombie_processes)]
    fn a_killed_child_reports_its_signal() {
        let child = std::process::Command::new("sleep")
            .arg("100")
            .spawn()
            .unwrap();
        let pidfd = PidFd::open(child.id()).unwrap();
        assert!(pidfd.try_wait().unwrap().is_none());
        pidfd.kill().unwrap();
        wait_exited(child.id()).unwrap();
        let status = try_reap(child.id()).unwrap().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
}
