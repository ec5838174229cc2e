//! Child processes and files, ours beside tokio's `current_thread`:
//! spawning and waiting for 1,000 `true` processes (one at a time, and 50
//! at a time), and reading a 256 MiB file (from the page cache) through
//! `fs::File` with 1 MiB and 16 KiB reads.
//!
//! Run with `cargo bench -p bench --bench process_fs`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bench::{compare, tokio_runtime};

/// Children per round.
const CHILDREN: u64 = 1_000;
/// Children in flight at once in the concurrent rounds.
const WIDTH: u64 = 50;
/// The file read per round.
const FILE_MIB: u64 = 256;

fn main() {
    println!(
        "process and fs benchmarks: median of {} interleaved rounds",
        bench::ROUNDS
    );
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let wanted = |name: &str| only.as_deref().is_none_or(|only| name.contains(only));
    if wanted("spawn") {
        spawn_floor();
        spawn_and_wait(1);
        spawn_and_wait(WIDTH);
    }
    if !wanted("read") {
        return;
    }
    let file = BigFile::new();
    read_file(&file.0, 1 << 20);
    read_file(&file.0, 16 << 10);
}

/// The floor: `std` spawning and waiting, one at a time, no runtime.
fn spawn_floor() {
    let mut rounds: Vec<Duration> = (0..bench::ROUNDS)
        .map(|_| {
            bench::time(|| {
                for _ in 0..CHILDREN {
                    let status = std::process::Command::new("true").status().unwrap();
                    assert!(status.success());
                }
            })
        })
        .collect();
    rounds.sort();
    let ns = rounds[rounds.len() / 2].as_nanos() as f64 / CHILDREN as f64;
    println!(
        "{:<40} std  {ns:>9.1} ns/op   (no runtime: the floor)",
        "spawn + wait 1,000 `true`, 1 at a time"
    );
}

fn spawn_and_wait(width: u64) {
    compare(
        &format!("spawn + wait 1,000 `true`, {width} at a time"),
        CHILDREN,
        || {
            runtime::Runtime::new().unwrap().block_on(time_async(async {
                let lanes: Vec<_> = (0..width)
                    .map(|_| {
                        runtime::spawn(async move {
                            for _ in 0..CHILDREN / width {
                                let status = runtime::process::Command::new("true")
                                    .status()
                                    .await
                                    .unwrap();
                                assert!(status.success());
                            }
                        })
                    })
                    .collect();
                for lane in lanes {
                    lane.await.unwrap();
                }
            }))
        },
        || {
            tokio_runtime().block_on(time_async(async {
                let lanes: Vec<_> = (0..width)
                    .map(|_| {
                        tokio::spawn(async move {
                            for _ in 0..CHILDREN / width {
                                let status =
                                    tokio::process::Command::new("true").status().await.unwrap();
                                assert!(status.success());
                            }
                        })
                    })
                    .collect();
                for lane in lanes {
                    lane.await.unwrap();
                }
            }))
        },
    );
}

fn read_file(path: &Path, chunk: usize) {
    let expected = FILE_MIB << 20;
    compare(
        &format!("read 256 MiB by {} KiB: per MiB", chunk >> 10),
        FILE_MIB,
        || {
            runtime::Runtime::new().unwrap().block_on(time_async(async {
                use runtime::io::AsyncReadExt;
                let mut file = runtime::fs::File::open(path).await.unwrap();
                let mut buf = vec![0; chunk];
                let mut total = 0;
                loop {
                    let n = file.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                }
                assert_eq!(total, expected);
            }))
        },
        || {
            tokio_runtime().block_on(time_async(async {
                use tokio::io::AsyncReadExt;
                let mut file = tokio::fs::File::open(path).await.unwrap();
                let mut buf = vec![0; chunk];
                let mut total = 0;
                loop {
                    let n = file.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                }
                assert_eq!(total, expected);
            }))
        },
    );
}

/// A 256 MiB file in the temp dir, removed when dropped; read once so that
/// every round reads it from the page cache.
struct BigFile(PathBuf);

impl BigFile {
    fn new() -> BigFile {
        let path = std::env::temp_dir().join(format!("bench-read-{}", std::process::id()));
        let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let mut file = std::fs::File::create(&path).unwrap();
        for _ in 0..FILE_MIB {
            std::io::Write::write_all(&mut file, &block).unwrap();
        }
        drop(file);
        let _ = std::fs::read(&path).unwrap();
        BigFile(path)
    }
}

impl Drop for BigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// How long `f` takes.
async fn time_async<F: Future>(f: F) -> Duration {
    let start = Instant::now();
    f.await;
    start.elapsed()
}
