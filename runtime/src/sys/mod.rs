//! The only layer that calls `libc`: thin, safe wrappers that own their fds.
//!
//! Everything above this module sees typed values (`BorrowedFd`, `SocketAddr`,
//! [`epoll::Event`]) and `io::Result`s, never raw flags or `errno`.

pub(crate) mod affinity;
pub(crate) mod direct;
pub(crate) mod epoll;
pub(crate) mod eventfd;
pub(crate) mod pidfd;
pub(crate) mod pipe;
pub(crate) mod signal;
pub(crate) mod socket;
pub(crate) mod unix_socket;

/// Calls a libc function and turns a negative return into the `errno` error.
///
/// The expansion calls the `libc` function directly, so every use sits inside
/// an `unsafe` block whose `SAFETY:` comment justifies the arguments:
/// `unsafe { syscall!(close(fd)) }` is `Ok(ret)` or
/// `Err(io::Error::last_os_error())`.
macro_rules! syscall {
    ($fn: ident ( $($arg: expr),* $(,)? ) ) => {{
        let res = libc::$fn($($arg),*);
        if res < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}
pub(crate) use syscall;
