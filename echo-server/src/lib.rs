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
use std::task::Poll;
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::Notify;
use runtime::task::JoinHandle;

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
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
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
    /// Where connections come from; `None` once the server stopped
    /// accepting.
    listener: Option<TcpListener>,
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
            listener: Some(listener),
            config,
            connections: Rc::new(Connections::default()),
            started: Instant::now(),
        }
    }

    /// The address the server listens on.
    ///
    /// # Errors
    ///
    /// If the listener's address cannot be read, or the server stopped
    /// accepting.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener()?.local_addr()
    }

    /// The listener, or an error once the server stopped accepting.
    fn listener(&self) -> io::Result<&TcpListener> {
        self.listener
            .as_ref()
            .ok_or_else(|| io::Error::other("the server stopped accepting"))
    }

    /// Closes the listener: new connections are refused from now on, and
    /// [`serve_until`](Server::serve_until) fails at once. The open
    /// connections go on. [`shut_down`](Server::shut_down) does this first.
    pub fn stop_accepting(&mut self) {
        self.listener = None;
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
            match self.listener()?.accept().await {
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
        drop(listener); // stop accepting, if not done yet
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
        let closed_unfinished = connections.close_all().await;
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
            progress: Rc::default(),
        };
        let task = runtime::spawn(connection(stream, peer, config, slot));
        this.tasks.borrow_mut().insert(number, task);
    }

    /// Closes every open connection (their tasks are aborted, which drops
    /// their sockets) and returns how many there were once all are gone.
    async fn close_all(&self) -> usize {
        let open = {
            let tasks = self.tasks.borrow();
            tasks.values().for_each(JoinHandle::abort);
            tasks.len()
        };
        // Aborted tasks are dropped at their next turn; each one's slot
        // then adds its bytes to the count and leaves the map.
        self.below(1).await;
        open
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
    /// What its echo has done, added to the server's count when it ends.
    progress: Rc<Progress>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let connections = &self.connections;
        let echoed = connections.bytes_echoed.get() + self.progress.bytes.get();
        connections.bytes_echoed.set(echoed);
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

/// Runs [`echo`] on one connection, with an [`IdleWatch`] beside it, and
/// reports how it ended.
async fn connection(stream: TcpStream, peer: SocketAddr, config: Config, slot: ConnectionSlot) {
    if !config.quiet {
        eprintln!("{peer}: connected");
    }
    let stream = Rc::new(stream);
    let watch = config
        .idle_timeout
        .map(|limit| IdleWatch::start(stream.clone(), slot.progress.clone(), limit));
    let mut result = echo(&stream, &slot.progress).await;
    if let Some(watch) = watch {
        result = watch.stop(result);
    }
    if !config.quiet {
        match result {
            Ok(bytes) => eprintln!("{peer}: closed, {bytes} bytes echoed"),
            Err(e) => eprintln!("{peer}: closed with error: {e}"),
        }
    }
}

/// What a connection's [`echo`] has done so far, updated as it goes (so it
/// counts even if the task is aborted).
#[derive(Debug, Default)]
pub struct Progress {
    /// Reads and writes completed.
    pub operations: Cell<u64>,
    /// Bytes echoed back.
    pub bytes: Cell<u64>,
}

impl Progress {
    /// Counts one completed operation that echoed `bytes`.
    fn record(&self, bytes: usize) {
        self.operations.set(self.operations.get() + 1);
        self.bytes.set(self.bytes.get() + bytes as u64);
    }
}

/// Echoes everything `stream` sends until it closes its side, then closes
/// ours. Returns the number of bytes echoed; `progress` counts them, and
/// every completed read and write, as they happen.
///
/// The buffer is allocated only when the first data arrives, so a
/// connection that never sends costs no buffer.
///
/// # Errors
///
/// The connection's error (for example, the peer reset it).
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
/// use echo_server::Progress;
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let progress = std::rc::Rc::new(Progress::default());
///     let counted = progress.clone();
///     let task = runtime::spawn(async move { echo_server::echo(&server, &counted).await });
///     client.write_all(b"hi").await?;
///     client.close().await?;
///     let mut back = Vec::new();
///     client.read_to_end(&mut back).await?;
///     assert_eq!(back, b"hi");
///     assert_eq!(task.await??, 2);
///     assert_eq!(progress.bytes.get(), 2);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn echo(stream: &TcpStream, progress: &Progress) -> io::Result<u64> {
    let mut reader = stream;
    let mut writer = stream;
    stream.readable().await?;
    let mut buf = vec![0; BUFFER_SIZE];
    let mut echoed = 0;
    loop {
        let n = reader.read(&mut buf).await?;
        progress.record(0);
        if n == 0 {
            writer.close().await?;
            return Ok(echoed);
        }
        // Write by hand rather than with `write_all`, so that a slow but
        // steady reader counts as progress after every partial write.
        let mut written = 0;
        while written < n {
            let m = writer.write(&buf[written..n]).await?;
            if m == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            written += m;
            progress.record(m);
        }
        echoed += n as u64;
    }
}

/// Checks for progress this many times per idle limit.
const IDLE_CHECKS: u32 = 4;

/// Closes a connection that makes no progress for a whole idle limit.
///
/// It runs as a task of its own beside the echo, so the echo's hot path
/// never touches a timer or reads the clock: it only counts operations in
/// [`Progress`]. The watch wakes every quarter of the limit and closes the
/// connection once the count has stood still for [`IDLE_CHECKS`] checks in
/// a row, that is between 1 and 1.25 limits after the last progress: never
/// early, and late by at most a quarter.
#[derive(Debug)]
struct IdleWatch {
    /// The watching task.
    task: JoinHandle<()>,
    /// Set when the watch closed the connection.
    fired: Rc<Cell<bool>>,
    /// The idle limit, for the error message.
    limit: Duration,
}

impl IdleWatch {
    /// Starts watching `stream`, whose echo counts into `progress`.
    fn start(stream: Rc<TcpStream>, progress: Rc<Progress>, limit: Duration) -> IdleWatch {
        let fired = Rc::new(Cell::new(false));
        let task = runtime::spawn(watch_idle(stream, progress, limit, fired.clone()));
        IdleWatch { task, fired, limit }
    }

    /// Stops watching (dropping the watch does too, which is what happens
    /// when the connection's task is aborted); turns the echo's `result`
    /// into `TimedOut` if the watch is what ended it.
    fn stop(self, result: io::Result<u64>) -> io::Result<u64> {
        if self.fired.get() {
            let message = format!("idle for {} s", self.limit.as_secs_f64());
            return Err(io::Error::new(io::ErrorKind::TimedOut, message));
        }
        result
    }
}

impl Drop for IdleWatch {
    fn drop(&mut self) {
        // The task holds the stream: end it with the connection.
        self.task.abort();
    }
}

/// The idle watch's task: shuts the connection down (both directions, so
/// the echo's pending read or write ends at once) after a limit without
/// progress.
async fn watch_idle(
    stream: Rc<TcpStream>,
    progress: Rc<Progress>,
    limit: Duration,
    fired: Rc<Cell<bool>>,
) {
    let mut seen = progress.operations.get();
    let mut idle_checks = 0;
    while idle_checks < IDLE_CHECKS {
        // From now, not from the last deadline: a late check (a busy
        // runtime) must not make the next ones come sooner.
        runtime::time::sleep(limit / IDLE_CHECKS).await;
        let now = progress.operations.get();
        if now == seen {
            idle_checks += 1;
        } else {
            seen = now;
            idle_checks = 0;
        }
    }
    fired.set(true);
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
