//! [`Server`]: accepting, the open connections, and the shutdown.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use runtime::net::{AcceptFailure, TcpListener, TcpStream};
use runtime::signal::{signal, Signal, SignalKind};
use runtime::sync::Notify;
use runtime::task::JoinHandle;
use runtime::time::Instant;

use crate::cores::{Handoff, Limit, Permit};
use crate::{idle, BufferPool, Config, Connection, EchoState, Fate, BUFFER_SIZE, LINGER};

/// How long to wait before accepting again after running out of file
/// descriptors (or kernel memory): the connection stays in the kernel's
/// backlog meanwhile, and the loop does not spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// After the grace period, how long the shutdown waits for the connections
/// that still had data in flight to write back what they read, say goodbye
/// and see the peer's FIN (each step may take up to [`LINGER`]) before it
/// closes what is left.
const FINISH_LIMIT: Duration = LINGER.saturating_mul(2);

/// An echo server that can be shut down gracefully.
///
/// [`serve_until`](Server::serve_until) accepts connections until a
/// shutdown future completes (say, Ctrl-C); then
/// [`shut_down`](Server::shut_down) says goodbye to the open connections,
/// and returns a [`Summary`].
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
    /// The open connections, the buffers they borrow, and the counts of
    /// what was served.
    connections: Rc<Connections>,
    /// When the server was made.
    started: Instant,
    /// On the accepting core of a `--balance acceptor` group: where new
    /// connections go; `None` serves them here.
    handoff: Option<Handoff>,
    /// In a group: a connection accepted just as the other cores reached
    /// the shared limit, waiting for a place.
    waiting: RefCell<Option<(TcpStream, SocketAddr)>>,
}

/// What a server did, printed when it shuts down.
///
/// The three counts are of the connections open when the shutdown began:
/// every one of them is in exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Connections accepted.
    pub connections: u64,
    /// Bytes echoed back, over all connections.
    pub bytes_echoed: u64,
    /// From [`Server::new`] to the end of the shutdown.
    pub uptime: Duration,
    /// Connections that had nothing unechoed, and were closed (FIN) at
    /// once.
    pub closed_at_once: u64,
    /// Connections that had data in flight and finished within the grace
    /// period.
    pub finished_in_grace: u64,
    /// Connections still busy when the grace period ended (they wrote back
    /// what they had read, then closed), or when the shutdown was forced
    /// (reset).
    pub forced: u64,
    /// Connections accepted by each core, in core order, for a server of
    /// several cores ([`Summary::combine`]); empty for one runtime.
    pub per_core: Vec<u64>,
}

impl Summary {
    /// The summary of a server of several cores: every count added up,
    /// the longest uptime, and each core's connections in
    /// [`per_core`](Summary::per_core).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use echo_server::Summary;
    ///
    /// let core = |connections| Summary {
    ///     connections,
    ///     bytes_echoed: 10 * connections,
    ///     uptime: Duration::from_secs(1),
    ///     closed_at_once: 0,
    ///     finished_in_grace: 0,
    ///     forced: 0,
    ///     per_core: Vec::new(),
    /// };
    /// let all = Summary::combine(&[core(498), core(502)]);
    /// assert_eq!((all.connections, all.bytes_echoed), (1000, 10_000));
    /// assert!(all.to_string().starts_with("served 1000 connections (core 0: 498, core 1: 502), echoed"));
    /// ```
    pub fn combine(cores: &[Summary]) -> Summary {
        Summary {
            connections: cores.iter().map(|s| s.connections).sum(),
            bytes_echoed: cores.iter().map(|s| s.bytes_echoed).sum(),
            uptime: cores.iter().map(|s| s.uptime).max().unwrap_or_default(),
            closed_at_once: cores.iter().map(|s| s.closed_at_once).sum(),
            finished_in_grace: cores.iter().map(|s| s.finished_in_grace).sum(),
            forced: cores.iter().map(|s| s.forced).sum(),
            per_core: cores.iter().map(|s| s.connections).collect(),
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "served {} connections", self.connections)?;
        if self.per_core.len() > 1 {
            f.write_str(" (")?;
            for (index, count) in self.per_core.iter().enumerate() {
                let sep = if index == 0 { "" } else { ", " };
                write!(f, "{sep}core {index}: {count}")?;
            }
            f.write_str(")")?;
        }
        write!(
            f,
            ", echoed {} bytes, up {:.1} s; at shutdown \
             {} closed at once, {} finished in grace, {} forced",
            self.bytes_echoed,
            self.uptime.as_secs_f64(),
            self.closed_at_once,
            self.finished_in_grace,
            self.forced
        )
    }
}

impl Server {
    /// A server for `listener`.
    pub fn new(listener: TcpListener, config: Config) -> Server {
        Server::on_core(Some(listener), config, None, None)
    }

    /// One core's server in a group: `listener` if this core accepts,
    /// `limit` shared by every core, `handoff` if this core accepts for
    /// the others.
    pub(crate) fn on_core(
        listener: Option<TcpListener>,
        config: Config,
        limit: Option<(Arc<Limit>, usize)>,
        handoff: Option<Handoff>,
    ) -> Server {
        let mut connections = Connections::new(config);
        connections.limit = limit;
        Server {
            listener,
            connections: Rc::new(connections),
            started: Instant::now(),
            handoff,
            waiting: RefCell::new(None),
        }
    }

    /// Stops handing new connections to other cores: dropping the
    /// senders tells each receiving core that no more are coming.
    pub(crate) fn stop_handing_off(&mut self) {
        self.handoff = None;
    }

    /// This server's connections, for a core that receives connections
    /// accepted by another.
    pub(crate) fn connections(&self) -> &Rc<Connections> {
        &self.connections
    }

    /// Stops accepting, but first takes every connection already queued
    /// in the listener's backlog (without waiting for more), so that
    /// closing the listener resets none of them: they join the open
    /// connections, and a shutdown that follows says goodbye to them like
    /// to the others. Returns how many it took.
    ///
    /// The `accept`s are direct system calls on the listener, not waits
    /// for readiness, so they see every connection the kernel completed,
    /// including those the reactor has not reported yet. A handshake that
    /// completes between the last `accept` and the close (a window of one
    /// system call) is still reset by the kernel. See the [crate
    /// docs](crate#connections-queued-at-the-shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// use runtime::net::TcpListener;
    /// use echo_server::{Config, Server};
    ///
    /// runtime::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let mut server = Server::new(listener, Config { quiet: true, ..Config::default() });
    ///     // The kernel completes the handshake; the server never accepted.
    ///     let mut queued = std::net::TcpStream::connect(addr)?;
    ///     assert_eq!(server.drain_backlog(), 1);
    ///     // The peer reads end of stream, not a reset, then closes.
    ///     let peer = std::thread::spawn(move || queued.read(&mut [0; 8]));
    ///     let summary = server.shut_down(Duration::from_secs(5), std::future::pending()).await;
    ///     assert_eq!(peer.join().unwrap()?, 0);
    ///     assert_eq!((summary.connections, summary.closed_at_once), (1, 1));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn drain_backlog(&mut self) -> usize {
        let mut taken = 0;
        if let Some((stream, peer)) = self.waiting.borrow_mut().take() {
            Connections::spawn(&self.connections, stream, peer, None);
            taken += 1;
        }
        let Some(listener) = self.listener.take() else {
            return taken;
        };
        let Ok(listener) = listener.into_std() else {
            return taken;
        };
        loop {
            match listener.accept() {
                Ok((stream, peer)) => match TcpStream::from_std(stream) {
                    Ok(stream) => {
                        // Past the limit if need be: the connection is
                        // about to be told goodbye.
                        Connections::spawn(&self.connections, stream, peer, None);
                        taken += 1;
                    }
                    Err(e) => eprintln!("{peer}: dropped at the shutdown: {e}"),
                },
                // The backlog is empty.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return taken,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // That one connection is gone (reset while queued, ...).
                Err(e) if AcceptFailure::of(&e) == AcceptFailure::Connection => {}
                // Out of file descriptors, or a broken listener: what is
                // left is closed with the listener.
                Err(_) => return taken,
            }
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
    /// Cancel safety: cancel-safe; a connection is either accepted and
    /// running on its own task, or still in the kernel's backlog (or, on a
    /// core of a group that reached the shared limit at the moment it
    /// accepted, held by the server for [`drain_backlog`](Server::drain_backlog)).
    ///
    /// # Errors
    ///
    /// Only if the listener itself is broken (for example, not listening).
    pub async fn serve_until(&self, stop: impl Future<Output = ()>) -> io::Result<()> {
        runtime::select! {
            biased;
            () = stop => Ok(()),
            result = self.accept_loop() => result,
        }
    }

    /// Accepts forever.
    ///
    /// Cancel safety: cancel-safe, as [`serve_until`](Server::serve_until).
    async fn accept_loop(&self) -> io::Result<()> {
        let mut out_of_fds = false;
        let limit = self.connections.config.max_conns.max(1);
        loop {
            self.connections.below(limit).await;
            let listener = self.listener()?;
            let accepted = match &self.connections.limit {
                // One runtime needs no shared count.
                None => listener.accept().await,
                // A group's limit is for the whole server. A core does not
                // reserve a place while it waits (an idle core would hold
                // it while another core's backlog waits): it accepts while
                // the server is below the limit, and stops waiting for a
                // connection when the other cores reach it.
                Some((shared, _)) => {
                    shared.until_below().await;
                    runtime::select! {
                        biased;
                        accepted = listener.accept() => accepted,
                        () = shared.until_full() => continue,
                    }
                }
            };
            match accepted {
                Ok((stream, peer)) => {
                    if out_of_fds {
                        eprintln!("accepting again: file descriptors are available");
                        out_of_fds = false;
                    }
                    let permit = match &self.connections.limit {
                        None => None,
                        Some((shared, _)) => match shared.try_acquire() {
                            Some(permit) => Some(permit),
                            None => {
                                // Another core took the last place at the
                                // same moment: this connection waits for
                                // one, where a shutdown still finds it.
                                *self.waiting.borrow_mut() = Some((stream, peer));
                                let permit = shared.acquire().await;
                                let Some((stream, peer)) = self.waiting.borrow_mut().take() else {
                                    continue;
                                };
                                self.dispatch(stream, peer, Some(permit));
                                continue;
                            }
                        },
                    };
                    self.dispatch(stream, peer, permit);
                }
                // The runtime says what an accept error means.
                Err(e) => match AcceptFailure::of(&e) {
                    AcceptFailure::OutOfResources => {
                        if !out_of_fds {
                            eprintln!("cannot accept: {e}; retrying every {ACCEPT_BACKOFF:?}");
                            out_of_fds = true;
                        }
                        runtime::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    AcceptFailure::Connection => {
                        if !self.connections.config.quiet {
                            eprintln!("skipped a connection: {e}");
                        }
                    }
                    // The listener itself is broken (or the runtime gone).
                    _ => return Err(e),
                },
            }
        }
    }

    /// Serves a connection just accepted here, or hands it to another
    /// core.
    fn dispatch(&self, stream: TcpStream, peer: SocketAddr, permit: Option<Permit>) {
        match &self.handoff {
            None => Connections::spawn(&self.connections, stream, peer, permit),
            Some(handoff) => handoff.place(&self.connections, stream, peer, permit),
        }
    }

    /// Stops accepting (the listener closes; new connections are refused)
    /// and says goodbye to the open connections, then says what the server
    /// did.
    ///
    /// 1. Every connection is asked to say goodbye: one with nothing
    ///    unechoed closes its side (FIN) at once; one with data in flight
    ///    goes on until it has nothing unechoed and has been
    ///    [`QUIET`](crate::QUIET) for a moment, then closes.
    /// 2. After `grace`, the ones still busy stop reading, write back what
    ///    they read, then close.
    /// 3. Twice [`LINGER`] after that, what is left is closed as it is.
    ///
    /// Once a connection closed its side it waits a little for the peer's
    /// FIN (see [`LINGER`]). If `force` completes first (a second Ctrl-C),
    /// every open connection is reset (RST) at once.
    ///
    /// Cancel safety: dropping the future leaves the connections asked to
    /// stop; they end on their own.
    pub async fn shut_down(self, grace: Duration, force: impl Future<Output = ()>) -> Summary {
        let Server {
            listener,
            connections,
            started,
            handoff,
            waiting,
        } = self;
        drop((handoff, waiting));
        drop(listener); // stop accepting, if not done yet
        let mut force = pin!(force);
        connections.for_each_open(Connection::say_goodbye);
        let mut until = connections.until_closed(grace, force.as_mut()).await;
        if until == Until::TimeUp {
            connections.for_each_open(Connection::finish_now);
            until = connections.until_closed(FINISH_LIMIT, force.as_mut()).await;
        }
        match until {
            Until::Closed => {}
            Until::TimeUp => connections.close_all(false),
            Until::Forced => connections.close_all(true),
        }
        // Aborted tasks are dropped at their next turn; each one's slot
        // then counts it and leaves the map.
        connections.below(1).await;
        Summary {
            connections: connections.accepted.get(),
            bytes_echoed: connections.bytes_echoed.get(),
            uptime: started.elapsed(),
            closed_at_once: connections.closed_at_once.get(),
            finished_in_grace: connections.finished_in_grace.get(),
            forced: connections.forced.get(),
            per_core: Vec::new(),
        }
    }
}

/// How a wait of the shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// Every connection closed.
    Closed,
    /// The time allowed ran out.
    TimeUp,
    /// The shutdown was forced.
    Forced,
}

/// What the registry holds for an open connection.
#[derive(Debug)]
struct Entry {
    /// The connection, for the shutdown and the idle sweeper.
    connection: Rc<Connection>,
    /// Its task, to abort it when the shutdown closes what is left.
    task: JoinHandle<()>,
}

/// The open connections, the buffers they borrow, and counts of what was
/// served.
#[derive(Debug)]
pub(crate) struct Connections {
    /// How to treat them.
    config: Config,
    /// The buffers lent to connections with data in flight.
    pool: BufferPool,
    /// Each open connection, by connection number.
    open: RefCell<HashMap<u64, Entry>>,
    /// Connections accepted so far; also the next connection's number.
    accepted: Cell<u64>,
    /// Bytes echoed by connections that ended.
    bytes_echoed: Cell<u64>,
    /// Connections open at the shutdown, by how they ended.
    closed_at_once: Cell<u64>,
    /// See [`Summary::finished_in_grace`].
    finished_in_grace: Cell<u64>,
    /// See [`Summary::forced`].
    forced: Cell<u64>,
    /// Whether the idle sweeper is running.
    sweeping: Cell<bool>,
    /// Notified whenever a connection closes.
    closed: Notify,
    /// In a group of several cores: the connection limit shared by them
    /// all, and this core's index.
    limit: Option<(Arc<Limit>, usize)>,
}

impl Connections {
    /// No connections yet.
    fn new(config: Config) -> Connections {
        Connections {
            pool: BufferPool::new(BUFFER_SIZE, config.pool_buffers),
            config,
            open: RefCell::default(),
            accepted: Cell::new(0),
            bytes_echoed: Cell::new(0),
            closed_at_once: Cell::new(0),
            finished_in_grace: Cell::new(0),
            forced: Cell::new(0),
            sweeping: Cell::new(false),
            closed: Notify::new(),
            limit: None,
        }
    }

    /// Waits until fewer than `limit` connections are open.
    ///
    /// Cancel safety: cancel-safe.
    async fn below(&self, limit: usize) {
        while self.open.borrow().len() >= limit {
            self.closed.notified().await;
        }
    }

    /// Waits until no connection is open, for at most `limit`, or until
    /// `force` completes.
    ///
    /// Cancel safety: cancel-safe.
    async fn until_closed(&self, limit: Duration, force: Pin<&mut impl Future>) -> Until {
        runtime::select! {
            biased;
            () = self.below(1) => Until::Closed,
            _ = force => Until::Forced,
            () = runtime::time::sleep(limit) => Until::TimeUp,
        }
    }

    /// Runs `f` on every open connection; returns how many there are.
    pub(crate) fn for_each_open(&self, mut f: impl FnMut(&Connection)) -> usize {
        let open = self.open.borrow();
        open.values().for_each(|entry| f(&entry.connection));
        open.len()
    }

    /// Records that the idle sweeper ended (no connection was open).
    pub(crate) fn sweeper_stopped(&self) {
        self.sweeping.set(false);
    }

    /// Echoes `stream` on a new task, and starts the idle sweeper if it is
    /// not running. `permit` is the connection's place in a group's
    /// shared limit; it is counted on this core and released when the
    /// connection ends.
    pub(crate) fn spawn(
        this: &Rc<Connections>,
        stream: TcpStream,
        peer: SocketAddr,
        mut permit: Option<Permit>,
    ) {
        // Every message is answered at once, whatever its size. This fails
        // only for a socket that is not TCP or is already closed; the echo
        // then reports what is wrong.
        let _ = stream.set_nodelay(true);
        let number = this.accepted.get();
        this.accepted.set(number + 1);
        let connection = Rc::new(Connection::new(stream));
        if let (Some(permit), Some((_, core))) = (&mut permit, &this.limit) {
            permit.assign(*core);
        }
        let slot = Slot {
            connections: this.clone(),
            connection: connection.clone(),
            number,
            _permit: permit,
        };
        // Named, so that traces and dumps (SIGUSR1) say whose task it is.
        let future = connection_task(slot, peer);
        let task = spawn_named(&format!("conn {peer}"), future);
        this.open
            .borrow_mut()
            .insert(number, Entry { connection, task });
        if let Some(limit) = this.config.idle_timeout {
            if !this.sweeping.get() {
                this.sweeping.set(true);
                drop(spawn_named(
                    "idle sweeper",
                    idle::sweep(Rc::downgrade(this), limit),
                ));
            }
        }
    }

    /// Closes every open connection: aborts its task, which drops (closes)
    /// its socket; with `reset`, the socket is first set to linger zero, so
    /// the close is a reset (RST).
    fn close_all(&self, reset: bool) {
        for entry in self.open.borrow().values() {
            entry.connection.finish_now();
            if reset {
                let _ = entry.connection.stream().set_linger(Some(Duration::ZERO));
            }
            entry.task.abort();
        }
    }

    /// Counts a connection that ended, and how.
    fn count(&self, connection: &Connection) {
        let echoed = self.bytes_echoed.get() + connection.bytes_echoed();
        self.bytes_echoed.set(echoed);
        let counter = match connection.final_fate() {
            None => return,
            Some(Fate::ClosedAtOnce) => &self.closed_at_once,
            Some(Fate::FinishedInGrace) => &self.finished_in_grace,
            Some(Fate::Forced) => &self.forced,
        };
        counter.set(counter.get() + 1);
    }
}

/// One open connection's place; dropping it, however the task ends,
/// counts the connection, frees the place and wakes whoever waits for one.
#[derive(Debug)]
struct Slot {
    /// Where the connection is counted.
    connections: Rc<Connections>,
    /// The connection.
    connection: Rc<Connection>,
    /// Its number.
    number: u64,
    /// Its place in a group's shared limit, given back when it ends.
    _permit: Option<Permit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let connections = &self.connections;
        connections.count(&self.connection);
        // The entry holds the task's own handle: dropping it detaches,
        // nothing more.
        let entry = connections.open.borrow_mut().remove(&self.number);
        drop(entry);
        // The accept loop and a shutdown may both be waiting.
        connections.closed.notify_waiters();
    }
}

/// Runs [`echo`](crate::echo) on one connection and reports how it ended.
///
/// Cancel safety: it is a task's whole future; aborting it drops the
/// connection (its slot then counts it).
async fn connection_task(slot: Slot, peer: SocketAddr) {
    let config = &slot.connections.config;
    if !config.quiet {
        eprintln!("{peer}: connected");
    }
    let connection = &slot.connection;
    let pool = &slot.connections.pool;
    // What `echo` does, written out here rather than awaited: so a message
    // goes through this one state machine instead of two, which measured
    // 5 to 8 user-space instructions less per message.
    let mut state = EchoState::default();
    let mut result = match poll_fn(|cx| connection.poll_echo(cx, pool, &mut state)).await {
        Ok(ending) => connection.end(ending, pool).await,
        Err(e) => Err(e),
    };
    if let Some(limit) = config.idle_timeout.filter(|_| connection.idle.fired()) {
        result = Err(idle::idle_error(limit));
    }
    if !config.quiet {
        match result {
            Ok(bytes) if connection.fate().is_some() => {
                eprintln!("{peer}: closed for the shutdown, {bytes} bytes echoed")
            }
            Ok(bytes) => eprintln!("{peer}: closed, {bytes} bytes echoed"),
            Err(e) => eprintln!("{peer}: closed with error: {e}"),
        }
    }
}

/// Ctrl-C (SIGINT) and SIGTERM, either of which asks the server to stop.
#[derive(Debug)]
pub(crate) struct StopSignals {
    /// SIGINT deliveries.
    interrupt: Signal,
    /// SIGTERM deliveries.
    terminate: Signal,
}

impl StopSignals {
    /// Starts listening for both signals.
    pub(crate) fn new() -> io::Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the next SIGINT or SIGTERM.
    ///
    /// Cancel safety: cancel-safe; a signal not yet seen stays queued.
    pub(crate) async fn next(&mut self) {
        // Either signal, whatever it yields (`None` once the runtime is
        // gone, which also means stop).
        runtime::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Spawns `future` as a task called `name`, the name traces and dumps
/// show.
fn spawn_named<F: Future + 'static>(name: &str, future: F) -> JoinHandle<F::Output> {
    match runtime::task::Builder::new().name(name).spawn(future) {
        Ok(task) => task,
        // The `Result` is tokio's shape; spawning on a runtime cannot fail.
        Err(e) => panic!("cannot spawn task {name:?}: {e}"),
    }
}

/// Prints [`runtime::dump`] (every live task, its name, age and polls, and
/// what it waits on) to stderr at each SIGUSR1: `kill -USR1 <pid>` shows
/// what a running server is doing.
///
/// Cancel safety: cancel-safe; a signal not yet seen stays queued.
async fn dump_on_request(mut usr1: Signal) {
    while usr1.recv().await.is_some() {
        eprint!("SIGUSR1: {}", runtime::dump());
    }
}

/// How [`run`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// After one stop signal: the grace period was honoured.
    Graceful,
    /// A second stop signal reset the open connections at once.
    Forced,
}

/// The `echo-server` program: listens on `addr`, prints `listening on
/// <addr>` on stdout (scripts and tests read the port from it), serves
/// until Ctrl-C or SIGTERM, takes the connections queued in the backlog
/// ([`Server::drain_backlog`]), then shuts down with `grace` (a second
/// signal forces it; see [`Server::shut_down`]) and prints the
/// [`Summary`].
///
/// Cancel safety: not meant to be cancelled (it is the whole program);
/// dropped, it leaves the connections as [`Server::shut_down`] does.
///
/// # Errors
///
/// A message for the user: the address cannot be listened on, the signals
/// cannot be watched, or the listener failed.
pub async fn run(addr: &str, config: Config, grace: Duration) -> Result<Ending, String> {
    let listener = runtime::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let mut stop = StopSignals::new().map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;
    let usr1 = signal(SignalKind::user_defined1())
        .map_err(|e| format!("cannot watch for SIGUSR1: {e}"))?;
    // Ends with the runtime, at the end of the program.
    drop(spawn_named("SIGUSR1 dump", dump_on_request(usr1)));
    println!("listening on {local}");
    // Tests and scripts read the address from the first line.
    let _ = io::stdout().flush();

    let mut server = Server::new(listener, config);
    server
        .serve_until(stop.next())
        .await
        .map_err(|e| format!("the listener failed: {e}"))?;
    // Refuse new connections before saying so; take the ones already
    // queued rather than have the close reset them.
    server.drain_backlog();
    eprintln!(
        "shutting down: idle connections close now, busy ones have {} s to finish \
         (Ctrl-C again to reset them all now)",
        grace.as_secs()
    );
    let forced = Cell::new(false);
    let summary = server
        .shut_down(grace, async {
            stop.next().await;
            forced.set(true);
        })
        .await;
    println!("{summary}");
    Ok(if forced.get() {
        Ending::Forced
    } else {
        Ending::Graceful
    })
}
