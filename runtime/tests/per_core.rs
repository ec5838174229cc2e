//! Thread-per-core: runtime groups, pinning, panics, shutdown, listeners
//! sharing a port, and connections handed between cores.

mod util;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpSocket, TcpStream};
use runtime::{Builder, GroupError};

#[test]
fn each_core_runs_its_own_future_and_outputs_come_in_core_order() {
    let _watchdog = util::Watchdog::new("group outputs", util::DEADLINE);
    let outputs = Builder::new()
        .threads(3)
        .run_per_core(|core| async move {
            // Each core is a runtime of its own, on a thread of its own.
            runtime::spawn(async move { core.index() * 2 })
                .await
                .unwrap()
        })
        .unwrap();
    assert_eq!(outputs, [0, 2, 4]);
}

#[test]
fn pinned_cores_run_on_their_cpu_only() {
    let _watchdog = util::Watchdog::new("pinning", util::DEADLINE);
    let outputs = Builder::new()
        .threads(2)
        .pin(true)
        .run_per_core(|core| async move { (core.cpu(), allowed_cpus()) })
        .unwrap();
    for (cpu, allowed) in outputs {
        let cpu = cpu.expect("a pinned core names its CPU");
        assert_eq!(allowed, [cpu]);
    }
}

/// The CPUs this thread may run on.
fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string();
    list.split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().unwrap()..=b.parse().unwrap()).collect::<Vec<_>>(),
            None => vec![part.parse().unwrap()],
        })
        .collect()
}

#[test]
fn a_panic_in_a_cores_task_leaves_the_group_running() {
    let _watchdog = util::Watchdog::new("task panic", util::DEADLINE);
    let outputs = Builder::new()
        .threads(2)
        .run_per_core(|core| async move {
            let task = runtime::spawn(async move {
                if core.index() == 1 {
                    panic!("a task of core 1");
                }
            });
            task.await.is_err()
        })
        .unwrap();
    assert_eq!(outputs, [false, true]);
}

#[test]
fn a_panic_in_a_cores_future_stops_the_others_and_is_reported() {
    let _watchdog = util::Watchdog::new("future panic", util::DEADLINE);
    let err = Builder::new()
        .threads(2)
        .run_per_core(|core| async move {
            if core.index() == 1 {
                runtime::time::sleep(Duration::from_millis(20)).await;
                panic!("core 1's future");
            }
            // Core 0 would wait for ever: only the group's stop ends it.
            std::future::pending::<()>().await;
        })
        .unwrap_err();
    match err {
        GroupError::Panicked { core, message } => {
            assert_eq!(core.index(), 1);
            assert!(message.contains("core 1's future"), "{message}");
        }
        other => panic!("not a panic: {other}"),
    }
}

#[test]
fn shutdown_and_drop_stop_every_core() {
    let _watchdog = util::Watchdog::new("shutdown", util::DEADLINE);
    let dropped = Arc::new(AtomicUsize::new(0));
    let group = Builder::new()
        .threads(2)
        .spawn_per_core({
            let dropped = dropped.clone();
            move |_core| {
                let guard = CountDrop(dropped.clone());
                async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                }
            }
        })
        .unwrap();
    group.shutdown();
    assert!(matches!(group.join(), Err(GroupError::Stopped)));
    assert_eq!(dropped.load(Ordering::SeqCst), 2);

    let group = Builder::new()
        .threads(2)
        .spawn_per_core({
            let dropped = dropped.clone();
            move |_core| {
                let guard = CountDrop(dropped.clone());
                async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                }
            }
        })
        .unwrap();
    drop(group);
    assert_eq!(dropped.load(Ordering::SeqCst), 4);
}

/// Counts its drops.
struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn reuseport_listeners_on_two_cores_share_the_connections() {
    let _watchdog = util::Watchdog::new("reuseport group", util::DEADLINE);
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let accepted = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let group = Builder::new()
        .threads(2)
        .spawn_per_core({
            let accepted = accepted.clone();
            move |core| {
                let accepted = accepted.clone();
                async move {
                    let socket = TcpSocket::new_v4().unwrap();
                    socket.set_reuseport(true).unwrap();
                    socket.bind(([127, 0, 0, 1], port).into()).unwrap();
                    let listener = socket.listen(1024).unwrap();
                    loop {
                        let (mut stream, _) = listener.accept().await.unwrap();
                        accepted[core.index()].fetch_add(1, Ordering::SeqCst);
                        runtime::spawn(async move {
                            let mut byte = [0];
                            if stream.read_exact(&mut byte).await.is_ok() {
                                let _ = stream.write_all(&byte).await;
                            }
                        });
                    }
                }
            }
        })
        .unwrap();
    // The listeners exist once both cores have started their futures:
    // retry the first connection until it is accepted.
    for i in 0..200u32 {
        let mut client = loop {
            match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Ok(client) => break client,
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        client.write_all(&[i as u8]).unwrap();
        let mut byte = [0];
        client.read_exact(&mut byte).unwrap();
        assert_eq!(byte[0], i as u8);
    }
    let counts = [
        accepted[0].load(Ordering::SeqCst),
        accepted[1].load(Ordering::SeqCst),
    ];
    assert_eq!(counts[0] + counts[1], 200);
    assert!(
        counts.iter().all(|&c| c > 0),
        "one core took every connection: {counts:?}"
    );
    group.shutdown();
    let _ = group.join();
}

#[test]
fn ten_thousand_connections_handed_to_two_workers_none_lost() {
    let _watchdog = util::Watchdog::new("hand-off", Duration::from_secs(120));
    const CONNECTIONS: usize = 10_000;
    let served = Arc::new(AtomicUsize::new(0));
    let workers = Builder::new()
        .threads(2)
        .spawn_per_core(|_core| std::future::pending::<()>())
        .unwrap();
    let handles = workers.handles().to_vec();
    let rt = runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients = std::thread::spawn(move || {
            // 50 at a time, each checked.
            for batch in 0..CONNECTIONS / 50 {
                let mut open: Vec<_> = (0..50)
                    .map(|_| std::net::TcpStream::connect(addr).unwrap())
                    .collect();
                for (i, client) in open.iter_mut().enumerate() {
                    let byte = (batch * 50 + i) as u8;
                    client.write_all(&[byte]).unwrap();
                    let mut back = [0];
                    client.read_exact(&mut back).unwrap();
                    assert_eq!(back[0], byte);
                }
            }
        });
        for n in 0..CONNECTIONS {
            let (stream, _) = listener.accept().await.unwrap();
            let stream = stream.into_std().unwrap();
            let served = served.clone();
            // Alternate between the workers: the acceptor chooses.
            drop(handles[n % 2].spawn_pinned(move || async move {
                let mut stream = TcpStream::from_std(stream).unwrap();
                let mut byte = [0];
                stream.read_exact(&mut byte).await.unwrap();
                stream.write_all(&byte).await.unwrap();
                served.fetch_add(1, Ordering::SeqCst);
            }));
        }
        let clients = runtime::task::spawn_blocking(move || clients.join().is_ok());
        assert!(clients.await.unwrap(), "a client saw a lost or wrong echo");
    });
    // Each worker counts right after its echo, which the client may have
    // read first: give the last counts a moment.
    for _ in 0..1_000 {
        if served.load(Ordering::SeqCst) == CONNECTIONS {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(served.load(Ordering::SeqCst), CONNECTIONS);
    workers.shutdown();
}
