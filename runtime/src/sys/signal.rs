//! The signal self-pipe: a process-wide `sigaction` handler per signal
//! number that counts each delivery and writes one byte to a pipe.
//!
//! A signal handler may only do async-signal-safe things, so ours does
//! three: an atomic increment of the signal's delivery counter, one
//! `write(2)` to the pipe, and saving and restoring `errno` around them.
//! Everything else (reading the pipe, waking tasks) happens outside the
//! handler, in [`crate::signal`].
//!
//! # Sharing the signal with other handlers
//!
//! Installing ours keeps the action that was there before (another
//! library's handler, say `ctrlc` or `signal-hook`), and our handler calls
//! it after its own work, with the arguments it expects (`SA_SIGINFO` or
//! not), unless it was `SIG_DFL` or `SIG_IGN`: a default action of
//! "terminate" is exactly what a program that listens for the signal does
//! not want. A handler installed *after* ours that chains to its
//! predecessor (as signal-hook-registry does) calls ours in turn; ours is
//! installed with `SA_SIGINFO`, so it is called with all three arguments.
//! The previous action's `sa_mask` is not applied while it runs (ours
//! blocks nothing extra), and flags such as `SA_RESETHAND` are not
//! emulated.
//!
//! The pipe is created once, nonblocking and close-on-exec, and is never
//! closed: the handler may run at any moment on any thread, so the fd
//! number it writes to must never be reused for something else. The
//! counters carry the information; a byte in the pipe only says "look at
//! the counters", so a full pipe (a write failing with `EAGAIN`) loses
//! nothing.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use super::syscall;

/// Interrupt from the terminal (Ctrl-C).
pub(crate) const SIGINT: libc::c_int = libc::SIGINT;
/// A polite request to terminate.
pub(crate) const SIGTERM: libc::c_int = libc::SIGTERM;
/// The controlling terminal hung up; daemons read it as "reload".
pub(crate) const SIGHUP: libc::c_int = libc::SIGHUP;
/// Quit from the terminal (Ctrl-\).
pub(crate) const SIGQUIT: libc::c_int = libc::SIGQUIT;
/// User-defined signal 1.
pub(crate) const SIGUSR1: libc::c_int = libc::SIGUSR1;
/// User-defined signal 2.
pub(crate) const SIGUSR2: libc::c_int = libc::SIGUSR2;
/// An `alarm(2)` timer expired.
pub(crate) const SIGALRM: libc::c_int = libc::SIGALRM;
/// A child process stopped or exited.
pub(crate) const SIGCHLD: libc::c_int = libc::SIGCHLD;
/// A write to a pipe with no reader.
pub(crate) const SIGPIPE: libc::c_int = libc::SIGPIPE;
/// The terminal window changed size.
pub(crate) const SIGWINCH: libc::c_int = libc::SIGWINCH;

/// One more than the highest signal number on Linux (the kernel's `_NSIG`):
/// valid numbers are `1..NSIG`.
const NSIG: usize = 65;

/// Signals that cannot be caught (`SIGKILL`, `SIGSTOP`) or whose handler
/// must not return (faults: returning re-executes the faulting
/// instruction, so counting them would loop forever).
const FORBIDDEN: [libc::c_int; 6] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
];

/// How many times each signal was delivered since its handler was
/// installed; indexed by signal number. Only ever incremented.
static DELIVERIES: [AtomicU64; NSIG] = [const { AtomicU64::new(0) }; NSIG];

/// The write end of [`PIPE`] for the handler, or -1 before the pipe exists.
///
/// # Invariant
///
/// Once set, it names the write end of [`PIPE`], which is never closed, so
/// the handler never writes to a reused fd number.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// The self-pipe, created by the first [`install`] and kept for the life
/// of the process (statics are never dropped).
static PIPE: OnceLock<Pipe> = OnceLock::new();

/// The `sa_sigaction` of the action each signal had before ours (as an
/// address; `SIG_DFL` is 0, `SIG_IGN` 1), for the handler to chain to.
///
/// # Invariant
///
/// Set before our handler is installed for that signal, and only while
/// [`INSTALLED`] is locked; holds `SIG_DFL`, `SIG_IGN`, or the address of a
/// handler installed by someone else, which stays valid for the life of
/// the process (handlers are plain functions).
static PREVIOUS: [AtomicUsize; NSIG] = [const { AtomicUsize::new(0) }; NSIG];

/// The `sa_flags` of the action in [`PREVIOUS`]: whether it takes
/// `SA_SIGINFO`'s three arguments.
static PREVIOUS_FLAGS: [AtomicI32; NSIG] = [const { AtomicI32::new(0) }; NSIG];

/// Which signal numbers already have our handler. Also serialises
/// [`install`], so the pipe is created once and each handler set once.
static INSTALLED: Mutex<[bool; NSIG]> = Mutex::new([false; NSIG]);

/// The two ends of the self-pipe.
#[derive(Debug)]
struct Pipe {
    /// Read end, nonblocking and close-on-exec; runtimes watch duplicates.
    read: OwnedFd,
    /// Write end, nonblocking and close-on-exec; the handler writes here.
    write: OwnedFd,
}

impl Pipe {
    /// Creates a nonblocking, close-on-exec pipe.
    fn new() -> io::Result<Pipe> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two fds `pipe2` writes.
        unsafe { syscall!(pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC)) }?;
        // SAFETY: `pipe2` succeeded, so both are fresh fds nobody else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Pipe { read, write })
    }
}

/// The signal handler: counts the delivery, writes a byte to the pipe, and
/// then calls the handler that was installed before ours, if any.
///
/// Async-signal-safe: it touches only lock-free atomics, `write(2)` and
/// `errno`, allocates nothing, takes no lock and cannot panic; the handler
/// it chains to is another's, which must be async-signal-safe itself.
extern "C" fn handler(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: `__errno_location` returns this thread's errno slot, which
    // lives as long as the thread; the handler runs on that thread.
    let saved_errno = unsafe { *libc::__errno_location() };
    let index = usize::try_from(signum).ok().filter(|&i| i < NSIG);
    if let Some(i) = index {
        DELIVERIES[i].fetch_add(1, Ordering::SeqCst);
    }
    let fd = WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte: u8 = 1;
        // SAFETY: by `WRITE_FD`'s invariant `fd` is the pipe's write end,
        // which is never closed; `byte` is a live u8 and exactly its one
        // byte is passed. A full pipe fails with EAGAIN (it is nonblocking),
        // which is fine: it is already readable.
        let _ = unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    // SAFETY: as above; restoring errno keeps the interrupted code's (and
    // the next handler's) view of it intact.
    unsafe { *libc::__errno_location() = saved_errno };
    if let Some(i) = index {
        call_previous(i, signum, info, context);
    }
}

/// Calls the action signal `i` had before ours, unless it was `SIG_DFL` or
/// `SIG_IGN`.
fn call_previous(
    i: usize,
    signum: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let previous = PREVIOUS[i].load(Ordering::SeqCst);
    if previous == libc::SIG_DFL || previous == libc::SIG_IGN {
        return;
    }
    if PREVIOUS_FLAGS[i].load(Ordering::SeqCst) & libc::SA_SIGINFO != 0 {
        // SAFETY: by `PREVIOUS`'s invariant `previous` is the address of a
        // handler that was installed with `SA_SIGINFO`, so it has this
        // signature; we pass on the arguments the kernel gave us.
        let previous: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(previous) };
        previous(signum, info, context);
    } else {
        // SAFETY: as above, for a handler installed without `SA_SIGINFO`,
        // which takes the signal number only.
        let previous: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous) };
        previous(signum);
    }
}

/// Checks that `signum` is a signal we may install a handler for, and
/// returns its index into [`DELIVERIES`].
fn index(signum: libc::c_int) -> io::Result<usize> {
    match usize::try_from(signum) {
        Ok(i) if (1..NSIG).contains(&i) && !FORBIDDEN.contains(&signum) => Ok(i),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} cannot be handled (forbidden or out of range)"),
        )),
    }
}

/// Installs the handler for `signum`, once per process, creating the pipe
/// on first use. Later calls for the same signal do nothing.
///
/// The handler replaces the signal's previous disposition (for `SIGINT`,
/// `SIGTERM` and `SIGHUP`: terminating the process) for the rest of the
/// process's life; a previous *handler* is kept and called after ours
/// (see the module docs).
///
/// # Errors
///
/// `InvalidInput` for signals that cannot or must not be caught (see
/// [`FORBIDDEN`]) and numbers out of range; the `pipe2` error if no fd is
/// left; the `sigaction` error (`EINVAL` for the real-time signals the C
/// library reserves).
pub(crate) fn install(signum: libc::c_int) -> io::Result<()> {
    let i = index(signum)?;
    // Nothing panics under this lock, so a poisoned lock is still valid.
    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if installed[i] {
        return Ok(());
    }
    if PIPE.get().is_none() {
        let pipe = Pipe::new()?;
        // Publish the write end before any handler can run.
        WRITE_FD.store(pipe.write.as_raw_fd(), Ordering::SeqCst);
        // Cannot fail: we hold `INSTALLED`, and only this code sets `PIPE`.
        let _ = PIPE.set(pipe);
    }
    // 1. Remember the action that is there now, before ours can run and
    //    look for it.
    // SAFETY: `sigaction` is plain old data for which all-zero bytes are a
    // valid value (no handler, no flags, an empty mask).
    let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only reads the current one into
    // `previous`, a live, writable `sigaction`.
    unsafe { syscall!(sigaction(signum, std::ptr::null(), &mut previous)) }?;
    remember_previous(i, &previous);
    // 2. Install ours.
    // SAFETY: as above, all-zero bytes are a valid `sigaction`.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler
        as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
        as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
    // SAFETY: `action.sa_mask` is a valid, writable `sigset_t`.
    unsafe { syscall!(sigemptyset(&mut action.sa_mask)) }?;
    let mut replaced = previous;
    // SAFETY: `action` is fully initialised and outlives the call, and
    // `replaced` is a live, writable `sigaction` for the old one. `handler`
    // is async-signal-safe (see its docs) and, being a plain `extern "C"
    // fn`, lives forever.
    unsafe { syscall!(sigaction(signum, &action, &mut replaced)) }?;
    // 3. Someone else may have installed a handler between the two calls:
    //    chain to that one instead.
    if replaced.sa_sigaction != previous.sa_sigaction {
        remember_previous(i, &replaced);
    }
    installed[i] = true;
    Ok(())
}

/// Stores `action` as the one signal `i`'s handler chains to.
fn remember_previous(i: usize, action: &libc::sigaction) {
    // Flags first: the handler reads the address, then the flags.
    PREVIOUS_FLAGS[i].store(action.sa_flags, Ordering::SeqCst);
    PREVIOUS[i].store(action.sa_sigaction, Ordering::SeqCst);
}

/// How many times `signum` was delivered since its handler was installed
/// (0 for a number out of range).
pub(crate) fn deliveries(signum: libc::c_int) -> u64 {
    usize::try_from(signum)
        .ok()
        .and_then(|i| DELIVERIES.get(i))
        .map_or(0, |counter| counter.load(Ordering::SeqCst))
}

/// A duplicate of the self-pipe's read end, for one runtime's reactor.
///
/// Every duplicate shares the pipe's open file description, so it is
/// nonblocking too, and a byte written to the pipe makes every epoll
/// instance that watches any duplicate report it readable.
#[derive(Debug)]
pub(crate) struct SignalReceiver {
    /// The duplicated read end (close-on-exec).
    fd: OwnedFd,
}

impl SignalReceiver {
    /// Duplicates the pipe's read end (`F_DUPFD_CLOEXEC`).
    ///
    /// # Errors
    ///
    /// If no handler was installed yet (the pipe does not exist), or no fd
    /// is left.
    pub(crate) fn new() -> io::Result<SignalReceiver> {
        let pipe = PIPE.get().ok_or_else(|| {
            io::Error::other("the signal pipe does not exist: no handler is installed")
        })?;
        let fd = pipe.read.try_clone()?;
        Ok(SignalReceiver { fd })
    }

    /// Reads the pipe until it is empty and returns how many bytes it held.
    ///
    /// # Errors
    ///
    /// Only unexpected read errors; `WouldBlock` is the normal end, and
    /// `EINTR` is retried.
    pub(crate) fn drain(&self) -> io::Result<usize> {
        let mut buf = [0u8; 128];
        let mut total = 0;
        loop {
            // SAFETY: `buf` is live and writable for `buf.len()` bytes, and
            // the kernel writes at most that many; the fd is open (owned).
            let res = unsafe {
                syscall!(read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len()
                ))
            };
            match res {
                // EOF cannot happen (the write end is never closed), but it
                // would mean "nothing more to read" all the same.
                Ok(0) => return Ok(total),
                Ok(n) => total += n as usize,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl AsFd for SignalReceiver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::epoll::{Epoll, Events, Interest};
    use std::time::Duration;

    /// `raise` runs the handler on this thread before it returns, so the
    /// counter and the pipe can be checked at once. SIGUSR2 is used by no
    /// other unit test.
    #[test]
    fn a_delivery_counts_and_wakes_every_duplicate() {
        install(SIGUSR2).unwrap();
        install(SIGUSR2).unwrap(); // idempotent
        let a = SignalReceiver::new().unwrap();
        let b = SignalReceiver::new().unwrap();
        a.drain().unwrap();
        let epoll = Epoll::new().unwrap();
        let interest = Interest {
            read: true,
            write: false,
        };
        epoll.add(a.as_fd(), 1, interest).unwrap();
        epoll.add(b.as_fd(), 2, interest).unwrap();

        let before = deliveries(SIGUSR2);
        // SAFETY: raising a signal whose handler we installed above; the
        // handler only counts and writes to the pipe.
        unsafe { syscall!(raise(SIGUSR2)) }.unwrap();
        assert_eq!(deliveries(SIGUSR2), before + 1);

        let mut events = Events::with_capacity(4);
        epoll
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let mut tokens: Vec<u64> = events.iter().map(|e| e.token).collect();
        tokens.sort_unstable();
        assert_eq!(tokens, [1, 2], "each duplicate is reported");
        assert!(b.drain().unwrap() >= 1);
        assert_eq!(a.drain().unwrap(), 0, "one drain empties the shared pipe");
    }

    #[test]
    fn uncatchable_and_fault_signals_are_refused() {
        for signum in [0, -1, 65, libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV] {
            let err = install(signum).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signum}");
        }
    }
}
