//! [`OpenOptions`]: how to open a [`File`].

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{asyncify, with_path, File};

/// Options to open a [`File`] with: `std::fs::OpenOptions`, opening on the
/// blocking pool.
///
/// # Examples
///
/// ```
/// use runtime::fs::OpenOptions;
/// use runtime::io::AsyncWriteExt;
///
/// runtime::block_on(async {
///     let path = std::env::temp_dir().join(format!("options-doc-{}", std::process::id()));
///     for line in ["one\n", "two\n"] {
///         let mut log = OpenOptions::new().append(true).create(true).open(&path).await?;
///         log.write_all(line.as_bytes()).await?;
///         log.flush().await?;
///     }
///     assert_eq!(runtime::fs::read_to_string(&path).await?, "one\ntwo\n");
///     runtime::fs::remove_file(&path).await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// The options.
    std: std::fs::OpenOptions,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// No access at all yet: set at least one of `read`, `write`,
    /// `append`.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let err = runtime::fs::OpenOptions::new().open("/").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// });
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions {
            std: std::fs::OpenOptions::new(),
        }
    }

    /// Read access.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = runtime::fs::OpenOptions::new().read(true).clone();
    /// # drop(options);
    /// ```
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.std.read(read);
        self
    }

    /// Write access.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = runtime::fs::OpenOptions::new().write(true).clone();
    /// # drop(options);
    /// ```
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.std.write(write);
        self
    }

    /// Append mode: every write goes to the end of the file.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = runtime::fs::OpenOptions::new().append(true).clone();
    /// # drop(options);
    /// ```
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.std.append(append);
        self
    }

    /// Truncate an existing file to length 0 (needs write access).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = runtime::fs::OpenOptions::new().write(true).truncate(true).clone();
    /// # drop(options);
    /// ```
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.std.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs write or append
    /// access).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = runtime::fs::OpenOptions::new().write(true).create(true).clone();
    /// # drop(options);
    /// ```
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.std.create(create);
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let err = runtime::fs::OpenOptions::new()
    ///         .write(true)
    ///         .create_new(true)
    ///         .open("/proc")
    ///         .await
    ///         .unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    /// });
    /// ```
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.std.create_new(create_new);
        self
    }

    /// The permission bits of a file this creates (before the umask).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = runtime::fs::OpenOptions::new().write(true).create(true).mode(0o600).clone();
    /// # drop(options);
    /// ```
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.std.mode(mode);
        self
    }

    /// Extra `open(2)` flags (`O_NOFOLLOW`, `O_DIRECT`, ...; the access mode
    /// bits are ignored).
    ///
    /// # Examples
    ///
    /// ```
    /// let o_nofollow = 0o400000; // x86-64 Linux
    /// let options = runtime::fs::OpenOptions::new().read(true).custom_flags(o_nofollow).clone();
    /// # drop(options);
    /// ```
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.std.custom_flags(flags);
        self
    }

    /// Opens `path` with these options, on the blocking pool.
    ///
    /// Dropping the future may still leave the file created (the open
    /// runs to completion on the pool; its fd is then closed).
    ///
    /// # Errors
    ///
    /// `NotFound`, `PermissionDenied`, `AlreadyExists`, `IsADirectory`
    /// (a directory opened for writing), `InvalidInput` (no access mode),
    /// ..., with the path in the message.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let err = runtime::fs::OpenOptions::new().write(true).open("/").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::IsADirectory);
    ///     assert!(err.to_string().starts_with("/: "));
    /// });
    /// ```
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        let options = self.std.clone();
        let (std, path) = asyncify(move || match options.open(&path) {
            Ok(std) => Ok((std, path)),
            Err(e) => Err(with_path(e, path.display())),
        })
        .await?;
        Ok(File::with_path(std, Some(path)))
    }
}
