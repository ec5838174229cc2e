//! The cooperative budget beyond sockets: a task that always finds its
//! channel, `Notify` or join handle ready must still let timers and other
//! tasks run.
//!
//! Each loop below would never return `Pending` by itself. Without the
//! budget the timer (or the other task) could only run once the loop ends,
//! and the infinite loops would never end: the [`util::Watchdog`] behind
//! `run` turns that hang into a failure. No test asserts speed; the bound
//! on the timer's lateness is only a sanity check, far above anything a
//! loaded machine needs.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use runtime::sync::{broadcast, mpsc, watch, Mutex, Notify, RwLock, Semaphore};
use runtime::time::sleep;
use util::run;

/// The timer every case waits for.
const TIMER: Duration = Duration::from_millis(5);

/// How late the timer may fire before the test calls it starved: generous,
/// so that only starvation (a hang) trips it.
const SANE_LATENESS: Duration = Duration::from_secs(5);

/// Runs `spin` (a loop that never waits, counting its rounds in the cell
/// it is given) on a task of its own, sleeps [`TIMER`] meanwhile, and
/// checks the sleep ended while the loop was still going: it was not
/// starved.
fn timer_fires_while<F>(name: &'static str, spin: impl FnOnce(Rc<Cell<u64>>) -> F)
where
    F: std::future::Future<Output = ()> + 'static,
{
    run(name, async {
        let rounds = Rc::new(Cell::new(0));
        let spinner = runtime::spawn(spin(rounds.clone()));
        // Let the loop start before the timer does.
        runtime::task::yield_now().await;
        let start = Instant::now();
        sleep(TIMER).await;
        let late = start.elapsed() - TIMER;
        assert!(rounds.get() > 0, "the loop never ran");
        assert!(!spinner.is_finished(), "the loop ended: it was not endless");
        assert!(late < SANE_LATENESS, "the timer fired {late:?} late");
        spinner.abort();
        println!(
            "{name}: the timer fired {late:?} late, after {} rounds",
            rounds.get()
        );
    });
}

#[test]
fn a_channel_that_never_empties_does_not_starve_a_timer() {
    timer_fires_while("busy channel", |rounds| async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..1_000u64 {
            tx.send(i).unwrap();
        }
        // Every value received is sent again: the channel never empties.
        while let Some(value) = rx.recv().await {
            rounds.set(rounds.get() + 1);
            tx.send(value).unwrap();
        }
    });
}

#[test]
fn a_bounded_channel_that_never_fills_or_empties_does_not_starve_a_timer() {
    timer_fires_while("busy bounded channel", |rounds| async move {
        let (tx, mut rx) = mpsc::channel(64);
        tx.send(0u64).await.unwrap();
        // Both the send and the receive are always ready.
        while let Some(value) = rx.recv().await {
            rounds.set(rounds.get() + 1);
            tx.send(value + 1).await.unwrap();
        }
    });
}

#[test]
fn a_notify_loop_that_always_has_a_permit_does_not_starve_a_timer() {
    timer_fires_while("notify loop", |rounds| async move {
        let notify = Notify::new();
        loop {
            notify.notify_one();
            notify.notified().await;
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn an_uncontended_mutex_loop_does_not_starve_a_timer() {
    timer_fires_while("mutex loop", |rounds| async move {
        let mutex = Mutex::new(0u64);
        loop {
            *mutex.lock().await += 1; // always free: never pending
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn an_rwlock_loop_does_not_starve_a_timer() {
    timer_fires_while("rwlock loop", |rounds| async move {
        let lock = RwLock::new(0u64);
        loop {
            *lock.write().await += 1;
            let _ = *lock.read().await;
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn a_semaphore_loop_does_not_starve_a_timer() {
    timer_fires_while("semaphore loop", |rounds| async move {
        let semaphore = Semaphore::new(1);
        loop {
            drop(semaphore.acquire().await.unwrap());
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn a_watch_loop_that_always_has_a_change_does_not_starve_a_timer() {
    timer_fires_while("watch loop", |rounds| async move {
        let (tx, mut rx) = watch::channel(0u64);
        loop {
            tx.send_modify(|v| *v += 1);
            rx.changed().await.unwrap();
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn a_broadcast_loop_that_never_empties_does_not_starve_a_timer() {
    timer_fires_while("broadcast loop", |rounds| async move {
        let (tx, mut rx) = broadcast::channel(16);
        tx.send(0u64).unwrap();
        while let Ok(value) = rx.recv().await {
            rounds.set(rounds.get() + 1);
            tx.send(value + 1).unwrap();
        }
    });
}

#[test]
fn zero_length_sleeps_in_a_loop_do_not_starve_a_timer() {
    timer_fires_while("zero sleeps", |rounds| async move {
        loop {
            sleep(Duration::ZERO).await;
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn awaiting_many_finished_tasks_lets_a_woken_task_run_in_between() {
    const TASKS: u64 = 10_000;
    run("ready join handles", async {
        let handles: Vec<_> = (0..TASKS)
            .map(|i| runtime::spawn(async move { i }))
            .collect();
        // Let every task finish: all the handles are ready now.
        runtime::task::yield_now().await;
        assert!(handles.iter().all(|h| h.is_finished()));

        let joined = Rc::new(Cell::new(0u64));
        let notify = Rc::new(Notify::new());
        let seen_at = Rc::new(Cell::new(None));
        let other = runtime::spawn({
            let (notify, joined, seen_at) = (notify.clone(), joined.clone(), seen_at.clone());
            async move {
                notify.notified().await;
                seen_at.set(Some(joined.get()));
            }
        });
        let joiner = runtime::spawn({
            let joined = joined.clone();
            async move {
                let mut sum = 0;
                for handle in handles {
                    sum += handle.await.unwrap();
                    joined.set(joined.get() + 1);
                }
                sum
            }
        });
        runtime::task::yield_now().await;
        // `other` is parked; wake it while the joiner has work left.
        notify.notify_one();
        assert_eq!(joiner.await.unwrap(), TASKS * (TASKS - 1) / 2);
        other.await.unwrap();
        let seen_at = seen_at.get().expect("the woken task ran");
        assert!(
            seen_at < TASKS,
            "the woken task ran only after all {TASKS} handles were awaited"
        );
    });
}

#[test]
fn an_unconstrained_loop_runs_past_the_budget_in_one_poll() {
    run("unconstrained", async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..1_000u64 {
            tx.send(i).unwrap();
        }
        drop(tx);
        let polls_before = runtime::metrics().polls;
        let task = runtime::spawn(runtime::task::unconstrained(async move {
            let mut n = 0;
            while rx.recv().await.is_some() {
                n += 1;
            }
            n
        }));
        assert_eq!(task.await.unwrap(), 1_000);
        // One poll for all 1,000 values; the budget would have made it
        // yield seven times.
        assert_eq!(runtime::metrics().polls - polls_before, 1);
    });
}

// The io toolkit's in-memory sources: each is always ready, so each must
// charge the budget itself.

use runtime::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A reader of zeros that is always ready and knows nothing of the budget:
/// only a wrapper that charges can make a loop over it yield.
struct FreeZeros;

impl AsyncRead for FreeZeros {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        buf.fill(0);
        std::task::Poll::Ready(Ok(buf.len()))
    }
}

/// A writer that accepts everything at once and knows nothing of the
/// budget.
struct FreeSink;

impl AsyncWrite for FreeSink {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[test]
fn reading_repeat_in_a_loop_does_not_starve_a_timer() {
    timer_fires_while("repeat", |rounds| async move {
        let mut source = runtime::io::repeat(7);
        let mut buf = [0; 16];
        while source.read(&mut buf).await.is_ok() {
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn reading_empty_in_a_loop_does_not_starve_a_timer() {
    timer_fires_while("empty", |rounds| async move {
        let mut source = runtime::io::empty();
        let mut buf = [0; 16];
        // End of stream, for ever: a loop that ignores it never waits.
        while source.read(&mut buf).await.is_ok() {
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn writing_to_sink_in_a_loop_does_not_starve_a_timer() {
    timer_fires_while("sink", |rounds| async move {
        let mut sink = runtime::io::sink();
        while sink.write_all(b"discarded").await.is_ok() {
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn a_duplex_stream_talking_to_itself_does_not_starve_a_timer() {
    timer_fires_while("duplex", |rounds| async move {
        let (mut a, mut b) = runtime::io::duplex(64);
        let mut buf = [0; 4];
        // Both the write and the read are always ready.
        while a.write_all(b"ping").await.is_ok() && b.read_exact(&mut buf).await.is_ok() {
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn reading_a_byte_slice_in_a_loop_does_not_starve_a_timer() {
    timer_fires_while("byte slice", |rounds| async move {
        let mut buf = [0; 4];
        while (&b"data"[..]).read(&mut buf).await.is_ok() {
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn reading_lines_from_a_buf_reader_that_serves_from_memory_does_not_starve_a_timer() {
    timer_fires_while("buf reader", |rounds| async move {
        // The inner reader never charges, and a refill serves 1 MiB of
        // one-byte lines: only the BufReader's own charge can yield.
        let mut reader = runtime::io::BufReader::with_capacity(1 << 20, FreeZeros);
        let mut line = Vec::new();
        while reader.read_until(0, &mut line).await.is_ok() {
            line.clear();
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn writing_into_a_buf_writer_does_not_starve_a_timer() {
    timer_fires_while("buf writer", |rounds| async move {
        let mut writer = runtime::io::BufWriter::with_capacity(1 << 20, FreeSink);
        while writer.write_all(b"x").await.is_ok() {
            rounds.set(rounds.get() + 1);
        }
    });
}

#[test]
fn copying_repeat_into_sink_does_not_starve_a_timer() {
    timer_fires_while("copy", |rounds| async move {
        rounds.set(1);
        let _ = runtime::io::copy(&mut runtime::io::repeat(1), &mut runtime::io::sink()).await;
    });
}
