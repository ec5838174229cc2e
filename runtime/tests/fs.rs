//! Files on the blocking pool: big files round-trip byte for byte in
//! small and large chunks, concurrent reads, errors that name their path,
//! drops that still write, cancelled reads that lose nothing, and a
//! directory listing as a stream.

mod util;

use std::future::poll_fn;
use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::{pin, Pin};
use std::time::Duration;

use futures_core::Stream;
use runtime::fs::{self, File, OpenOptions};
use runtime::io::{AsyncReadExt, AsyncWriteExt};
use util::{deadline, poll_once, run, XorShift};

/// A directory of its own for each test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("runtime-fs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `len` deterministic pseudo-random bytes.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0; len];
    XorShift::new(seed).fill(&mut data);
    data
}

/// Writes `data` to `path` through a `File`, `chunk` bytes per write.
async fn write_in_chunks(path: &Path, data: &[u8], chunk: usize) {
    let mut file = File::create(path).await.unwrap();
    for piece in data.chunks(chunk) {
        file.write_all(piece).await.unwrap();
    }
    file.flush().await.unwrap();
}

/// Reads `path` whole through a `File`, `chunk` bytes per read.
async fn read_in_chunks(path: &Path, chunk: usize) -> Vec<u8> {
    let mut file = File::open(path).await.unwrap();
    let mut buf = vec![0; chunk];
    let mut got = Vec::new();
    loop {
        let n = file.read(&mut buf).await.unwrap();
        if n == 0 {
            return got;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn sixty_four_mib_round_trip_in_small_and_large_chunks() {
    const SIZE: usize = 64 << 20;
    let dir = TempDir::new("64mib");
    let data = random_bytes(SIZE, 64);
    run("64 MiB", async {
        let path = dir.join("big");
        for (write_chunk, read_chunk) in [(4 << 10, 1 << 20), (1 << 20, 4 << 10)] {
            write_in_chunks(&path, &data, write_chunk).await;
            // What is on disk, read by std, and what we read back.
            assert!(
                std::fs::read(&path).unwrap() == data,
                "written by {write_chunk}"
            );
            let back = read_in_chunks(&path, read_chunk).await;
            assert_eq!(back.len(), SIZE);
            assert!(back == data, "read back by {read_chunk}");
        }
    });
}

#[test]
fn many_concurrent_reads_each_get_their_own_bytes() {
    let dir = TempDir::new("concurrent");
    let files: Vec<(PathBuf, Vec<u8>)> = (0..32)
        .map(|i| {
            let path = dir.join(&format!("f{i}"));
            let data = random_bytes(100_000 + i * 777, i as u64);
            std::fs::write(&path, &data).unwrap();
            (path, data)
        })
        .collect();
    run("concurrent reads", async {
        let mut tasks = runtime::task::JoinSet::new();
        for round in 0..4 {
            for (path, data) in files.clone() {
                tasks.spawn(async move {
                    let got = if round % 2 == 0 {
                        fs::read(&path).await.unwrap()
                    } else {
                        read_in_chunks(&path, 3000).await
                    };
                    assert!(got == data, "{}", path.display());
                });
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    });
}

/// Checks that `result` failed with `kind` and names `path`.
fn assert_error<T: std::fmt::Debug>(result: io::Result<T>, kind: io::ErrorKind, path: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.kind(), kind, "{err}");
    assert!(err.to_string().contains(path), "{err} should name {path}");
}

#[test]
fn a_missing_file_is_not_found_with_its_path() {
    let dir = TempDir::new("missing");
    let missing = dir.join("nope");
    let name = missing.to_str().unwrap().to_owned();
    run("missing", async {
        use io::ErrorKind::NotFound;
        assert_error(File::open(&missing).await, NotFound, &name);
        assert_error(fs::read(&missing).await, NotFound, &name);
        assert_error(fs::read_to_string(&missing).await, NotFound, &name);
        assert_error(fs::metadata(&missing).await, NotFound, &name);
        assert_error(fs::remove_file(&missing).await, NotFound, &name);
        assert_error(fs::remove_dir_all(&missing).await, NotFound, &name);
        assert_error(fs::read_dir(&missing).await, NotFound, &name);
        assert_error(fs::copy(&missing, dir.join("to")).await, NotFound, &name);
        let renamed = fs::rename(&missing, dir.join("to")).await;
        assert_error(renamed, NotFound, &format!("{name} -> "));
        assert_error(
            fs::write(dir.join("no/dir/file"), "x").await,
            NotFound,
            "no/dir/file",
        );
    });
}

/// Permission denied, even for root: `/proc/sys` enforces its files' mode
/// bits for everyone (root gets the owner's bits, and `ostype` is 0444),
/// unlike ordinary files, which root may write whatever their mode; and a
/// sysfs attribute without a store method refuses writers the same way.
#[test]
fn permission_denied_comes_back_with_the_path_even_for_root() {
    run("permission denied", async {
        use io::ErrorKind::PermissionDenied;
        let ostype = "/proc/sys/kernel/ostype";
        assert_error(fs::write(ostype, "x").await, PermissionDenied, ostype);
        let opened = OpenOptions::new().write(true).open(ostype).await;
        assert_error(opened, PermissionDenied, ostype);
        if Path::new("/sys/kernel/uevent_seqnum").exists() {
            let seqnum = "/sys/kernel/uevent_seqnum";
            assert_error(fs::write(seqnum, "1").await, PermissionDenied, seqnum);
        }
        // And a directory opened for writing.
        let opened = OpenOptions::new().write(true).open("/").await;
        assert_error(opened, io::ErrorKind::IsADirectory, "/");
    });
}

#[test]
fn a_failed_background_write_is_reported_by_the_next_operation() {
    run("write error", async {
        // Writes to /dev/full fail with ENOSPC; ours are buffered, so the
        // error comes from the flush, with the path.
        let mut full = OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .await
            .unwrap();
        full.write_all(b"no room").await.unwrap();
        let err = full.flush().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
        assert!(err.to_string().contains("/dev/full"), "{err}");
        // Reported once; the file goes on working (and failing).
        full.flush().await.unwrap();
    });
}

#[test]
fn dropping_a_file_with_writes_in_flight_or_buffered_completes_them() {
    let dir = TempDir::new("drop");
    run("drop", async {
        let big = dir.join("big");
        let small = dir.join("small");
        let data = random_bytes(3 << 20, 3);
        let mut file = File::create(&big).await.unwrap();
        // Taken and handed to pool threads (write-behind), then dropped.
        file.write_all(&data).await.unwrap();
        drop(file);
        let mut file = File::create(&small).await.unwrap();
        file.write_all(b"tiny").await.unwrap(); // still in the buffer
        drop(file);
        deadline("the dropped writes", async {
            while std::fs::read(&big).unwrap() != data || std::fs::read(&small).unwrap() != b"tiny"
            {
                runtime::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
    });
}

#[test]
fn a_read_dropped_mid_way_loses_nothing() {
    let dir = TempDir::new("cancel");
    let path = dir.join("data");
    let data = random_bytes(1 << 20, 9);
    std::fs::write(&path, &data).unwrap();
    run("cancelled read", async {
        let mut file = File::open(&path).await.unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0; 10_000];
        // Every other read is polled once (starting a job) and dropped.
        let mut i = 0;
        loop {
            if i % 2 == 0 {
                let read = pin!(file.read(&mut buf));
                if let std::task::Poll::Ready(n) = poll_once(read).await {
                    let n = n.unwrap();
                    got.extend_from_slice(&buf[..n]);
                    if n == 0 {
                        break;
                    }
                }
            } else {
                let n = file.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
                if n == 0 {
                    break;
                }
            }
            i += 1;
        }
        assert!(got == data, "every byte once, in order");
    });
}

#[test]
fn writes_after_read_ahead_land_at_the_logical_position() {
    let dir = TempDir::new("mixed");
    let path = dir.join("mixed");
    std::fs::write(&path, vec![b'.'; 100_000]).unwrap();
    run("mixed", async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        let mut head = [0; 10];
        file.read_exact(&mut head).await.unwrap(); // reads far ahead
        file.write_all(b"HERE").await.unwrap(); // must land at byte 10
        assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 14);
        let mut next = [0; 2];
        file.read_exact(&mut next).await.unwrap();
        assert_eq!(&next, b"..");
        file.seek(SeekFrom::Start(99_998)).await.unwrap();
        file.write_all(b"END!").await.unwrap(); // extends the file
        file.sync_all().await.unwrap();
        assert_eq!(file.metadata().await.unwrap().len(), 100_002);
        file.set_len(50).await.unwrap();
        file.rewind().await.unwrap();
        let mut all = Vec::new();
        file.read_to_end(&mut all).await.unwrap();
        let mut expected = vec![b'.'; 50];
        expected[10..14].copy_from_slice(b"HERE");
        assert_eq!(all, expected);
        let std = file.into_std().await.unwrap();
        assert_eq!(std.metadata().unwrap().len(), 50);
    });
}

#[test]
fn read_dir_streams_every_entry_once() {
    let dir = TempDir::new("listing");
    for i in 0..100 {
        std::fs::write(dir.join(&format!("entry-{i:03}")), "").unwrap();
    }
    std::fs::create_dir(dir.join("subdir")).unwrap();
    run("read_dir", async {
        let mut entries = fs::read_dir(&dir.0).await.unwrap();
        let mut names = Vec::new();
        while let Some(entry) = poll_fn(|cx| Pin::new(&mut entries).poll_next(cx)).await {
            let entry = entry.unwrap();
            assert_eq!(entry.path(), dir.0.join(entry.file_name()));
            let is_dir = entry.file_type().await.unwrap().is_dir();
            assert_eq!(is_dir, entry.file_name() == "subdir");
            names.push(entry.file_name().into_string().unwrap());
        }
        names.sort();
        let mut expected: Vec<String> = (0..100).map(|i| format!("entry-{i:03}")).collect();
        expected.push("subdir".into());
        assert_eq!(names, expected);
        // The end is the end, again and again.
        assert!(entries.next_entry().await.unwrap().is_none());
    });
}

#[test]
fn a_paused_clock_does_not_jump_past_a_file_operation() {
    let dir = TempDir::new("paused");
    let path = dir.join("data");
    std::fs::write(&path, random_bytes(4 << 20, 1)).unwrap();
    run("paused", async {
        runtime::time::pause();
        // With nothing but a timer to wait for, a paused clock jumps to
        // it; a file operation in flight must hold it back.
        let read = runtime::time::timeout(Duration::from_secs(3600), fs::read(&path)).await;
        assert_eq!(read.expect("no jump past the read").unwrap().len(), 4 << 20);
        let mut file = File::open(&path).await.unwrap();
        let mut buf = vec![0; 1 << 20];
        let n = runtime::time::timeout(Duration::from_secs(3600), file.read(&mut buf)).await;
        assert!(n.expect("no jump past the read").unwrap() > 0);
    });
}
