//! The hyper example, driven by a plain `std::net::TcpStream` speaking
//! HTTP/1.1 (keep-alive, a POST echoed back, 10 MiB, every byte checked),
//! and by hyper's own HTTP/2 client on the runtime for h2c.

mod util;

#[allow(dead_code)]
#[path = "../examples/hyper_hello/main.rs"]
mod hyper_hello;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

/// A response: status code, headers (names lowercased), body.
struct Response {
    /// The status code.
    status: u16,
    /// The headers.
    headers: Vec<(String, String)>,
    /// The body, de-chunked.
    body: Vec<u8>,
}

impl Response {
    /// The value of header `name`.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 connection, kept alive between requests.
struct Connection {
    /// Reads responses.
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// Connects to `addr`.
    fn open(addr: SocketAddr) -> Connection {
        Connection {
            reader: BufReader::new(util::connect(addr)),
        }
    }

    /// Sends a request and reads its response.
    fn request(&mut self, method: &str, path: &str, body: &[u8]) -> Response {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        self.response()
    }

    /// One line of the response head, without its CRLF.
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        assert!(line.ends_with("\r\n"), "a truncated line: {line:?}");
        line.truncate(line.len() - 2);
        line
    }

    /// Reads a response: head, then a body by content-length or chunks.
    fn response(&mut self) -> Response {
        let status_line = self.line();
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not a status line: {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("a header");
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if let Some(len) = response.header("content-length") {
            let mut body = vec![0; len.parse().unwrap()];
            self.reader.read_exact(&mut body).unwrap();
            response.body = body;
        } else if response.header("transfer-encoding") == Some("chunked") {
            loop {
                let size = usize::from_str_radix(&self.line(), 16).expect("a chunk size");
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).unwrap();
                assert_eq!(&chunk[size..], b"\r\n");
                if size == 0 {
                    break;
                }
                response.body.extend_from_slice(&chunk[..size]);
            }
        }
        response
    }
}

/// Checks the body of `GET /big`, every byte.
fn check_big(body: &[u8]) {
    assert_eq!(body.len(), hyper_hello::BIG_LEN);
    if let Some(at) = body
        .iter()
        .enumerate()
        .position(|(i, &b)| b != (i % 251) as u8)
    {
        panic!("GET /big differs at byte {at}");
    }
}

#[test]
fn http1_keep_alive_echo_and_ten_mebibytes_on_one_connection() {
    let addr = util::start(hyper_hello::serve);
    let mut connection = Connection::open(addr);

    let hello = connection.request("GET", "/", b"");
    assert_eq!(hello.status, 200);
    assert_eq!(hello.body, b"Hello, world!\n");

    let posted = util::pattern(300_000, 7);
    let echoed = connection.request("POST", "/echo", &posted);
    assert_eq!(echoed.status, 200);
    assert!(echoed.body == posted, "the echoed body differs");

    let big = connection.request("GET", "/big", b"");
    assert_eq!(big.status, 200);
    check_big(&big.body);

    let missing = connection.request("GET", "/nothing", b"");
    assert_eq!(missing.status, 404);

    // Still the same connection, still serving.
    let again = connection.request("GET", "/", b"");
    assert_eq!(again.body, b"Hello, world!\n");
}

#[test]
fn many_keep_alive_connections_at_once() {
    let addr = util::start(hyper_hello::serve);
    let clients: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut connection = Connection::open(addr);
                for round in 0..50 {
                    let body = format!("client {i} round {round}");
                    let echoed = connection.request("POST", "/echo", body.as_bytes());
                    assert_eq!(echoed.body, body.as_bytes());
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}

#[test]
fn h2c_with_prior_knowledge() {
    let addr = util::start(hyper_hello::serve);
    runtime::block_on(async {
        let stream = runtime::net::TcpStream::connect(addr).await.unwrap();
        let io = hyper_hello::rt::HyperIo::new(stream);
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(hyper_hello::rt::LocalExec, io)
                .await
                .expect("HTTP/2 handshake");
        runtime::spawn(connection);

        let get = |path: &str| {
            hyper::Request::get(format!("http://test{path}"))
                .body(Full::new(Bytes::new()))
                .unwrap()
        };
        let response = sender.send_request(get("/")).await.unwrap();
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"Hello, world!\n");

        let posted = util::pattern(200_000, 9);
        let request = hyper::Request::post("http://test/echo")
            .body(Full::new(Bytes::from(posted.clone())))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(body[..] == posted[..], "the echoed body differs");

        let response = sender.send_request(get("/big")).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        check_big(&body);
    });
}
