//! `tokio-hyper-hello`: the comparison server of `bench/hyper.sh`. The
//! same hyper hello-world as `examples/examples/hyper_hello` (the same
//! routes, bodies and HTTP/1.1-or-h2c sniffing), on tokio's
//! `current_thread` runtime through hyper-util's `TokioIo`.
//!
//! ```text
//! tokio-hyper-hello [--addr HOST:PORT] [--quiet]
//! ```
//!
//! Prints `listening on <addr>` first on stdout.

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The size of `GET /big`.
const BIG_LEN: usize = 10 * 1024 * 1024;

/// What an HTTP/2 client sends first.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn main() -> ExitCode {
    let args = bench::server_args::from_env("tokio-hyper-hello");
    let result = bench::tokio_runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
        println!(
            "listening on {}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let _ = std::io::stdout().flush();
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    if !args.quiet {
                        eprintln!("accept failed: {e}");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let quiet = args.quiet;
            tokio::spawn(async move {
                if let Err(e) = serve_connection(stream).await {
                    if !quiet {
                        eprintln!("connection failed: {e}");
                    }
                }
            });
        }
        #[allow(unreachable_code)]
        Ok::<(), String>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tokio-hyper-hello: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Serves one connection, in whichever HTTP version the client speaks.
async fn serve_connection(stream: TcpStream) -> Result<(), Box<dyn std::error::Error>> {
    stream.set_nodelay(true)?;
    let (stream, is_http2) = sniff(stream).await?;
    let io = TokioIo::new(stream);
    if is_http2 {
        http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(io, service_fn(hello))
            .await?;
    } else {
        http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(io, service_fn(hello))
            .await?;
    }
    Ok(())
}

/// The response body type.
type Body = BoxBody<Bytes, hyper::Error>;

/// The service, as in the example.
async fn hello(request: Request<Incoming>) -> Result<Response<Body>, hyper::Error> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => Response::new(full(Bytes::from_static(b"Hello, world!\n"))),
        (&Method::POST, "/echo") => Response::new(request.into_body().boxed()),
        (&Method::GET, "/big") => Response::new(full(big().clone())),
        _ => {
            let mut response = Response::new(Empty::new().map_err(|never| match never {}).boxed());
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    };
    Ok(response)
}

/// `bytes` as a body.
fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// The body of `GET /big`, made once.
fn big() -> &'static Bytes {
    static BIG: OnceLock<Bytes> = OnceLock::new();
    BIG.get_or_init(|| (0..BIG_LEN).map(|i| (i % 251) as u8).collect())
}

/// Reads far enough to tell HTTP/2's preface from HTTP/1.1, and gives the
/// bytes back to whoever reads next.
async fn sniff(mut stream: TcpStream) -> std::io::Result<(Rewind, bool)> {
    let mut head = [0; PREFACE.len()];
    let mut len = 0;
    while len < PREFACE.len() && head[..len] == PREFACE[..len] {
        let n = stream.read(&mut head[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let is_http2 = head[..len] == *PREFACE;
    Ok((
        Rewind {
            head,
            len,
            pos: 0,
            stream,
        },
        is_http2,
    ))
}

/// A stream whose first bytes were read already: reads give those first.
struct Rewind {
    /// The bytes read ahead (the first `len`).
    head: [u8; PREFACE.len()],
    /// How many there are.
    len: usize,
    /// How many were given back.
    pos: usize,
    /// The stream.
    stream: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.len {
            let n = (this.len - this.pos).min(buf.remaining());
            buf.put_slice(&this.head[this.pos..this.pos + n]);
            this.pos += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
