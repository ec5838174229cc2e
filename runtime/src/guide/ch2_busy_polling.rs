//! 2. Nonblocking sockets and busy polling.
//!
//! ```text
//! cargo run -p runtime --example step2-busy-poll     # then watch it in `top`
//! ```
//!
//! # Asking instead of waiting
//!
//! A socket in nonblocking mode (`O_NONBLOCK`, or `SOCK_NONBLOCK` when it is
//! created or accepted) never puts the thread to sleep. Where a blocking
//! call would wait, it fails at once with `EAGAIN` (also spelled
//! `EWOULDBLOCK`; Rust calls it [`std::io::ErrorKind::WouldBlock`]), which
//! means "not now, nothing is wrong, ask again later":
//!
//! ```
//! use std::io::{ErrorKind, Read, Write};
//! use std::os::unix::net::UnixStream;
//!
//! let (mut ours, mut theirs) = UnixStream::pair()?;
//! ours.set_nonblocking(true)?;
//! let mut buf = [0; 16];
//!
//! // Nothing was sent yet: the read returns at once instead of sleeping.
//! let err = ours.read(&mut buf).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::WouldBlock);
//!
//! theirs.write_all(b"hi")?;
//! // Now the same call finds the bytes.
//! assert_eq!(ours.read(&mut buf)?, 2);
//! assert_eq!(&buf[..2], b"hi");
//! // And the buffer is empty again.
//! assert_eq!(ours.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
//! # std::io::Result::Ok(())
//! ```
//!
//! With that, one thread can serve any number of connections: ask the
//! listener whether someone new is waiting, ask each connection whether it
//! has sent anything, echo what it has, and start again from the top
//! (`runtime/examples/step2-busy-poll.rs`, function `serve`).
//!
//! # The price: a core, all the time
//!
//! Nothing in that loop ever waits. When every client is silent, the loop
//! still asks every socket, millions of times a second, and every answer is
//! `EAGAIN`: one system call per connection per round, all of them wasted.
//! The thread never leaves the CPU, so the server uses a whole core while
//! doing nothing, and the more connections it holds, the longer each round
//! takes and the later a message is noticed. (Sleeping a little between
//! rounds saves the core but makes every answer wait for the end of the
//! nap: the trade the next chapters get out of.) Chapter 9 shows the core
//! burnt with a thousand idle connections.
//!
//! # In this runtime
//!
//! Every socket the runtime makes is nonblocking, and `EAGAIN` is the
//! ordinary answer it expects: an I/O operation tries the syscall, and on
//! `WouldBlock` it stops asking and waits to be told (chapters 6 and 7). The
//! one-shot form is public: [`TcpStream::try_read`](crate::net::TcpStream::try_read)
//! and [`TcpStream::try_write`](crate::net::TcpStream::try_write) make one
//! attempt and return `WouldBlock` rather than wait; unlike the loop above,
//! they skip even the syscall while the runtime knows the socket is not
//! ready.
