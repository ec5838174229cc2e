//! Groups of tasks and what tasks carry: `JoinSet`, `AbortHandle`, task
//! ids and names, task-local values.

mod util;

use std::cell::Cell;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use runtime::task::{yield_now, JoinSet};
use util::run;

runtime::task_local! {
    /// Which request a task serves.
    static REQUEST: u32;
}

#[test]
fn join_set_yields_results_in_the_order_tasks_finish() {
    run("join set order", async {
        runtime::time::pause();
        let mut set = JoinSet::new();
        for secs in [3u64, 1, 2] {
            set.spawn(async move {
                runtime::time::sleep(Duration::from_secs(secs)).await;
                secs
            });
        }
        assert_eq!(set.len(), 3);
        let mut order = Vec::new();
        while let Some(result) = set.join_next().await {
            order.push(result.unwrap());
        }
        assert_eq!(order, [1, 2, 3]);
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn a_hundred_thousand_tasks_join_once_each() {
    run("join set 100k", async {
        let mut set = JoinSet::new();
        for i in 0..100_000u64 {
            set.spawn(async move { i });
        }
        let mut sum = 0;
        let mut count = 0;
        while let Some(result) = set.join_next().await {
            sum += result.unwrap();
            count += 1;
        }
        assert_eq!(count, 100_000);
        assert_eq!(sum, 100_000 * 99_999 / 2);
    });
}

#[test]
fn abort_all_and_shutdown_cancel_and_drop_aborts() {
    run("join set abort", async {
        let mut set: JoinSet<()> = JoinSet::new();
        for _ in 0..5 {
            set.spawn(std::future::pending());
        }
        set.abort_all();
        let mut cancelled = 0;
        while let Some(result) = set.join_next().await {
            assert!(result.unwrap_err().is_cancelled());
            cancelled += 1;
        }
        assert_eq!(cancelled, 5);

        let mut set: JoinSet<()> = JoinSet::new();
        let abort = set.spawn(std::future::pending());
        set.shutdown().await;
        assert!(set.is_empty() && abort.is_finished());

        // Dropping the set aborts what it holds.
        let ran_to_end = Rc::new(Cell::new(false));
        let mut set = JoinSet::new();
        let abort = set.spawn({
            let ran_to_end = ran_to_end.clone();
            async move {
                runtime::time::sleep(Duration::from_millis(20)).await;
                ran_to_end.set(true);
            }
        });
        drop(set);
        util::yield_until(10, || abort.is_finished()).await;
        runtime::time::sleep(Duration::from_millis(30)).await;
        assert!(!ran_to_end.get(), "a task of a dropped set ran on");
    });
}

#[test]
fn detached_tasks_run_on_and_try_join_next_does_not_wait() {
    run("detach and try", async {
        let done = Rc::new(Cell::new(false));
        let mut set = JoinSet::new();
        set.spawn({
            let done = done.clone();
            async move {
                yield_now().await;
                done.set(true);
            }
        });
        assert!(set.try_join_next().is_none(), "nothing finished yet");
        set.detach_all();
        assert!(set.is_empty());
        drop(set);
        util::yield_until(10, || done.get()).await;

        let mut set = JoinSet::new();
        set.spawn(async { 5 });
        util::yield_until(10, || !set.is_empty() && set.len() == 1).await;
        yield_now().await;
        assert_eq!(set.try_join_next().unwrap().unwrap(), 5);
    });
}

#[test]
fn a_panicking_task_in_a_set_gives_a_panic_error() {
    run("join set panic", async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("in the set") });
        set.spawn(async { 1 });
        let mut panics = 0;
        let mut values = 0;
        while let Some(result) = set.join_next().await {
            match result {
                Ok(v) => values += v,
                Err(e) => {
                    assert!(e.is_panic());
                    panics += 1;
                }
            }
        }
        assert_eq!((panics, values), (1, 1));
    });
}

#[test]
fn a_set_joins_its_own_tasks_and_blocking_work_together() {
    run("join set with blocking work", async {
        let mut set = JoinSet::new();
        // Blocking work that finishes while `join_next` is parked: the pool
        // thread must wake the joining task.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        set.spawn_blocking(move || {
            gate.recv().expect("the test sends");
            100
        });
        for i in 0..10 {
            set.spawn(async move {
                yield_now().await;
                i
            });
        }
        set.spawn_blocking(|| 1000);
        let mut seen = Vec::new();
        // Ten tasks and the ungated work come out; the gated one cannot.
        for _ in 0..11 {
            seen.push(set.join_next().await.unwrap().unwrap());
        }
        assert_eq!(set.len(), 1);
        assert!(
            set.try_join_next().is_none(),
            "the gated work cannot finish yet"
        );
        // Released by another task once this one is parked in `join_next`.
        runtime::spawn(async move { release.send(()).unwrap() });
        seen.push(set.join_next().await.unwrap().unwrap());
        assert!(set.join_next().await.is_none());
        seen.sort_unstable();
        let want: Vec<i32> = (0..10).chain([100, 1000]).collect();
        assert_eq!(seen, want);
    });
}

#[test]
fn dropping_join_next_loses_no_result() {
    run("join_next cancel safety", async {
        let mut set = JoinSet::new();
        set.spawn(async {
            yield_now().await;
            7
        });
        // A join_next dropped before the task finished.
        let early = runtime::time::timeout(Duration::ZERO, set.join_next()).await;
        assert!(early.is_err());
        assert_eq!(set.join_next().await.unwrap().unwrap(), 7);
    });
}

#[test]
fn ids_are_unique_and_seen_from_inside() {
    run("ids", async {
        let handles: Vec<_> = (0..100)
            .map(|_| runtime::spawn(async { runtime::task::id() }))
            .collect();
        let ids: Vec<_> = handles.iter().map(|h| h.id()).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 100);
        for (handle, id) in handles.into_iter().zip(ids) {
            assert_eq!(handle.await.unwrap(), id);
        }
        assert!(
            runtime::task::try_id().is_none(),
            "block_on's future is not a task"
        );
        let remote = runtime::Handle::current().spawn(async { runtime::task::id() });
        let id = remote.id();
        assert_eq!(remote.await.unwrap(), id);
    });
}

#[test]
fn abort_handles_cancel_and_outlive_their_join_handle() {
    run("abort handle", async {
        let task = runtime::spawn(std::future::pending::<()>());
        let abort = task.abort_handle();
        drop(task);
        assert!(!abort.is_finished());
        abort.abort();
        util::yield_until(10, || abort.is_finished()).await;
    });
}

#[test]
fn named_tasks_know_their_names() {
    run("names", async {
        let task = runtime::task::Builder::new()
            .name("worker 1")
            .spawn(async { runtime::task::name() })
            .unwrap();
        assert_eq!(task.await.unwrap().as_deref(), Some("worker 1"));
        assert!(runtime::spawn(async { runtime::task::name() })
            .await
            .unwrap()
            .is_none());
    });
}

#[test]
fn task_locals_stay_with_their_task_across_interleaved_polls() {
    run("task locals", async {
        let tasks: Vec<_> = (0..10u32)
            .map(|i| {
                runtime::spawn(REQUEST.scope(i, async move {
                    let mut seen = Vec::new();
                    for _ in 0..5 {
                        seen.push(REQUEST.get());
                        yield_now().await;
                    }
                    (i, seen)
                }))
            })
            .collect();
        for task in tasks {
            let (i, seen) = task.await.unwrap();
            assert_eq!(seen, vec![i; 5], "task {i} saw another task's value");
        }
        assert!(REQUEST.try_with(|_| ()).is_err());
        // Nested scopes restore the outer value.
        let outer = REQUEST
            .scope(1, async {
                let inner = REQUEST.scope(2, async { REQUEST.get() }).await;
                (inner, REQUEST.get())
            })
            .await;
        assert_eq!(outer, (2, 1));
    });
}
