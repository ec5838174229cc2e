//! `AsyncFd` on the kinds of fd users bring: a pipe, a timerfd, an eventfd
//! and a socket pair; readiness cycles, wakeups, errors.

mod util;

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use runtime::io::unix::AsyncFd;
use runtime::io::Interest;
use util::run;

/// A nonblocking pipe: (read end, write end), as files (std's own pipe
/// type is newer than this workspace's minimum Rust version).
fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds `pipe2` writes.
    let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    assert_eq!(made, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: both fds were just created and nothing else owns them.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

/// A nonblocking eventfd with a zero counter.
fn eventfd() -> OwnedFd {
    // SAFETY: `eventfd` takes a value and flags; it returns a new fd or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    assert!(fd >= 0, "eventfd: {}", io::Error::last_os_error());
    // SAFETY: `fd` was just created and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Reads an eventfd's counter (8 bytes), resetting it.
fn read_counter(fd: &OwnedFd) -> io::Result<u64> {
    let mut value = 0u64;
    // SAFETY: `value` is 8 writable bytes and `fd` is open.
    let n = unsafe { libc::read(fd.as_raw_fd(), (&raw mut value).cast(), 8) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// Adds `n` to an eventfd's counter.
fn add_counter(fd: &OwnedFd, n: u64) {
    // SAFETY: `n` is 8 readable bytes and `fd` is open.
    let written = unsafe { libc::write(fd.as_raw_fd(), (&raw const n).cast(), 8) };
    assert_eq!(written, 8, "eventfd write: {}", io::Error::last_os_error());
}

/// A nonblocking timerfd that expires once, `after` from now.
fn timerfd(after: Duration) -> OwnedFd {
    // SAFETY: `timerfd_create` takes a clock id and flags.
    let fd = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    };
    assert!(fd >= 0, "timerfd_create: {}", io::Error::last_os_error());
    // SAFETY: `fd` was just created and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: after.as_secs() as libc::time_t,
            tv_nsec: after.subsec_nanos() as libc::c_long,
        },
    };
    // SAFETY: `fd` is an open timerfd and `spec` a valid itimerspec; the old
    // value is not asked for.
    let set = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    assert_eq!(set, 0, "timerfd_settime: {}", io::Error::last_os_error());
    fd
}

#[test]
fn a_thousand_readiness_cycles_on_a_pipe_lose_no_byte() {
    run("pipe cycles", async {
        let (reader, mut writer) = pipe();
        let reader = AsyncFd::with_interest(reader, Interest::READABLE).unwrap();
        let mut received = Vec::new();
        for round in 0..1_000u32 {
            let message = round.to_le_bytes();
            writer.write_all(&message).unwrap();
            let mut buf = [0; 4];
            let n = loop {
                let mut guard = reader.readable().await.unwrap();
                match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
                    Ok(result) => break result.unwrap(),
                    Err(_) => continue,
                }
            };
            received.extend_from_slice(&buf[..n]);
            // Drain: the next read finds nothing and clears the readiness,
            // so the next round really waits for epoll.
            let mut guard = reader.readable().await.unwrap();
            let drained = guard.try_io(|fd| fd.get_ref().read(&mut buf));
            assert!(drained.is_err(), "round {round}: more bytes than written");
        }
        let expected: Vec<u8> = (0..1_000u32).flat_map(u32::to_le_bytes).collect();
        assert_eq!(received, expected);
    });
}

#[test]
fn a_task_parked_on_a_timerfd_is_woken_when_it_expires() {
    run("timerfd", async {
        let start = Instant::now();
        let timer =
            AsyncFd::with_interest(timerfd(Duration::from_millis(30)), Interest::READABLE).unwrap();
        let expirations = timer
            .async_io(Interest::READABLE, read_counter)
            .await
            .unwrap();
        assert_eq!(expirations, 1);
        assert!(start.elapsed() >= Duration::from_millis(30));
    });
}

#[test]
fn an_eventfd_wakes_a_task_on_another_threads_write() {
    run("eventfd", async {
        let events = eventfd();
        let writer = events.try_clone().unwrap();
        let events = AsyncFd::new(events).unwrap();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            add_counter(&writer, 5);
        });
        let value = events
            .async_io(Interest::READABLE, read_counter)
            .await
            .unwrap();
        assert_eq!(value, 5);
        thread.join().unwrap();
        // The counter is zero again: the next read would block.
        let again = events.try_io(Interest::READABLE, read_counter);
        assert_eq!(again.unwrap_err().kind(), ErrorKind::WouldBlock);
    });
}

#[test]
fn a_socket_pair_echoes_through_async_fd_both_ways() {
    run("socketpair", async {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        let (a, b) = (AsyncFd::new(a).unwrap(), AsyncFd::new(b).unwrap());
        let message: Vec<u8> = (0..1u32 << 20).map(|i| i as u8).collect();
        let writer = runtime::spawn({
            let message = message.clone();
            async move {
                let mut sent = 0;
                while sent < message.len() {
                    sent += a
                        .async_io(Interest::WRITABLE, |s| (&*s).write(&message[sent..]))
                        .await
                        .unwrap();
                }
                a.get_ref().shutdown(std::net::Shutdown::Write).unwrap();
            }
        });
        let mut got = Vec::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = b
                .async_io(Interest::READABLE, |s| (&*s).read(&mut buf))
                .await
                .unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got, message);
    });
}

#[test]
fn dropping_an_async_fd_wakes_the_task_waiting_on_it() {
    run("drop while waiting", async {
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let shared = Rc::new(RefCell::new(Some(AsyncFd::new(a).unwrap())));
        let waiter = runtime::spawn({
            let shared = shared.clone();
            std::future::poll_fn(move |cx| {
                let slot = shared.borrow();
                match &*slot {
                    // Gone: the wake-up came, and the waiter sees it.
                    None => {
                        std::task::Poll::Ready(Err(io::Error::other("the AsyncFd was dropped")))
                    }
                    Some(fd) => fd.poll_read_ready(cx).map(|r| r.map(drop)),
                }
            })
        });
        util::yield_until(10, || !waiter.is_finished()).await;
        runtime::task::yield_now().await;
        // The waiter is parked on the fd. Drop it: only the deregistration
        // can wake the waiter.
        drop(shared.borrow_mut().take());
        let result = util::deadline("the waiter's wake-up", waiter)
            .await
            .unwrap();
        assert!(result.is_err());
    });
}

#[test]
fn a_regular_file_is_refused_with_a_clear_error() {
    run("regular file", async {
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let err = AsyncFd::new(file).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("epoll cannot watch"), "{err}");
    });
}

#[test]
fn waiting_for_a_direction_not_registered_is_an_error_not_a_hang() {
    run("interest", async {
        let (reader, _writer) = pipe();
        let reader = AsyncFd::with_interest(reader, Interest::READABLE).unwrap();
        let err = reader.writable().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("READABLE"), "{err}");
    });
}

#[test]
fn into_inner_deregisters_and_gives_the_fd_back_open() {
    run("into_inner", async {
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let fd = AsyncFd::new(a).unwrap();
        let registered = runtime::metrics().io_registrations;
        let a = fd.into_inner();
        assert_eq!(runtime::metrics().io_registrations, registered - 1);
        b.write_all(b"still open").unwrap();
        let mut buf = [0; 10];
        (&a).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"still open");
        // It can be registered again.
        let again = AsyncFd::new(a).unwrap();
        assert!(again.get_ref().local_addr().is_ok());
    });
}

#[test]
fn a_guard_taken_before_an_await_does_not_clear_a_newer_edge() {
    run("guard across await", async {
        let (reader, mut writer) = pipe();
        let reader = AsyncFd::with_interest(reader, Interest::READABLE).unwrap();
        writer.write_all(b"a").unwrap();
        let mut guard = reader.readable().await.unwrap();
        let mut buf = [0; 8];
        assert_eq!(guard.get_inner().read(&mut buf).unwrap(), 1);
        // More data arrives while the guard is held across an await.
        writer.write_all(b"b").unwrap();
        runtime::task::yield_now().await;
        runtime::task::yield_now().await;
        // A clear from the stale guard must not drop the new edge.
        guard.clear_ready();
        let n = util::deadline("the second byte", async {
            reader
                .async_io(Interest::READABLE, |mut fd| fd.read(&mut buf))
                .await
        })
        .await
        .unwrap();
        assert_eq!(&buf[..n], b"b");
    });
}
