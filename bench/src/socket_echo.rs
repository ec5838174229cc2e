//! UDP and Unix-stream echo, on our runtime and on tokio's, side by side:
//! the servers of the socket benchmarks (`benches/sockets.rs` runs them in
//! process, `measure-sockets.sh` as the binaries `ours-socket-echo-server`
//! and `tokio-socket-echo-server` under callgrind) and the load that both
//! use (on our runtime, so the load is the same whichever server it
//! drives).
//!
//! The servers are each runtime's idiomatic loop and nothing else: UDP,
//! one task that receives a datagram and sends it back to its sender;
//! Unix streams, one task per connection with a 16 KiB buffer, `read` then
//! `write_all` until EOF, as in tokio's echo example.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A buffer that holds any UDP datagram.
pub const UDP_BUFFER: usize = 64 * 1024;

/// The buffer of one Unix-stream connection, as in tokio's echo example.
pub const STREAM_BUFFER: usize = 16 * 1024;

/// How long the UDP load waits for an echo before it counts the datagram
/// lost and sends the next one.
pub const LOSS_TIMEOUT: Duration = Duration::from_secs(1);

/// The smallest message the load sends: a connection number and a
/// sequence number, 8 bytes each, make every message unique.
pub const MIN_SIZE: usize = 16;

/// What a server binary serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serve {
    /// UDP echo on this address.
    Udp(String),
    /// Unix-stream echo on a socket file at this path.
    Unix(PathBuf),
}

/// How a server binary runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerArgs {
    /// What to serve.
    pub serve: Serve,
    /// No error lines.
    pub quiet: bool,
}

/// The usage line of server `name`.
pub fn usage(name: &str) -> String {
    format!("usage: {name} udp [--addr HOST:PORT] [--quiet] | {name} unix --path PATH [--quiet]")
}

/// Parses `udp [--addr HOST:PORT]` or `unix --path PATH`, with `--quiet`
/// (`-q`); `--help` (`-h`) gives `Ok(None)`.
///
/// # Errors
///
/// A message naming the bad argument.
pub fn parse_server_args(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<ServerArgs>, String> {
    let kind = match args.next().as_deref() {
        Some("--help" | "-h") => return Ok(None),
        Some(kind @ ("udp" | "unix")) => kind.to_string(),
        Some(other) => return Err(format!("expected udp or unix, not {other:?}")),
        None => return Err("expected udp or unix".to_string()),
    };
    let (mut addr, mut path, mut quiet) = ("127.0.0.1:6667".to_string(), None, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs HOST:PORT")?,
            "--path" => path = Some(PathBuf::from(args.next().ok_or("--path needs PATH")?)),
            "--quiet" | "-q" => quiet = true,
            "--help" | "-h" => return Ok(None),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let serve = match kind.as_str() {
        "udp" => Serve::Udp(addr),
        _ => Serve::Unix(path.ok_or("unix needs --path PATH")?),
    };
    Ok(Some(ServerArgs { serve, quiet }))
}

/// Parses the process's arguments; on `--help` prints the usage and exits
/// 0, on a bad argument prints why and exits 2.
pub fn server_args_from_env(name: &str) -> ServerArgs {
    match parse_server_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{}", usage(name));
            std::process::exit(0);
        }
        Err(message) => {
            eprintln!("{name}: {message}\n{}", usage(name));
            std::process::exit(2);
        }
    }
}

/// Our UDP echo: each datagram back to its sender, for ever. A failed
/// receive or send (a sender that went away) is reported unless `quiet`,
/// and the loop goes on.
pub async fn ours_udp(socket: runtime::net::UdpSocket, quiet: bool) {
    let mut buf = vec![0; UDP_BUFFER];
    loop {
        let result = match socket.recv_from(&mut buf).await {
            Ok((n, peer)) => socket.send_to(&buf[..n], peer).await.map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            if !quiet {
                eprintln!("udp echo: {e}");
            }
        }
    }
}

/// tokio's UDP echo, the same loop as [`ours_udp`].
pub async fn tokio_udp(socket: tokio::net::UdpSocket, quiet: bool) {
    let mut buf = vec![0; UDP_BUFFER];
    loop {
        let result = match socket.recv_from(&mut buf).await {
            Ok((n, peer)) => socket.send_to(&buf[..n], peer).await.map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            if !quiet {
                eprintln!("udp echo: {e}");
            }
        }
    }
}

/// Our Unix-stream echo server: one task per connection, for ever.
pub async fn ours_unix(listener: runtime::net::UnixListener, quiet: bool) {
    loop {
        match listener.accept().await {
            Ok((mut stream, _)) => {
                runtime::spawn(async move {
                    if let Err(e) = ours_unix_echo(&mut stream).await {
                        if !quiet {
                            eprintln!("unix echo: {e}");
                        }
                    }
                });
            }
            Err(e) => {
                if !quiet {
                    eprintln!("cannot accept: {e}");
                }
                runtime::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One connection of [`ours_unix`]: echoes until EOF, then closes ours.
async fn ours_unix_echo(stream: &mut runtime::net::UnixStream) -> io::Result<()> {
    use runtime::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0; STREAM_BUFFER];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return stream.close().await;
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// tokio's Unix-stream echo server, the same as [`ours_unix`].
pub async fn tokio_unix(listener: tokio::net::UnixListener, quiet: bool) {
    loop {
        match listener.accept().await {
            Ok((mut stream, _)) => {
                tokio::spawn(async move {
                    if let Err(e) = tokio_unix_echo(&mut stream).await {
                        if !quiet {
                            eprintln!("unix echo: {e}");
                        }
                    }
                });
            }
            Err(e) => {
                if !quiet {
                    eprintln!("cannot accept: {e}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One connection of [`tokio_unix`].
async fn tokio_unix_echo(stream: &mut tokio::net::UnixStream) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0; STREAM_BUFFER];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return stream.shutdown().await;
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// When the load stops.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// After this many echoes per connection.
    Messages(u64),
    /// At this moment (the message in flight then is finished).
    Until(Instant),
}

impl Limit {
    /// Whether connection `done` echoes in, the load should stop.
    fn reached(self, done: u64) -> bool {
        match self {
            Limit::Messages(n) => done >= n,
            Limit::Until(end) => Instant::now() >= end,
        }
    }
}

/// What a load did.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadReport {
    /// Echoes received intact.
    pub messages: u64,
    /// UDP datagrams whose echo did not come within [`LOSS_TIMEOUT`].
    pub lost: u64,
    /// From the first message to the last echo (connecting not counted).
    pub elapsed: Duration,
}

/// A message of `size` bytes (at least [`MIN_SIZE`]) for connection `conn`,
/// number `seq`: unique, so that an echo of another message is caught.
fn fill_message(message: &mut [u8], conn: u64, seq: u64) {
    message[..8].copy_from_slice(&conn.to_le_bytes());
    message[8..16].copy_from_slice(&seq.to_le_bytes());
}

/// The sequence number of a message made by [`fill_message`].
fn seq_of(message: &[u8]) -> u64 {
    u64::from_le_bytes(message[8..16].try_into().expect("8 bytes"))
}

/// Checks the arguments every load shares.
fn check_load(conns: usize, size: usize) -> io::Result<()> {
    if conns == 0 || !(MIN_SIZE..=60 * 1024).contains(&size) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("need at least 1 connection and {MIN_SIZE}..=61440 bytes per message"),
        ));
    }
    Ok(())
}

/// On a new runtime of ours on the calling thread: `conns` connected UDP
/// sockets, one task each, each sending `size`-byte datagrams to `addr` one
/// at a time and checking every echo, until `limit`.
///
/// # Errors
///
/// A socket error, or an echo that differs from what was sent.
pub fn udp_load(
    addr: SocketAddr,
    conns: usize,
    size: usize,
    limit: Limit,
) -> io::Result<LoadReport> {
    check_load(conns, size)?;
    let rt = runtime::Runtime::new()?;
    rt.block_on(async move {
        let local = if addr.is_ipv6() {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        };
        let mut sockets = Vec::with_capacity(conns);
        for _ in 0..conns {
            let socket = runtime::net::UdpSocket::bind(local).await?;
            socket.connect(addr).await?;
            sockets.push(socket);
        }
        let start = Instant::now();
        let tasks: Vec<_> = sockets
            .into_iter()
            .enumerate()
            .map(|(conn, socket)| runtime::spawn(udp_conn(socket, conn as u64, size, limit)))
            .collect();
        let mut report = LoadReport::default();
        for task in tasks {
            let (messages, lost) = task.await.map_err(io::Error::from)??;
            report.messages += messages;
            report.lost += lost;
        }
        report.elapsed = start.elapsed();
        Ok(report)
    })
}

/// One socket of [`udp_load`]; returns (echoes, datagrams lost).
async fn udp_conn(
    socket: runtime::net::UdpSocket,
    conn: u64,
    size: usize,
    limit: Limit,
) -> io::Result<(u64, u64)> {
    let mut message = vec![0xa5; size];
    let mut echo = vec![0; UDP_BUFFER];
    let (mut done, mut lost, mut seq) = (0, 0, 0);
    while !limit.reached(done) {
        fill_message(&mut message, conn, seq);
        socket.send(&message).await?;
        loop {
            match runtime::time::timeout(LOSS_TIMEOUT, socket.recv(&mut echo)).await {
                Err(_elapsed) => {
                    lost += 1;
                    break;
                }
                Ok(n) => {
                    let n = n?;
                    if echo[..n] == message[..] {
                        done += 1;
                        break;
                    }
                    // The late echo of a datagram counted lost is skipped.
                    let late = n == size && echo[..8] == message[..8] && seq_of(&echo) < seq;
                    if !late {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("connection {conn}: the echo of datagram {seq} differs"),
                        ));
                    }
                }
            }
        }
        seq += 1;
    }
    Ok((done, lost))
}

/// On a new runtime of ours on the calling thread: `conns` Unix-stream
/// connections to `path`, one task each, each writing a `size`-byte
/// message and reading its echo back (and checking it) until `limit`; then
/// closes each and checks the server sent nothing more.
///
/// # Errors
///
/// A connection error, or an echo that differs from what was sent.
pub fn unix_load(path: &Path, conns: usize, size: usize, limit: Limit) -> io::Result<LoadReport> {
    use runtime::io::{AsyncReadExt, AsyncWriteExt};
    check_load(conns, size)?;
    let rt = runtime::Runtime::new()?;
    rt.block_on(async move {
        let mut streams = Vec::with_capacity(conns);
        for _ in 0..conns {
            streams.push(Rc::new(runtime::net::UnixStream::connect(path).await?));
        }
        let start = Instant::now();
        let tasks: Vec<_> = streams
            .iter()
            .enumerate()
            .map(|(conn, stream)| {
                runtime::spawn(unix_conn(stream.clone(), conn as u64, size, limit))
            })
            .collect();
        let mut report = LoadReport::default();
        for task in tasks {
            report.messages += task.await.map_err(io::Error::from)??;
        }
        report.elapsed = start.elapsed();
        for stream in streams {
            (&*stream).close().await?;
            let mut rest = Vec::new();
            (&*stream).read_to_end(&mut rest).await?;
            if !rest.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the server sent bytes nobody sent",
                ));
            }
        }
        Ok(report)
    })
}

/// One connection of [`unix_load`]; returns its echoes.
async fn unix_conn(
    stream: Rc<runtime::net::UnixStream>,
    conn: u64,
    size: usize,
    limit: Limit,
) -> io::Result<u64> {
    use runtime::io::{AsyncReadExt, AsyncWriteExt};
    let mut message = vec![0x5a; size];
    let mut echo = vec![0; size];
    let mut s = &*stream;
    let mut done = 0;
    while !limit.reached(done) {
        fill_message(&mut message, conn, done);
        s.write_all(&message).await?;
        s.read_exact(&mut echo).await?;
        if echo != message {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("connection {conn}: the echo of message {done} differs"),
            ));
        }
        done += 1;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<ServerArgs>, String> {
        parse_server_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn server_arguments() {
        let udp = parse(&["udp", "--addr", "127.0.0.1:0", "-q"])
            .unwrap()
            .unwrap();
        assert_eq!(udp.serve, Serve::Udp("127.0.0.1:0".into()));
        assert!(udp.quiet);
        let unix = parse(&["unix", "--path", "/tmp/x"]).unwrap().unwrap();
        assert_eq!(unix.serve, Serve::Unix("/tmp/x".into()));
        assert_eq!(parse(&["--help"]), Ok(None));
        assert!(parse(&["unix"]).is_err());
        assert!(parse(&["tcp"]).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&["udp", "--bogus"]).is_err());
    }

    /// Both servers echo every byte, over both kinds of socket.
    #[test]
    fn servers_echo_what_the_load_sends() {
        let dir = std::env::temp_dir().join(format!("bench-socket-echo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let (ours_path, tokio_path) = (dir.join("ours.sock"), dir.join("tokio.sock"));

        let (tx, rx) = std::sync::mpsc::channel();
        let ours_unix_path = ours_path.clone();
        std::thread::spawn(move || {
            runtime::block_on(async move {
                let udp = runtime::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let unix = runtime::net::UnixListener::bind(&ours_unix_path).unwrap();
                tx.send(udp.local_addr().unwrap()).unwrap();
                runtime::spawn(ours_unix(unix, false));
                ours_udp(udp, false).await
            })
        });
        let ours_udp_addr = rx.recv().unwrap();

        let (tx, rx) = std::sync::mpsc::channel();
        let tokio_unix_path = tokio_path.clone();
        std::thread::spawn(move || {
            crate::tokio_runtime().block_on(async move {
                let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let unix = tokio::net::UnixListener::bind(&tokio_unix_path).unwrap();
                tx.send(udp.local_addr().unwrap()).unwrap();
                tokio::spawn(tokio_unix(unix, false));
                tokio_udp(udp, false).await
            })
        });
        let tokio_udp_addr = rx.recv().unwrap();

        for addr in [ours_udp_addr, tokio_udp_addr] {
            let report = udp_load(addr, 4, 1000, Limit::Messages(200)).unwrap();
            assert_eq!((report.messages, report.lost), (800, 0));
        }
        for path in [&ours_path, &tokio_path] {
            let report = unix_load(path, 4, 20_000, Limit::Messages(50)).unwrap();
            assert_eq!(report.messages, 200);
        }
        assert!(
            udp_load(ours_udp_addr, 1, 8, Limit::Messages(1)).is_err(),
            "too small"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
