//! Pipes: `pipe2`, the nonblocking flag of one end, and reads and writes on
//! a pipe end.
//!
//! The flag that matters, `O_NONBLOCK`, belongs to the *open file
//! description*, which every duplicate of the fd shares, in this process
//! and in any child that inherited it. So it is only ever set on a pipe end
//! this process created and keeps to itself (never on stdin, stdout or
//! stderr, which a terminal or a shell pipeline may share), and it is
//! cleared again before an end is handed to a child.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::syscall;

/// One end of a pipe (or any fd read and written with plain
/// `read(2)`/`write(2)`).
#[derive(Debug)]
pub(crate) struct Pipe {
    /// The fd.
    fd: OwnedFd,
}

impl Pipe {
    /// Wraps `fd`, which must be open; its flags are left as they are.
    pub(crate) fn from_owned(fd: OwnedFd) -> Pipe {
        Pipe { fd }
    }

    /// Gives the fd back.
    pub(crate) fn into_owned(self) -> OwnedFd {
        self.fd
    }

    /// `read(2)` into `buf`: `Ok(0)` at end of stream; `WouldBlock` for an
    /// empty nonblocking pipe.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        super::direct::read(self.fd.as_fd(), buf)
    }

    /// `write(2)` from `buf`: how many bytes the pipe took; `WouldBlock`
    /// for a full nonblocking pipe; `BrokenPipe` once no reader is left
    /// (the Rust runtime ignores `SIGPIPE`).
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        super::direct::write(self.fd.as_fd(), buf)
    }
}

impl AsFd for Pipe {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Creates a pipe, `(read end, write end)`, both close-on-exec and both
/// nonblocking: the two ends are two open file descriptions, so the flag of
/// one says nothing about the other (see [`set_nonblocking`]).
///
/// # Errors
///
/// `EMFILE`/`ENFILE` when no fd is left.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two fds `pipe2` writes.
    unsafe { syscall!(pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK)) }?;
    // SAFETY: `pipe2` succeeded, so both are fresh fds nobody else owns.
    let ends = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok(ends)
}

/// Sets or clears `O_NONBLOCK` on `fd`'s open file description, keeping its
/// other status flags.
///
/// Only for fds whose description this process alone uses (a pipe end it
/// created): the flag is shared with every duplicate, in other processes
/// too.
///
/// # Errors
///
/// The `fcntl` error (`EBADF` cannot happen for a borrowed fd).
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    // SAFETY: `F_GETFL` takes no argument and only reads the fd's flags;
    // the fd is open for the borrow.
    let flags = unsafe { syscall!(fcntl(fd.as_raw_fd(), libc::F_GETFL)) }?;
    let wanted = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if wanted != flags {
        // SAFETY: `F_SETFL` takes an int of status flags; we pass the
        // current ones with only `O_NONBLOCK` changed.
        unsafe { syscall!(fcntl(fd.as_raw_fd(), libc::F_SETFL, wanted)) }?;
    }
    Ok(())
}

/// Writes all of `buf` to `fd` with blocking semantics whatever the fd's
/// flags: if someone else made the (shared) file description nonblocking,
/// `EAGAIN` is met by `poll(2)`ing until the fd is writable, never by
/// changing the flags back. For the writer threads of stdout and stderr.
///
/// # Errors
///
/// The first `write` or `poll` error other than `EAGAIN`/`EINTR`;
/// `WriteZero` if a write takes nothing.
pub(crate) fn write_all_blocking(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is live and readable for `buf.len()` bytes; the fd
        // is open for the borrow.
        let res = unsafe { syscall!(write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len())) };
        match res {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n as usize..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut pollfd = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: `pollfd` is one live, writable `pollfd`, and we
                // pass a count of 1; -1 waits without a timeout.
                match unsafe { syscall!(poll(&mut pollfd, 1, -1)) } {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether `fd`'s open file description has `O_NONBLOCK` set.
#[cfg(test)]
///
/// # Errors
///
/// The `fcntl` error.
pub(crate) fn is_nonblocking(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: `F_GETFL` takes no argument and only reads the fd's flags;
    // the fd is open for the borrow.
    let flags = unsafe { syscall!(fcntl(fd.as_raw_fd(), libc::F_GETFL)) }?;
    Ok(flags & libc::O_NONBLOCK != 0)
}

/// Whether `fd`'s close-on-exec flag is set.
#[cfg(test)]
///
/// # Errors
///
/// The `fcntl` error.
pub(crate) fn is_cloexec(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: `F_GETFD` takes no argument and only reads the fd's flags;
    // the fd is open for the borrow.
    let flags = unsafe { syscall!(fcntl(fd.as_raw_fd(), libc::F_GETFD)) }?;
    Ok(flags & libc::FD_CLOEXEC != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_are_cloexec_and_the_flag_is_per_end() {
        let (read, write) = pipe().unwrap();
        for fd in [read.as_fd(), write.as_fd()] {
            assert!(is_cloexec(fd).unwrap());
            assert!(is_nonblocking(fd).unwrap());
        }
        set_nonblocking(write.as_fd(), false).unwrap();
        assert!(!is_nonblocking(write.as_fd()).unwrap());
        assert!(is_nonblocking(read.as_fd()).unwrap(), "ends are separate");

        let (read, write) = (Pipe::from_owned(read), Pipe::from_owned(write));
        let mut buf = [0; 8];
        let err = read.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(write.write(b"abc").unwrap(), 3);
        assert_eq!(read.read(&mut buf).unwrap(), 3);
        drop(write);
        assert_eq!(
            read.read(&mut buf).unwrap(),
            0,
            "EOF once the writer is gone"
        );
    }
}
