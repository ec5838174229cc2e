//! 1. Blocking I/O, and a thread per connection.
//!
//! ```text
//! cargo run -p runtime --example step1-blocking
//! ```
//!
//! # What "blocking" means
//!
//! Between a program and the network sit two buffers in the kernel for
//! every socket: a receive buffer the network fills and `read` empties, and
//! a send buffer `write` fills and the network empties. A blocking call
//! waits on one of them:
//!
//! * `read` on an **empty** receive buffer puts the thread to sleep. When
//!   bytes arrive and the buffer stops being empty, the kernel wakes the
//!   thread and `read` returns them.
//! * `write` into a **full** send buffer sleeps too, until the peer has
//!   acknowledged enough data for the buffer to have room again.
//!
//! A sleeping thread is off the scheduler's run queue: it costs no CPU at
//! all, and it wakes up the moment its buffer changes. For one connection,
//! nothing is cheaper or simpler. Those four moments (empty, no longer
//! empty, full, no longer full) are also all that the rest of this guide is
//! about: every later step is a different way of learning when they happen.
//!
//! # One thread can wait for one thing
//!
//! The catch is that a thread asleep in `read` on one socket cannot notice
//! anything else: another client connecting, another socket receiving. So
//! a blocking server gives every connection a thread of its own:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::thread;
//! use std::time::Duration;
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! thread::spawn(move || {
//!     for stream in listener.incoming() {
//!         let Ok(mut stream) = stream else { continue };
//!         // One thread per connection, asleep in `read` while its client
//!         // is quiet.
//!         thread::spawn(move || {
//!             let mut buf = [0; 1024];
//!             while let Ok(n @ 1..) = stream.read(&mut buf) {
//!                 if stream.write_all(&buf[..n]).is_err() {
//!                     break;
//!                 }
//!             }
//!         });
//!     }
//! });
//!
//! // A client that connects and says nothing holds its thread asleep...
//! let silent = TcpStream::connect(addr)?;
//! // ...and does not hold up anybody else.
//! let mut talker = TcpStream::connect(addr)?;
//! talker.set_read_timeout(Some(Duration::from_secs(10)))?;
//! talker.write_all(b"ping")?;
//! let mut echo = [0; 4];
//! talker.read_exact(&mut echo)?;
//! assert_eq!(&echo, b"ping");
//! drop(silent);
//! # std::io::Result::Ok(())
//! ```
//!
//! This is `runtime/examples/step1-blocking.rs`, with printouts and error
//! handling. It works well for tens or hundreds of connections. Its costs
//! grow with their number, busy or not: each thread reserves a stack (2 MiB
//! of address space by default, a few pages of it actually touched), each
//! message costs the kernel a wake-up and a context switch into that
//! connection's thread, and ten thousand mostly idle clients are ten
//! thousand threads for the scheduler to keep track of. Chapter 9 measures
//! it beside the others.
//!
//! # In this runtime
//!
//! The runtime never blocks its thread on a socket: every fd it registers
//! is nonblocking (`runtime/src/sys/socket.rs`, `tcp_socket_of` and
//! `accept`, which pass `SOCK_NONBLOCK`). It keeps threads for work that
//! cannot be made nonblocking, and runs it off the runtime's thread:
//! [`task::spawn_blocking`](crate::task::spawn_blocking) runs a closure on a
//! pool of threads (`runtime/src/blocking.rs`), and
//! [`io::stdin`](crate::io::stdin) reads on a helper thread
//! (`runtime/src/io/stdin.rs`): epoll cannot watch a regular file, and
//! making a terminal nonblocking would change it for every other process
//! that shares it.
