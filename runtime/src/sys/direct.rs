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
//! runtime never cancels a thread, so it asks the kernel directly: the same
//! few instructions whether the process has one thread or a thousand.
//!
//! On x86-64 (not x32, whose `long` is narrower than a register) and
//! aarch64 the call is the architecture's syscall
//! instruction itself ([`raw`]), which returns `-errno` in a register: no
//! libc wrapper and no thread-local `errno` to read back. Elsewhere it is
//! `syscall(2)`, which is not a cancellation point either.
//!
//! Each function has the meaning of the glibc call of the same name.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The fd as the kernel takes it: every argument travels as a `long`.
fn arg(fd: BorrowedFd<'_>) -> libc::c_long {
    libc::c_long::from(fd.as_raw_fd())
}

/// Syscall `nr` with six arguments (unused ones 0), by the architecture's
/// syscall instruction: the kernel's return, `-errno` on failure.
///
/// # Safety
///
/// As for the syscall itself: every pointer argument must be valid for
/// what syscall `nr` does with it.
#[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
#[inline(always)]
unsafe fn raw(nr: libc::c_long, a: [libc::c_long; 6]) -> libc::c_long {
    let ret;
    // SAFETY: the Linux x86-64 syscall convention: the number in rax,
    // arguments in rdi, rsi, rdx, r10, r8, r9, the result in rax; the
    // instruction overwrites rcx and r11 and nothing else, and does not
    // touch the stack. The kernel may read and write memory the arguments
    // point to, which the asm block allows (no `nomem`); the caller
    // vouches for those pointers.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Syscall `nr`, by the architecture's syscall instruction: see the
/// x86-64 version.
///
/// # Safety
///
/// As for the syscall itself.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn raw(nr: libc::c_long, a: [libc::c_long; 6]) -> libc::c_long {
    let ret;
    // SAFETY: the Linux aarch64 syscall convention: the number in x8,
    // arguments in x0..x5, the result in x0; `svc 0` preserves every other
    // register and does not touch the stack. Memory the arguments point to
    // may be read and written (no `nomem`); the caller vouches for it.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a[0] => ret,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

/// Syscall `nr` through `syscall(2)`, on architectures without [`raw`]'s
/// instruction here: the kernel's return, `-errno` on failure.
///
/// # Safety
///
/// As for the syscall itself.
#[cfg(not(any(
    all(target_arch = "x86_64", target_pointer_width = "64"),
    target_arch = "aarch64"
)))]
#[inline(always)]
unsafe fn raw(nr: libc::c_long, a: [libc::c_long; 6]) -> libc::c_long {
    // SAFETY: the caller vouches for the arguments.
    let res = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if res < 0 {
        -libc::c_long::from(
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    } else {
        res
    }
}

/// Turns the kernel's return into a count, or the error of `-errno`.
#[inline(always)]
fn count(res: libc::c_long) -> io::Result<usize> {
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res as i32))
    } else {
        Ok(res as usize)
    }
}

/// A transfer syscall into `buf`: `nr(fd, buf, buf.len(), flags, 0, 0)`.
///
/// # Safety
///
/// `nr` must be a syscall of that shape that writes at most `buf.len()`
/// bytes of `buf`, reads no other memory given those zeros, and treats the
/// fd as a plain descriptor (`read`, `recvfrom` with a null address).
unsafe fn into_buf(
    nr: libc::c_long,
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    flags: libc::c_long,
) -> io::Result<usize> {
    let (ptr, len) = (buf.as_mut_ptr() as libc::c_long, buf.len() as libc::c_long);
    // SAFETY: `buf` is live and writable for `len` bytes for the call, the
    // fd is open for the borrow, and the caller vouches for `nr`.
    count(unsafe { raw(nr, [arg(fd), ptr, len, flags, 0, 0]) })
}

/// A transfer syscall out of `buf`: `nr(fd, buf, buf.len(), flags, 0, 0)`.
///
/// # Safety
///
/// `nr` must be a syscall of that shape that reads at most `buf.len()`
/// bytes of `buf` and no other memory given those zeros (`write`, `sendto`
/// with a null address of length 0).
unsafe fn from_buf(
    nr: libc::c_long,
    fd: BorrowedFd<'_>,
    buf: &[u8],
    flags: libc::c_long,
) -> io::Result<usize> {
    let (ptr, len) = (buf.as_ptr() as libc::c_long, buf.len() as libc::c_long);
    // SAFETY: `buf` is live and readable for `len` bytes for the call, the
    // fd is open for the borrow, and the caller vouches for `nr`.
    count(unsafe { raw(nr, [arg(fd), ptr, len, flags, 0, 0]) })
}

/// `read(2)`: bytes read into `buf`, `Ok(0)` at end of stream.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `read(fd, buf, len)` writes at most `len` bytes of `buf`;
    // it ignores the other arguments.
    unsafe { into_buf(libc::SYS_read, fd, buf, 0) }
}

/// `write(2)`: how many bytes of `buf` were taken.
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `write(fd, buf, len)` reads at most `len` bytes of `buf`; it
    // ignores the other arguments.
    unsafe { from_buf(libc::SYS_write, fd, buf, 0) }
}

/// `recv(2)` with no flags, on a socket: what `read` gives, and a datagram
/// socket's next datagram (truncated to `buf`).
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `recvfrom` writes at most `len` bytes of `buf`; a null
    // address and length ask for no sender address.
    unsafe { into_buf(libc::SYS_recvfrom, fd, buf, 0) }
}

/// `send(2)` with `MSG_NOSIGNAL`, on a socket: a peer that has gone gives
/// `BrokenPipe` rather than a `SIGPIPE`, as std's sockets do.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    let flags = libc::c_long::from(libc::MSG_NOSIGNAL);
    // SAFETY: `sendto` reads at most `len` bytes of `buf`; a null address
    // of length 0 sends to the connected peer.
    unsafe { from_buf(libc::SYS_sendto, fd, buf, flags) }
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
    let capacity = events.capacity().min(libc::c_int::MAX as usize) as libc::c_long;
    let buf = events.as_mut_ptr() as libc::c_long;
    // SAFETY: the buffer has room for `capacity` entries and the kernel
    // writes at most that many (the vector's length is set by the caller,
    // from the count); a null mask (0) leaves the signal mask alone; the
    // fd is open for the borrow.
    count(unsafe {
        raw(
            libc::SYS_epoll_pwait,
            [
                arg(epoll),
                buf,
                capacity,
                libc::c_long::from(timeout_ms),
                0,
                0,
            ],
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
