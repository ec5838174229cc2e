//! Files and directories, on the blocking pool, as tokio does.
//!
//! The kernel has no readiness for regular files: a read of a file on disk
//! is "ready" as far as epoll is concerned (it refuses to watch one), and
//! then blocks the thread while the disk seeks. So every operation here
//! runs `std::fs` on a thread of the runtime's blocking pool
//! ([`spawn_blocking`](crate::task::spawn_blocking)'s threads) and the task
//! awaits the result: the runtime's thread never waits for a disk.
//!
//! ```
//! runtime::block_on(async {
//!     let dir = std::env::temp_dir().join(format!("fs-doc-{}", std::process::id()));
//!     runtime::fs::create_dir_all(&dir).await?;
//!     let path = dir.join("greeting.txt");
//!     runtime::fs::write(&path, "hello").await?;
//!     assert_eq!(runtime::fs::read_to_string(&path).await?, "hello");
//!     runtime::fs::remove_dir_all(&dir).await?;
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```
//!
//! # Errors name the path
//!
//! `std::fs` errors say "No such file or directory", not which; these
//! say `"/etc/nope: No such file or directory (os error 2)"`, keeping
//! the [`ErrorKind`](std::io::ErrorKind) (the raw OS error code is folded
//! into the message). Operations on two paths name both.
//!
//! # Cancelling
//!
//! An operation handed to the pool cannot be stopped. Dropping the future
//! of a free function here (say, under a `timeout`) drops only the wait:
//! the operation still runs to completion on its pool thread (the file is
//! still written, the directory still removed), and its result is lost.
//! So these functions are not cancel-safe in the sense that matters:
//! assume a dropped operation may or may not have happened. [`File`]
//! documents its own methods.

mod file;
mod open_options;
mod read_dir;

pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};

use std::fmt::Display;
use std::future::Future;
use std::io;
use std::panic::resume_unwind;
use std::path::{Path, PathBuf};

use crate::executor::context;

/// Runs `f` on the current runtime's blocking pool and awaits its result,
/// keeping a paused clock from jumping ahead meanwhile.
///
/// # Panics
///
/// Outside a runtime (when first polled); resumes `f`'s panic.
pub(crate) async fn asyncify<F, R>(f: F) -> io::Result<R>
where
    F: FnOnce() -> io::Result<R> + Send + 'static,
    R: Send + 'static,
{
    let core = context::current();
    let _inhibitor = core.clock.inhibit_auto_advance();
    let result = core.shared.blocking.run(f)?;
    drop(core);
    match result.await {
        Ok(Ok(output)) => output,
        Ok(Err(payload)) => resume_unwind(payload),
        Err(_) => Err(io::Error::other(
            "the blocking pool dropped a file operation",
        )),
    }
}

/// `e` with `path` in front of its message, keeping its kind.
pub(crate) fn with_path(e: io::Error, path: impl Display) -> io::Error {
    io::Error::new(e.kind(), format!("{path}: {e}"))
}

/// Runs `op` on `path` on the blocking pool, naming the path in its error.
fn on_path<R, F>(path: &Path, op: F) -> impl Future<Output = io::Result<R>> + 'static
where
    F: FnOnce(&Path) -> io::Result<R> + Send + 'static,
    R: Send + 'static,
{
    let path = path.to_owned();
    asyncify(move || op(&path).map_err(|e| with_path(e, path.display())))
}

/// Runs `op` on two paths on the blocking pool, naming both in its error.
fn on_paths<R, F>(from: &Path, to: &Path, op: F) -> impl Future<Output = io::Result<R>> + 'static
where
    F: FnOnce(&Path, &Path) -> io::Result<R> + Send + 'static,
    R: Send + 'static,
{
    let (from, to) = (from.to_owned(), to.to_owned());
    asyncify(move || {
        op(&from, &to).map_err(|e| with_path(e, format!("{} -> {}", from.display(), to.display())))
    })
}

/// Reads a whole file into bytes (`std::fs::read` on the blocking pool).
///
/// # Errors
///
/// `NotFound`, `PermissionDenied`, ..., with the path in the message.
///
/// # Panics
///
/// Outside a runtime (when first polled), as everything here.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let bytes = runtime::fs::read("/proc/self/cmdline").await?;
///     assert!(!bytes.is_empty());
///     let err = runtime::fs::read("/no/such/file").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
///     assert!(err.to_string().starts_with("/no/such/file: "));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    on_path(path.as_ref(), |path| std::fs::read(path)).await
}

/// Reads a whole file into a string.
///
/// # Errors
///
/// As [`read`], and `InvalidData` if the file is not UTF-8.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let status = runtime::fs::read_to_string("/proc/self/status").await?;
///     assert!(status.starts_with("Name:"));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    on_path(path.as_ref(), |path| std::fs::read_to_string(path)).await
}

/// Writes `contents` to a file, creating it or replacing what it held.
///
/// # Errors
///
/// As [`read`].
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let path = std::env::temp_dir().join(format!("fs-write-{}", std::process::id()));
///     runtime::fs::write(&path, b"bytes").await?;
///     assert_eq!(runtime::fs::read(&path).await?, b"bytes");
///     runtime::fs::remove_file(&path).await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    on_path(path.as_ref(), move |path| std::fs::write(path, contents)).await
}

/// Creates a directory (its parent must exist).
///
/// # Errors
///
/// `AlreadyExists` if it exists, `NotFound` if the parent does not, ...,
/// with the path in the message.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let dir = std::env::temp_dir().join(format!("fs-mkdir-{}", std::process::id()));
///     runtime::fs::create_dir(&dir).await?;
///     let again = runtime::fs::create_dir(&dir).await.unwrap_err();
///     assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
///     runtime::fs::remove_dir(&dir).await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), |path| std::fs::create_dir(path)).await
}

/// Creates a directory and any missing parents; an existing directory is
/// no error.
///
/// # Errors
///
/// As [`create_dir`], but for `AlreadyExists`.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let top = std::env::temp_dir().join(format!("fs-mkdirs-{}", std::process::id()));
///     runtime::fs::create_dir_all(top.join("a/b/c")).await?;
///     assert!(runtime::fs::metadata(top.join("a/b/c")).await?.is_dir());
///     runtime::fs::remove_dir_all(&top).await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), |path| std::fs::create_dir_all(path)).await
}

/// Removes a file (or symlink).
///
/// # Errors
///
/// `NotFound` if there is none, `IsADirectory` for a directory, ..., with
/// the path in the message.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let err = runtime::fs::remove_file("/no/such/file").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), |path| std::fs::remove_file(path)).await
}

/// Removes an empty directory.
///
/// # Errors
///
/// `DirectoryNotEmpty`, `NotFound`, ..., with the path in the message.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let err = runtime::fs::remove_dir("/no/such/dir").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), |path| std::fs::remove_dir(path)).await
}

/// Removes a directory and everything in it.
///
/// # Errors
///
/// As [`remove_dir`]; the message names the top directory.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let top = std::env::temp_dir().join(format!("fs-rmrf-{}", std::process::id()));
///     runtime::fs::create_dir_all(top.join("inner")).await?;
///     runtime::fs::write(top.join("inner/file"), "x").await?;
///     runtime::fs::remove_dir_all(&top).await?;
///     assert!(!runtime::fs::try_exists(&top).await?);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), |path| std::fs::remove_dir_all(path)).await
}

/// Renames a file or directory, replacing `to` if it is a file.
///
/// # Errors
///
/// `NotFound`, `CrossesDevices`, ..., with both paths in the message
/// (`"from -> to: ..."`).
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let dir = std::env::temp_dir();
///     let (a, b) = (dir.join(format!("fs-mv-a-{}", std::process::id())), dir.join(format!("fs-mv-b-{}", std::process::id())));
///     runtime::fs::write(&a, "moved").await?;
///     runtime::fs::rename(&a, &b).await?;
///     assert_eq!(runtime::fs::read_to_string(&b).await?, "moved");
///     runtime::fs::remove_file(&b).await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    on_paths(from.as_ref(), to.as_ref(), |from, to| {
        std::fs::rename(from, to)
    })
    .await
}

/// Copies a file's contents and permissions to `to`, replacing it; returns
/// the bytes copied.
///
/// # Errors
///
/// As [`rename`].
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let to = std::env::temp_dir().join(format!("fs-cp-{}", std::process::id()));
///     let copied = runtime::fs::copy("/proc/self/exe", &to).await?;
///     assert_eq!(runtime::fs::metadata(&to).await?.len(), copied);
///     runtime::fs::remove_file(&to).await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    on_paths(from.as_ref(), to.as_ref(), |from, to| {
        std::fs::copy(from, to)
    })
    .await
}

/// The metadata of what `path` names, following symlinks.
///
/// # Errors
///
/// `NotFound`, ..., with the path in the message.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     assert!(runtime::fs::metadata("/").await?.is_dir());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    on_path(path.as_ref(), |path| std::fs::metadata(path)).await
}

/// The metadata of `path` itself, not following a symlink.
///
/// # Errors
///
/// As [`metadata`].
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let link = runtime::fs::symlink_metadata("/proc/self").await?;
///     assert!(link.file_type().is_symlink());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    on_path(path.as_ref(), |path| std::fs::symlink_metadata(path)).await
}

/// Whether `path` exists: `Ok(false)` if it does not, an error if that
/// cannot be told (a parent is unreadable).
///
/// # Errors
///
/// `PermissionDenied`, ..., with the path in the message.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     assert!(runtime::fs::try_exists("/").await?);
///     assert!(!runtime::fs::try_exists("/no/such/path").await?);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    on_path(path.as_ref(), |path| path.try_exists()).await
}

/// The absolute path with every symlink, `.` and `..` resolved.
///
/// # Errors
///
/// `NotFound`, ..., with the path in the message.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     assert_eq!(runtime::fs::canonicalize("/usr/../").await?, std::path::Path::new("/"));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path(path.as_ref(), |path| std::fs::canonicalize(path)).await
}
