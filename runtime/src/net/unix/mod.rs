//! Unix-domain sockets on the reactor: [`UnixListener`] and [`UnixStream`]
//! (a byte stream, like TCP), [`UnixDatagram`] (datagrams that keep their
//! boundaries and, unlike UDP, are never dropped: a sender waits for room),
//! the halves of a split [`UnixStream`], and the peer credentials
//! [`UCred`].
//!
//! The same readiness and budget rules as TCP hold: each socket is
//! registered once, edge-triggered; every operation charges the task's
//! cooperative budget; once the socket's runtime is dropped, an operation
//! that would wait fails instead.
//!
//! # Addresses
//!
//! An address is a path in the file system. On Linux, a path whose first
//! byte is NUL (`"\0name"`) names a socket in the *abstract namespace*
//! instead: no file is created, and the name disappears with the last
//! socket bound to it. Addresses are reported as std's
//! [`SocketAddr`], re-exported here.
//!
//! # The socket file of a listener
//!
//! Binding a path creates a socket file there, and **dropping the listener
//! does not remove it**, as in tokio and std: the runtime cannot know
//! whether another process bound the path since, nor whether the program
//! wants the file kept. A path that exists cannot be bound again
//! (`AddrInUse`), so a server that restarts removes it first, and a server
//! that cleans up removes it after dropping its listener, with
//! `std::fs::remove_file`. Abstract names need no cleanup.
//!
//! # Examples
//!
//! ```
//! use runtime::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime::net::{UnixListener, UnixStream};
//!
//! runtime::block_on(async {
//!     let dir = std::env::temp_dir().join(format!("runtime-doc-unix-{}", std::process::id()));
//!     std::fs::create_dir_all(&dir)?;
//!     let path = dir.join("echo.sock");
//!     # let _ = std::fs::remove_file(&path);
//!     let listener = UnixListener::bind(&path)?;
//!     let mut client = UnixStream::connect(&path).await?;
//!     let (mut server, _) = listener.accept().await?;
//!
//!     client.write_all(b"over a socket file").await?;
//!     let mut buf = [0; 18];
//!     server.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"over a socket file");
//!
//!     drop(listener);
//!     assert!(path.exists(), "the socket file outlives the listener");
//!     std::fs::remove_file(&path)?;
//!     std::fs::remove_dir(&dir)?;
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

mod datagram;
mod listener;
mod split;
mod stream;
mod ucred;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;
pub use ucred::{gid_t, pid_t, uid_t, UCred};

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The address `path` names: a socket file, or an abstract name if its
/// first byte is NUL.
///
/// # Errors
///
/// `InvalidInput` for an empty path, one with a NUL byte inside, or one
/// longer than an address holds (107 bytes), naming the path.
fn socket_addr(path: &Path) -> io::Result<SocketAddr> {
    let bytes = path.as_os_str().as_bytes();
    let addr = match bytes {
        [] => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an empty path is no Unix socket address",
            ))
        }
        [0, name @ ..] => SocketAddr::from_abstract_name(name),
        _ => SocketAddr::from_pathname(path),
    };
    addr.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{:?} is no Unix socket address: {e}", path.as_os_str()),
        )
    })
}

/// `addr` for a message: its path, `@name` for an abstract name (as `ss`
/// shows them), or `(unnamed)`.
fn describe(addr: &SocketAddr) -> String {
    if let Some(path) = addr.as_pathname() {
        path.display().to_string()
    } else if let Some(name) = addr.as_abstract_name() {
        format!("@{}", String::from_utf8_lossy(name))
    } else {
        "(unnamed)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_addresses_or_clear_errors() {
        let file = socket_addr(Path::new("/tmp/x.sock")).unwrap();
        assert_eq!(file.as_pathname(), Some(Path::new("/tmp/x.sock")));
        let named = socket_addr(Path::new("\0name")).unwrap();
        assert_eq!(named.as_abstract_name(), Some(&b"name"[..]));

        for bad in ["", "a\0b"] {
            let err = socket_addr(Path::new(bad)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        let long = "x".repeat(200);
        let err = socket_addr(Path::new(&long)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("xxxx"), "{err}");
    }

    #[test]
    fn addresses_are_described_as_ss_shows_them() {
        assert_eq!(
            describe(&socket_addr(Path::new("/run/a.sock")).unwrap()),
            "/run/a.sock"
        );
        assert_eq!(
            describe(&socket_addr(Path::new("\0name")).unwrap()),
            "@name"
        );
    }
}
