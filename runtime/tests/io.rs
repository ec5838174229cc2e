//! The io toolkit: buffered reading and writing, lines, copy, split,
//! duplex, and what a dropped future leaves behind.
//!
//! Cancellation is tested the way a `timeout` or a `select!` does it: the
//! future is polled until it has taken part of the input, then dropped,
//! and a new call must still see every byte.

mod util;

use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::Poll;

use runtime::io::{
    AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufStream, BufWriter, DuplexStream,
};
use util::{poll_once, run, tcp_pair};

/// Polls `future` once (it must be pending) and drops it: what a timeout
/// that fires does.
async fn poll_then_drop<F: Future>(what: &str, future: F) {
    let future = pin!(future);
    assert!(
        poll_once(future).await.is_pending(),
        "{what}: the future completed instead of waiting for more input"
    );
}

#[test]
fn a_dropped_next_line_keeps_the_first_part_of_the_line() {
    run("next_line cancel", async {
        let (mut tx, rx) = runtime::io::duplex(64);
        let mut lines = BufReader::new(rx).lines();
        tx.write_all(b"hello wo").await.unwrap();
        poll_then_drop("next_line", lines.next_line()).await;
        tx.write_all(b"rld\nsecond").await.unwrap();
        assert_eq!(
            lines.next_line().await.unwrap().as_deref(),
            Some("hello world")
        );
        poll_then_drop("next_line", lines.next_line()).await;
        tx.shutdown().await.unwrap();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("second"));
        assert_eq!(lines.next_line().await.unwrap(), None);
    });
}

#[test]
fn a_dropped_next_line_keeps_half_a_character() {
    run("next_line cancel inside a character", async {
        let (mut tx, rx) = runtime::io::duplex(64);
        let mut lines = BufReader::new(rx).lines();
        let text = "grüße\n".as_bytes();
        // Cut inside the two bytes of `ü`.
        tx.write_all(&text[..3]).await.unwrap();
        poll_then_drop("next_line", lines.next_line()).await;
        tx.write_all(&text[3..]).await.unwrap();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("grüße"));
    });
}

#[test]
fn a_dropped_read_line_leaves_what_it_read_in_the_string() {
    run("read_line cancel", async {
        let (mut tx, rx) = runtime::io::duplex(64);
        let mut reader = BufReader::new(rx);
        let mut line = String::new();
        tx.write_all(b"hello wo").await.unwrap();
        poll_then_drop("read_line", reader.read_line(&mut line)).await;
        assert_eq!(line, "hello wo");
        tx.write_all(b"rld\n").await.unwrap();
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 4);
        assert_eq!(line, "hello world\n");
    });
}

#[test]
fn a_dropped_read_until_leaves_what_it_read_in_the_buffer() {
    run("read_until cancel", async {
        let (mut tx, rx) = runtime::io::duplex(64);
        let mut reader = BufReader::new(rx);
        let mut segment = Vec::new();
        tx.write_all(b"key").await.unwrap();
        poll_then_drop("read_until", reader.read_until(b'=', &mut segment)).await;
        tx.write_all(b"=value").await.unwrap();
        reader.read_until(b'=', &mut segment).await.unwrap();
        assert_eq!(segment, b"key=");
    });
}

#[test]
fn a_dropped_next_segment_keeps_the_first_part() {
    run("next_segment cancel", async {
        let (mut tx, rx) = runtime::io::duplex(64);
        let mut fields = BufReader::new(rx).split(b',');
        tx.write_all(b"fir").await.unwrap();
        poll_then_drop("next_segment", fields.next_segment()).await;
        tx.write_all(b"st,").await.unwrap();
        assert_eq!(fields.next_segment().await.unwrap().unwrap(), b"first");
    });
}

#[test]
fn lines_read_a_tcp_stream_that_trickles_one_byte_at_a_time() {
    run("trickled lines", async {
        let (client, server) = tcp_pair().await;
        let text = "first line\nsecond, with ü\r\n\nlast without newline";
        let writer = runtime::spawn(async move {
            let mut client = client;
            for byte in text.as_bytes() {
                client.write_all(&[*byte]).await.unwrap();
                runtime::task::yield_now().await;
            }
            client.shutdown().await.unwrap();
        });
        let mut lines = BufReader::with_capacity(3, server).lines();
        let mut got = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            got.push(line);
        }
        assert_eq!(
            got,
            ["first line", "second, with ü", "", "last without newline"]
        );
        writer.await.unwrap();
    });
}

#[test]
fn invalid_utf8_fails_that_line_only() {
    run("invalid utf-8", async {
        let mut reader = &b"ok\nbad \xff line\nafter\n"[..];
        let mut line = String::from("kept:");
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 3);
        let err = reader.read_line(&mut line).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(line, "kept:ok\n", "the string is as before the failed call");
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 6);
        assert_eq!(line, "kept:ok\nafter\n");

        let mut lines = (&b"bad \xff\nafter\n"[..]).lines();
        assert!(lines.next_line().await.is_err());
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("after"));
    });
}

#[test]
fn an_overlong_line_is_an_error_and_is_skipped_even_when_it_arrives_in_pieces() {
    run("max line length", async {
        let (mut tx, rx) = runtime::io::duplex(1024);
        let mut lines = BufReader::with_capacity(4, rx).lines();
        lines.set_max_len(8);
        tx.write_all(b"12345678\n123456789012345678901234567890\nok\n")
            .await
            .unwrap();
        tx.shutdown().await.unwrap();
        assert_eq!(
            lines.next_line().await.unwrap().as_deref(),
            Some("12345678")
        );
        let err = lines.next_line().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ok"));
        assert_eq!(lines.next_line().await.unwrap(), None);
    });
}

#[test]
fn lines_are_a_stream() {
    run("lines stream", async {
        let mut lines = std::pin::pin!((&b"a\nb\n"[..]).lines());
        let mut got = Vec::new();
        while let Some(line) =
            std::future::poll_fn(|cx| futures_core::Stream::poll_next(lines.as_mut(), cx)).await
        {
            got.push(line.unwrap());
        }
        assert_eq!(got, ["a", "b"]);
    });
}

#[test]
fn numbers_round_trip_in_both_byte_orders() {
    run("numbers", async {
        let mut bytes = Vec::new();
        bytes.write_u8(0xab).await.unwrap();
        bytes.write_i16(-2).await.unwrap();
        bytes.write_u16_le(0x1234).await.unwrap();
        bytes.write_u32(0xdead_beef).await.unwrap();
        bytes.write_i64_le(-3).await.unwrap();
        bytes.write_u128(u128::MAX - 1).await.unwrap();
        bytes.write_f64(1.5).await.unwrap();
        bytes.write_f32_le(-0.25).await.unwrap();
        assert_eq!(&bytes[1..5], &[0xff, 0xfe, 0x34, 0x12]);
        // One byte at a time, so every number arrives in pieces.
        let mut reader = BufReader::with_capacity(1, &bytes[..]);
        assert_eq!(reader.read_u8().await.unwrap(), 0xab);
        assert_eq!(reader.read_i16().await.unwrap(), -2);
        assert_eq!(reader.read_u16_le().await.unwrap(), 0x1234);
        assert_eq!(reader.read_u32().await.unwrap(), 0xdead_beef);
        assert_eq!(reader.read_i64_le().await.unwrap(), -3);
        assert_eq!(reader.read_u128().await.unwrap(), u128::MAX - 1);
        assert_eq!(reader.read_f64().await.unwrap(), 1.5);
        assert_eq!(reader.read_f32_le().await.unwrap(), -0.25);
        let err = reader.read_u8().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let err = (&[1u8][..]).read_u32().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    });
}

#[test]
fn read_to_string_of_text_cut_inside_characters() {
    run("read_to_string", async {
        let text = "añ€😀".repeat(1000);
        let mut reader = BufReader::with_capacity(7, text.as_bytes());
        // Small reads cut characters everywhere.
        let mut got = String::new();
        let mut small = (&mut reader).take(u64::MAX);
        small.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, text);
    });
}

#[test]
fn take_and_chain_stop_and_go_where_they_should() {
    run("take and chain", async {
        let mut both = (&b"abc"[..]).chain(&b"def"[..]);
        let mut head = Vec::new();
        (&mut both).take(4).read_to_end(&mut head).await.unwrap();
        assert_eq!(head, b"abcd");
        let mut rest = Vec::new();
        both.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"ef");

        let mut lines = BufReader::new(&b"one\ntwo\nthree\n"[..]).take(6).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("one"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("tw"));
        assert_eq!(lines.next_line().await.unwrap(), None);
    });
}

#[test]
fn a_buf_writer_writes_nothing_until_full_flushed_or_shut_down() {
    run("buf writer", async {
        let (tx, mut rx) = runtime::io::duplex(1 << 16);
        let mut writer = BufWriter::with_capacity(8, tx);
        writer.write_all(b"1234").await.unwrap();
        let mut buf = [0; 16];
        let pending = poll_once(std::pin::pin!(rx.read(&mut buf))).await;
        assert!(
            pending.is_pending(),
            "bytes reached the peer before a flush"
        );
        writer.write_all(b"5678").await.unwrap(); // exactly full: still buffered
        assert_eq!(writer.buffer(), b"12345678");
        writer.write_all(b"9").await.unwrap(); // overflows: the 8 go out
        assert_eq!(rx.read(&mut buf).await.unwrap(), 8);
        writer.write_all(&[b'x'; 20]).await.unwrap(); // large: straight through
        writer.shutdown().await.unwrap();
        let mut rest = Vec::new();
        rx.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, [&b"9"[..], &[b'x'; 20]].concat());
    });
}

#[test]
fn a_buf_reader_reads_large_reads_straight_through_and_keeps_its_buffer() {
    run("buf reader", async {
        let data: Vec<u8> = (0..=255).collect();
        let mut reader = BufReader::with_capacity(16, &data[..]);
        let mut small = [0; 4];
        reader.read_exact(&mut small).await.unwrap();
        assert_eq!(reader.buffer(), &data[4..16]);
        let mut large = [0; 64];
        // Still buffered bytes come first, even for a large read.
        assert_eq!(reader.read(&mut large).await.unwrap(), 12);
        // Then a large read skips the buffer.
        assert_eq!(reader.read(&mut large).await.unwrap(), 64);
        assert_eq!(&large[..], &data[16..80]);
        assert!(reader.buffer().is_empty());
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, &data[80..]);
    });
}

#[test]
fn a_buf_stream_buffers_both_ways() {
    run("buf stream", async {
        let (client, server) = tcp_pair().await;
        let mut client = BufStream::new(client);
        let mut server = BufStream::new(server);
        client.write_all(b"question\n").await.unwrap();
        client.flush().await.unwrap();
        let mut line = String::new();
        server.read_line(&mut line).await.unwrap();
        server.write_all(b"answer\n").await.unwrap();
        server.shutdown().await.unwrap();
        line.clear();
        client.read_line(&mut line).await.unwrap();
        assert_eq!(line, "answer\n");
    });
}

/// `n` bytes of a pattern that catches reordering, loss and duplication.
fn pattern(n: usize) -> Vec<u8> {
    let mut rng = util::XorShift::new(n as u64);
    let mut data = vec![0; n];
    rng.fill(&mut data);
    data
}

#[test]
fn copy_moves_every_byte_through_a_small_duplex() {
    run("copy", async {
        let data = pattern(1 << 20);
        let (mut tx, mut rx) = runtime::io::duplex(1000);
        let sender = runtime::spawn({
            let data = data.clone();
            async move {
                tx.write_all(&data).await.unwrap();
                tx.shutdown().await.unwrap();
            }
        });
        let mut out = Vec::new();
        let n = runtime::io::copy(&mut rx, &mut out).await.unwrap();
        assert_eq!(n, data.len() as u64);
        assert!(out == data, "the copy differs");
        sender.await.unwrap();

        let mut reader = BufReader::with_capacity(333, &data[..]);
        let mut out = Vec::new();
        let n = runtime::io::copy_buf(&mut reader, &mut out).await.unwrap();
        assert_eq!(n, data.len() as u64);
        assert!(out == data, "the buffered copy differs");
    });
}

#[test]
fn copy_flushes_a_buffered_writer_while_the_reader_waits() {
    run("copy flushes", async {
        let (mut input, mut reader) = runtime::io::duplex(64);
        let (writer, mut output) = runtime::io::duplex(64);
        let mut writer = BufWriter::new(writer);
        let copier =
            runtime::spawn(
                async move { runtime::io::copy(&mut reader, &mut writer).await.unwrap() },
            );
        input.write_all(b"no EOF yet").await.unwrap();
        // Without the flush, these bytes would sit in the BufWriter until
        // the input ends, and this read would wait for ever.
        let mut buf = [0; 10];
        util::deadline("the copied bytes", output.read_exact(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf, b"no EOF yet");
        drop(input);
        assert_eq!(copier.await.unwrap(), 10);
    });
}

#[test]
fn copy_reports_a_writer_that_takes_nothing() {
    struct Full;
    impl runtime::io::AsyncWrite for Full {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    run("write zero", async {
        let err = runtime::io::copy(&mut &b"data"[..], &mut Full)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        let err = Full.write_all(b"data").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    });
}

#[test]
fn copy_bidirectional_passes_half_closes_on_and_counts_both_ways() {
    run("copy_bidirectional", async {
        // client <-> proxy_a ... proxy_b <-> server, over real sockets.
        let (mut client, mut proxy_a) = tcp_pair().await;
        let (mut proxy_b, mut server) = tcp_pair().await;
        let proxy = runtime::spawn(async move {
            runtime::io::copy_bidirectional(&mut proxy_a, &mut proxy_b).await
        });
        let request = pattern(300_000);
        let response = pattern(500_000);
        let server = runtime::spawn({
            let (request, response) = (request.clone(), response.clone());
            async move {
                // The server answers only after the client's EOF arrives:
                // the half-close must be passed on.
                let mut got = Vec::new();
                server.read_to_end(&mut got).await.unwrap();
                assert!(got == request, "the server got other bytes");
                server.write_all(&response).await.unwrap();
                server.shutdown().await.unwrap();
            }
        });
        client.write_all(&request).await.unwrap();
        client.shutdown().await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert!(got == response, "the client got other bytes");
        server.await.unwrap();
        let counts = proxy.await.unwrap().unwrap();
        assert_eq!(counts, (request.len() as u64, response.len() as u64));
    });
}

#[test]
fn copy_bidirectional_reports_a_reset() {
    run("copy_bidirectional reset", async {
        let (client, mut proxy_a) = tcp_pair().await;
        let (mut proxy_b, _server) = tcp_pair().await;
        let proxy = runtime::spawn(async move {
            runtime::io::copy_bidirectional(&mut proxy_a, &mut proxy_b).await
        });
        client.set_linger(Some(std::time::Duration::ZERO)).unwrap();
        (&client).write_all(b"x").await.unwrap();
        drop(client); // RST
        let result = util::deadline("the proxy", proxy).await.unwrap();
        assert!(result.is_err(), "a reset went unnoticed: {result:?}");
    });
}

#[test]
fn a_duplex_stream_is_bounded_and_wakes_the_writer_when_read() {
    run("duplex bounded", async {
        let (mut tx, mut rx) = runtime::io::duplex(10);
        assert_eq!(tx.write(&[1; 25]).await.unwrap(), 10);
        let mut write = std::pin::pin!(tx.write_all(&[2; 15]));
        assert!(
            poll_once(write.as_mut()).await.is_pending(),
            "over the bound"
        );
        let reader = runtime::spawn(async move {
            let mut got = Vec::new();
            rx.read_to_end(&mut got).await.unwrap();
            got
        });
        util::deadline("the writer", write).await.unwrap();
        tx.shutdown().await.unwrap();
        let err = tx.write(b"late").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(
            reader.await.unwrap(),
            [[1; 10], [2; 10], [2; 10]].concat()[..25]
        );
    });
}

#[test]
fn a_duplex_stream_half_closes_like_a_socket() {
    run("duplex half-close", async {
        let (mut a, mut b) = runtime::io::duplex(64);
        a.write_all(b"from a").await.unwrap();
        a.shutdown().await.unwrap();
        let mut got = String::new();
        b.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "from a");
        // b can still write, and a still read.
        b.write_all(b"from b").await.unwrap();
        drop(b);
        let mut got = String::new();
        a.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "from b");
        let err = a.write_all(b"x").await;
        assert!(err.is_err());
    });
}

#[test]
fn a_reader_waiting_on_a_duplex_wakes_when_the_peer_is_dropped() {
    run("duplex drop wakes", async {
        let (a, mut b) = runtime::io::duplex(64);
        let reader = runtime::spawn(async move { b.read(&mut [0; 8]).await.unwrap() });
        runtime::task::yield_now().await;
        drop(a);
        assert_eq!(util::deadline("the reader", reader).await.unwrap(), 0);
    });
}

#[test]
fn duplex_stream_can_go_to_another_thread() {
    util::assert_send::<DuplexStream>();
    util::assert_sync::<DuplexStream>();
}

#[test]
#[should_panic(expected = "max_buf_size must be at least 1")]
fn a_duplex_of_zero_bytes_is_refused() {
    let _ = runtime::io::duplex(0);
}

#[test]
fn split_halves_work_from_two_tasks_and_unsplit() {
    run("split", async {
        let (near, far) = runtime::io::duplex(16);
        let (mut reader, mut writer) = runtime::io::split(near);
        let data = pattern(10_000);
        let echo = runtime::spawn(async move {
            runtime::io::copy(&mut reader, &mut writer).await.unwrap();
            writer.shutdown().await.unwrap();
            reader.unsplit(writer)
        });
        // The other end is split too, so that it can write and read at
        // the same time: with 16 bytes of room each way, a writer that
        // does not read would wait for ever on the echo.
        let (mut far_reader, mut far_writer) = runtime::io::split(far);
        let sender = runtime::spawn({
            let data = data.clone();
            async move {
                far_writer.write_all(&data).await.unwrap();
                far_writer.shutdown().await.unwrap();
                far_writer
            }
        });
        let mut back = Vec::new();
        far_reader.read_to_end(&mut back).await.unwrap();
        assert!(back == data, "the echo differs");
        let _far: DuplexStream = far_reader.unsplit(sender.await.unwrap());
        let _near: DuplexStream = echo.await.unwrap();
    });
}

#[test]
#[should_panic(expected = "from a different split")]
fn unsplit_with_a_stranger_panics() {
    let (a, b) = runtime::io::duplex(8);
    let (reader, _) = runtime::io::split(a);
    let (_, writer) = runtime::io::split(b);
    let _ = reader.unsplit(writer);
}

#[test]
fn fill_buf_then_consume_peeks() {
    run("fill_buf", async {
        let (mut tx, rx) = runtime::io::duplex(64);
        let mut reader = BufReader::new(rx);
        let mut fill = std::pin::pin!(reader.fill_buf());
        assert!(poll_once(fill.as_mut()).await.is_pending());
        tx.write_all(b"peek").await.unwrap();
        assert_eq!(fill.await.unwrap(), b"peek");
        reader.consume(3);
        assert_eq!(reader.fill_buf().await.unwrap(), b"k");
    });
}
