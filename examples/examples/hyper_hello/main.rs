//! hyper serving hello-world on the runtime, HTTP/1.1 and HTTP/2 (h2c,
//! with prior knowledge) on one port.
//!
//! ```text
//! cargo run --release -p examples --example hyper_hello [ADDR]   (default 127.0.0.1:3000)
//! curl http://127.0.0.1:3000/
//! curl --http2-prior-knowledge http://127.0.0.1:3000/
//! curl --data-binary @file http://127.0.0.1:3000/echo
//! ```
//!
//! `GET /` says hello, `POST /echo` sends the body back, `GET /big` sends
//! 10 MiB (byte `i` is `i % 251`). The glue between hyper and the
//! runtime is `rt.rs`, beside this file.

#![forbid(unsafe_code)]

pub mod rt;

use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use runtime::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use runtime::net::{AcceptFailure, TcpListener, TcpStream};

use rt::{HyperIo, LocalExec, RuntimeTimer};

/// The size of `GET /big`.
pub const BIG_LEN: usize = 10 * 1024 * 1024;

/// What an HTTP/2 client sends first (RFC 9113, 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[runtime::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    serve(listener).await
}

/// Accepts connections for ever, each served by a task of its own.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => match AcceptFailure::of(&e) {
                AcceptFailure::Connection => continue,
                AcceptFailure::OutOfResources => {
                    runtime::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                _ => return Err(e), // the listener itself is unusable
            },
        };
        runtime::spawn(async move {
            if let Err(e) = serve_connection(stream).await {
                eprintln!("connection failed: {e}");
            }
        });
    }
}

/// Serves one connection, in whichever HTTP version the client speaks.
async fn serve_connection(stream: TcpStream) -> Result<(), Box<dyn std::error::Error>> {
    stream.set_nodelay(true)?;
    let (stream, is_http2) = sniff(stream).await?;
    let io = HyperIo::new(stream);
    if is_http2 {
        http2::Builder::new(LocalExec)
            .timer(RuntimeTimer)
            .serve_connection(io, service_fn(hello))
            .await?;
    } else {
        http1::Builder::new()
            .timer(RuntimeTimer)
            .serve_connection(io, service_fn(hello))
            .await?;
    }
    Ok(())
}

/// The response body type: any of the bodies below.
type Body = BoxBody<Bytes, hyper::Error>;

/// The service.
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

/// Reads the start of a connection, far enough to tell HTTP/2's preface
/// from an HTTP/1.1 request, and gives the bytes back to whoever reads
/// next.
async fn sniff(mut stream: TcpStream) -> io::Result<(Rewind<TcpStream>, bool)> {
    let mut head = [0; PREFACE.len()];
    let mut len = 0;
    // Stop at the first byte that differs: "GET " decides at once.
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
struct Rewind<T> {
    /// The bytes read ahead (the first `len`).
    head: [u8; PREFACE.len()],
    /// How many there are.
    len: usize,
    /// How many were given back.
    pos: usize,
    /// The stream.
    stream: T,
}

impl<T: AsyncRead + Unpin> AsyncRead for Rewind<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pos < this.len {
            let n = (this.len - this.pos).min(buf.len());
            buf[..n].copy_from_slice(&this.head[this.pos..this.pos + n]);
            this.pos += n;
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Rewind<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}
