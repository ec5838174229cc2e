//! [`UCred`]: who is at the other end of a Unix socket.

use crate::sys::unix_socket::PeerCred;

/// A user id, as the kernel reports it (`uid_t`).
///
/// # Examples
///
/// ```
/// use runtime::net::unix::uid_t;
///
/// runtime::block_on(async {
///     let (a, _b) = runtime::net::UnixStream::pair()?;
///     let id: uid_t = a.peer_cred()?.uid();
///     # let _ = id;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[allow(non_camel_case_types)]
pub type uid_t = u32;

/// A group id, as the kernel reports it (`gid_t`).
///
/// # Examples
///
/// ```
/// use runtime::net::unix::gid_t;
///
/// runtime::block_on(async {
///     let (a, _b) = runtime::net::UnixStream::pair()?;
///     let id: gid_t = a.peer_cred()?.gid();
///     # let _ = id;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[allow(non_camel_case_types)]
pub type gid_t = u32;

/// A process id, as the kernel reports it (`pid_t`).
///
/// # Examples
///
/// ```
/// use runtime::net::unix::pid_t;
///
/// let me = std::process::id() as pid_t;
/// assert!(me > 0);
/// ```
#[allow(non_camel_case_types)]
pub type pid_t = i32;

/// The credentials of a Unix socket's peer (`SO_PEERCRED`): the process
/// that connected (or created the pair), with the user and group it ran as
/// at that moment. The kernel records them; the peer cannot forge them.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let (a, _b) = runtime::net::UnixStream::pair()?;
///     let cred = a.peer_cred()?;
///     assert_eq!(cred.pid(), Some(std::process::id() as i32));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UCred {
    /// The peer's process id, if visible from this process's pid namespace.
    pid: Option<pid_t>,
    /// The peer's effective user id.
    uid: uid_t,
    /// The peer's effective group id.
    gid: gid_t,
}

impl UCred {
    /// The credentials the kernel reported.
    pub(crate) fn from_peer(cred: PeerCred) -> UCred {
        UCred {
            // The kernel reports 0 for a peer outside our pid namespace.
            pid: (cred.pid != 0).then_some(cred.pid),
            uid: cred.uid,
            gid: cred.gid,
        }
    }

    /// The peer's effective user id.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     assert_eq!(a.peer_cred()?.uid(), b.peer_cred()?.uid());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn uid(&self) -> uid_t {
        self.uid
    }

    /// The peer's effective group id.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     assert_eq!(a.peer_cred()?.gid(), b.peer_cred()?.gid());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn gid(&self) -> gid_t {
        self.gid
    }

    /// The peer's process id; `None` when the peer runs in a pid namespace
    /// this process cannot see into.
    ///
    /// # Examples
    ///
    /// See [`UCred`].
    pub fn pid(&self) -> Option<pid_t> {
        self.pid
    }
}
