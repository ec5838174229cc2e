//! loom models of the executor's cross-thread paths: a task woken from
//! another thread (its queued flag, the remote queue and its overflow, the
//! `ring_pending` flag and the eventfd) and `Handle::spawn` from another
//! thread (the spawn queue, the remote `JoinHandle`).
//!
//! loom cannot model `epoll_wait`, so the runtime's thread is played by the
//! test: it uses the runtime's own wakers and shared state through
//! `runtime::loom_model`, and takes a tick's cross-thread steps as
//! `Core::tick` does (`Model::turn`). Under loom the eventfd is a
//! loom-visible flag and a turn with nothing to run blocks on it, so a lost
//! wake shows up as a deadlock that loom reports. The remote ring has one
//! slot under loom, so a second queued task takes the overflow path.
//!
//! Only built with `RUSTFLAGS="--cfg loom"`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p runtime --release --test 'loom_*'
//! ```

#![cfg(loom)]

use std::sync::Arc;
use std::task::Context;

use loom::future::block_on;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use runtime::loom_model::{Job, Model, Task};

/// Polls a spawned job once as the runtime's thread would, with `task`'s
/// waker; true if it finished.
fn poll_job(job: &mut Job, task: &Task) -> bool {
    task.mark_dequeued();
    let waker = task.waker();
    job.as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_ready()
}

mod remote_wake {
    use super::*;

    /// The runtime's thread polls `tasks` (all queued once, as spawned)
    /// until each has seen `wakes[i]` events, turning in between; checks
    /// that a turn never hands over a task twice. A lost wake deadlocks.
    fn run_until_seen(rt: &Model, tasks: &[Task], events: &[Arc<AtomicUsize>], wanted: usize) {
        // Poll each task once: it sees what happened so far and parks.
        let mut seen: Vec<usize> = tasks
            .iter()
            .zip(events)
            .map(|(task, events)| {
                task.mark_dequeued();
                events.load(Ordering::Acquire)
            })
            .collect();
        while seen.iter().any(|&seen| seen < wanted) {
            let turn = rt.turn(true);
            let mut woken = turn.woken.clone();
            woken.sort_unstable();
            woken.dedup();
            assert_eq!(woken.len(), turn.woken.len(), "a task was queued twice");
            for id in turn.woken {
                let i = usize::try_from(id).unwrap();
                let task = &tasks[i];
                // Queued until the poll starts: a wake meanwhile is a no-op.
                assert!(task.is_queued());
                task.mark_dequeued();
                seen[i] = events[i].load(Ordering::Acquire);
            }
        }
    }

    #[test]
    fn a_wake_from_another_thread_is_never_lost() {
        loom::model(|| {
            let rt = Model::new();
            let task = rt.task(0);
            let events = Arc::new(AtomicUsize::new(0));
            let waker = task.waker();
            let (ev, rt2) = (events.clone(), rt.clone());
            let waking = thread::spawn(move || {
                ev.fetch_add(1, Ordering::Release);
                waker.wake();
                drop(rt2);
            });
            run_until_seen(&rt, &[task], &[events], 1);
            waking.join().unwrap();
        });
    }

    #[test]
    fn two_wakes_racing_a_poll_are_both_seen() {
        loom::model(|| {
            let rt = Model::new();
            let task = rt.task(0);
            let events = Arc::new(AtomicUsize::new(0));
            let waker = task.waker();
            let ev = events.clone();
            let waking = thread::spawn(move || {
                for _ in 0..2 {
                    ev.fetch_add(1, Ordering::Release);
                    waker.wake_by_ref();
                }
            });
            run_until_seen(&rt, &[task], &[events], 2);
            waking.join().unwrap();
        });
    }

    #[test]
    fn two_tasks_woken_from_two_threads_take_the_ring_and_the_overflow() {
        loom::model(|| {
            let rt = Model::new();
            let tasks = [rt.task(0), rt.task(1)];
            let events = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
            let wakers: Vec<_> = tasks
                .iter()
                .zip(&events)
                .map(|(task, events)| {
                    let (waker, events) = (task.waker(), events.clone());
                    thread::spawn(move || {
                        events.fetch_add(1, Ordering::Release);
                        waker.wake();
                    })
                })
                .collect();
            run_until_seen(&rt, &tasks, &events, 1);
            for waking in wakers {
                waking.join().unwrap();
            }
        });
    }

    #[test]
    fn two_threads_waking_one_task_queue_it_once() {
        loom::model(|| {
            let rt = Model::new();
            let task = rt.task(0);
            let events = Arc::new(AtomicUsize::new(0));
            let wakers: Vec<_> = (0..2)
                .map(|_| {
                    let (waker, events) = (task.waker(), events.clone());
                    thread::spawn(move || {
                        events.fetch_add(1, Ordering::Release);
                        waker.wake();
                    })
                })
                .collect();
            run_until_seen(&rt, std::slice::from_ref(&task), &[events], 2);
            for waking in wakers {
                waking.join().unwrap();
            }
        });
    }

    #[test]
    fn a_wake_racing_the_runtimes_drop_does_nothing_harmful() {
        loom::model(|| {
            let rt = Model::new();
            let task = rt.task(0);
            task.mark_dequeued();
            let waker = task.waker();
            let waking = thread::spawn(move || {
                waker.wake_by_ref();
                // The runtime is gone by now, or going.
                waker.wake();
            });
            rt.shut_down(std::slice::from_ref(&task));
            drop(task);
            drop(rt);
            waking.join().unwrap();
        });
    }
}

mod remote_spawn {
    use super::*;

    /// Runs the runtime's thread until a spawn arrives, and runs it.
    fn run_one_spawn(rt: &Model) {
        loop {
            let mut turn = rt.turn(true);
            if let Some(mut job) = turn.spawned.pop() {
                assert!(turn.spawned.is_empty());
                assert!(poll_job(&mut job, &rt.task(0)));
                return;
            }
        }
    }

    #[test]
    fn a_spawn_from_another_thread_runs_once_and_its_output_arrives() {
        loom::model(|| {
            let rt = Model::new();
            let runs = Arc::new(AtomicUsize::new(0));
            let (rt2, r) = (rt.clone(), runs.clone());
            let spawner = thread::spawn(move || {
                let handle = rt2.spawn(async move {
                    r.fetch_add(1, Ordering::Relaxed);
                    7
                });
                block_on(handle)
            });
            run_one_spawn(&rt);
            assert_eq!(spawner.join().unwrap().unwrap(), 7);
            assert_eq!(runs.load(Ordering::Relaxed), 1);
        });
    }

    #[test]
    fn dropping_the_handle_while_the_task_runs_is_fine() {
        loom::model(|| {
            let rt = Model::new();
            let runs = Arc::new(AtomicUsize::new(0));
            let (rt2, r) = (rt.clone(), runs.clone());
            let spawner = thread::spawn(move || {
                drop(rt2.spawn(async move {
                    r.fetch_add(1, Ordering::Relaxed);
                    String::from("dropped with nobody to read it")
                }));
            });
            run_one_spawn(&rt);
            spawner.join().unwrap();
            assert_eq!(runs.load(Ordering::Relaxed), 1);
        });
    }

    #[test]
    fn a_spawn_racing_the_runtimes_drop_runs_once_or_reports_cancelled() {
        loom::model(|| {
            let rt = Model::new();
            let runs = Arc::new(AtomicUsize::new(0));
            let (rt2, r) = (rt.clone(), runs.clone());
            let spawner = thread::spawn(move || {
                let handle = rt2.spawn(async move {
                    r.fetch_add(1, Ordering::Relaxed);
                    7
                });
                block_on(handle)
            });
            // One tick that does not wait, then the runtime is dropped.
            let turn = rt.turn(false);
            for mut job in turn.spawned {
                assert!(poll_job(&mut job, &rt.task(0)));
            }
            rt.shut_down(&[]);
            let result = spawner.join().unwrap();
            match runs.load(Ordering::Relaxed) {
                0 => assert!(result.unwrap_err().is_cancelled()),
                1 => assert_eq!(result.unwrap(), 7),
                n => panic!("the future ran {n} times"),
            }
        });
    }

    #[test]
    fn a_task_woken_from_the_spawning_thread_finishes() {
        // The spawned future waits for a value the spawning thread sends
        // after spawning: the task's waker is woken remotely, and the
        // runtime's thread must poll it again.
        loom::model(|| {
            let rt = Model::new();
            let (tx, rx) = runtime::sync::oneshot::channel::<u8>();
            let rt2 = rt.clone();
            let spawner = thread::spawn(move || {
                let handle = rt2.spawn(async move { rx.await.unwrap() + 1 });
                tx.send(1).unwrap();
                block_on(handle)
            });
            let task = rt.task(0);
            let mut job = loop {
                if let Some(job) = rt.turn(true).spawned.pop() {
                    break job;
                }
            };
            let mut queued = true; // the spawn queued the task
            loop {
                if queued && poll_job(&mut job, &task) {
                    break;
                }
                queued = rt.turn(true).woken.contains(&task.id());
            }
            assert_eq!(spawner.join().unwrap().unwrap(), 2);
        });
    }
}
