//! The event trace, stall reports, the tokio-named metrics, histograms and
//! the task dump.

mod util;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};

/// A writer that keeps what it is given, optionally slowly.
#[derive(Clone, Default)]
struct Collect {
    /// Everything written.
    bytes: Arc<Mutex<Vec<u8>>>,
    /// How long each write takes.
    delay: Duration,
}

impl Write for Collect {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(self.delay);
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Collect {
    /// The text written once `needle` appears (the writer thread is
    /// asynchronous), or what there is after a bounded wait.
    fn text_with(&self, needle: &str) -> String {
        for _ in 0..200 {
            let text = String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned();
            if text.contains(needle) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }
}

/// The position of `needle` in `text`, after `from`.
fn find_after(text: &str, from: usize, needle: &str) -> usize {
    from + text[from..]
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not after byte {from} in the trace:\n{text}"))
}

#[test]
fn an_echo_is_traced_step_by_step_in_order() {
    let out = Collect::default();
    let rt = runtime::Builder::new().trace(out.clone()).build().unwrap();
    let _watchdog = util::Watchdog::new("traced echo", util::DEADLINE);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime::task::Builder::new()
            .name("echo")
            .spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = [0; 64];
                let n = stream.read(&mut buf).await.unwrap();
                stream.write_all(&buf[..n]).await.unwrap();
            })
            .unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"hello, trace").await.unwrap();
        let mut back = [0; 12];
        client.read_exact(&mut back).await.unwrap();
        server.await.unwrap();
    });
    drop(rt);
    let text = out.text_with("\"echo\" finished");
    let spawned = find_after(&text, 0, "task ");
    let spawned = find_after(&text, spawned, "\"echo\" spawned");
    let turn = find_after(&text, spawned, "turn: epoll_wait(timeout");
    let event = find_after(&text, turn, "readable (token ");
    let wakes = find_after(&text, event, "-> wakes task");
    let read = find_after(&text, wakes, "\"echo\" polled");
    let bytes = find_after(&text, read, "read 12 B");
    let wrote = find_after(&text, bytes, "wrote 12 B");
    find_after(&text, wrote, "\"echo\" finished");
    assert!(text.contains("registered"), "{text}");
    assert!(text.contains("deregistered"), "{text}");
    assert!(text.contains("-> parked on fd"), "{text}");
}

#[test]
fn a_slow_writer_loses_lines_and_says_how_many_but_never_blocks_the_runtime() {
    let out = Collect {
        delay: Duration::from_millis(20),
        ..Collect::default()
    };
    let rt = runtime::Builder::new().trace(out.clone()).build().unwrap();
    let _watchdog = util::Watchdog::new("slow trace writer", util::DEADLINE);
    let started = std::time::Instant::now();
    rt.block_on(async {
        // Far more lines than the queue holds.
        for _ in 0..40_000 {
            runtime::spawn(async {}).await.unwrap();
        }
    });
    // 120,000 lines at 20 ms each would take 40 minutes if the runtime
    // waited for the writer.
    assert!(started.elapsed() < Duration::from_secs(30));
    drop(rt);
    let text = out.text_with("lines dropped");
    assert!(
        text.contains("lines dropped (the writer could not keep up)"),
        "no drop report"
    );
}

#[test]
fn a_poll_that_holds_the_thread_is_reported_with_the_task_name() {
    let out = Collect::default();
    let rt = runtime::Builder::new()
        .trace(out.clone())
        .stall_threshold(Duration::from_millis(20))
        .build()
        .unwrap();
    rt.block_on(async {
        runtime::task::Builder::new()
            .name("hog")
            .spawn(async { std::thread::sleep(Duration::from_millis(50)) })
            .unwrap()
            .await
            .unwrap();
        runtime::spawn(async {}).await.unwrap();
    });
    drop(rt);
    let text = out.text_with("held the thread");
    let report = text
        .lines()
        .find(|line| line.contains("held the thread"))
        .unwrap_or_else(|| panic!("no stall report:\n{text}"));
    assert!(report.contains("\"hog\""), "{report}");
    assert_eq!(
        text.matches("held the thread").count(),
        1,
        "only the hog stalls"
    );
}

#[test]
fn metrics_count_what_the_runtime_did() {
    let rt = runtime::Builder::new()
        .enable_metrics_histograms()
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..10 {
            runtime::spawn(async {}).await.unwrap();
        }
        // A task that runs out of budget once.
        let (tx, mut rx) = runtime::sync::mpsc::unbounded_channel();
        for i in 0..300 {
            tx.send(i).unwrap();
        }
        drop(tx);
        runtime::spawn(async move { while rx.recv().await.is_some() {} })
            .await
            .unwrap();
        // A remote wake.
        let (tx, rx) = runtime::sync::oneshot::channel();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            tx.send(()).unwrap();
        });
        runtime::spawn(async move { rx.await.unwrap() })
            .await
            .unwrap();
        sender.join().unwrap();
        runtime::time::sleep(Duration::from_millis(5)).await;
    });
    let m = rt.metrics();
    assert_eq!(m.spawned_tasks_count, 12);
    assert_eq!(m.num_alive_tasks, 0);
    assert!(m.poll_count >= 12 && m.poll_count == m.polls);
    assert!(m.budget_forced_yield_count >= 2, "{m:?}");
    assert!(m.remote_schedule_count >= 1, "{m:?}");
    assert!(m.park_count >= 1, "{m:?}");
    assert!(m.total_busy_duration <= m.elapsed);
    let polls = m.poll_time_histogram.unwrap();
    assert_eq!(polls.total(), m.poll_count);
    assert!(m.schedule_latency_histogram.unwrap().total() >= 1);
    // Off by default.
    let plain = runtime::Runtime::new().unwrap();
    assert!(plain.metrics().poll_time_histogram.is_none());
}

#[test]
fn the_dump_says_what_each_task_waits_on() {
    util::run("dump", async {
        let (client, server) = util::tcp_pair().await;
        let reader = runtime::task::Builder::new()
            .name("reader")
            .spawn(async move {
                let mut buf = [0; 1];
                let _ = (&server).read(&mut buf).await;
            })
            .unwrap();
        let sleeper = runtime::task::Builder::new()
            .name("sleeper")
            .spawn(runtime::time::sleep(Duration::from_secs(100)))
            .unwrap();
        let (_tx, rx) = runtime::sync::oneshot::channel::<()>();
        let waiter = runtime::spawn(async move {
            let _ = rx.await;
        });
        runtime::task::yield_now().await;
        let dump = runtime::dump();
        let text = dump.to_string();
        let line = |name: &str| {
            text.lines()
                .find(|l| l.contains(name))
                .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
                .to_string()
        };
        assert!(line("\"reader\"").contains("readable"), "{text}");
        assert!(
            line("\"sleeper\"").contains("timer in 100.0 s")
                || line("\"sleeper\"").contains("timer in 99.9 s"),
            "{text}"
        );
        assert!(
            line(&format!("task {}:", waiter.id())).contains("something else"),
            "{text}"
        );
        assert_eq!(dump.tasks.len(), 3);
        assert!(dump.tasks.iter().all(|t| t.polls == 1));
        drop(client);
        reader.await.unwrap();
        sleeper.abort();
        waiter.abort();
    });
}

#[test]
fn a_task_aborted_through_an_abort_handle_is_traced_as_cancelled() {
    let out = Collect::default();
    let rt = runtime::Builder::new().trace(out.clone()).build().unwrap();
    let _watchdog = util::Watchdog::new("traced abort", util::DEADLINE);
    rt.block_on(async {
        let victim = runtime::task::Builder::new()
            .name("victim")
            .spawn(std::future::pending::<()>())
            .unwrap();
        runtime::task::yield_now().await;
        victim.abort_handle().abort();
        assert!(victim.await.unwrap_err().is_cancelled());
    });
    drop(rt);
    let text = out.text_with("\"victim\" was cancelled");
    assert!(
        text.contains("\"victim\" was cancelled"),
        "no cancellation in the trace:\n{text}"
    );
}
