//! Socket addresses: what `bind` and `connect` accept ([`ToSocketAddrs`]),
//! and [`lookup_host`], which resolves host names on the blocking pool.
//!
//! Resolving a name (`"localhost:80"`) calls `getaddrinfo`, which may read
//! files, talk to a DNS server and take seconds. On the runtime's thread
//! that would stall every task, so a name that is not already an address
//! is resolved by a blocking-pool thread while the task waits. An address
//! (`"127.0.0.1:80"`, `"[::1]:80"`, a `SocketAddr`) is parsed in place, at
//! no cost.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::task::{spawn_blocking, JoinHandle};

/// What [`TcpListener::bind`](super::TcpListener::bind),
/// [`TcpStream::connect`](super::TcpStream::connect),
/// [`UdpSocket::bind`](super::UdpSocket::bind) and [`lookup_host`] accept:
/// a [`SocketAddr`] (or its V4/V6 parts), an `(IpAddr, u16)` pair, a slice
/// of addresses, or a string `"host:port"` / `(host, port)` pair.
///
/// The same as tokio's; like it, the trait is sealed (its method is
/// private), so only these types implement it.
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

/// The private half of [`ToSocketAddrs`].
mod sealed {
    use super::Lookup;

    /// Turns a value into addresses, or into a name to resolve.
    pub trait ToSocketAddrsPriv {
        /// The addresses, or the `"host:port"` text to hand to the
        /// resolver.
        fn to_lookup(&self) -> Lookup;

        /// The one address this value is, when it is one already: found
        /// without allocating, for the hot path of `send_to`.
        fn to_single(&self) -> Option<std::net::SocketAddr> {
            None
        }
    }
}

/// What a [`ToSocketAddrs`] value becomes.
#[derive(Debug)]
pub enum Lookup {
    /// Already addresses: no resolving needed.
    Addresses(Vec<SocketAddr>),
    /// A name to resolve on the blocking pool, as `"host:port"`.
    Name(String),
}

/// Implements the trait for a type that is an address already.
macro_rules! address_types {
    ($($ty:ty => |$value:ident| $addr:expr),* $(,)?) => {$(
        impl ToSocketAddrs for $ty {}

        impl sealed::ToSocketAddrsPriv for $ty {
            fn to_lookup(&self) -> Lookup {
                Lookup::Addresses(vec![sealed::ToSocketAddrsPriv::to_single(self).expect("an address type")])
            }

            fn to_single(&self) -> Option<SocketAddr> {
                let $value = self;
                Some($addr)
            }
        }
    )*};
}

address_types! {
    SocketAddr => |a| *a,
    SocketAddrV4 => |a| SocketAddr::V4(*a),
    SocketAddrV6 => |a| SocketAddr::V6(*a),
    (IpAddr, u16) => |a| SocketAddr::new(a.0, a.1),
    (Ipv4Addr, u16) => |a| SocketAddr::new(IpAddr::V4(a.0), a.1),
    (Ipv6Addr, u16) => |a| SocketAddr::new(IpAddr::V6(a.0), a.1),
}

impl ToSocketAddrs for &[SocketAddr] {}

impl sealed::ToSocketAddrsPriv for &[SocketAddr] {
    fn to_lookup(&self) -> Lookup {
        Lookup::Addresses(self.to_vec())
    }
}

impl ToSocketAddrs for str {}

impl sealed::ToSocketAddrsPriv for str {
    fn to_lookup(&self) -> Lookup {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Lookup::Addresses(vec![addr]),
            Err(_) => Lookup::Name(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}

impl sealed::ToSocketAddrsPriv for String {
    fn to_lookup(&self) -> Lookup {
        self.as_str().to_lookup()
    }
}

impl ToSocketAddrs for (&str, u16) {}

impl sealed::ToSocketAddrsPriv for (&str, u16) {
    fn to_lookup(&self) -> Lookup {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Lookup::Addresses(vec![SocketAddr::new(ip, port)]),
            // `host:port` with a bracketed IPv6 literal would have parsed.
            Err(_) => Lookup::Name(format!("{host}:{port}")),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}

impl sealed::ToSocketAddrsPriv for (String, u16) {
    fn to_lookup(&self) -> Lookup {
        (self.0.as_str(), self.1).to_lookup()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}

impl<T: ToSocketAddrs + ?Sized> sealed::ToSocketAddrsPriv for &T {
    fn to_lookup(&self) -> Lookup {
        (**self).to_lookup()
    }

    fn to_single(&self) -> Option<SocketAddr> {
        (**self).to_single()
    }
}

/// Resolves `host` (a `"host:port"` string, a `(host, port)` pair, or an
/// address) to the socket addresses it names.
///
/// A name is resolved with the system resolver (`getaddrinfo`) on the
/// blocking pool, so a slow lookup stalls no other task; an address is
/// returned at once.
///
/// Cancel-safe: dropping the future abandons the lookup (the pool thread
/// finishes it and drops the answer).
///
/// # Errors
///
/// What the resolver says (an unknown host, no network), or
/// `InvalidInput` if the text has no port.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let addrs: Vec<_> = runtime::net::lookup_host("localhost:80").await?.collect();
///     assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
///     let literal: Vec<_> = runtime::net::lookup_host("[::1]:9").await?.collect();
///     assert_eq!(literal, ["[::1]:9".parse().unwrap()]);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(resolve(&host).await?.into_iter())
}

/// The addresses `addr` names, resolved on the blocking pool if needed;
/// never empty.
pub(crate) fn resolve(addr: &(impl ToSocketAddrs + ?Sized)) -> Resolve {
    match addr.to_lookup() {
        Lookup::Addresses(addrs) => Resolve::Ready(Some(non_empty(addrs))),
        Lookup::Name(name) => Resolve::Pending(spawn_blocking(move || {
            std::net::ToSocketAddrs::to_socket_addrs(&name).map(Iterator::collect)
        })),
    }
}

/// The one address `addr` is, when it is one already: found at once and
/// without allocating (the hot path of `send_to`); `None` for a name.
pub(crate) fn single_address(addr: &(impl ToSocketAddrs + ?Sized)) -> Option<SocketAddr> {
    addr.to_single()
}

/// `addrs`, or an error that says the address named nothing.
fn non_empty(addrs: Vec<SocketAddr>) -> io::Result<Vec<SocketAddr>> {
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket addresses",
        ));
    }
    Ok(addrs)
}

/// The future of [`resolve`].
#[derive(Debug)]
pub(crate) enum Resolve {
    /// Known at once; `None` once returned.
    Ready(Option<io::Result<Vec<SocketAddr>>>),
    /// Being resolved on the blocking pool.
    Pending(JoinHandle<io::Result<Vec<SocketAddr>>>),
}

impl Future for Resolve {
    type Output = io::Result<Vec<SocketAddr>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            Resolve::Ready(result) => Poll::Ready(
                result
                    .take()
                    .expect("Resolve polled again after it completed"),
            ),
            Resolve::Pending(lookup) => Pin::new(lookup).poll(cx).map(|joined| {
                let addrs = joined.map_err(io::Error::from)??;
                non_empty(addrs)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::ToSocketAddrsPriv;
    use super::*;

    fn addresses(lookup: Lookup) -> Vec<SocketAddr> {
        match lookup {
            Lookup::Addresses(addrs) => addrs,
            Lookup::Name(name) => panic!("{name:?} was not parsed in place"),
        }
    }

    #[test]
    fn literal_addresses_need_no_resolver() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(addresses("127.0.0.1:80".to_lookup()), [v4]);
        assert_eq!(addresses("[::1]:80".to_lookup()), [v6]);
        assert_eq!(addresses(("::1", 80).to_lookup()), [v6]);
        assert_eq!(addresses((Ipv4Addr::LOCALHOST, 80).to_lookup()), [v4]);
        assert_eq!(addresses((&[v4, v6][..]).to_lookup()), [v4, v6]);
    }

    #[test]
    fn names_go_to_the_resolver_with_their_port() {
        match ("localhost", 8080).to_lookup() {
            Lookup::Name(name) => assert_eq!(name, "localhost:8080"),
            Lookup::Addresses(a) => panic!("resolved in place: {a:?}"),
        }
        assert!(matches!("example.invalid:1".to_lookup(), Lookup::Name(_)));
    }
}
