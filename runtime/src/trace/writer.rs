//! Where trace lines go: a bounded queue drained by a thread of its own,
//! so that a slow terminal or a full pipe never blocks the runtime.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Lines queued for the writer thread before new ones are dropped (and
/// counted): about a second of a busy server's trace.
const QUEUE_LINES: usize = 16 * 1024;

/// How long dropping the writer (with its runtime) waits for the lines
/// still queued to be written: long enough for a terminal or a file, short
/// enough that an output nobody reads does not hold the program's exit.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// The runtime's end of the trace output.
#[derive(Debug)]
pub(crate) struct LineWriter {
    /// Lines for the writer thread; `None` once dropped.
    lines: Option<SyncSender<String>>,
    /// Lines dropped because the queue was full, not yet reported.
    dropped: Arc<AtomicU64>,
    /// Disconnected when the writer thread ends (its sender is dropped).
    finished: mpsc::Receiver<()>,
}

impl LineWriter {
    /// Starts a thread that writes every line it is given to `out`.
    pub(crate) fn spawn(mut out: Box<dyn Write + Send>) -> LineWriter {
        let (lines, rx) = mpsc::sync_channel::<String>(QUEUE_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let lost = dropped.clone();
        let (finished_tx, finished) = mpsc::channel::<()>();
        // If the thread cannot start, lines are dropped and counted: a
        // trace must never stop the program.
        let _ = thread::Builder::new()
            .name("rt-trace".into())
            .spawn(move || {
                let _finished = finished_tx;
                // Write what is queued, then flush once the queue is empty,
                // so that a trace read live shows everything up to now.
                while let Ok(line) = rx.recv() {
                    let mut next = Some(line);
                    while let Some(line) = next {
                        let lost_before = lost.swap(0, Ordering::Relaxed);
                        if lost_before > 0 {
                            let _ = writeln!(
                                out,
                                "trace: {lost_before} lines dropped (the writer could not keep up)"
                            );
                        }
                        if out.write_all(line.as_bytes()).is_err() {
                            return;
                        }
                        next = rx.try_recv().ok();
                    }
                    let _ = out.flush();
                }
                let lost_at_end = lost.swap(0, Ordering::Relaxed);
                if lost_at_end > 0 {
                    let _ = writeln!(
                        out,
                        "trace: {lost_at_end} lines dropped (the writer could not keep up)"
                    );
                    let _ = out.flush();
                }
            });
        LineWriter {
            lines: Some(lines),
            dropped,
            finished,
        }
    }

    /// Queues `line` (which ends with a newline); drops and counts it if
    /// the queue is full.
    pub(crate) fn write(&self, line: String) {
        let sent = match &self.lines {
            Some(lines) => lines.try_send(line),
            None => Err(TrySendError::Disconnected(line)),
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for LineWriter {
    /// Lets the writer thread write what is queued (the last lines of a
    /// program, often the interesting ones), waiting at most
    /// [`DRAIN_LIMIT`].
    fn drop(&mut self) {
        drop(self.lines.take());
        // Disconnected (Err) once the thread ended; a timeout leaves it
        // writing, detached.
        let _ = self.finished.recv_timeout(DRAIN_LIMIT);
    }
}
