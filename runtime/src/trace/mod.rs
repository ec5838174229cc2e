//! The event trace: one line per thing the runtime does, in the words of
//! an epoll tutorial, so that a reader can watch a program run.
//!
//! ```text
//! +1.204813s turn: epoll_wait(timeout 300 s) -> 1 event after 2.1 s
//! +1.204815s   fd 7 [conn 127.0.0.1:51334] readable (token 3.1) -> wakes task 4 "conn 127.0.0.1:51334"
//! +1.204817s task 4 "conn 127.0.0.1:51334" polled 1.9 us: read 12 B, wrote 12 B, read would block -> parked on fd 7 readable
//! ```
//!
//! Turned on by [`Builder::trace`](crate::Builder::trace), or by
//! `RUNTIME_TRACE=1` in the environment (to stderr), for any program. It
//! costs nothing measurable when off: the runtime checks one field per
//! task poll and per turn, and the I/O hot path sends an fd to the
//! reporting path only through a bit in the fd's readiness word, which the
//! hot path tests anyway (for the runtime's shutdown). When on, lines are
//! formatted on the runtime's thread and written by a thread of their own
//! through a bounded queue: a slow writer costs dropped lines (counted and
//! reported), never a stalled runtime.
//!
//! The same machinery reports polls that hold the thread too long
//! ([`Builder::stall_threshold`](crate::Builder::stall_threshold)) and
//! keeps the poll-time and schedule-latency histograms of
//! [`Metrics`](crate::Metrics) when they are enabled.

mod histogram;
mod writer;

pub use histogram::Histogram;
pub(crate) use writer::LineWriter;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::reactor::Direction;
use crate::slab::Key;
use crate::task::Id;

/// What one I/O operation did, as a trace tells it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IoOutcome {
    /// It moved this many bytes.
    Bytes(usize),
    /// It completed (a connection accepted, a datagram sent, ...).
    Done,
    /// It found nothing to do.
    WouldBlock,
    /// It failed.
    Failed(io::ErrorKind),
    /// The task parked, waiting for the direction.
    Parked,
    /// A listener accepted a connection, now this fd.
    Accepted(RawFd),
}

impl IoOutcome {
    /// The outcome of `result`, whose byte count `bytes` tells.
    pub(crate) fn of<R>(result: &io::Result<R>, bytes: fn(&R) -> Option<usize>) -> IoOutcome {
        match result {
            Ok(value) => bytes(value).map_or(IoOutcome::Done, IoOutcome::Bytes),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => IoOutcome::WouldBlock,
            Err(e) => IoOutcome::Failed(e.kind()),
        }
    }
}

/// One operation of the poll being traced.
#[derive(Debug, Clone, Copy)]
struct IoRecord {
    /// The fd.
    fd: RawFd,
    /// Reading or writing.
    direction: Direction,
    /// What happened.
    outcome: IoOutcome,
}

/// A task as the trace names it.
#[derive(Debug, Clone)]
struct TaskLabel {
    /// Its id.
    id: Id,
    /// Its name, if it has one.
    name: Option<Rc<str>>,
}

impl TaskLabel {
    /// `task 4 "name"`, or `task 4`.
    fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("task {} \"{name}\"", self.id),
            None => format!("task {}", self.id),
        }
    }
}

/// What the runtime reports, and where.
#[derive(Debug)]
pub(crate) struct Tracer {
    /// When the runtime started: lines say the time since.
    start: Instant,
    /// Where lines go.
    out: LineWriter,
    /// Whether the event trace is on (else only stall reports are written).
    lines: bool,
    /// Polls longer than this are reported.
    stall: Option<Duration>,
    /// Live tasks, by slab key.
    tasks: RefCell<HashMap<Key, TaskLabel>>,
    /// Task keys by waker data address, to name the task a timer wakes.
    wakers: RefCell<HashMap<usize, Key>>,
    /// The task being polled (`None`: the future given to `block_on`).
    polled: Cell<Option<Key>>,
    /// The operations of the poll in progress.
    ops: RefCell<Vec<IoRecord>>,
    /// When each queued task was woken, for the schedule-latency histogram.
    woken_at: RefCell<HashMap<Key, Instant>>,
    /// Poll times, if enabled.
    poll_times: Option<RefCell<Histogram>>,
    /// Wake-to-poll latencies, if enabled.
    schedule_latencies: Option<RefCell<Histogram>>,
}

/// What a [`Tracer`] should do.
#[derive(Default)]
pub(crate) struct TraceConfig {
    /// Where the event trace goes; `None`: no event trace.
    pub(crate) lines: Option<Box<dyn io::Write + Send>>,
    /// Report polls longer than this.
    pub(crate) stall: Option<Duration>,
    /// Keep the poll-time and schedule-latency histograms.
    pub(crate) histograms: bool,
}

impl std::fmt::Debug for TraceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceConfig")
            .field("lines", &self.lines.is_some())
            .field("stall", &self.stall)
            .field("histograms", &self.histograms)
            .finish()
    }
}

impl TraceConfig {
    /// True if nothing is asked for: the runtime then has no tracer.
    pub(crate) fn is_off(&self) -> bool {
        self.lines.is_none() && self.stall.is_none() && !self.histograms
    }
}

impl Tracer {
    /// A tracer doing what `config` asks.
    pub(crate) fn new(config: TraceConfig) -> Tracer {
        let lines = config.lines.is_some();
        let out = config
            .lines
            .unwrap_or_else(|| Box::new(io::stderr()) as Box<dyn io::Write + Send>);
        let histogram = || {
            config
                .histograms
                .then(|| RefCell::new(Histogram::default()))
        };
        Tracer {
            start: Instant::now(),
            out: LineWriter::spawn(out),
            lines,
            stall: config.stall,
            tasks: RefCell::default(),
            wakers: RefCell::default(),
            polled: Cell::new(None),
            ops: RefCell::default(),
            woken_at: RefCell::default(),
            poll_times: histogram(),
            schedule_latencies: histogram(),
        }
    }

    /// True if the event trace is on.
    pub(crate) fn traces(&self) -> bool {
        self.lines
    }

    /// Writes one line, stamped with the time since the start.
    fn line(&self, text: &str) {
        let elapsed = self.start.elapsed().as_secs_f64();
        self.out.write(format!("+{elapsed:.6}s {text}\n"));
    }

    /// The label of the task under `key`.
    fn task(&self, key: Key) -> String {
        self.tasks
            .borrow()
            .get(&key)
            .map_or_else(|| "a finished task".to_string(), TaskLabel::describe)
    }

    /// A task was spawned.
    pub(crate) fn spawned(&self, key: Key, id: Id, name: Option<Rc<str>>, waker_data: usize) {
        let label = TaskLabel { id, name };
        if self.lines {
            self.line(&format!("{} spawned", label.describe()));
        }
        self.tasks.borrow_mut().insert(key, label);
        self.wakers.borrow_mut().insert(waker_data, key);
    }

    /// A task ended: finished, panicked, or cancelled.
    pub(crate) fn finished(&self, key: Key, waker_data: usize, how: &str) {
        if self.lines {
            self.line(&format!("{} {how}", self.task(key)));
        }
        self.tasks.borrow_mut().remove(&key);
        self.wakers.borrow_mut().remove(&waker_data);
        self.woken_at.borrow_mut().remove(&key);
    }

    /// Task `key` was queued (woken), for the schedule latency.
    pub(crate) fn queued(&self, key: Key) {
        if self.schedule_latencies.is_some() {
            self.woken_at
                .borrow_mut()
                .entry(key)
                .or_insert_with(Instant::now);
        }
    }

    /// A poll of task `key` (or of `block_on`'s future) begins.
    pub(crate) fn begin_poll(&self, key: Option<Key>) -> Instant {
        self.polled.set(key);
        self.ops.borrow_mut().clear();
        let now = Instant::now();
        if let (Some(key), Some(histogram)) = (key, &self.schedule_latencies) {
            if let Some(woken) = self.woken_at.borrow_mut().remove(&key) {
                histogram.borrow_mut().record(now - woken);
            }
        }
        now
    }

    /// The poll that began at `started` returned; `pending` says how.
    pub(crate) fn end_poll(&self, key: Option<Key>, started: Instant, pending: bool) {
        let took = started.elapsed();
        self.polled.set(None);
        if let (Some(histogram), Some(_)) = (&self.poll_times, key) {
            histogram.borrow_mut().record(took);
        }
        let who = match key {
            Some(key) => self.task(key),
            None => "the block_on future".to_string(),
        };
        if self.lines {
            let ops = std::mem::take(&mut *self.ops.borrow_mut());
            let mut text = format!("{who} polled {}", micros(took));
            let mut parked = Vec::new();
            let mut first = true;
            for op in &ops {
                if let IoOutcome::Parked = op.outcome {
                    parked.push(format!("fd {} {}", op.fd, direction_word(op.direction)));
                    continue;
                }
                text.push_str(if first { ": " } else { ", " });
                first = false;
                describe_op(&mut text, op);
            }
            if pending {
                if parked.is_empty() {
                    text.push_str(" -> pending");
                } else {
                    let _ = write!(text, " -> parked on {}", parked.join(", "));
                }
            } else {
                text.push_str(" -> done");
            }
            self.line(&text);
        }
        if let Some(stall) = self.stall {
            if took > stall {
                self.out.write(format!(
                    "runtime: {who} held the thread for {} in one poll (stall threshold {}): \
                     a blocking call in an async task stalls every other task\n",
                    millis(took),
                    millis(stall)
                ));
            }
        }
    }

    /// An I/O operation on `fd`, in the poll in progress.
    pub(crate) fn io(&self, fd: RawFd, direction: Direction, outcome: IoOutcome) {
        if self.lines {
            self.ops.borrow_mut().push(IoRecord {
                fd,
                direction,
                outcome,
            });
        }
    }

    /// The polled task spent its budget and yields.
    pub(crate) fn budget_yield(&self, budget: u32) {
        if self.lines {
            let who = match self.polled.get() {
                Some(key) => self.task(key),
                None => "the block_on future".to_string(),
            };
            self.line(&format!(
                "{who} used its budget ({budget} operations) -> yields until after the next turn"
            ));
        }
    }

    /// An fd was registered, by the polled task if any.
    pub(crate) fn registered(&self, fd: RawFd) -> Option<Rc<str>> {
        let label = self
            .polled
            .get()
            .and_then(|key| self.tasks.borrow().get(&key).and_then(|t| t.name.clone()));
        if self.lines {
            match &label {
                Some(label) => self.line(&format!("fd {fd} [{label}] registered")),
                None => self.line(&format!("fd {fd} registered")),
            }
        }
        label
    }

    /// An fd was deregistered.
    pub(crate) fn deregistered(&self, fd: RawFd) {
        if self.lines {
            self.line(&format!("fd {fd} deregistered"));
        }
    }

    /// A turn waited `waited` with `timeout` and got `events` events.
    pub(crate) fn turn(&self, timeout: Option<Duration>, events: usize, waited: Duration) {
        if self.lines {
            let timeout = match timeout {
                None => "none".to_string(),
                Some(t) if t.is_zero() => "0".to_string(),
                Some(t) => seconds(t),
            };
            let plural = if events == 1 { "event" } else { "events" };
            self.line(&format!(
                "turn: epoll_wait(timeout {timeout}) -> {events} {plural} after {}",
                seconds(waited)
            ));
        }
    }

    /// An event for `fd` brought `ready` and woke `tasks` and `wakers`
    /// other wakers.
    pub(crate) fn event(
        &self,
        fd: RawFd,
        label: Option<&str>,
        token: Key,
        ready: &str,
        tasks: &[Key],
        wakers: usize,
    ) {
        if !self.lines {
            return;
        }
        let mut text = format!("  fd {fd}");
        if let Some(label) = label {
            let _ = write!(text, " [{label}]");
        }
        let _ = write!(text, " {ready} (token {})", token_words(token));
        let mut woken: Vec<String> = tasks.iter().map(|key| self.task(*key)).collect();
        if wakers > 0 {
            woken.push(format!("{wakers} other waker(s)"));
        }
        if woken.is_empty() {
            text.push_str(" -> nobody waits");
        } else {
            let _ = write!(text, " -> wakes {}", woken.join(", "));
        }
        self.line(&text);
    }

    /// A timer was set, by the polled task if any.
    pub(crate) fn timer_set(&self, after: Duration) {
        if self.lines {
            let who = match self.polled.get() {
                Some(key) => self.task(key),
                None => "the block_on future".to_string(),
            };
            self.line(&format!("timer set by {who}: fires in {}", seconds(after)));
        }
    }

    /// A timer fired, waking the waker whose data address is `waker_data`.
    pub(crate) fn timer_fired(&self, waker_data: usize) {
        if self.lines {
            let key = self.wakers.borrow().get(&waker_data).copied();
            let who = key.map_or_else(|| "a waker".to_string(), |key| self.task(key));
            self.line(&format!("timer fired -> wakes {who}"));
        }
    }

    /// Task `key` was woken from another thread.
    pub(crate) fn remote_wake(&self, key: Key) {
        if self.lines {
            self.line(&format!(
                "wake from another thread -> {} queued",
                self.task(key)
            ));
        }
    }

    /// The histograms, if kept.
    pub(crate) fn histograms(&self) -> (Option<Histogram>, Option<Histogram>) {
        (
            self.poll_times.as_ref().map(|h| *h.borrow()),
            self.schedule_latencies.as_ref().map(|h| *h.borrow()),
        )
    }
}

/// Appends one operation's words to `text`.
fn describe_op(text: &mut String, op: &IoRecord) {
    let (did, would) = match op.direction {
        Direction::Read => ("read", "read"),
        Direction::Write => ("wrote", "write"),
    };
    let _ = match op.outcome {
        IoOutcome::Bytes(n) => write!(text, "{did} {n} B"),
        IoOutcome::Done => write!(text, "{would} done"),
        IoOutcome::WouldBlock => write!(text, "{would} would block"),
        IoOutcome::Failed(kind) => write!(text, "{would} failed ({kind})"),
        IoOutcome::Parked => Ok(()),
        IoOutcome::Accepted(fd) => write!(text, "accepted fd {fd}"),
    };
    let _ = write!(text, " on fd {}", op.fd);
}

/// `readable` or `writable`.
fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Read => "readable",
        Direction::Write => "writable",
    }
}

/// A token as `index.generation`.
fn token_words(token: Key) -> String {
    let word = token.to_u64();
    format!("{}.{}", word as u32, word >> 32)
}

/// `1.9 us`.
fn micros(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

/// `12.5 ms`.
fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// `2.1 s`, or `350 us` below a millisecond.
fn seconds(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        micros(d)
    } else if d < Duration::from_secs(1) {
        millis(d)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
