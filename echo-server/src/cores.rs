//! `--threads N`: one runtime per core, each serving its own connections;
//! the crate docs tell the model ("One runtime per core") and the
//! shutdown ("Connections queued at the shutdown").
//!
//! [`run_threads`] binds the sockets, starts a
//! [`RuntimeGroup`](runtime::RuntimeGroup) running [`serve_core`] on each
//! core, and waits on the main thread for the signals. [`Handoff`] and
//! [`receive`] pass connections from the accepting core to the others
//! with [`Balance::Acceptor`]; [`Limit`] is the connection limit every
//! core counts in.

use std::cell::Cell;
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use runtime::net::{TcpSocket, TcpStream};
use runtime::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use runtime::sync::Notify;
use runtime::CoreId;

use crate::server::{Connections, StopSignals};
use crate::{run, Config, Ending, Server, Summary};

/// The most runtimes `--threads` starts: as many as the runtime's groups
/// allow.
pub const MAX_THREADS: usize = 1024;

/// Each core's listen backlog: what [`runtime::net::TcpListener::bind`]
/// uses.
const BACKLOG: u32 = 1024;

/// How connections are shared among the cores of a [`run_threads`]
/// server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Balance {
    /// Every core listens on the address with `SO_REUSEPORT`, and the
    /// kernel picks a core for each connection by a hash of its
    /// addresses.
    #[default]
    ReusePort,
    /// Core 0 accepts every connection, and hands each to the core with
    /// the fewest open connections.
    Acceptor,
}

/// How many runtimes `threads` asks for: `0` means one per CPU the
/// process may use ([`std::thread::available_parallelism`]; 1 if unknown).
///
/// # Errors
///
/// A message for the user if `threads` is above [`MAX_THREADS`].
///
/// # Examples
///
/// ```
/// assert_eq!(echo_server::resolve_threads(2), Ok(2));
/// assert!(echo_server::resolve_threads(0).unwrap() >= 1);
/// assert!(echo_server::resolve_threads(5000).is_err());
/// ```
pub fn resolve_threads(threads: usize) -> Result<usize, String> {
    match threads {
        0 => Ok(std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS)),
        n if n > MAX_THREADS => Err(format!(
            "at most {MAX_THREADS} threads, not {n} (0 means one per core)"
        )),
        n => Ok(n),
    }
}

/// The `echo-server` program on `threads` runtimes (`0`: one per core):
/// [`run`] on one runtime if that is one, else one runtime per core as
/// the [crate docs](crate#one-runtime-per-core) say, connections shared
/// out by `balance`. Prints
/// `listening on <addr>` once every core listens, and the summary of all
/// cores at the end.
///
/// # Errors
///
/// A message for the user: the address cannot be listened on, a runtime
/// cannot start, the signals cannot be watched, a listener failed or a
/// core panicked.
pub fn run_threads(
    addr: &str,
    config: Config,
    grace: Duration,
    threads: usize,
    balance: Balance,
) -> Result<Ending, String> {
    let threads = resolve_threads(threads)?;
    if threads == 1 {
        let runtime = builder(&config)
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        return runtime.block_on(run(addr, config, grace));
    }
    let cannot_listen = |e: io::Error| format!("cannot listen on {addr}: {e}");
    let listeners = match balance {
        Balance::ReusePort => threads,
        Balance::Acceptor => 1,
    };
    let (local, sockets) =
        bind(addr, listeners, balance == Balance::ReusePort).map_err(cannot_listen)?;
    runtime::block_on(serve_on_cores(
        Plan::new(config, grace, threads, balance, sockets),
        local,
    ))
}

/// A runtime builder for `config`: tracing to stderr if it asks.
fn builder(config: &Config) -> runtime::Builder {
    let mut builder = runtime::Builder::new();
    if config.trace {
        builder
            .trace(std::io::stderr())
            .stall_threshold(crate::TRACE_STALL);
    }
    builder
}

/// Binds `count` sockets on `addr` (with `SO_REUSEPORT` if `reuseport`):
/// the first one picks the port if `addr` asks for port 0, the others
/// bind the same. Returns the address bound and the sockets.
fn bind(addr: &str, count: usize, reuseport: bool) -> io::Result<(SocketAddr, Vec<TcpSocket>)> {
    let wanted = addr.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the name resolves to no address",
        )
    })?;
    let mut bound = wanted;
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        let socket = if wanted.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As `TcpListener::bind`: a restarted server gets its port back.
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(reuseport)?;
        socket.bind(bound)?;
        bound = socket.local_addr()?;
        sockets.push(socket);
    }
    Ok((bound, sockets))
}

/// A connection one core accepted and hands to another.
#[derive(Debug)]
pub(crate) struct Moved {
    /// The socket, deregistered from the accepting core.
    stream: std::net::TcpStream,
    /// Its peer.
    peer: SocketAddr,
    /// Its place in the shared limit, counted on the receiving core.
    permit: Option<Permit>,
}

/// The accepting core's side of [`Balance::Acceptor`]: where each new
/// connection goes.
#[derive(Debug)]
pub(crate) struct Handoff {
    /// Each core's channel, in core order; `None` for the accepting core.
    cores: Vec<Option<UnboundedSender<Moved>>>,
    /// The open connections per core.
    limit: Arc<Limit>,
    /// The core to look at first next time, so ties go round the cores.
    next: Cell<usize>,
}

impl Handoff {
    /// Sends `stream` to the core with the fewest open connections, or
    /// serves it here if that is this core (or the chosen core is gone).
    pub(crate) fn place(
        &self,
        connections: &Rc<Connections>,
        stream: TcpStream,
        peer: SocketAddr,
        mut permit: Option<Permit>,
    ) {
        let core = self.limit.least_loaded(&self.next);
        let Some(Some(sender)) = self.cores.get(core) else {
            return Connections::spawn(connections, stream, peer, permit);
        };
        // Counted on its core now, so the next choice sees it.
        if let Some(permit) = &mut permit {
            permit.assign(core);
        }
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => return eprintln!("{peer}: cannot hand over the connection: {e}"),
        };
        if let Err(refused) = sender.send(Moved {
            stream,
            peer,
            permit,
        }) {
            // The core is gone (the group is stopping): serve it here.
            let Moved { stream, permit, .. } = refused.0;
            match TcpStream::from_std(stream) {
                Ok(stream) => Connections::spawn(connections, stream, peer, permit),
                Err(e) => eprintln!("{peer}: cannot take the connection back: {e}"),
            }
        }
    }
}

/// Registers and echoes on this core every connection handed to it, until
/// the accepting core drops its sender.
///
/// Cancel safety: cancel-safe; a connection not yet received stays in the
/// channel (and is closed with it).
async fn receive(mut handed: UnboundedReceiver<Moved>, connections: Rc<Connections>) {
    while let Some(Moved {
        stream,
        peer,
        permit,
    }) = handed.recv().await
    {
        match TcpStream::from_std(stream) {
            Ok(stream) => Connections::spawn(&connections, stream, peer, permit),
            Err(e) => eprintln!("{peer}: cannot take over the connection: {e}"),
        }
    }
}

/// The connection limit of a group, shared by its cores: how many
/// connections are open in all, and on each core.
#[derive(Debug)]
pub(crate) struct Limit {
    /// Open connections at most, over every core.
    max: usize,
    /// Open connections now (each one holds a [`Permit`]).
    open: AtomicUsize,
    /// Open connections on each core, in core order.
    per_core: Box<[AtomicUsize]>,
    /// Notified when a connection ends while the server is at its limit.
    freed: Notify,
    /// Notified when the server reaches its limit.
    full: Notify,
}

impl Limit {
    /// No connection open yet on any of `cores` cores.
    fn new(max: usize, cores: usize) -> Limit {
        Limit {
            max: max.max(1),
            open: AtomicUsize::new(0),
            per_core: (0..cores).map(|_| AtomicUsize::new(0)).collect(),
            freed: Notify::new(),
            full: Notify::new(),
        }
    }

    /// Takes a place below the limit, if there is one.
    pub(crate) fn try_acquire(self: &Arc<Limit>) -> Option<Permit> {
        let mut open = self.open.load(Ordering::SeqCst);
        while open < self.max {
            match self.open.compare_exchange_weak(
                open,
                open + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    if open + 1 == self.max {
                        self.full.notify_waiters();
                    }
                    return Some(Permit {
                        limit: self.clone(),
                        core: None,
                    });
                }
                Err(now) => open = now,
            }
        }
        None
    }

    /// Waits until the server is below the limit, taking no place.
    ///
    /// Cancel safety: cancel-safe.
    pub(crate) async fn until_below(&self) {
        loop {
            let freed = self.freed.notified();
            if self.open.load(Ordering::SeqCst) < self.max {
                return;
            }
            freed.await;
        }
    }

    /// Waits until the server is at the limit.
    ///
    /// Cancel safety: cancel-safe.
    pub(crate) async fn until_full(&self) {
        loop {
            let full = self.full.notified();
            if self.open.load(Ordering::SeqCst) >= self.max {
                return;
            }
            full.await;
        }
    }

    /// Waits for a place below the limit and takes it.
    ///
    /// Cancel safety: cancel-safe; no place is taken until it returns.
    pub(crate) async fn acquire(self: &Arc<Limit>) -> Permit {
        loop {
            // Made before the look, so a place freed after it wakes us.
            let freed = self.freed.notified();
            if let Some(permit) = self.try_acquire() {
                return permit;
            }
            freed.await;
        }
    }

    /// The core with the fewest open connections, looking from `next` on
    /// (which moves on by one), so that ties go round the cores.
    fn least_loaded(&self, next: &Cell<usize>) -> usize {
        let cores = self.per_core.len().max(1);
        let start = next.get() % cores;
        next.set((start + 1) % cores);
        (0..cores)
            .map(|i| (start + i) % cores)
            .min_by_key(|&core| {
                self.per_core
                    .get(core)
                    .map_or(usize::MAX, |n| n.load(Ordering::Relaxed))
            })
            .unwrap_or(0)
    }
}

/// One connection's place in a [`Limit`]; dropping it gives the place
/// back.
#[derive(Debug)]
pub(crate) struct Permit {
    /// The limit the place is in.
    limit: Arc<Limit>,
    /// The core the connection is counted on, once it has one.
    core: Option<usize>,
}

impl Permit {
    /// Counts the connection on `core`, unless it is counted already.
    pub(crate) fn assign(&mut self, core: usize) {
        if self.core.is_none() {
            if let Some(count) = self.limit.per_core.get(core) {
                count.fetch_add(1, Ordering::Relaxed);
                self.core = Some(core);
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(count) = self.core.and_then(|core| self.limit.per_core.get(core)) {
            count.fetch_sub(1, Ordering::Relaxed);
        }
        let before = self.limit.open.fetch_sub(1, Ordering::SeqCst);
        if before >= self.limit.max {
            self.limit.freed.notify_waiters();
        }
    }
}

/// A flag every core watches: the stop, or the forced stop.
#[derive(Debug, Default)]
struct Flag {
    /// True once raised.
    raised: AtomicBool,
    /// Wakes whoever waits for it.
    notify: Notify,
}

impl Flag {
    /// Raises the flag, for good.
    fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether the flag is raised.
    fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    /// Completes once the flag is raised.
    ///
    /// Cancel safety: cancel-safe.
    async fn raised(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_raised() {
                return;
            }
            notified.await;
        }
    }
}

/// What every core of a group shares.
#[derive(Debug)]
struct Plan {
    /// How each core's server behaves.
    config: Config,
    /// The shutdown's grace period.
    grace: Duration,
    /// How connections are shared out.
    balance: Balance,
    /// Each core's bound socket, taken by the core to listen on it.
    sockets: Mutex<Vec<Option<TcpSocket>>>,
    /// With [`Balance::Acceptor`]: the accepting core's senders, one per
    /// core, taken by it.
    senders: Mutex<Option<Vec<Option<UnboundedSender<Moved>>>>>,
    /// With [`Balance::Acceptor`]: each other core's receiver, taken by
    /// it.
    receivers: Mutex<Vec<Option<UnboundedReceiver<Moved>>>>,
    /// The connection limit for the whole server.
    limit: Arc<Limit>,
    /// Raised at the first stop signal.
    stop: Flag,
    /// Raised at the second.
    force: Flag,
    /// Cores whose future has not ended (or been dropped) yet.
    left: AtomicUsize,
    /// Notified when a core's future ends.
    ended: Notify,
}

impl Plan {
    /// The plan for `threads` cores, listening on `sockets`.
    fn new(
        config: Config,
        grace: Duration,
        threads: usize,
        balance: Balance,
        sockets: Vec<TcpSocket>,
    ) -> Plan {
        let (mut senders, mut receivers) = (Vec::new(), Vec::new());
        if balance == Balance::Acceptor {
            senders.push(None);
            receivers.push(None);
            for _ in 1..threads {
                let (tx, rx) = unbounded_channel();
                senders.push(Some(tx));
                receivers.push(Some(rx));
            }
        }
        Plan {
            limit: Arc::new(Limit::new(config.max_conns, threads)),
            config,
            grace,
            balance,
            sockets: Mutex::new(sockets.into_iter().map(Some).collect()),
            senders: Mutex::new(Some(senders)),
            receivers: Mutex::new(receivers),
            stop: Flag::default(),
            force: Flag::default(),
            left: AtomicUsize::new(threads),
            ended: Notify::new(),
        }
    }

    /// Completes once every core's future has ended.
    ///
    /// Cancel safety: cancel-safe.
    async fn all_ended(&self) {
        loop {
            let notified = self.ended.notified();
            if self.left.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Takes slot `index` of `slots`, if it holds something.
fn take<T>(slots: &Mutex<Vec<Option<T>>>, index: usize) -> Option<T> {
    let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
    slots.get_mut(index).and_then(Option::take)
}

/// Held by a core's future: counts the core out of [`Plan::left`] when the
/// future ends or is dropped (a panic on another core drops it).
#[derive(Debug)]
struct Present(Arc<Plan>);

impl Drop for Present {
    fn drop(&mut self) {
        self.0.left.fetch_sub(1, Ordering::SeqCst);
        self.0.ended.notify_waiters();
    }
}

/// Starts the cores, prints `listening on <local>` once they all listen,
/// and waits for the signals and the cores.
///
/// Cancel safety: not meant to be cancelled (it is the whole program).
async fn serve_on_cores(plan: Plan, local: SocketAddr) -> Result<Ending, String> {
    let threads = plan.left.load(Ordering::SeqCst);
    let mut stop = StopSignals::new().map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;
    let mut builder = builder(&plan.config);
    let plan = Arc::new(plan);
    let (ready_tx, ready_rx) = mpsc::channel();
    let ready_tx = Mutex::new(ready_tx);
    let shared = plan.clone();
    let group = builder
        .threads(threads)
        .spawn_per_core(move |core| {
            let ready = ready_tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            serve_core(core, Present(shared.clone()), ready)
        })
        .map_err(|e| format!("cannot start {threads} runtimes: {e}"))?;

    // Every core listens before the address is announced.
    let mut listening = 0;
    while listening < threads {
        match ready_rx.recv_timeout(Duration::from_millis(10)) {
            Ok(Ok(())) => listening += 1,
            Ok(Err(message)) => {
                group.shutdown();
                let _ = group.join();
                return Err(message);
            }
            Err(mpsc::RecvTimeoutError::Timeout) if plan.left.load(Ordering::SeqCst) == threads => {
            }
            Err(_) => {
                group.shutdown();
                return Err(match group.join() {
                    Err(e) => e.to_string(),
                    Ok(_) => "a core ended before it listened".to_string(),
                });
            }
        }
    }
    println!("listening on {local}");
    // Tests and scripts read the address from the first line.
    let _ = io::stdout().flush();

    runtime::select! {
        biased;
        // Every core ended by itself: a listener failed, or a core panicked.
        () = plan.all_ended() => {}
        () = stop.next() => {
            eprintln!(
                "shutting down: idle connections close now, busy ones have {} s to finish \
                 (Ctrl-C again to reset them all now)",
                plan.grace.as_secs()
            );
            plan.stop.raise();
            runtime::select! {
                biased;
                () = plan.all_ended() => {}
                () = stop.next() => plan.force.raise(),
            }
            plan.all_ended().await;
        }
    }
    // Every core's future has ended: this waits only for the threads.
    let summaries = group
        .join()
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    println!("{}", Summary::combine(&summaries));
    Ok(if plan.force.is_raised() {
        Ending::Forced
    } else {
        Ending::Graceful
    })
}

/// One core's whole life: listen (if it has a socket), say so on `ready`,
/// serve until the stop, take what is queued, then shut down.
///
/// Cancel safety: it is a core's whole future; dropped (the group stops),
/// it drops the core's connections with its runtime.
async fn serve_core(
    core: CoreId,
    present: Present,
    ready: mpsc::Sender<Result<(), String>>,
) -> Result<Summary, String> {
    let plan = &present.0;
    let index = core.index();
    let listener = match take(&plan.sockets, index).map(|socket| socket.listen(BACKLOG)) {
        Some(Ok(listener)) => Some(listener),
        Some(Err(e)) => {
            let message = format!("{core} cannot listen: {e}");
            let _ = ready.send(Err(message.clone()));
            return Err(message);
        }
        None => None,
    };
    let handoff = match plan.balance {
        Balance::Acceptor if index == 0 => plan
            .senders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map(|cores| Handoff {
                cores,
                limit: plan.limit.clone(),
                next: Cell::new(0),
            }),
        _ => None,
    };
    let accepts = listener.is_some();
    let mut server = Server::on_core(
        listener,
        plan.config.clone(),
        Some((plan.limit.clone(), index)),
        handoff,
    );
    let receiving = take(&plan.receivers, index)
        .map(|rx| runtime::spawn(receive(rx, server.connections().clone())));
    let _ = ready.send(Ok(()));
    drop(ready);

    if accepts {
        if let Err(e) = server.serve_until(plan.stop.raised()).await {
            // The others stop too; this core's connections go with it.
            plan.stop.raise();
            return Err(format!("{core}: the listener failed: {e}"));
        }
    } else {
        plan.stop.raised().await;
    }
    // Every core stopped accepting together; what the kernel queued for
    // this core is taken now rather than reset by the close.
    server.drain_backlog();
    server.stop_handing_off();
    if let Some(receiving) = receiving {
        // Ends once the accepting core dropped its senders: every
        // connection handed here is open here now.
        let _ = receiving.await;
    }
    Ok(server.shut_down(plan.grace, plan.force.raised()).await)
}
