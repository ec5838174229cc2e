//! What an idle connection costs `echo-server`: its resident memory grows
//! by well under a kilobyte per connection that echoed a little and went
//! quiet (a server that kept a 16 KiB buffer per connection would grow by
//! more than 16 KiB each).

use std::io;
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use tests::{connect, round_trip, start_server};

/// Connections held idle.
const CONNECTIONS: usize = 2_000;

/// The growth allowed per connection: four times the 1 KiB the design
/// aims at, to leave room for allocator slack, and a quarter of one 16 KiB
/// buffer.
const ALLOWED_PER_CONNECTION: u64 = 4 * 1024;

/// Raises this process's soft limit on open files to the hard limit (the
/// server started afterwards inherits it), so both sides can hold
/// `needed` descriptors. Returns the limit in force.
fn raise_fd_limit(needed: u64) -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < needed {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit, soft no higher than hard.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

#[test]
fn connections_that_echoed_and_went_quiet_hold_no_buffer() {
    let needed = CONNECTIONS as u64 + 64;
    match raise_fd_limit(needed) {
        Ok(limit) if limit >= needed => {}
        Ok(limit) => {
            eprintln!("skipped: the fd limit is {limit}, below the {needed} needed");
            return;
        }
        Err(e) => {
            eprintln!("skipped: cannot raise the fd limit: {e}");
            return;
        }
    }
    let server = start_server(&["--quiet"]);
    // Warm up: a connection that echoes and closes, so the read buffer and
    // the allocator's first arenas are in the baseline.
    let mut warm = connect(server.addr());
    round_trip(&mut warm, &[7; 64 * 1024]);
    drop(warm);
    thread::sleep(Duration::from_millis(100));
    let before = server.rss_kib();

    let held: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|i| {
            let mut stream = connect(server.addr());
            // Each echoes 16 bytes once: the server has read from it.
            round_trip(&mut stream, format!("{i:>16}").as_bytes());
            stream
        })
        .collect();
    // Every echo came back, so every connection was accepted and served;
    // let the server settle.
    thread::sleep(Duration::from_millis(200));
    let after = server.rss_kib();
    let per_connection = after.saturating_sub(before) * 1024 / CONNECTIONS as u64;
    assert!(
        per_connection < ALLOWED_PER_CONNECTION,
        "echo-server grew by {per_connection} B per idle connection \
         ({before} KiB -> {after} KiB with {CONNECTIONS} connections)"
    );
    eprintln!("{per_connection} B per idle connection ({before} -> {after} KiB)");
    drop(held);
}
