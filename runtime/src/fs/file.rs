//! [`File`]: an open file whose reads and writes run on the blocking pool,
//! through an internal buffer.
//!
//! # The state machine
//!
//! A `File` is either *idle*, holding its buffer, or *busy*: the buffer
//! went to a pool thread with one job, and the `File` holds the receiver
//! of the job's result. Every job first puts the file's position right
//! (seeks back over read-ahead nobody consumed, or writes out the buffered
//! bytes), then does its task (read a chunk, seek, `fsync`, ...), and
//! sends the buffer back. Jobs run one at a time, in the order they were
//! started, so the file sees the operations in program order.
//!
//! * **Reads** are served from the buffer while it holds read-ahead; when
//!   it is empty, one job reads up to `max(len, READ_MIN)` bytes (at most
//!   `MAX_BUF`), so small reads do not each cross threads.
//! * **Writes** are copied into the buffer and return at once; a full
//!   buffer (`WRITE_MIN` or more) goes to a pool thread right away and
//!   the write after it waits for that job. A write's error is reported
//!   by the next operation (as in tokio), and [`flush`] waits until
//!   everything is written.
//!
//! [`flush`]: crate::io::AsyncWriteExt::flush

use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::{poll_fn, Future};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::mem;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::thread;

use super::{with_path, OpenOptions};
use crate::blocking::BlockingPool;
use crate::coop;
use crate::executor::context;
use crate::io::{AsyncRead, AsyncWrite};
use crate::sync::oneshot;
use crate::time::Inhibitor;

/// The least a read job asks the file for, whatever the read's length: a
/// 4 KiB read fills the buffer for 63 more.
const READ_MIN: usize = 256 * 1024;

/// Buffered write bytes that go to a pool thread at once, without waiting
/// for more.
const WRITE_MIN: usize = 256 * 1024;

/// The most one job reads or one write takes in: bounds the buffer.
const MAX_BUF: usize = 2 * 1024 * 1024;

/// An open file, read and written through the runtime's
/// [`AsyncRead`]/[`AsyncWrite`] traits, with the blocking work on the
/// runtime's blocking pool (see the [module docs](super)).
///
/// Reads go through a read-ahead buffer and writes through a write-behind
/// buffer, one pool round trip per chunk. So:
///
/// * **Flush before you rely on the file's contents**:
///   [`flush`](crate::io::AsyncWriteExt::flush) waits until every byte
///   written is in the kernel (not on disk: that is
///   [`sync_all`](File::sync_all)).
/// * **Dropping a `File` never loses a write**: a write in flight runs to
///   completion on its pool thread, and bytes still buffered are handed to
///   one; only their errors go unseen. Call `flush` to see them.
///
/// # Cancel safety
///
/// * `read` (through [`AsyncReadExt`](crate::io::AsyncReadExt)) is
///   cancel-safe: a read dropped mid-way leaves the bytes it fetched in the
///   buffer, for the next read.
/// * `write` and `flush` are cancel-safe in that a write either took the
///   bytes (and they will be written, in order) or did not; a dropped
///   `write_all` leaves an unknown prefix written, as for any stream.
/// * [`seek`](File::seek), [`set_len`](File::set_len),
///   [`sync_all`](File::sync_all), [`sync_data`](File::sync_data),
///   [`set_permissions`](File::set_permissions) are **not** cancel-safe:
///   once started, the operation runs to completion on the pool even if
///   its future is dropped, and its result is lost (the next operation
///   waits for it). After a dropped `seek`, the position is unknown: seek
///   again with `SeekFrom::Start`.
///
/// # Examples
///
/// ```
/// use runtime::fs::File;
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::block_on(async {
///     let path = std::env::temp_dir().join(format!("file-doc-{}", std::process::id()));
///     let mut file = File::create(&path).await?;
///     file.write_all(b"hello, file").await?;
///     file.flush().await?;
///
///     let mut file = File::open(&path).await?;
///     let mut text = Vec::new();
///     file.read_to_end(&mut text).await?;
///     assert_eq!(text, b"hello, file");
///     runtime::fs::remove_file(&path).await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct File {
    /// The file, shared with the job in flight.
    std: Arc<std::fs::File>,
    /// Idle with the buffer, or busy with a job.
    state: State,
    /// The error of background work (a write-behind, a seek over
    /// read-ahead), reported by the next operation.
    pending_error: Option<io::Error>,
    /// The path it was opened with, for error messages.
    path: Option<Arc<Path>>,
    /// The blocking pool its jobs run on: the runtime's it was first used
    /// on.
    pool: Option<BlockingPool>,
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(buf) => match buf.mode {
                Mode::Empty => "idle",
                Mode::Read => "idle, read-ahead buffered",
                Mode::Write => "idle, writes buffered",
            },
            State::Busy(_) => "busy",
        };
        f.debug_struct("File")
            .field("std", &self.std)
            .field("path", &self.path)
            .field("state", &state)
            .finish()
    }
}

/// Whether a `File` waits for a job.
enum State {
    /// No job in flight: the buffer is here.
    Idle(Buf),
    /// A job has the buffer.
    Busy(Busy),
}

/// A job in flight.
struct Busy {
    /// Its result, with the buffer.
    result: oneshot::Receiver<thread::Result<(Buf, Outcome)>>,
    /// Keeps a paused clock from jumping ahead while the job runs.
    _inhibitor: Option<Inhibitor>,
}

/// What the buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing.
    Empty,
    /// Read-ahead: `bytes[start..end]` were read from the file but not
    /// consumed; the file's position is `end - start` past the logical one.
    Read,
    /// Write-behind: `bytes[start..end]` were written by the user but not
    /// to the file yet.
    Write,
}

/// A `File`'s buffer.
struct Buf {
    /// The storage; `bytes.len()` is what was ever initialised, so reads
    /// reuse it without zeroing.
    bytes: Vec<u8>,
    /// Start of the live bytes.
    start: usize,
    /// End of the live bytes.
    end: usize,
    /// What the live bytes are.
    mode: Mode,
}

impl Buf {
    /// An empty buffer, allocating nothing yet.
    fn new() -> Buf {
        Buf {
            bytes: Vec::new(),
            start: 0,
            end: 0,
            mode: Mode::Empty,
        }
    }

    /// The live bytes.
    fn live(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    /// Forgets the live bytes, keeping the storage.
    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
        self.mode = Mode::Empty;
    }

    /// Appends `src` to the write-behind bytes.
    fn push(&mut self, src: &[u8]) {
        debug_assert_ne!(self.mode, Mode::Read);
        let end = self.end + src.len();
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        self.bytes[self.end..end].copy_from_slice(src);
        self.end = end;
        self.mode = Mode::Write;
    }

    /// Moves read-ahead into `dst`; returns how much.
    fn pop(&mut self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.end - self.start);
        dst[..n].copy_from_slice(&self.bytes[self.start..self.start + n]);
        self.start += n;
        if self.start == self.end {
            self.clear();
        }
        n
    }
}

/// What a job does after putting the position right.
enum Task {
    /// Reads up to this many bytes into the buffer.
    Read(usize),
    /// Nothing more: the job only writes the buffer out (or seeks back).
    Flush,
    /// Seeks.
    Seek(SeekFrom),
    /// Truncates or extends.
    SetLen(u64),
    /// `fsync`.
    SyncAll,
    /// `fdatasync`.
    SyncData,
    /// `fchmod`.
    SetPermissions(Permissions),
}

/// What a job reports.
enum Outcome {
    /// Putting the position right failed (seeking back over read-ahead, or
    /// writing the buffer out); the task did not run.
    Prelude(io::Error),
    /// [`Task::Read`]: the bytes are in the buffer.
    Read(io::Result<usize>),
    /// [`Task::Flush`].
    Flushed,
    /// [`Task::Seek`]: the new position.
    Position(io::Result<u64>),
    /// [`Task::SetLen`], [`Task::SyncAll`], [`Task::SyncData`],
    /// [`Task::SetPermissions`].
    Done(io::Result<()>),
}

/// Runs on a pool thread: puts the position right, then does `task`.
fn run_job(file: &std::fs::File, mut buf: Buf, task: Task) -> (Buf, Outcome) {
    let mut file = file;
    // 1. Undo unconsumed read-ahead, or write buffered bytes out.
    let prelude = match buf.mode {
        Mode::Empty => Ok(()),
        Mode::Read => {
            let unread = (buf.end - buf.start) as i64;
            file.seek(SeekFrom::Current(-unread)).map(drop)
        }
        Mode::Write => file.write_all(buf.live()),
    };
    buf.clear();
    if let Err(e) = prelude {
        return (buf, Outcome::Prelude(e));
    }
    // 2. The task.
    let outcome = match task {
        Task::Read(len) => {
            if buf.bytes.len() < len {
                buf.bytes.resize(len, 0);
            }
            let read = loop {
                match file.read(&mut buf.bytes[..len]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    result => break result,
                }
            };
            if let Ok(n @ 1..) = read {
                buf.end = n;
                buf.mode = Mode::Read;
            }
            Outcome::Read(read)
        }
        Task::Flush => Outcome::Flushed,
        Task::Seek(pos) => Outcome::Position(file.seek(pos)),
        Task::SetLen(len) => Outcome::Done(file.set_len(len)),
        Task::SyncAll => Outcome::Done(file.sync_all()),
        Task::SyncData => Outcome::Done(file.sync_data()),
        Task::SetPermissions(perm) => Outcome::Done(file.set_permissions(perm)),
    };
    (buf, outcome)
}

impl File {
    /// Opens a file for reading.
    ///
    /// # Errors
    ///
    /// `NotFound`, `PermissionDenied`, ..., with the path in the message.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::fs::File;
    ///
    /// runtime::block_on(async {
    ///     let file = File::open("/proc/self/status").await?;
    ///     assert!(file.metadata().await?.is_file());
    ///     let err = File::open("/no/such/file").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     assert!(err.to_string().contains("/no/such/file"));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file for writing, creating it or truncating it.
    ///
    /// # Errors
    ///
    /// As [`open`](File::open).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::fs::File;
    /// use runtime::io::AsyncWriteExt;
    ///
    /// runtime::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("create-doc-{}", std::process::id()));
    ///     let mut file = File::create(&path).await?;
    ///     file.write_all(b"new").await?;
    ///     file.flush().await?;
    ///     assert_eq!(runtime::fs::read(&path).await?, b"new");
    ///     runtime::fs::remove_file(&path).await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates a new file for writing; fails if it exists.
    ///
    /// # Errors
    ///
    /// `AlreadyExists`, and as [`open`](File::open).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::fs::File;
    ///
    /// runtime::block_on(async {
    ///     let err = File::create_new("/").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// [`OpenOptions`] to open a file with: `File::options().append(true)`.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let file = runtime::fs::File::options().read(true).open("/proc/self/status").await?;
    ///     # drop(file);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// A `File` for an open `std` file, at its current position. Works
    /// outside a runtime; the file's operations must be polled in one.
    ///
    /// # Examples
    ///
    /// ```
    /// let std = std::fs::File::open("/proc/self/status")?;
    /// let file = runtime::fs::File::from_std(std);
    /// # drop(file);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(std: std::fs::File) -> File {
        File::with_path(std, None)
    }

    /// A `File` for `std`, naming `path` in its errors.
    pub(crate) fn with_path(std: std::fs::File, path: Option<PathBuf>) -> File {
        File {
            std: Arc::new(std),
            state: State::Idle(Buf::new()),
            pending_error: None,
            path: path.map(Arc::from),
            pool: None,
        }
    }

    /// Finishes every operation in flight, writes buffered bytes out and
    /// gives back read-ahead (seeking back), then returns the `std` file
    /// at the logical position.
    ///
    /// Not cancel-safe: dropping the future drops the `File`, with what
    /// that implies (see the type's docs).
    ///
    /// # Errors
    ///
    /// A pending write error, or the error of writing out / seeking back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut file = runtime::fs::File::open("/proc/self/status").await?;
    ///     let mut first = [0; 5];
    ///     file.read_exact(&mut first).await?; // reads ahead much more
    ///     let mut std = file.into_std().await?;
    ///     let mut next = [0; 1];
    ///     std.read_exact(&mut next)?; // ... but `std` goes on from byte 5
    ///     assert_eq!(&first, b"Name:");
    ///     assert_eq!(&next, b"\t");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        self.run(Task::Flush).await?;
        self.take_std()
    }

    /// The `std` file, if no operation is in flight and nothing is
    /// buffered; else the `File` back.
    ///
    /// # Errors
    ///
    /// The `File` itself, when it is busy or holds buffered bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let file = runtime::fs::File::open("/proc/self/status").await?;
    ///     assert!(file.try_into_std().is_ok());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_into_std(self) -> Result<std::fs::File, File> {
        match &self.state {
            State::Idle(buf) if buf.mode == Mode::Empty && Arc::strong_count(&self.std) == 1 => {
                let std = self.std.clone();
                drop(self);
                // The only other owner would be a job, and there is none.
                Ok(Arc::into_inner(std).expect("an idle file's only owner is the File"))
            }
            _ => Err(self),
        }
    }

    /// Takes the `std` file out of an idle `File` with nothing buffered
    /// (so that dropping it does nothing).
    fn take_std(self) -> io::Result<std::fs::File> {
        let std = self.std.clone();
        drop(self);
        // Only a job in flight holds another clone, and there is none.
        Arc::try_unwrap(std).or_else(|shared| shared.try_clone())
    }

    /// Seeks, as `std`'s `Seek::seek`, accounting for buffered bytes, and
    /// returns the new position from the start. (tokio has this as
    /// `AsyncSeekExt::seek`.)
    ///
    /// Not cancel-safe: see the type's docs.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a position before the start; a pending write
    /// error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::SeekFrom;
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut file = runtime::fs::File::open("/proc/self/status").await?;
    ///     let mut name = [0; 4];
    ///     file.read_exact(&mut name).await?;
    ///     assert_eq!(file.seek(SeekFrom::Current(-2)).await?, 2);
    ///     file.read_exact(&mut name[..2]).await?;
    ///     assert_eq!(&name[..2], b"me");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self.run(Task::Seek(pos)).await? {
            Outcome::Position(position) => position.map_err(|e| self.error(e)),
            _ => unreachable!("a seek job reports a position"),
        }
    }

    /// Seeks to the start.
    ///
    /// Not cancel-safe, as [`seek`](File::seek).
    ///
    /// # Errors
    ///
    /// As [`seek`](File::seek).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut file = runtime::fs::File::open("/proc/self/status").await?;
    ///     let (mut a, mut b) = ([0; 8], [0; 8]);
    ///     file.read_exact(&mut a).await?;
    ///     file.rewind().await?;
    ///     file.read_exact(&mut b).await?;
    ///     assert_eq!(a, b);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn rewind(&mut self) -> io::Result<()> {
        self.seek(SeekFrom::Start(0)).await.map(drop)
    }

    /// Truncates or extends the file to `len` bytes (buffered writes go
    /// first). The position does not move.
    ///
    /// Not cancel-safe: see the type's docs.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a file not open for writing; a pending write
    /// error.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncWriteExt;
    ///
    /// runtime::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("set-len-doc-{}", std::process::id()));
    ///     let mut file = runtime::fs::File::create(&path).await?;
    ///     file.write_all(b"0123456789").await?;
    ///     file.set_len(4).await?;
    ///     assert_eq!(file.metadata().await?.len(), 4);
    ///     runtime::fs::remove_file(&path).await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.run_done(Task::SetLen(len)).await
    }

    /// Writes buffered bytes out, then `fsync`s: data and metadata on
    /// disk.
    ///
    /// Not cancel-safe: see the type's docs.
    ///
    /// # Errors
    ///
    /// A write error, or the `fsync` error.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncWriteExt;
    ///
    /// runtime::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("sync-doc-{}", std::process::id()));
    ///     let mut file = runtime::fs::File::create(&path).await?;
    ///     file.write_all(b"durable").await?;
    ///     file.sync_all().await?;
    ///     runtime::fs::remove_file(&path).await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.run_done(Task::SyncAll).await
    }

    /// As [`sync_all`](File::sync_all), but `fdatasync`: metadata such as
    /// the modification time may lag.
    ///
    /// Not cancel-safe: see the type's docs.
    ///
    /// # Errors
    ///
    /// As [`sync_all`](File::sync_all).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncWriteExt;
    ///
    /// runtime::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("datasync-doc-{}", std::process::id()));
    ///     let mut file = runtime::fs::File::create(&path).await?;
    ///     file.write_all(b"data").await?;
    ///     file.sync_data().await?;
    ///     runtime::fs::remove_file(&path).await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.run_done(Task::SyncData).await
    }

    /// The file's metadata. As in tokio, this takes `&self` and does not
    /// wait for this `File`'s buffered writes: [`flush`] first for a
    /// length that counts them.
    ///
    /// Cancel-safe: it changes nothing.
    ///
    /// [`flush`]: crate::io::AsyncWriteExt::flush
    ///
    /// # Errors
    ///
    /// A pending write error, or the `fstat` error.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let file = runtime::fs::File::open("/proc/self/exe").await?;
    ///     assert!(file.metadata().await?.len() > 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        let path = self.path.clone();
        super::asyncify(move || {
            std.metadata().map_err(|e| match &path {
                Some(path) => with_path(e, path.display()),
                None => e,
            })
        })
        .await
    }

    /// Changes the file's permissions.
    ///
    /// Not cancel-safe: see the type's docs.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` if we do not own it; a pending write error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    ///
    /// runtime::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("chmod-doc-{}", std::process::id()));
    ///     let mut file = runtime::fs::File::create(&path).await?;
    ///     file.set_permissions(std::fs::Permissions::from_mode(0o600)).await?;
    ///     assert_eq!(file.metadata().await?.permissions().mode() & 0o777, 0o600);
    ///     runtime::fs::remove_file(&path).await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn set_permissions(&mut self, perm: Permissions) -> io::Result<()> {
        self.run_done(Task::SetPermissions(perm)).await
    }

    /// [`run`](File::run) for a task that reports `Done`.
    async fn run_done(&mut self, task: Task) -> io::Result<()> {
        match self.run(task).await? {
            Outcome::Done(done) => done.map_err(|e| self.error(e)),
            _ => unreachable!("the task reports Done"),
        }
    }

    /// Waits for the job in flight, then runs `task` and returns its
    /// outcome: `Prelude` errors and pending errors come back as `Err`.
    async fn run(&mut self, task: Task) -> io::Result<Outcome> {
        poll_fn(|cx| self.poll_idle(cx)).await?;
        self.start(task)?;
        let outcome = poll_fn(|cx| self.poll_complete(cx))
            .await
            .expect("a job was started");
        match outcome {
            Outcome::Prelude(e) => Err(self.error(e)),
            outcome => Ok(outcome),
        }
    }

    /// `e` with the path in front, if the `File` knows it.
    fn error(&self, e: io::Error) -> io::Error {
        match &self.path {
            Some(path) => with_path(e, path.display()),
            None => e,
        }
    }

    /// The idle buffer.
    fn buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("the buffer is asked for only when idle"),
        }
    }

    /// Sends the buffer and `task` to a pool thread.
    ///
    /// # Errors
    ///
    /// If no pool thread can be started (the buffered bytes are then
    /// lost with the job).
    fn start(&mut self, task: Task) -> io::Result<()> {
        let State::Idle(buf) = mem::replace(&mut self.state, State::Idle(Buf::new())) else {
            unreachable!("a job is started only when idle");
        };
        let core = context::current();
        let pool = self
            .pool
            .get_or_insert_with(|| core.shared.blocking.clone());
        let std = self.std.clone();
        let result = pool
            .run(move || run_job(&std, buf, task))
            .map_err(|e| self.error(e))?;
        self.state = State::Busy(Busy {
            result,
            _inhibitor: Some(core.clock.inhibit_auto_advance()),
        });
        Ok(())
    }

    /// Ready with the outcome of the job in flight once it completes (the
    /// buffer is back), or `None` at once if idle.
    fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<Option<Outcome>> {
        let State::Busy(busy) = &mut self.state else {
            return Poll::Ready(None);
        };
        let result = ready!(Pin::new(&mut busy.result).poll(cx));
        let (buf, outcome) = match result {
            Ok(Ok(done)) => done,
            // The job cannot panic (it only calls `std::fs`), and the pool
            // never drops one; but if it did, the buffer is lost: say so.
            Ok(Err(_)) | Err(_) => (
                Buf::new(),
                Outcome::Prelude(io::Error::other("a file operation was lost")),
            ),
        };
        self.state = State::Idle(buf);
        Poll::Ready(Some(outcome))
    }

    /// Ready once idle: waits for the job in flight, keeping the error of
    /// background work (write-behind) and dropping the results of
    /// operations whose futures were dropped; then reports a pending
    /// error.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(outcome) = ready!(self.poll_complete(cx)) {
            self.absorb(outcome);
        }
        match self.pending_error.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Keeps what matters of an outcome nobody awaits: the error of
    /// putting the position right (a write that failed).
    fn absorb(&mut self, outcome: Outcome) {
        if let Outcome::Prelude(e) = outcome {
            let e = self.error(e);
            self.pending_error.get_or_insert(e);
        }
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if let Some(outcome) = ready!(this.poll_complete(cx)) {
                match outcome {
                    Outcome::Read(Ok(0)) => return Poll::Ready(Ok(0)),
                    Outcome::Read(Ok(_)) => {}
                    Outcome::Read(Err(e)) => return Poll::Ready(Err(this.error(e))),
                    other => this.absorb(other),
                }
            }
            if let Some(e) = this.pending_error.take() {
                return Poll::Ready(Err(e));
            }
            if dst.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if this.buf().mode == Mode::Read {
                ready!(coop::poll_proceed(cx));
                return Poll::Ready(Ok(this.buf().pop(dst)));
            }
            // Empty, or bytes to write out first: one job for both.
            let len = dst.len().clamp(READ_MIN, MAX_BUF);
            this.start(Task::Read(len))?;
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            ready!(this.poll_idle(cx))?;
            if src.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let buf = this.buf();
            let room = match buf.mode {
                // Seek back over the read-ahead first.
                Mode::Read => 0,
                Mode::Empty => MAX_BUF,
                Mode::Write => MAX_BUF - (buf.end - buf.start),
            };
            if room == 0 || (buf.mode == Mode::Write && src.len() > room) {
                this.start(Task::Flush)?;
                continue;
            }
            ready!(coop::poll_proceed(cx));
            let n = src.len().min(room);
            let buf = this.buf();
            buf.push(&src[..n]);
            if buf.end - buf.start >= WRITE_MIN {
                // Write behind: the bytes are taken, the job runs while the
                // caller goes on.
                this.start(Task::Flush)?;
            }
            return Poll::Ready(Ok(n));
        }
    }

    /// Writes buffered bytes out and waits until they are written (into
    /// the kernel's page cache; [`File::sync_all`] reaches the disk).
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.poll_idle(cx))?;
            if this.buf().mode != Mode::Write {
                return Poll::Ready(Ok(()));
            }
            this.start(Task::Flush)?;
        }
    }

    /// Flushes; the file stays open until dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // A job in flight owns its buffer and a clone of the file: it runs
        // to completion by itself. Bytes still buffered get a job of their
        // own, on the pool the file used (or the current runtime's).
        let State::Idle(buf) = &mut self.state else {
            return;
        };
        if buf.mode != Mode::Write {
            return;
        }
        let buf = mem::replace(buf, Buf::new());
        let pool = self
            .pool
            .clone()
            .or_else(|| context::try_current().map(|core| core.shared.blocking.clone()));
        let std = self.std.clone();
        match pool {
            Some(pool) => {
                let _ = pool.run(move || run_job(&std, buf, Task::Flush));
            }
            // Never used on a runtime, so nothing can be buffered; but if
            // it were, write it here rather than lose it.
            None => drop(run_job(&std, buf, Task::Flush)),
        }
    }
}
