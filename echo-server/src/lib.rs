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
//! * **Nothing queued is reset.** When the program stops, connections the
//!   kernel had already accepted into the listener's backlog (handshake
//!   done, not yet accepted by the server: say, waiting at
//!   [`Config::max_conns`]) are accepted at once, and told goodbye like
//!   the open ones; see [Connections queued at the shutdown].
//!
//! # One runtime per core
//!
//! The runtime is single-threaded; [`run_threads`] (`echo-server
//! --threads N`) runs N of them, one thread each, each accepting and
//! echoing its own connections with everything above unchanged. How
//! connections reach the cores is the [`Balance`]:
//!
//! * [`Balance::ReusePort`] (the default): every core binds its own
//!   listener on the one address with `SO_REUSEPORT`, and the kernel
//!   hashes each new connection to one of them. Accepting needs no lock,
//!   and a connection lives its whole life on the core that accepted it.
//!   The hash balances the number of connections on average, not their
//!   work: a few heavy connections may all land on one core.
//! * [`Balance::Acceptor`]: core 0 alone listens, and hands each new
//!   connection (its socket as a `std::net::TcpStream`, which is `Send`)
//!   to the core with the fewest open connections at that moment (core 0
//!   itself included; ties go round the cores), over a channel that core
//!   receives on. That core registers the socket with its own reactor and
//!   echoes it there until it ends.
//!
//! The sockets are bound before any core starts: the first binds the
//! address (and learns the port, if it was 0), the others bind that same
//! address; so a bad address or a port in use is one clear error, and
//! `listening on <addr>` is printed once every core listens.
//!
//! [`Config::max_conns`] is for the whole server, and
//! [`Config::idle_timeout`] means the same on every core. The limit is an
//! atomic count of open connections shared by the cores, touched only
//! when a connection is accepted and when it ends; the echo itself, per
//! message, touches nothing shared. A server of one runtime has no shared
//! count at all.
//!
//! Ctrl-C or SIGTERM raises one flag that every core watches, so they stop
//! accepting together; each core then takes what is queued for it (below)
//! and shuts down as [`Server::shut_down`] says, with the same grace
//! period; a second signal makes every core reset what it still has open.
//! The [`Summary`] adds up every core's counts and shows each core's share
//! (`served 1000 connections (core 0: 498, core 1: 502), echoed ...`). A
//! panic in a connection's task ends that connection only; a panic in a
//! core's own future stops the other cores, and the program reports which
//! core it was and exits 1.
//!
//! # Connections queued at the shutdown
//!
//! Closing a listener makes the kernel reset (RST) every connection still
//! in its backlog, a connection whose peer believes it is connected and
//! may already have sent data. So when the program stops, it does not just
//! close its listeners: [`Server::drain_backlog`] first accepts everything
//! already queued, with direct `accept` calls until the kernel says the
//! backlog is empty (not waiting for readiness, which the reactor may not
//! have reported yet), and only then closes the listener. Every core
//! drains its own listener after all of them stopped accepting. The
//! connections taken are served like the ones open at the shutdown: each
//! is told goodbye, so a peer that sent nothing reads end of stream (a
//! FIN) at once, and the [`Summary`] counts them (`closed at once`, or
//! `finished in grace` if the server read data from them before its
//! goodbye; bytes the server never read are dropped, as [`LINGER`] says).
//! The connection limit does not hold them back: they are about to close.
//! With [`Balance::Acceptor`], core 0 keeps what it drains, and every
//! other core first registers each connection handed to it before the
//! stop, so none is lost in between.
//!
//! What remains is the window of one system call: a handshake that
//! completes between the last `accept` and the close of the listener is
//! reset by the kernel, as with any server that closes its listener.
//! Connections that arrive after the close are refused.
//!
//! The modules: this one holds the story, [`Config`], [`serve`] and
//! [`echo`]; `connection` the echo's state machine and what the server
//! asks of a connection; `server` accepting, the open connections, the
//! shutdown and the program's [`run`]; `cores` [`run_threads`], the
//! hand-off and the shared limit; `idle` the idle sweeper; `pool` the
//! buffers.
//!
//! [Connections queued at the shutdown]: #connections-queued-at-the-shutdown

#![forbid(unsafe_code)]

mod connection;
mod cores;
mod idle;
mod pool;
mod server;

use std::future::poll_fn;
use std::io;
use std::time::Duration;

use runtime::net::TcpListener;

pub use connection::{Connection, Fate};
pub use cores::{resolve_threads, run_threads, Balance, MAX_THREADS};
pub use pool::BufferPool;
pub use server::{run, Ending, Server, Summary, ACCEPT_BACKOFF};

use connection::EchoState;

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
    /// Run with the runtime's event trace on stderr, and report polls that
    /// hold a thread longer than [`TRACE_STALL`] (what `--trace` does).
    /// Only [`run_threads`] reads it: it builds the runtimes.
    pub trace: bool,
}

/// With [`Config::trace`], polls longer than this are reported as stalls.
pub const TRACE_STALL: Duration = Duration::from_millis(10);

impl Default for Config {
    /// Per-connection lines on, a 300 s idle timeout, 10,000 connections,
    /// [`POOL_BUFFERS`] free buffers kept.
    fn default() -> Config {
        Config {
            quiet: false,
            idle_timeout: Some(Duration::from_secs(300)),
            max_conns: 10_000,
            pool_buffers: POOL_BUFFERS,
            trace: false,
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
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
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
