//! The hot path's syscalls, made through `syscall(2)` rather than glibc's
//! named wrappers.
//!
//! glibc's `read`, `write`, `recv`, `send` and `epoll_wait` are thread
//! *cancellation points* (`pthread_cancel(3)`). Once a process has a second
//! thread (a blocking-pool thread, another runtime of a group, tokio beside
//! us), every such call switches the calling thread to asynchronous
//! cancellation before the syscall and back after it. Measured with
//! callgrind on the echo server (`bench/measure.sh callgrind`, servers
//! `ours` and `ours-threads2`): that toggling was 63 instructions of the
//! 565 per echoed message with `--threads 2`, and recv and send themselves
//! cost 28 instead of 10 each, against 445 in all with one thread. The
//! runtime never cancels a thread, so it asks the kernel directly through
//! `syscall(2)`, which is not a cancellation point: the same few
//! instructions whether the process has one thread or a thousand.
//!
//! Each function has the meaning of the glibc call of the same name.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Turns `syscall(2)`'s return into a count, or the `errno` error.
fn count(res: libc::c_long) -> io::Result<usize> {
    if res < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(res as usize)
    }
}

/// The fd as `syscall(2)` takes it: every argument travels as a `long`.
fn arg(fd: BorrowedFd<'_>) -> libc::c_long {
    libc::c_long::from(fd.as_raw_fd())
}

/// `read(2)`: bytes read into `buf`, `Ok(0)` at end of stream.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is live and writable for `buf.len()` bytes and the
    // kernel writes at most that many; the fd is open for the borrow.
    count(unsafe { libc::syscall(libc::SYS_read, arg(fd), buf.as_mut_ptr(), buf.len()) })
}

/// `write(2)`: how many bytes of `buf` were taken.
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is live and readable for `buf.len()` bytes; the fd is
    // open for the borrow.
    count(unsafe { libc::syscall(libc::SYS_write, arg(fd), buf.as_ptr(), buf.len()) })
}

/// `recv(2)` with no flags, on a socket: what `read` gives, and a datagram
/// socket's next datagram (truncated to `buf`).
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    let no_addr = std::ptr::null_mut::<libc::sockaddr>();
    let no_len = std::ptr::null_mut::<libc::socklen_t>();
    // SAFETY: `buf` is live and writable for `buf.len()` bytes and the
    // kernel writes at most that many; a null address (and length) asks
    // for no sender address; the fd is open for the borrow.
    count(unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            arg(fd),
            buf.as_mut_ptr(),
            buf.len(),
            0 as libc::c_long,
            no_addr,
            no_len,
        )
    })
}

/// `send(2)` with `MSG_NOSIGNAL`, on a socket: a peer that has gone gives
/// `BrokenPipe` rather than a `SIGPIPE`, as std's sockets do.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    let no_addr = std::ptr::null::<libc::sockaddr>();
    // SAFETY: `buf` is live and readable for `buf.len()` bytes; a null
    // address of length 0 sends to the connected peer; the fd is open for
    // the borrow.
    count(unsafe {
        libc::syscall(
            libc::SYS_sendto,
            arg(fd),
            buf.as_ptr(),
            buf.len(),
            libc::c_long::from(libc::MSG_NOSIGNAL),
            no_addr,
            0 as libc::c_long,
        )
    })
}

/// `epoll_wait(2)` into the spare capacity of `events`, waiting at most
/// `timeout_ms` (-1: no limit): how many entries the kernel wrote, from
/// the start of the vector's buffer.
///
/// `epoll_wait` is not a syscall of its own on every architecture (aarch64
/// has only `epoll_pwait`); `epoll_pwait` with no signal mask is the same
/// call.
pub(crate) fn epoll_wait(
    epoll: BorrowedFd<'_>,
    events: &mut Vec<libc::epoll_event>,
    timeout_ms: libc::c_int,
) -> io::Result<usize> {
    let capacity = events.capacity().min(libc::c_int::MAX as usize);
    let no_mask = std::ptr::null::<libc::sigset_t>();
    // SAFETY: the buffer has room for `capacity` entries and the kernel
    // writes at most that many (the vector's length is set by the caller,
    // from the count); a null mask leaves the signal mask alone; the fd is
    // open for the borrow.
    count(unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait,
            arg(epoll),
            events.as_mut_ptr(),
            capacity as libc::c_long,
            libc::c_long::from(timeout_ms),
            no_mask,
            0 as libc::c_long,
        )
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn send_and_recv_move_bytes_and_report_errors() {
        let (a, mut b) = UnixStream::pair().unwrap();
        assert_eq!(send(a.as_fd(), b"hello").unwrap(), 5);
        let mut buf = [0u8; 16];
        assert_eq!(b.read(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        b.write_all(b"back").unwrap();
        assert_eq!(recv(a.as_fd(), &mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"back");
        b.write_all(b"!").unwrap();
        assert_eq!(read(a.as_fd(), &mut buf).unwrap(), 1);
        assert_eq!(write(a.as_fd(), b"w").unwrap(), 1);
        assert_eq!(b.read(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], b'w');
        a.set_nonblocking(true).unwrap();
        let empty = recv(a.as_fd(), &mut buf).unwrap_err();
        assert_eq!(empty.kind(), io::ErrorKind::WouldBlock);
        drop(b);
        let gone = send(a.as_fd(), b"x").unwrap_err();
        assert_eq!(gone.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(read(a.as_fd(), &mut buf).unwrap(), 0, "end of stream");
    }
}
