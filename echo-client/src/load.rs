//! Load mode: many connections keep messages in flight against an echo
//! server and verify every echoed byte.
//!
//! Each connection runs two tasks on the runtime: a writer that sends
//! messages while fewer than `depth` are unanswered (so exactly `depth` are
//! in flight), and a reader that reads each echo, checks it byte for byte
//! against what was sent, and records the round-trip latency. Message
//! contents come from a per-connection pseudo-random stream, so the reader
//! regenerates the expected bytes instead of keeping copies. Latencies go
//! into a fixed-size log-linear histogram, so memory does not grow with the
//! run's length.
//!
//! In churn mode ([`LoadMode::Churn`]) each of `conns` clients instead
//! connects, echoes one message, closes, and starts again: a message is a
//! whole connection, and its latency runs from the connect to the server's
//! end of stream.
//!
//! Every number in a [`LoadConfig`] has a bound ([`LoadConfig::check`]), so
//! a typo cannot make the client allocate terabytes or compute an instant
//! past the end of time.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime::sync::Notify;
use runtime::task::JoinHandle;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The echo server.
    pub addr: String,
    /// Connections open at once (in churn mode: clients at once).
    pub conns: usize,
    /// Bytes per message.
    pub size: usize,
    /// How long to keep sending.
    pub duration: Duration,
    /// Messages in flight per connection (1 in churn mode).
    pub depth: usize,
    /// Long-lived connections, or a new connection per message.
    pub mode: LoadMode,
    /// How long a connect may take.
    pub connect_timeout: Duration,
}

/// How the load uses connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// `conns` connections, each with `depth` messages in flight, for the
    /// whole run.
    Echo,
    /// `conns` clients, each connecting, echoing one message and closing,
    /// over and over.
    Churn,
}

/// The most connections (`--conns`): beyond what one load thread drives
/// well, and what fd limits usually allow.
pub const MAX_CONNS: usize = 50_000;

/// The largest message (`--size`): 16 MiB.
pub const MAX_SIZE: usize = 16 << 20;

/// The most messages in flight per connection (`--depth`).
pub const MAX_DEPTH: usize = 1024;

/// The longest run (`--duration`): a day.
pub const MAX_DURATION: Duration = Duration::from_secs(86_400);

/// The most bytes in flight at once, `conns × depth × size`: 1 GiB. The
/// kernel holds them in socket buffers (Linux's TCP memory limit,
/// `net.ipv4.tcp_mem`, is a tenth of RAM or so), and the client's own
/// buffers are at most three messages per connection.
pub const MAX_IN_FLIGHT: u64 = 1 << 30;

impl LoadConfig {
    /// Checks every number against its bound.
    ///
    /// # Errors
    ///
    /// A message naming the option (`--conns`, `--size`, `--duration`,
    /// `--depth`, or their product) and its bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use echo_client::{LoadConfig, LoadMode};
    ///
    /// let config = LoadConfig {
    ///     addr: "127.0.0.1:6666".into(),
    ///     conns: 50,
    ///     size: 512,
    ///     duration: Duration::from_secs(10),
    ///     depth: 1,
    ///     mode: LoadMode::Echo,
    ///     connect_timeout: Duration::from_secs(10),
    /// };
    /// assert!(config.check().is_ok());
    /// let huge = LoadConfig { size: 1 << 40, ..config };
    /// assert!(huge.check().unwrap_err().contains("--size"));
    /// ```
    pub fn check(&self) -> Result<(), String> {
        within("--conns", self.conns, MAX_CONNS)?;
        within("--size", self.size, MAX_SIZE)?;
        within("--depth", self.depth, MAX_DEPTH)?;
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            return Err(format!(
                "--duration must be more than 0 and at most {} s, not {:?}",
                MAX_DURATION.as_secs(),
                self.duration
            ));
        }
        if self.mode == LoadMode::Churn && self.depth != 1 {
            return Err("--depth must be 1 with --churn (one message per connection)".into());
        }
        let in_flight = (self.conns as u64)
            .saturating_mul(self.depth as u64)
            .saturating_mul(self.size as u64);
        if in_flight > MAX_IN_FLIGHT {
            return Err(format!(
                "--conns × --depth × --size is {in_flight} bytes in flight; at most {MAX_IN_FLIGHT} (1 GiB)"
            ));
        }
        Ok(())
    }
}

/// `Ok` if `value` of option `name` is in `1..=max`.
fn within(name: &str, value: usize, max: usize) -> Result<(), String> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!("{name} must be from 1 to {max}, not {value}"))
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Messages echoed and verified.
    pub messages: u64,
    /// Bytes per message.
    pub size: usize,
    /// How the connections were used.
    pub mode: LoadMode,
    /// From the start of the run (for an echo load, once every connection
    /// is up) to the last echo.
    pub elapsed: Duration,
    /// Round-trip latencies.
    pub latency: Histogram,
    /// Connections that failed: a mismatch, an unexpected close, an error.
    pub errors: Vec<String>,
}

impl LoadReport {
    /// Messages per second.
    pub fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    /// Echoed MiB per second (one direction).
    pub fn mib_per_sec(&self) -> f64 {
        self.rate() * self.size as f64 / (1024.0 * 1024.0)
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.latency;
        writeln!(
            f,
            "{} messages of {} B in {:.2} s: {:.0} msg/s, {:.2} MiB/s",
            self.messages,
            self.size,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.mib_per_sec()
        )?;
        if self.mode == LoadMode::Churn {
            writeln!(
                f,
                "churn: each message on a new connection (connect, echo, close)"
            )?;
        }
        writeln!(
            f,
            "latency: p50 {:?}  p99 {:?}  p999 {:?}  max {:?}",
            l.percentile(50.0),
            l.percentile(99.0),
            l.percentile(99.9),
            l.max()
        )?;
        write!(f, "errors: {}", self.errors.len())?;
        for e in self.errors.iter().take(10) {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// Runs the load and returns what it measured. Connection failures are
/// counted in the report, not returned.
///
/// Cancel safety: dropping the future leaves the connections' tasks
/// running until the run's end; they hold nothing but their sockets.
///
/// # Errors
///
/// Only if the configuration is out of its bounds ([`LoadConfig::check`]).
pub async fn run_load(config: LoadConfig) -> io::Result<LoadReport> {
    config
        .check()
        .map_err(|message| io::Error::new(io::ErrorKind::InvalidInput, message))?;
    let shared = Rc::new(Shared::default());
    let start = Rc::new(Start::default());
    let connections = match config.mode {
        LoadMode::Echo => {
            let connections = connect_all(&config, &shared, &start).await;
            start.begin(config.duration)?;
            connections
        }
        LoadMode::Churn => {
            // Connecting is the work: the clock starts at once.
            start.begin(config.duration)?;
            (0..config.conns)
                .map(|id| {
                    let task = churn(id as u64, config.clone(), start.clone(), shared.clone());
                    runtime::spawn(task)
                })
                .collect()
        }
    };
    let began = Instant::now();
    let progress = std::io::stderr()
        .is_terminal()
        .then(|| runtime::spawn(show_progress(shared.clone(), began)));
    for handle in connections {
        if let Err(e) = handle.await.unwrap_or_else(|e| Err(e.to_string())) {
            shared.errors.borrow_mut().push(e);
        }
    }
    let elapsed = began.elapsed();
    if let Some(progress) = progress {
        progress.abort();
        eprint!("\r\x1b[K");
    }
    let errors = std::mem::take(&mut *shared.errors.borrow_mut());
    let latency = shared.latency.borrow().clone();
    Ok(LoadReport {
        messages: shared.messages.get(),
        size: config.size,
        mode: config.mode,
        elapsed,
        latency,
        errors,
    })
}

/// Connects at most this many at once: a listener's backlog (1,024 for
/// ours) drops the SYNs of a larger storm, and each dropped one costs a
/// second's retransmission timeout.
const CONNECTING_AT_ONCE: usize = 256;

/// Spawns the connections of an echo load, [`CONNECTING_AT_ONCE`] at a
/// time, waits until all are connected (or failed), and starts the clock.
///
/// Cancel safety: dropping it leaves the spawned connections waiting for a
/// start that never comes, until their runtime is dropped.
async fn connect_all(
    config: &LoadConfig,
    shared: &Rc<Shared>,
    start: &Rc<Start>,
) -> Vec<JoinHandle<Result<(), String>>> {
    let mut connections = Vec::with_capacity(config.conns);
    for id in 0..config.conns {
        let task = connection(id as u64, config.clone(), start.clone(), shared.clone());
        connections.push(runtime::spawn(task));
        if connections.len() % CONNECTING_AT_ONCE == 0 {
            start.until_arrived(connections.len()).await;
        }
    }
    start.until_arrived(connections.len()).await;
    connections
}

/// When the timed part of a run begins: for an echo load, once every
/// connection is up, so that connecting thousands does not count.
#[derive(Debug, Default)]
struct Start {
    /// Connections up (or failed) so far.
    arrived: Cell<usize>,
    /// Notified when one arrives.
    arrival: Notify,
    /// When sending stops; set when the run begins.
    stop_at: Cell<Option<Instant>>,
    /// Notified when the run begins.
    begun: Notify,
}

impl Start {
    /// Records that a connection is up, or failed.
    fn arrive(&self) {
        self.arrived.set(self.arrived.get() + 1);
        self.arrival.notify_one();
    }

    /// Waits until `count` connections arrived.
    ///
    /// Cancel safety: cancel-safe.
    async fn until_arrived(&self, count: usize) {
        while self.arrived.get() < count {
            self.arrival.notified().await;
        }
    }

    /// Begins the run: sending stops `duration` from now.
    fn begin(&self, duration: Duration) -> io::Result<()> {
        let stop_at = Instant::now()
            .checked_add(duration)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "--duration is too long"))?;
        self.stop_at.set(Some(stop_at));
        self.begun.notify_waiters();
        Ok(())
    }

    /// Waits until the run begins; returns when sending stops.
    ///
    /// Cancel safety: cancel-safe.
    async fn stop_at(&self) -> Instant {
        loop {
            // Created before the check: a `begin` in between still wakes it.
            let begun = self.begun.notified();
            if let Some(stop_at) = self.stop_at.get() {
                return stop_at;
            }
            begun.await;
        }
    }
}

/// What all connections add to.
#[derive(Debug, Default)]
struct Shared {
    /// Messages echoed and verified so far.
    messages: Cell<u64>,
    /// Their round-trip latencies.
    latency: RefCell<Histogram>,
    /// One line per failed connection.
    errors: RefCell<Vec<String>>,
}

/// Prints the elapsed time and the rate so far once a second.
///
/// Cancel safety: cancel-safe (it only prints).
async fn show_progress(shared: Rc<Shared>, start: Instant) {
    let mut ticks = runtime::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let secs = start.elapsed().as_secs_f64();
        let messages = shared.messages.get();
        eprint!(
            "\r\x1b[K{secs:.0} s: {messages} messages, {:.0} msg/s",
            messages as f64 / secs
        );
        let _ = std::io::stderr().flush();
    }
}

/// One connection: a writer task and this reader, `depth` messages apart.
///
/// Cancel safety: dropping it ends the connection; its report is lost.
async fn connection(
    id: u64,
    config: LoadConfig,
    start: Rc<Start>,
    shared: Rc<Shared>,
) -> Result<(), String> {
    let connected = crate::connect(&config.addr, config.connect_timeout).await;
    // The buffers are made, and their pages touched (filled with ones, not
    // zeros, which the allocator would hand out untouched), before the
    // clock starts: with thousands of large messages the page faults alone
    // took longer than a short run.
    let mut message = vec![1; config.size];
    let mut want = vec![1; config.size];
    let outgoing = vec![1; config.size];
    start.arrive();
    let stream = connected
        .map_err(|e| format!("connection {id}: cannot connect to {}: {e}", config.addr))?;
    let stop_at = start.stop_at().await;
    let stream = Rc::new(stream);
    let window = Rc::new(Window::new(config.depth));
    let writer = runtime::spawn(write_messages(
        id,
        stream.clone(),
        outgoing,
        stop_at,
        window.clone(),
    ));

    let mut expected = MessageStream::new(id);
    let mut reader = &*stream;
    while let Some(sent_at) = window.oldest().await {
        if let Err(e) = reader.read_exact(&mut message).await {
            // A failed send breaks the connection too: report that first.
            if writer.is_finished() {
                if let Ok(Err(sending)) = writer.await {
                    return Err(sending);
                }
            } else {
                writer.abort();
            }
            return Err(format!("connection {id}: reading an echo: {e}"));
        }
        expected.fill(&mut want);
        if message != want {
            writer.abort();
            let at = message
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(format!(
                "connection {id}: echo differs at byte {at} of a message"
            ));
        }
        shared.latency.borrow_mut().record(sent_at.elapsed());
        shared.messages.set(shared.messages.get() + 1);
        window.echoed();
    }
    writer.await.map_err(|e| e.to_string())??;
    // Everything sent came back; the server must now see EOF and close.
    stream.shutdown_with(std::net::Shutdown::Write).ok();
    let mut extra = [0; 1];
    match reader.read(&mut extra).await {
        Ok(0) => Ok(()),
        Ok(_) => Err(format!(
            "connection {id}: the server sent bytes nobody sent"
        )),
        Err(e) => Err(format!("connection {id}: closing: {e}")),
    }
}

/// One churn client: until `stop_at`, connects, echoes one message,
/// half-closes, waits for the server's end of stream, and starts again.
///
/// Cancel safety: dropping it ends the current connection uncounted.
async fn churn(
    id: u64,
    config: LoadConfig,
    start: Rc<Start>,
    shared: Rc<Shared>,
) -> Result<(), String> {
    let stop_at = start.stop_at().await;
    let mut source = MessageStream::new(id);
    let mut message = vec![0; config.size];
    let mut echo = vec![0; config.size];
    let mut round = 0u64;
    while Instant::now() < stop_at {
        let started = Instant::now();
        let fail =
            |what: &str, e: io::Error| format!("client {id}, connection {round}: {what}: {e}");
        let stream = crate::connect(&config.addr, config.connect_timeout)
            .await
            .map_err(|e| fail(&format!("cannot connect to {}", config.addr), e))?;
        let (mut reader, mut writer) = (&stream, &stream);
        source.fill(&mut message);
        writer
            .write_all(&message)
            .await
            .map_err(|e| fail("sending", e))?;
        reader
            .read_exact(&mut echo)
            .await
            .map_err(|e| fail("reading the echo", e))?;
        if echo != message {
            return Err(format!("client {id}, connection {round}: the echo differs"));
        }
        stream
            .shutdown_with(std::net::Shutdown::Write)
            .map_err(|e| fail("closing", e))?;
        match reader.read(&mut echo[..1]).await {
            Ok(0) => {}
            Ok(_) => {
                return Err(format!(
                    "client {id}, connection {round}: bytes nobody sent"
                ))
            }
            Err(e) => return Err(fail("waiting for the server's end of stream", e)),
        }
        shared.latency.borrow_mut().record(started.elapsed());
        shared.messages.set(shared.messages.get() + 1);
        round += 1;
    }
    Ok(())
}

/// Sends messages of `message.len()` bytes (written into `message`) until
/// `stop_at`, each once the window has room.
///
/// Cancel safety: a message being written is cut short, which breaks
/// the connection's stream; only dropped with its connection.
async fn write_messages(
    id: u64,
    stream: Rc<TcpStream>,
    mut message: Vec<u8>,
    stop_at: Instant,
    window: Rc<Window>,
) -> Result<(), String> {
    let mut source = MessageStream::new(id);
    let mut writer = &*stream;
    let mut result = Ok(());
    while Instant::now() < stop_at {
        window.room().await;
        window.sent(Instant::now());
        source.fill(&mut message);
        if let Err(e) = writer.write_all(&message).await {
            result = Err(format!("connection {id}: sending: {e}"));
            break;
        }
    }
    window.close();
    result
}

/// The messages of one connection that were sent and not yet echoed: at
/// most `depth` of them, so exactly `depth` are in flight while the
/// connection is busy.
#[derive(Debug)]
struct Window {
    /// Messages allowed in flight.
    depth: usize,
    /// Send instants of the messages in flight, oldest first.
    in_flight: RefCell<VecDeque<Instant>>,
    /// No more messages will be sent.
    closed: Cell<bool>,
    /// Wakes the writer when an echo came back.
    freed: Notify,
    /// Wakes the reader when a message was sent or the writer stopped.
    changed: Notify,
}

impl Window {
    /// An empty window for `depth` messages.
    fn new(depth: usize) -> Window {
        Window {
            depth,
            in_flight: RefCell::new(VecDeque::with_capacity(depth)),
            closed: Cell::new(false),
            freed: Notify::new(),
            changed: Notify::new(),
        }
    }

    /// Waits until another message may be sent.
    ///
    /// Cancel safety: cancel-safe.
    async fn room(&self) {
        while self.in_flight.borrow().len() >= self.depth {
            self.freed.notified().await;
        }
    }

    /// Records a message sent at `at`.
    fn sent(&self, at: Instant) {
        self.in_flight.borrow_mut().push_back(at);
        self.changed.notify_one();
    }

    /// Records that no more messages will be sent.
    fn close(&self) {
        self.closed.set(true);
        self.changed.notify_one();
    }

    /// The send instant of the oldest message in flight, waiting for one;
    /// `None` once the writer stopped and every echo came back.
    ///
    /// Cancel safety: cancel-safe.
    async fn oldest(&self) -> Option<Instant> {
        loop {
            let oldest = self.in_flight.borrow().front().copied();
            if oldest.is_some() || self.closed.get() {
                return oldest;
            }
            self.changed.notified().await;
        }
    }

    /// Records that the oldest message's echo came back.
    fn echoed(&self) {
        self.in_flight.borrow_mut().pop_front();
        self.freed.notify_one();
    }
}

/// The bytes of one connection's messages: a xorshift stream seeded by the
/// connection id, so writer and reader produce the same bytes.
#[derive(Debug, Clone)]
struct MessageStream(u64);

impl MessageStream {
    /// The stream of connection `id`.
    fn new(id: u64) -> MessageStream {
        MessageStream(id.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// Fills `buf` with the next bytes, eight at a time.
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// A latency histogram in fixed memory: for each power of two of
/// nanoseconds, 32 linear buckets, so a percentile is exact to
/// within 1/32 of its value.
#[derive(Debug, Clone)]
pub struct Histogram {
    /// Counts per bucket.
    counts: Vec<u64>,
    /// Samples recorded.
    total: u64,
    /// The largest sample.
    max: Duration,
}

/// Linear buckets per power of two.
const SUB_BUCKETS: u64 = 32;

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            counts: vec![0; (64 * SUB_BUCKETS) as usize],
            total: 0,
            max: Duration::ZERO,
        }
    }
}

impl Histogram {
    /// The bucket of `nanos`.
    fn bucket(nanos: u64) -> usize {
        if nanos < SUB_BUCKETS {
            return nanos as usize;
        }
        let power = 63 - nanos.leading_zeros() as u64; // nanos >= 2^power
        let shift = power - SUB_BUCKETS.trailing_zeros() as u64;
        let sub = (nanos >> shift) - SUB_BUCKETS; // 0..SUB_BUCKETS
        ((power - SUB_BUCKETS.trailing_zeros() as u64 + 1) * SUB_BUCKETS + sub) as usize
    }

    /// The smallest value that falls in bucket `index` (its lower bound).
    fn lower_bound(index: usize) -> u64 {
        let index = index as u64;
        if index < SUB_BUCKETS {
            return index;
        }
        let shift = index / SUB_BUCKETS - 1;
        (SUB_BUCKETS + index % SUB_BUCKETS) << shift
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let index = Self::bucket(nanos).min(self.counts.len() - 1);
        self.counts[index] += 1;
        self.total += 1;
        self.max = self.max.max(latency);
    }

    /// The latency below which `percent` of the samples fall (to within the
    /// bucket width); zero without samples.
    pub fn percentile(&self, percent: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((percent / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_nanos(Self::lower_bound(index)).min(self.max);
            }
        }
        self.max
    }

    /// The largest latency recorded.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// Samples recorded.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for nanos in (0..10_000_000u64).step_by(997) {
            let b = Histogram::bucket(nanos);
            assert!(b >= last, "bucket order at {nanos}");
            last = b;
            let low = Histogram::lower_bound(b);
            assert!(low <= nanos, "{low} > {nanos}");
            assert!(
                nanos - low <= nanos / SUB_BUCKETS + 1,
                "bucket of {nanos} starts at {low}"
            );
        }
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = Histogram::default();
        for micros in 1..=1000 {
            h.record(Duration::from_micros(micros));
        }
        let p50 = h.percentile(50.0).as_micros() as i64;
        let p99 = h.percentile(99.0).as_micros() as i64;
        assert!((p50 - 500).abs() <= 500 / 32 + 1, "p50 {p50}");
        assert!((p99 - 990).abs() <= 990 / 32 + 1, "p99 {p99}");
        assert_eq!(h.max(), Duration::from_micros(1000));
        assert_eq!(h.len(), 1000);
    }

    #[test]
    fn writer_and_reader_streams_agree() {
        let mut a = MessageStream::new(7);
        let mut b = MessageStream::new(7);
        let mut x = [0; 13];
        let mut y = [0; 13];
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        a.fill(&mut x);
        assert_ne!(x, y);
    }
}
