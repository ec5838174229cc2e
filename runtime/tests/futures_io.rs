//! The `futures-io` feature: the `futures` crate's combinators on the
//! runtime's types with no adapter, and a futures-io type on the runtime's
//! combinators through `runtime::io::Compat`.

#![cfg(feature = "futures-io")]

mod util;

use futures::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
use futures::StreamExt as _;
use util::{run, tcp_pair};

/// `n` pseudo-random bytes.
fn pattern(n: usize) -> Vec<u8> {
    let mut data = vec![0; n];
    util::XorShift::new(n as u64).fill(&mut data);
    data
}

#[test]
fn futures_buf_reader_and_lines_read_a_tcp_stream() {
    run("futures lines", async {
        let (mut client, server) = tcp_pair().await;
        let writer = runtime::spawn(async move {
            client.write_all(b"one\ntwo\r\nthree").await.unwrap();
            client.close().await.unwrap();
        });
        let lines: Vec<String> = futures::io::BufReader::new(server)
            .lines()
            .map(|line| line.unwrap())
            .collect()
            .await;
        assert_eq!(lines, ["one", "two", "three"]);
        writer.await.unwrap();
    });
}

#[test]
fn futures_copy_moves_every_byte_between_tcp_streams() {
    run("futures copy", async {
        let (mut client, server) = tcp_pair().await;
        let (relay_in, mut relay_out) = tcp_pair().await;
        let data = pattern(2 << 20);
        let sender = runtime::spawn({
            let data = data.clone();
            async move {
                client.write_all(&data).await.unwrap();
                client.close().await.unwrap();
            }
        });
        let relay = runtime::spawn(async move {
            let mut server = server;
            let mut relay_in = relay_in;
            let n = futures::io::copy(&mut server, &mut relay_in).await.unwrap();
            relay_in.close().await.unwrap();
            n
        });
        let mut got = Vec::new();
        relay_out.read_to_end(&mut got).await.unwrap();
        assert_eq!(relay.await.unwrap(), data.len() as u64);
        assert!(got == data, "the copy differs");
        sender.await.unwrap();
    });
}

#[test]
fn futures_split_halves_of_a_tcp_stream_echo() {
    run("futures split", async {
        let (client, server) = tcp_pair().await;
        let (mut reader, mut writer) = server.split();
        let echo = runtime::spawn(async move {
            futures::io::copy(&mut reader, &mut writer).await.unwrap();
            writer.close().await.unwrap();
        });
        let data = pattern(100_000);
        // The client reads and writes at once through two `&TcpStream`s.
        let (mut client_reader, mut client_writer) = (&client, &client);
        let send = async {
            client_writer.write_all(&data).await.unwrap();
            client_writer.close().await.unwrap();
        };
        let mut got = Vec::new();
        let receive = async {
            client_reader.read_to_end(&mut got).await.unwrap();
        };
        futures::join!(send, receive);
        assert!(got == data, "the echo differs");
        echo.await.unwrap();
    });
}

#[test]
fn a_futures_io_type_works_with_the_runtimes_copy_through_compat() {
    run("compat", async {
        let data = pattern(100_000);
        let mut reader = runtime::io::Compat::new(futures::io::Cursor::new(data.clone()));
        let mut writer = runtime::io::Compat::new(futures::io::Cursor::new(Vec::new()));
        let n = runtime::io::copy(&mut reader, &mut writer).await.unwrap();
        assert_eq!(n, data.len() as u64);
        assert!(writer.get_ref().get_ref() == &data);

        // And its lines, through the runtime's AsyncBufReadExt.
        use runtime::io::AsyncBufReadExt;
        let cursor = futures::io::Cursor::new(b"a\nb\n".to_vec());
        let mut lines = runtime::io::Compat::new(cursor).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("a"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("b"));
        assert_eq!(lines.next_line().await.unwrap(), None);
    });
}

#[test]
fn a_loop_over_an_always_ready_futures_io_type_does_not_starve_a_timer() {
    run("compat budget", async {
        let spinner = runtime::spawn(async {
            let mut zeros = runtime::io::Compat::new(futures::io::repeat(0));
            let mut buf = [0; 8];
            loop {
                runtime::io::AsyncReadExt::read(&mut zeros, &mut buf)
                    .await
                    .unwrap();
            }
        });
        runtime::task::yield_now().await;
        runtime::time::sleep(std::time::Duration::from_millis(5)).await;
        assert!(!spinner.is_finished());
        spinner.abort();
    });
}

/// Compiles only if `T` has futures-io's reading traits.
fn buf_reader<T: futures::io::AsyncBufRead>() {}
/// Compiles only if `T` has futures-io's reading trait.
fn reader<T: futures::io::AsyncRead>() {}
/// Compiles only if `T` has futures-io's writing trait.
fn writer<T: futures::io::AsyncWrite>() {}

#[test]
fn every_runtime_io_type_has_the_futures_io_traits() {
    use runtime::io::*;
    use runtime::net::{OwnedReadHalf, OwnedWriteHalf, TcpStream};
    reader::<TcpStream>();
    writer::<TcpStream>();
    reader::<&TcpStream>();
    writer::<&TcpStream>();
    reader::<runtime::net::ReadHalf<'_>>();
    writer::<runtime::net::WriteHalf<'_>>();
    reader::<OwnedReadHalf>();
    writer::<OwnedWriteHalf>();
    buf_reader::<Stdin>();
    reader::<DuplexStream>();
    writer::<DuplexStream>();
    reader::<ReadHalf<DuplexStream>>();
    writer::<WriteHalf<DuplexStream>>();
    buf_reader::<BufReader<DuplexStream>>();
    writer::<BufReader<DuplexStream>>();
    buf_reader::<BufWriter<BufReader<DuplexStream>>>();
    writer::<BufWriter<DuplexStream>>();
    buf_reader::<BufStream<DuplexStream>>();
    writer::<BufStream<DuplexStream>>();
    buf_reader::<Take<BufReader<DuplexStream>>>();
    buf_reader::<Chain<Empty, BufReader<DuplexStream>>>();
    buf_reader::<Empty>();
    writer::<Empty>();
    writer::<Sink>();
    reader::<Repeat>();
}
