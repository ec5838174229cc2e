//! The comparison servers echo correctly: a benchmark against a server that
//! drops or mangles bytes would measure nothing. Each is started on a free
//! loopback port and must echo 1 MiB exactly, over two connections at once.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server process, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary` on port 0 and returns it with the address it printed.
fn start(binary: &str) -> (Server, String) {
    let mut child = Command::new(binary)
        .args(["--quiet", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the first line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (server, addr)
}

/// Sends `len` patterned bytes from a writer thread and checks the echo.
fn echo_exactly(addr: &str, len: usize, seed: u8) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect();
    let mut writer = stream.try_clone().unwrap();
    let sent = data.clone();
    let sender = std::thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        writer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut echoed = Vec::with_capacity(len);
    (&stream).read_to_end(&mut echoed).expect("read the echo");
    sender.join().unwrap();
    assert!(
        echoed == data,
        "echo differs: {} of {} bytes back",
        echoed.len(),
        len
    );
}

fn check(binary: &str) {
    let (_server, addr) = start(binary);
    let other = {
        let addr = addr.clone();
        std::thread::spawn(move || echo_exactly(&addr, 1 << 20, 7))
    };
    echo_exactly(&addr, 1 << 20, 3);
    other.join().unwrap();
}

#[test]
fn the_hand_written_epoll_server_echoes_every_byte() {
    check(env!("CARGO_BIN_EXE_epoll-echo-server"));
}

#[test]
fn the_tokio_server_echoes_every_byte() {
    check(env!("CARGO_BIN_EXE_tokio-echo-server"));
}
