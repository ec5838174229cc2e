//! [`Connection`]: one connection as the echo, the server and the idle
//! sweeper share it, and the echo's state machine: the hot path
//! ([`Connection::poll_echo`]), the goodbye, and what the server asks.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{ready, Context, Poll, RawWakerVTable, Waker};

use runtime::io::{AsyncRead, AsyncWrite};
use runtime::net::TcpStream;
use runtime::time::Sleep;

use crate::{idle, BufferPool, LINGER, LINGER_BYTES, QUIET};

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

/// One connection, as [`echo`](crate::echo), the [`Server`](crate::Server) and the idle sweeper share
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
    pub(crate) idle: idle::IdleCheck,
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

    /// Asks [`echo`](crate::echo) to say goodbye: close our side (FIN) as soon as it has
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
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
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

    /// Asks [`echo`](crate::echo) to read nothing more: write back what it read, then
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
    pub(crate) fn final_fate(&self) -> Option<Fate> {
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

    /// What [`echo`](crate::echo) does once [`poll_echo`](Connection::poll_echo) ended:
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
        self.stream.shutdown_with(Shutdown::Write)?;
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
        self.stream.shutdown_with(Shutdown::Write)?;
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
