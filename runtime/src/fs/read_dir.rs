//! [`read_dir`]: a directory's entries as a stream, fetched in batches on
//! the blocking pool.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::{poll_fn, Future};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use super::{asyncify, with_path};
use crate::coop;

/// Entries fetched per pool round trip.
const BATCH: usize = 32;

/// Opens a directory for listing: a [`ReadDir`] of its entries (without
/// `.` and `..`), in the order the file system gives them.
///
/// # Errors
///
/// `NotFound`, `NotADirectory`, `PermissionDenied`, ..., with the path in
/// the message.
///
/// # Panics
///
/// Outside a runtime (when first polled).
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let mut names = Vec::new();
///     let mut entries = runtime::fs::read_dir("/proc/self").await?;
///     while let Some(entry) = entries.next_entry().await? {
///         names.push(entry.file_name());
///     }
///     assert!(names.iter().any(|name| name == "status"));
///
///     let err = runtime::fs::read_dir("/no/such/dir").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let (std, path) = asyncify(move || match std::fs::read_dir(&path) {
        Ok(std) => Ok((std, path)),
        Err(e) => Err(with_path(e, path.display())),
    })
    .await?;
    Ok(ReadDir {
        state: State::Idle(Some(Batch {
            std,
            entries: VecDeque::new(),
            done: false,
            path: Arc::from(path),
        })),
    })
}

/// The entries of a directory, from [`read_dir`]: call
/// [`next_entry`](ReadDir::next_entry), or use it as a
/// [`Stream`](futures_core::Stream) of `io::Result<DirEntry>`.
///
/// Entries are fetched 32 at a time in one pool round trip,
/// with their file types.
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use futures_core::Stream;
///
/// runtime::block_on(async {
///     let mut entries = runtime::fs::read_dir("/").await?;
///     let mut count = 0;
///     while let Some(entry) = poll_fn(|cx| Pin::new(&mut entries).poll_next(cx)).await {
///         entry?;
///         count += 1;
///     }
///     assert!(count > 0);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct ReadDir {
    /// Idle with the listing, or fetching the next batch.
    state: State,
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(Some(batch)) => format!("{} buffered", batch.entries.len()),
            State::Idle(None) => "lost".to_owned(),
            State::Busy(_) => "fetching".to_owned(),
        };
        f.debug_struct("ReadDir").field("state", &state).finish()
    }
}

/// A listing and the entries fetched ahead.
struct Batch {
    /// The listing.
    std: std::fs::ReadDir,
    /// Entries fetched and not handed out yet.
    entries: VecDeque<io::Result<DirEntry>>,
    /// The listing has ended.
    done: bool,
    /// The directory, for error messages.
    path: Arc<Path>,
}

/// The type of a batch fetch in flight.
type Fetch = Pin<Box<dyn Future<Output = io::Result<Batch>>>>;

/// Where a `ReadDir` is.
enum State {
    /// The listing is here (`None` only if a fetch was lost).
    Idle(Option<Batch>),
    /// A pool thread fetches the next batch.
    Busy(Fetch),
}

impl ReadDir {
    /// The next entry, or `None` at the end.
    ///
    /// Cancel-safe: a batch being fetched when the future is dropped is
    /// kept for the next call.
    ///
    /// # Errors
    ///
    /// An error reading the directory (with its path in the message); the
    /// listing may go on after it.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let mut entries = runtime::fs::read_dir("/proc/self/fd").await?;
    ///     let first = entries.next_entry().await?.expect("this process has fds");
    ///     assert!(first.path().starts_with("/proc/self/fd"));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry; see [`next_entry`](ReadDir::next_entry).
    ///
    /// # Errors
    ///
    /// As [`next_entry`](ReadDir::next_entry).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let mut entries = runtime::fs::read_dir("/").await?;
    ///     let first = poll_fn(|cx| entries.poll_next_entry(cx)).await?;
    ///     assert!(first.is_some());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Busy(fetch) => {
                    let batch = ready!(fetch.as_mut().poll(cx));
                    match batch {
                        Ok(batch) => self.state = State::Idle(Some(batch)),
                        Err(e) => {
                            self.state = State::Idle(None);
                            return Poll::Ready(Err(e));
                        }
                    }
                }
                State::Idle(None) => {
                    return Poll::Ready(Err(io::Error::other(
                        "the directory listing was lost with a failed fetch",
                    )))
                }
                State::Idle(Some(batch)) => {
                    if !batch.entries.is_empty() {
                        // Handing out fetched entries costs budget: a task
                        // walking a huge tree must still yield.
                        ready!(coop::poll_proceed(cx));
                        let entry = batch.entries.pop_front().expect("not empty");
                        return Poll::Ready(entry.map(Some));
                    }
                    if batch.done {
                        return Poll::Ready(Ok(None));
                    }
                    let State::Idle(Some(batch)) =
                        std::mem::replace(&mut self.state, State::Idle(None))
                    else {
                        unreachable!("matched just above");
                    };
                    self.state = State::Busy(Box::pin(asyncify(move || Ok(fetch(batch)))));
                }
            }
        }
    }
}

/// Runs on a pool thread: reads up to [`BATCH`] entries, with their file
/// types.
fn fetch(mut batch: Batch) -> Batch {
    for _ in 0..BATCH {
        match batch.std.next() {
            None => {
                batch.done = true;
                break;
            }
            Some(Ok(std)) => {
                // `d_type` from the listing on most file systems: no stat.
                let file_type = std.file_type().ok();
                batch.entries.push_back(Ok(DirEntry {
                    std: Arc::new(std),
                    file_type,
                }));
            }
            Some(Err(e)) => batch
                .entries
                .push_back(Err(with_path(e, batch.path.display()))),
        }
    }
    batch
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(Result::transpose)
    }
}

/// One entry of a [`ReadDir`].
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let mut entries = runtime::fs::read_dir("/proc/self").await?;
///     while let Some(entry) = entries.next_entry().await? {
///         if entry.file_name() == "exe" {
///             assert!(entry.file_type().await?.is_symlink());
///             assert!(entry.metadata().await?.file_type().is_symlink());
///         }
///     }
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct DirEntry {
    /// The `std` entry (shared with pool jobs that stat it).
    std: Arc<std::fs::DirEntry>,
    /// Its file type, if the listing told it.
    file_type: Option<FileType>,
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}

impl DirEntry {
    /// The entry's full path: the directory given to [`read_dir`] joined
    /// with the file name.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let entry = runtime::fs::read_dir("/").await?.next_entry().await?.unwrap();
    ///     assert_eq!(entry.path().parent(), Some(std::path::Path::new("/")));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's file name, without the directory.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let entry = runtime::fs::read_dir("/").await?.next_entry().await?.unwrap();
    ///     assert!(!entry.file_name().is_empty());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's inode number, from the listing.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let entry = runtime::fs::read_dir("/").await?.next_entry().await?.unwrap();
    ///     assert!(entry.ino() > 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.std)
    }

    /// The entry's metadata, not following a symlink (`lstat`).
    ///
    /// # Errors
    ///
    /// If the entry is gone, ..., with its path in the message.
    ///
    /// # Examples
    ///
    /// See [`DirEntry`].
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || {
            std.metadata()
                .map_err(|e| with_path(e, std.path().display()))
        })
        .await
    }

    /// The entry's file type, not following a symlink: from the listing
    /// where the file system gave it (no pool round trip), else `lstat`.
    ///
    /// # Errors
    ///
    /// As [`metadata`](DirEntry::metadata).
    ///
    /// # Examples
    ///
    /// See [`DirEntry`].
    pub async fn file_type(&self) -> io::Result<FileType> {
        match self.file_type {
            Some(file_type) => Ok(file_type),
            None => self.metadata().await.map(|meta| meta.file_type()),
        }
    }
}
