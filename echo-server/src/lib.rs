//! A TCP echo server written as plain `async fn`s on the runtime.
//!
//! [`serve`] accepts connections and spawns one task per connection running
//! [`echo`], which writes every byte it reads back to the peer. The server
//! is built to be cheap to keep connections on and to survive hostile
//! peers:
//!
//! * **No buffer while idle.** Readiness-based I/O tells a connection that
//!   its socket is readable before it needs memory to read into. So the
//!   buffers belong to the server ([`BufferPool`]): a connection reads into
//!   the server's one read buffer and writes back what it read in the same
//!   poll, so it is done with the buffer before the next connection runs.
//!   Only when its peer does not take the whole echo at once does the
//!   connection keep the rest (in a buffer the pool lends, or a copy of
//!   just those bytes) until it is written. An idle connection costs its task and its socket,
//!   well under a kilobyte, however much it talked before.
//! * **Bounded memory per connection.** A connection holds at most one
//!   buffer of data. While the peer does not read its echo, the server does
//!   not read more; TCP flow control holds the peer back.
//! * **Every message answered at once.** Accepted sockets have
//!   `TCP_NODELAY`: the tail of a message that spans several segments is
//!   not held back waiting for the peer's delayed ACK (Nagle's algorithm).
//! * **Idle timeout.** A connection that echoes nothing for
//!   [`Config::idle_timeout`] is closed, so a slowloris peer holds nothing
//!   for long. One sweeper task per server checks every connection's
//!   progress counter four times per limit; the echo itself never reads
//!   the clock or touches a timer.
//! * **A connection limit.** At [`Config::max_conns`] open connections the
//!   server stops accepting until one ends; the kernel's backlog holds the
//!   rest.
//! * **A clean goodbye.** [`Server::shut_down`] stops accepting, closes
//!   the connections that have nothing unechoed at once with a normal
//!   end of stream (FIN), lets the others finish for a grace period (one
//!   that drained closes once it has been [`QUIET`] for a moment), then
//!   has the rest write back what they read and close with FIN too. After its
//!   FIN a connection reads (and drops) what the peer still sends, until
//!   the peer's own FIN or [`LINGER`] or [`LINGER_BYTES`], so that closing
//!   the socket does not make the kernel reset the connection. A reset is
//!   sent only when the shutdown is forced.
//! * **Accept errors.** Running out of file descriptors is reported once and
//!   retried after [`ACCEPT_BACKOFF`], without spinning; an error that
//!   concerns one connection skips it.
//!
//! The modules: this one holds the story, [`Config`], [`serve`] and
//! [`echo`]; `server` accepting, the open connections and the shutdown;
//! `idle` the idle sweeper; `pool` the buffers.

#![forbid(unsafe_code)]

mod idle;
mod pool;
mod server;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{ready, Context, Poll, RawWakerVTable, Waker};
use std::time::Duration;

use runtime::io::{AsyncRead, AsyncWrite};
use runtime::net::{TcpListener, TcpStream};
use runtime::time::Sleep;

pub use pool::BufferPool;
pub use server::{Server, Summary, ACCEPT_BACKOFF};

/// Bytes read from a connection at a time: the size of the buffers lent to
/// connections that have data in flight.
pub const BUFFER_SIZE: usize = 16 * 1024;

/// Free buffers a server keeps for reuse by default, besides its read
/// buffer ([`Config::pool_buffers`]).
pub const POOL_BUFFERS: usize = 16;

/// After saying goodbye (FIN), how long a connection waits for the peer's
/// own FIN, reading and dropping whatever the peer still sends, before it
/// closes anyway.
///
/// Closing a socket whose receive queue holds unread bytes makes the kernel
/// send a reset (RST) instead of a FIN, and a reset may destroy echoed
/// bytes the peer has not read yet. The bytes dropped here were sent after
/// the peer could have seen our FIN or, for a connection whose grace period
/// ran out, after the server stopped reading: they are never echoed, and
/// the peer learns it from reading end of stream before their echo.
pub const LINGER: Duration = Duration::from_secs(2);

/// Once asked to say goodbye, how long a connection that had data in
/// flight must find nothing more to read before it counts as finished and
/// says goodbye.
///
/// Its peer may have sent more than the server has received: bytes in the
/// peer's send queue, on their way as the server's receive window opens.
/// A drained socket proves only that the server read faster than they
/// arrived, so the goodbye waits for a pause in the data instead.
pub const QUIET: Duration = Duration::from_millis(250);

/// After saying goodbye, how many bytes a connection reads and drops at
/// most while it waits for the peer's FIN (see [`LINGER`]): more than the
/// largest receive buffer Linux grows a socket's to (the maximum of
/// `net.ipv4.tcp_rmem`: 6 MiB by default, 32 MiB where raised), so that
/// what a busy peer had sent before the goodbye never makes the close a
/// reset.
pub const LINGER_BYTES: u64 = 64 << 20;

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Do not print a line per connection opened and closed.
    pub quiet: bool,
    /// Close a connection that echoes nothing for this long; `None` never
    /// closes it.
    pub idle_timeout: Option<Duration>,
    /// Open connections at most; at the limit the server stops accepting.
    pub max_conns: usize,
    /// Free buffers the server keeps, besides its read buffer, for
    /// connections whose peers are slow to take their echo; buffers given
    /// back beyond that are freed.
    pub pool_buffers: usize,
}

impl Default for Config {
    /// Per-connection lines on, a 300 s idle timeout, 10,000 connections,
    /// [`POOL_BUFFERS`] free buffers kept.
    fn default() -> Config {
        Config {
            quiet: false,
            idle_timeout: Some(Duration::from_secs(300)),
            max_conns: 10_000,
            pool_buffers: POOL_BUFFERS,
        }
    }
}

/// Accepts connections forever, echoing each on its own task; see
/// [`Server`] for a server that can be shut down.
///
/// # Errors
///
/// Only if the listener itself is broken (for example, not listening).
///
/// Cancel safety: cancel-safe; dropping it stops accepting, and the
/// connections already accepted go on on their own tasks.
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    Server::new(listener, config)
        .serve_until(std::future::pending())
        .await
}

/// Echoes everything `connection`'s peer sends until it closes its side,
/// then closes ours; or, once [asked to say goodbye], closes ours as soon
/// as nothing read is left unechoed. Returns the number of bytes echoed.
///
/// The connection holds memory for its data only while its peer is slow to
/// take the echo; see [`BufferPool`]. Every completed write counts in
/// [`Connection::bytes_echoed`] as it happens (so it counts even if the
/// task is aborted).
///
/// Cancel safety: dropping the future loses bytes read and not yet
/// written back (never bytes the peer saw echoed), and leaves the
/// connection as it is, not closed.
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
/// use echo_server::{BufferPool, Connection};
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let connection = std::rc::Rc::new(Connection::new(server));
///     let served = connection.clone();
///     let task = runtime::spawn(async move {
///         let pool = BufferPool::new(16 * 1024, 1);
///         echo_server::echo(&served, &pool).await
///     });
///     client.write_all(b"hi").await?;
///     client.close().await?;
///     let mut back = Vec::new();
///     client.read_to_end(&mut back).await?;
///     assert_eq!(back, b"hi");
///     assert_eq!(task.await??, 2);
///     assert_eq!(connection.bytes_echoed(), 2);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
///
/// [asked to say goodbye]: Connection::say_goodbye
pub async fn echo(connection: &Connection, pool: &BufferPool) -> io::Result<u64> {
    // (The server's connection task does the same, written out there; see
    // `server::connection_task`.)
    let mut state = EchoState::default();
    let ending = poll_fn(|cx| connection.poll_echo(cx, pool, &mut state)).await?;
    connection.end(ending, pool).await
}

/// How [`Connection::poll_echo`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The peer closed its side, and everything it sent was echoed.
    PeerClosed,
    /// Time to say goodbye: asked to, and nothing is left unechoed.
    Goodbye,
}

/// What [`Connection::poll_echo`] keeps between polls.
#[derive(Debug, Default)]
pub(crate) struct EchoState {
    /// Bytes read that the peer has not taken yet, at `start..end`: a
    /// buffer lent by the pool; empty (no allocation) when there are none.
    unsent: Box<[u8]>,
    /// Where the unsent bytes start.
    start: usize,
    /// Where they end.
    end: usize,
    /// Once asked to say goodbye, a connection that had data in flight
    /// must stay quiet this long (see [`QUIET`]) before it is finished.
    quiet: Option<Pin<Box<Sleep>>>,
}

/// Which waker a [`Waker`] is: its data and vtable pointers, which
/// `Waker::will_wake` compares too. The pointers are only compared, never
/// followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WakerIdentity(*const (), *const RawWakerVTable);

impl WakerIdentity {
    /// No waker.
    const NONE: WakerIdentity = WakerIdentity(std::ptr::null(), std::ptr::null());

    /// The identity of `waker`.
    #[inline]
    fn of(waker: &Waker) -> WakerIdentity {
        WakerIdentity(waker.data(), waker.vtable())
    }
}

/// What the server asked a connection to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Echo as usual.
    Serve,
    /// Say goodbye once nothing read is left unechoed.
    Goodbye,
    /// Read nothing more: write back what was read, then say goodbye.
    Finish,
}

/// Whether a connection has data in flight, as the server sees it between
/// the connection's polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Drained: waiting for data, holding no buffer.
    Idle,
    /// As `Idle`, and it was so when the server asked for goodbye.
    IdleAtGoodbye,
    /// Echoing data it read.
    Busy,
}

/// How a connection that was open when the server began to shut down
/// ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It had nothing unechoed when asked to say goodbye, and said it at
    /// once.
    ClosedAtOnce,
    /// It had data in flight when asked, and finished (or the peer closed,
    /// or the connection failed) within the grace period.
    FinishedInGrace,
    /// It still had data in flight when the grace period ended, or when
    /// the shutdown was forced.
    Forced,
}

/// One connection, as [`echo`], the [`Server`] and the idle sweeper share
/// it: the socket, what the echo has done, and what the server asked of
/// it.
pub struct Connection {
    /// The socket.
    stream: TcpStream,
    /// Bytes echoed so far; also the idle sweeper's measure of progress.
    bytes: Cell<u64>,
    /// Whether the echo has data in flight.
    phase: Cell<Phase>,
    /// What the server asked.
    stop: Cell<Stop>,
    /// How it ended, once it said goodbye (or the peer closed) after the
    /// server asked it to stop.
    fate: Cell<Option<Fate>>,
    /// The waker of the task waiting for data, so that a goodbye wakes an
    /// idle connection at once.
    waker: RefCell<Option<Waker>>,
    /// Which waker `waker` is, to tell cheaply whether it changed.
    waker_identity: Cell<WakerIdentity>,
    /// The idle sweeper's view of it.
    idle: idle::IdleCheck,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("stream", &self.stream)
            .field("bytes", &self.bytes.get())
            .field("phase", &self.phase.get())
            .field("stop", &self.stop.get())
            .field("fate", &self.fate.get())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection on `stream` that has echoed nothing yet.
    pub fn new(stream: TcpStream) -> Connection {
        Connection {
            stream,
            bytes: Cell::new(0),
            phase: Cell::new(Phase::Idle),
            stop: Cell::new(Stop::Serve),
            fate: Cell::new(None),
            waker: RefCell::new(None),
            waker_identity: Cell::new(WakerIdentity::NONE),
            idle: idle::IdleCheck::new(),
        }
    }

    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Bytes echoed back so far.
    pub fn bytes_echoed(&self) -> u64 {
        self.bytes.get()
    }

    /// How the connection ended, if it was asked to stop and has closed
    /// its side since.
    pub fn fate(&self) -> Option<Fate> {
        self.fate.get()
    }

    /// Asks [`echo`] to say goodbye: close our side (FIN) as soon as it has
    /// nothing unechoed, at once if it is waiting for data now.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
    /// use runtime::net::{TcpListener, TcpStream};
    /// use echo_server::{BufferPool, Connection, Fate};
    ///
    /// runtime::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     let connection = std::rc::Rc::new(Connection::new(server));
    ///     let served = connection.clone();
    ///     let task = runtime::spawn(async move {
    ///         let pool = BufferPool::new(1024, 1);
    ///         echo_server::echo(&served, &pool).await
    ///     });
    ///     client.write_all(b"ping").await?;
    ///     let mut back = [0; 4];
    ///     client.read_exact(&mut back).await?;
    ///     // Nothing is in flight: the goodbye comes at once.
    ///     connection.say_goodbye();
    ///     assert_eq!(client.read(&mut back).await?, 0);
    ///     client.close().await?; // the server waits for our FIN
    ///     assert_eq!(task.await??, 4);
    ///     assert_eq!(connection.fate(), Some(Fate::ClosedAtOnce));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn say_goodbye(&self) {
        if self.stop.get() != Stop::Serve {
            return;
        }
        self.stop.set(Stop::Goodbye);
        if self.phase.get() == Phase::Idle {
            self.phase.set(Phase::IdleAtGoodbye);
            // Only an idle connection is parked waiting for data; a busy
            // one sees the request when it is drained. (Woken with no
            // borrow held.)
            let waker = self.waker.borrow().clone();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// Asks [`echo`] to read nothing more: write back what it read, then
    /// say goodbye (see [`say_goodbye`](Connection::say_goodbye)).
    pub fn finish_now(&self) {
        if self.stop.get() == Stop::Serve {
            self.say_goodbye();
        }
        self.stop.set(Stop::Finish);
    }

    /// How the connection ended, for one that ends now: its fate if it
    /// said goodbye, else what the server's request makes of it (`None` if
    /// there was none).
    fn final_fate(&self) -> Option<Fate> {
        self.fate.get().or(match self.stop.get() {
            Stop::Serve => None,
            Stop::Goodbye => Some(Fate::FinishedInGrace),
            Stop::Finish => Some(Fate::Forced),
        })
    }

    /// The echo proper: reads and writes back until the peer closes its
    /// side or it is time to say goodbye, `Pending` while there is nothing
    /// to read or the peer does not take the echo.
    ///
    /// 1. The unsent bytes, if any, are written out first: nothing more is
    ///    read while the peer does not take its echo (TCP flow control then
    ///    holds the peer back). Once they are all written the buffer goes
    ///    back to the pool.
    /// 2. Then, in a loop: read into the pool's read buffer (`Pending`
    ///    means the socket is drained and the task is parked on it, holding
    ///    no buffer); write back what was read. What the peer does not take
    ///    at once the connection keeps as unsent in `state` (see
    ///    [`BufferPool`]).
    ///
    /// A connection whose data never runs out still yields: every read and
    /// write spends the task's I/O budget, and a spent budget is `Pending`.
    #[inline]
    pub(crate) fn poll_echo(
        &self,
        cx: &mut Context<'_>,
        pool: &BufferPool,
        state: &mut EchoState,
    ) -> Poll<io::Result<Ending>> {
        // The server asks only between polls.
        let stop = self.stop.get();
        // 1. The peer's earlier echo first.
        if !state.unsent.is_empty() {
            ready!(self.poll_write_unsent(cx, pool, state))?;
        }
        if stop == Stop::Finish {
            // The grace period is over: read nothing more.
            return Poll::Ready(Ok(Ending::Goodbye));
        }
        let mut stream = &self.stream;
        let mut buf = pool.read_buffer();
        loop {
            // 2. Read.
            let n = match Pin::new(&mut stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(Ending::PeerClosed)),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending if stop != Stop::Serve => {
                    // Make sure: `Pending` may also mean a spent budget.
                    match self.stream.try_read(&mut buf) {
                        Ok(0) => return Poll::Ready(Ok(Ending::PeerClosed)),
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            // Drained, and nothing is left unechoed.
                            if self.quiet_enough(cx, state) {
                                return Poll::Ready(Ok(Ending::Goodbye));
                            }
                            // Parked on the socket and on the quiet timer.
                            return Poll::Pending;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                Poll::Pending => {
                    // Drained: parked on the socket, holding no buffer.
                    self.phase.set(Phase::Idle);
                    self.park_for_goodbye(cx.waker());
                    return Poll::Pending;
                }
            };
            if stop != Stop::Serve {
                // Data after the goodbye was asked for: not idle then, and
                // not quiet.
                self.phase.set(Phase::Busy);
                state.quiet = None;
            }
            // 3. Write back. Written by hand rather than with `write_all`, so
            // that a slow but steady reader counts as progress after every
            // partial write.
            let mut written = 0;
            while written < n {
                match Pin::new(&mut stream).poll_write(cx, &buf[written..n]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(m)) => {
                        written += m;
                        self.bytes.set(self.bytes.get() + m as u64);
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        // The peer is slow: keep the rest, and the buffer.
                        (state.unsent, state.start, state.end) =
                            pool.keep_unsent(&mut buf, written, n);
                        self.phase.set(Phase::Busy);
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    /// Writes out the unsent bytes of `state`; once they are all written,
    /// gives their buffer back to `pool`.
    #[cold]
    fn poll_write_unsent(
        &self,
        cx: &mut Context<'_>,
        pool: &BufferPool,
        state: &mut EchoState,
    ) -> Poll<io::Result<()>> {
        // With `try_write`, not `poll_write`: the hot path's `poll_write`
        // stays the only one, which keeps it inlined there.
        while state.start < state.end {
            ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_write(&state.unsent[state.start..state.end]) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(m) => {
                    state.start += m;
                    self.bytes.set(self.bytes.get() + m as u64);
                }
                // Not writable after all (the readiness is cleared now):
                // the next round parks.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        pool.give_back(std::mem::take(&mut state.unsent));
        Poll::Ready(Ok(()))
    }

    /// For a connection asked to say goodbye that found its socket drained:
    /// true if it is finished. One that was idle when asked is; one that
    /// had data in flight must first stay quiet for [`QUIET`], since its
    /// peer may have sent more that is still on its way (the server read
    /// faster than it arrived). Otherwise the task is parked on the quiet
    /// timer.
    #[cold]
    fn quiet_enough(&self, cx: &mut Context<'_>, state: &mut EchoState) -> bool {
        if self.phase.get() == Phase::IdleAtGoodbye {
            return true;
        }
        let quiet = state
            .quiet
            .get_or_insert_with(|| Box::pin(runtime::time::sleep(QUIET)));
        quiet.as_mut().poll(cx).is_ready()
    }

    /// Keeps `waker`, the waker of the task parked waiting for data, so
    /// that [`say_goodbye`](Connection::say_goodbye) can wake it.
    ///
    /// The waker is cloned only when it is not the one kept already, which
    /// is told by its data and vtable pointers, as `Waker::will_wake`
    /// does: a task parks with the same waker every time.
    #[inline]
    fn park_for_goodbye(&self, waker: &Waker) {
        if self.waker_identity.get() != WakerIdentity::of(waker) {
            self.keep_waker(waker);
        }
    }

    /// [`park_for_goodbye`](Connection::park_for_goodbye) for a new waker.
    #[cold]
    fn keep_waker(&self, waker: &Waker) {
        *self.waker.borrow_mut() = Some(waker.clone());
        self.waker_identity.set(WakerIdentity::of(waker));
    }

    /// What [`echo`] does once [`poll_echo`](Connection::poll_echo) ended:
    /// closes our side, after the peer's, or says goodbye. Returns the bytes
    /// echoed.
    ///
    /// Cancel safety: as [`goodbye`](Connection::goodbye)'s.
    pub(crate) async fn end(&self, ending: Ending, pool: &BufferPool) -> io::Result<u64> {
        match ending {
            Ending::PeerClosed => self.peer_closed(),
            // Boxed: only a shutdown pays for its future's room.
            Ending::Goodbye => Box::pin(self.goodbye(pool)).await,
        }
    }

    /// The peer closed its side and everything it sent was echoed: closes
    /// ours.
    fn peer_closed(&self) -> io::Result<u64> {
        self.settle();
        self.stream.shutdown(Shutdown::Write)?;
        Ok(self.bytes.get())
    }

    /// Says goodbye: closes our side (FIN), then reads and drops what the
    /// peer still sends until its FIN, for at most [`LINGER`] and
    /// [`LINGER_BYTES`], so that the close is not a reset.
    ///
    /// Cancel safety: cancel-safe once the FIN is sent; what the peer sends
    /// after it is dropped anyway.
    async fn goodbye(&self, pool: &BufferPool) -> io::Result<u64> {
        self.settle();
        self.stream.shutdown(Shutdown::Write)?;
        // Past the bounds the socket is closed as it is: if the peer is
        // still sending, the kernel resets the connection.
        let _ = runtime::time::timeout(LINGER, self.drop_until_eof(pool)).await;
        Ok(self.bytes.get())
    }

    /// Records how the connection ends, if the server asked it to stop.
    fn settle(&self) {
        if self.fate.get().is_some() {
            return;
        }
        let fate = match (self.phase.get(), self.stop.get()) {
            (_, Stop::Serve) => return,
            (Phase::IdleAtGoodbye, _) => Fate::ClosedAtOnce,
            (_, Stop::Finish) => Fate::Forced,
            (_, Stop::Goodbye) => Fate::FinishedInGrace,
        };
        self.fate.set(Some(fate));
    }

    /// Reads and drops what the peer sends until its FIN, or until
    /// [`LINGER_BYTES`] were dropped.
    ///
    /// Cancel safety: cancel-safe; what it reads is dropped anyway.
    async fn drop_until_eof(&self, pool: &BufferPool) -> io::Result<()> {
        let mut dropped = 0;
        loop {
            self.stream.readable().await?;
            if self.drop_available(&mut pool.read_buffer(), &mut dropped)? {
                return Ok(());
            }
        }
    }

    /// Reads into `buf` until the socket is drained, adding the bytes read
    /// to `dropped`; true at the peer's FIN or past [`LINGER_BYTES`].
    fn drop_available(&self, buf: &mut [u8], dropped: &mut u64) -> io::Result<bool> {
        loop {
            match self.stream.try_read(buf) {
                Ok(0) => return Ok(true),
                Ok(n) => {
                    *dropped += n as u64;
                    if *dropped > LINGER_BYTES {
                        return Ok(true);
                    }
                    if n < buf.len() {
                        return Ok(false);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}
