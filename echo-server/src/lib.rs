//! A TCP echo server written as plain `async fn`s on the runtime.
//!
//! [`serve`] accepts connections and spawns one task per connection running
//! [`echo`], which writes every byte it reads back to the peer. The server
//! is built to survive hostile peers:
//!
//! * **Bounded memory per connection.** A connection holds at most one
//!   buffer of data, allocated only once it has sent something. While the
//!   peer does not read its echo, the server does not read more; TCP flow
//!   control holds the peer back.
//! * **Idle timeout.** A connection that makes no progress (nothing read,
//!   nothing written) for [`Config::idle_timeout`] is closed, so a
//!   slowloris peer holds nothing for long. One timer per connection
//!   checks a progress counter; no clock read or timer operation per
//!   message.
//! * **A connection limit.** At [`Config::max_conns`] open connections the
//!   server stops accepting until one ends; the kernel's backlog holds the
//!   rest.
//! * **Graceful shutdown.** [`Server::shut_down`] stops accepting, lets open
//!   connections finish for a grace period, then closes the rest.
//! * **Accept errors.** Running out of file descriptors is reported once and
//!   retried after [`ACCEPT_BACKOFF`], without spinning; an error that
//!   concerns one connection skips it.

#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::Notify;
use runtime::task::JoinHandle;
use runtime::time::Sleep;

/// Bytes read from a connection at a time: the one buffer it may hold.
pub const BUFFER_SIZE: usize = 16 * 1024;

/// How long to wait before accepting again after running out of file
/// descriptors (or kernel memory): the connection stays in the kernel's
/// backlog meanwhile, and the loop does not spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Do not print a line per connection opened and closed.
    pub quiet: bool,
    /// Close a connection that makes no progress for this long; `None`
    /// never closes it.
    pub idle_timeout: Option<Duration>,
    /// Open connections at most; at the limit the server stops accepting.
    pub max_conns: usize,
}

impl Default for Config {
    /// Per-connection lines on, a 300 s idle timeout, 10,000 connections.
    fn default() -> Config {
        Config {
            quiet: false,
            idle_timeout: Some(Duration::from_secs(300)),
            max_conns: 10_000,
        }
    }
}

/// Accepts connections forever, echoing each on its own task; see
/// [`Server`] for a server that can be shut down.
///
/// # Errors
///
/// Only if the listener itself is broken (for example, not listening).
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    Server::new(listener, config)
        .serve_until(std::future::pending())
        .await
}

/// An echo server that can be shut down gracefully.
///
/// [`serve_until`](Server::serve_until) accepts connections until a
/// shutdown future completes (say, Ctrl-C); then
/// [`shut_down`](Server::shut_down) lets the open connections finish for a
/// grace period, closes the rest, and returns a [`Summary`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
/// use echo_server::{Config, Server};
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     let server = Server::new(listener, Config { quiet: true, ..Config::default() });
///     let client = runtime::spawn(async move {
///         let mut stream = TcpStream::connect(addr).await?;
///         stream.write_all(b"bye").await?;
///         stream.close().await?;
///         let mut back = Vec::new();
///         stream.read_to_end(&mut back).await?;
///         std::io::Result::Ok(back)
///     });
///     // Accept until the client has its echo, then shut down.
///     server
///         .serve_until(async { assert_eq!(client.await.unwrap().unwrap(), b"bye") })
///         .await?;
///     let summary = server.shut_down(Duration::from_secs(5), std::future::pending()).await;
///     assert_eq!((summary.connections, summary.bytes_echoed), (1, 3));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct Server {
    /// Where connections come from.
    listener: TcpListener,
    /// How to treat them.
    config: Config,
    /// The open connections and the counts of what was served.
    connections: Rc<Connections>,
    /// When the server was made.
    started: Instant,
}

/// What a server did, printed when it shuts down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Connections accepted.
    pub connections: u64,
    /// Bytes echoed back, over all connections.
    pub bytes_echoed: u64,
    /// From [`Server::new`] to the end of the shutdown.
    pub uptime: Duration,
    /// Connections still open when the grace period ended (or the shutdown
    /// was forced), which were closed.
    pub closed_unfinished: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "served {} connections, echoed {} bytes, up {:.1} s",
            self.connections,
            self.bytes_echoed,
            self.uptime.as_secs_f64()
        )?;
        if self.closed_unfinished > 0 {
            write!(f, ", closed {} unfinished", self.closed_unfinished)?;
        }
        Ok(())
    }
}

impl Server {
    /// A server for `listener`.
    pub fn new(listener: TcpListener, config: Config) -> Server {
        Server {
            listener,
            config,
            connections: Rc::new(Connections::default()),
            started: Instant::now(),
        }
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections, each echoed on its own task, until `stop`
    /// completes.
    ///
    /// Errors that concern one connection (it was reset while queued, a
    /// firewall refused it) skip that connection. Running out of file
    /// descriptors is reported once and retried after [`ACCEPT_BACKOFF`].
    ///
    /// # Errors
    ///
    /// Only if the listener itself is broken (for example, not listening).
    pub async fn serve_until(&self, stop: impl Future<Output = ()>) -> io::Result<()> {
        let mut stop = pin!(stop);
        let mut accepting = pin!(self.accept_loop());
        poll_fn(|cx| {
            if stop.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            accepting.as_mut().poll(cx)
        })
        .await
    }

    /// Accepts forever.
    async fn accept_loop(&self) -> io::Result<()> {
        let mut out_of_fds = false;
        loop {
            self.connections.below(self.config.max_conns.max(1)).await;
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    if out_of_fds {
                        eprintln!("accepting again: file descriptors are available");
                        out_of_fds = false;
                    }
                    Connections::spawn(&self.connections, stream, peer, self.config.clone());
                }
                Err(e) => match classify(&e) {
                    AcceptError::Fatal => return Err(e),
                    AcceptError::OutOfResources => {
                        if !out_of_fds {
                            eprintln!("cannot accept: {e}; retrying every {ACCEPT_BACKOFF:?}");
                            out_of_fds = true;
                        }
                        runtime::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    AcceptError::ThisConnection => {
                        if !self.config.quiet {
                            eprintln!("skipped a connection: {e}");
                        }
                    }
                },
            }
        }
    }

    /// Stops accepting (the listener closes; new connections are refused),
    /// waits up to `grace` for the open connections to finish, or until
    /// `force` completes, then closes the rest and says what the server did.
    pub async fn shut_down(self, grace: Duration, force: impl Future<Output = ()>) -> Summary {
        let Server {
            listener,
            connections,
            started,
            ..
        } = self;
        drop(listener);
        let mut force = pin!(force);
        let mut all_done = pin!(connections.below(1));
        let mut grace = runtime::time::sleep(grace);
        poll_fn(|cx| {
            let done = all_done.as_mut().poll(cx).is_ready()
                || Pin::new(&mut grace).poll(cx).is_ready()
                || force.as_mut().poll(cx).is_ready();
            if done {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        let closed_unfinished = connections.close_all();
        Summary {
            connections: connections.accepted.get(),
            bytes_echoed: connections.bytes_echoed.get(),
            uptime: started.elapsed(),
            closed_unfinished,
        }
    }
}

/// The open connections' tasks, and counts of what was served.
#[derive(Debug, Default)]
struct Connections {
    /// The task of each open connection, by connection number.
    tasks: RefCell<HashMap<u64, JoinHandle<()>>>,
    /// Connections accepted so far; also the next connection's number.
    accepted: Cell<u64>,
    /// Bytes echoed so far, over all connections.
    bytes_echoed: Cell<u64>,
    /// Notified whenever a connection closes.
    closed: Notify,
}

impl Connections {
    /// Waits until fewer than `limit` connections are open.
    async fn below(&self, limit: usize) {
        while self.tasks.borrow().len() >= limit {
            self.closed.notified().await;
        }
    }

    /// Echoes `stream` on a new task.
    fn spawn(this: &Rc<Connections>, stream: TcpStream, peer: SocketAddr, config: Config) {
        let number = this.accepted.get();
        this.accepted.set(number + 1);
        let slot = ConnectionSlot {
            connections: this.clone(),
            number,
        };
        let task = runtime::spawn(connection(stream, peer, config, slot));
        this.tasks.borrow_mut().insert(number, task);
    }

    /// Closes every open connection (their tasks are aborted, which drops
    /// their sockets) and returns how many there were.
    fn close_all(&self) -> usize {
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        for task in tasks.values() {
            task.abort();
        }
        tasks.len()
    }
}

/// One open connection's place; dropping it, however the task ends, frees
/// the place and wakes whoever waits for one.
#[derive(Debug)]
struct ConnectionSlot {
    /// Where the connection is counted.
    connections: Rc<Connections>,
    /// Its number.
    number: u64,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let connections = &self.connections;
        // The task's own handle: dropping it detaches, nothing more.
        let own_handle = connections.tasks.borrow_mut().remove(&self.number);
        drop(own_handle);
        // The accept loop and a shutdown may both be waiting.
        connections.closed.notify_waiters();
    }
}

/// What an `accept` error means for the server.
enum AcceptError {
    /// The listener is unusable.
    Fatal,
    /// The process or system is out of descriptors or memory: back off.
    OutOfResources,
    /// Only the connection being accepted failed.
    ThisConnection,
}

/// Sorts an `accept4` error by what the server should do about it.
fn classify(e: &io::Error) -> AcceptError {
    use libc::{EBADF, EFAULT, EINVAL, EMFILE, ENFILE, ENOBUFS, ENOMEM, ENOTSOCK, EOPNOTSUPP};
    match e.raw_os_error() {
        Some(EBADF | EFAULT | EINVAL | ENOTSOCK | EOPNOTSUPP) => AcceptError::Fatal,
        Some(EMFILE | ENFILE | ENOBUFS | ENOMEM) => AcceptError::OutOfResources,
        _ => AcceptError::ThisConnection,
    }
}

/// Runs [`echo`] on one connection and reports how it ended.
async fn connection(stream: TcpStream, peer: SocketAddr, config: Config, slot: ConnectionSlot) {
    if !config.quiet {
        eprintln!("{peer}: connected");
    }
    let connections = &slot.connections;
    let result = echo(&stream, config.idle_timeout, &connections.bytes_echoed).await;
    if !config.quiet {
        match result {
            Ok(bytes) => eprintln!("{peer}: closed, {bytes} bytes echoed"),
            Err(e) => eprintln!("{peer}: closed with error: {e}"),
        }
    }
}

/// Echoes everything `stream` sends until it closes its side, then closes
/// ours. Returns the number of bytes echoed, which are also added to
/// `total` as they go (so they count even if the task is aborted).
///
/// The buffer is allocated only when the first data arrives, so a
/// connection that never sends costs no buffer. With `idle_timeout`, the
/// connection is given up when neither a read nor a write completes for
/// that long (checked four times per period, so it ends between 1 and 1.25
/// periods after the last progress).
///
/// # Errors
///
/// The connection's error (for example, the peer reset it), or `TimedOut`
/// when it was idle for too long.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let idle = Some(Duration::from_secs(5));
///     let total = std::rc::Rc::new(std::cell::Cell::new(0));
///     let counted = total.clone();
///     let task = runtime::spawn(async move { echo_server::echo(&server, idle, &counted).await });
///     client.write_all(b"hi").await?;
///     client.close().await?;
///     let mut back = Vec::new();
///     client.read_to_end(&mut back).await?;
///     assert_eq!(back, b"hi");
///     assert_eq!(task.await??, 2);
///     assert_eq!(total.get(), 2);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn echo(
    stream: &TcpStream,
    idle_timeout: Option<Duration>,
    total: &Cell<u64>,
) -> io::Result<u64> {
    let progress = Cell::new(0);
    let echoing = echo_loop(stream, total, &progress);
    let Some(limit) = idle_timeout else {
        return echoing.await;
    };
    let mut echoing = pin!(echoing);
    let mut watch = IdleWatch::new(limit);
    poll_fn(|cx| {
        if let Poll::Ready(result) = echoing.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        watch.poll_idle(cx, progress.get()).map(Err)
    })
    .await
}

/// The echo itself; counts every completed read and write in `progress`.
async fn echo_loop(stream: &TcpStream, total: &Cell<u64>, progress: &Cell<u64>) -> io::Result<u64> {
    let mut reader = stream;
    let mut writer = stream;
    stream.readable().await?;
    let mut buf = vec![0; BUFFER_SIZE];
    let mut echoed = 0;
    loop {
        let n = reader.read(&mut buf).await?;
        progress.set(progress.get() + 1);
        if n == 0 {
            writer.close().await?;
            return Ok(echoed);
        }
        writer.write_all(&buf[..n]).await?;
        progress.set(progress.get() + 1);
        echoed += n as u64;
        total.set(total.get() + n as u64);
    }
}

/// Checks for progress this many times per idle limit.
const IDLE_CHECKS: u32 = 4;

/// Notices a connection that makes no progress for a whole idle limit,
/// without reading the clock or touching a timer per operation.
///
/// Operations only bump a counter. A timer fires every quarter of the
/// limit; the connection is idle when the counter has not moved for
/// [`IDLE_CHECKS`] checks in a row, that is between 1 and 1.25 limits
/// after its last progress: never early, and late by at most a quarter.
#[derive(Debug)]
struct IdleWatch {
    /// The idle limit.
    limit: Duration,
    /// Fires at each check.
    next_check: Sleep,
    /// The progress counter at the last check.
    seen: u64,
    /// Checks in a row that saw no progress.
    idle_checks: u32,
}

impl IdleWatch {
    /// Starts watching, with the first check a quarter of `limit` away.
    fn new(limit: Duration) -> IdleWatch {
        IdleWatch {
            limit,
            next_check: runtime::time::sleep(limit / IDLE_CHECKS),
            seen: 0,
            idle_checks: 0,
        }
    }

    /// Ready with the error once `progress` has stood still for the limit.
    fn poll_idle(&mut self, cx: &mut Context<'_>, progress: u64) -> Poll<io::Error> {
        loop {
            ready!(Pin::new(&mut self.next_check).poll(cx));
            if progress == self.seen {
                self.idle_checks += 1;
            } else {
                self.seen = progress;
                self.idle_checks = 0;
            }
            if self.idle_checks >= IDLE_CHECKS {
                let message = format!("idle for {} s", self.limit.as_secs_f64());
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, message));
            }
            // From now, not from the last deadline: a late check (a busy
            // runtime) must not make the next ones come sooner.
            self.next_check
                .reset(Instant::now() + self.limit / IDLE_CHECKS);
        }
    }
}
