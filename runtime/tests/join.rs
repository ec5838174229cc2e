//! `join!` and `try_join!`: outputs in order, concurrency on one task, a
//! fair rotation of the polling order, finished futures dropped at once,
//! and `try_join!` stopping at the first error and dropping the rest.

mod probe;

use std::future::{ready, IntoFuture, Ready};

use probe::{after, never, Event, Log};
use runtime::sync::mpsc;
use runtime::task::yield_now;

/// The outputs come back as a tuple in the order of the arguments,
/// whatever order the futures finish in and whatever their types.
#[test]
fn outputs_in_argument_order() {
    runtime::block_on(async {
        let log = Log::new();
        let (a, b, c, ()) = runtime::join!(
            after(&log, 0, 3, 'a'),
            after(&log, 1, 0, "b"),
            after(&log, 2, 1, 3u64),
            async {},
        );
        assert_eq!((a, b, c), ('a', "b", 3));
        assert_eq!(runtime::join!(ready(1)), (1,));
    });
}

/// The futures run concurrently: two that wait on each other (a ping-pong
/// over channels) both finish, which would deadlock if they ran one after
/// the other.
#[test]
fn futures_run_concurrently() {
    runtime::block_on(async {
        let (ping_tx, mut ping_rx) = mpsc::channel(1);
        let (pong_tx, mut pong_rx) = mpsc::channel(1);
        let (pinger, ponger) = runtime::join!(
            async move {
                let mut got = Vec::new();
                for n in 0..3 {
                    ping_tx.send(n).await.unwrap();
                    got.push(pong_rx.recv().await.unwrap());
                }
                got
            },
            async move {
                let mut count = 0;
                while let Some(n) = ping_rx.recv().await {
                    pong_tx.send(n * 10).await.unwrap();
                    count += 1;
                }
                count
            },
        );
        assert_eq!(pinger, [0, 10, 20]);
        assert_eq!(ponger, 3);
    });
}

/// Each poll starts one future further along than the last, so that every
/// future is polled first in turn.
#[test]
fn polling_order_rotates() {
    runtime::block_on(async {
        let log = Log::new();
        runtime::join!(
            after(&log, 0, 4, ()),
            after(&log, 1, 4, ()),
            after(&log, 2, 4, ()),
        );
        assert_eq!(
            log.polls(),
            [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2, 1, 2, 0],
            "five polls of three futures, starting at 0, 1, 2, 0, 1"
        );
    });
}

/// A future that finishes is dropped at once, while the others go on, and
/// is not polled again.
#[test]
fn a_finished_future_is_dropped_at_once() {
    runtime::block_on(async {
        let log = Log::new();
        let (first, second) = runtime::join!(probe::ready(&log, 0, 1), async {
            // Give the join a few polls, then look.
            for _ in 0..3 {
                yield_now().await;
            }
            log.dropped(0)
        });
        assert_eq!(first, 1);
        assert!(second, "the finished future was kept until the end");
        assert_eq!(log.polls_of(0), 1);
    });
}

/// `try_join!` of successes is `Ok` with the values in argument order.
#[test]
fn try_join_all_ok() {
    runtime::block_on(async {
        let log = Log::new();
        let result: Result<(u8, &str), ()> =
            runtime::try_join!(after(&log, 0, 2, Ok(1)), after(&log, 1, 0, Ok("two")));
        assert_eq!(result, Ok((1, "two")));
    });
}

/// The first error ends `try_join!` at once: the other futures are not
/// polled again and are dropped before it returns, unfinished ones and
/// those that succeeded alike.
#[test]
fn try_join_stops_at_the_first_error_and_drops_the_rest() {
    runtime::block_on(async {
        let log = Log::new();
        let result: Result<(u8, u8, u8, u8), &str> = runtime::try_join!(
            probe::ready(&log, 0, Ok(0)),
            never(&log, 1),
            after(&log, 2, 2, Err("two failed")),
            after(&log, 3, 5, Err("three failed")),
        );
        log.mark("returned");
        assert_eq!(result, Err("two failed"));
        let events = log.events();
        let returned = events
            .iter()
            .position(|e| *e == Event::Mark("returned"))
            .unwrap();
        for id in 0..4 {
            let dropped = events.iter().position(|e| *e == Event::Dropped(id));
            assert!(
                dropped.is_some_and(|at| at < returned),
                "probe {id} not dropped when try_join! returned: {events:?}"
            );
        }
        // Probe 2 failed at its third poll; nothing was polled after it.
        let failed = events.iter().rposition(|e| *e == Event::Polled(2)).unwrap();
        assert!(!events[failed + 1..]
            .iter()
            .any(|e| matches!(e, Event::Polled(_))));
        assert_eq!(log.polls_of(3), 2);
    });
}

/// With nothing to wait on, `join!()` is `()` and `try_join!()` is `Ok(())`.
#[test]
fn empty_joins() {
    runtime::block_on(async {
        let () = runtime::join!();
        let ok: Result<(), ()> = runtime::try_join!();
        assert_eq!(ok, Ok(()));
    });
}

/// Anything `IntoFuture` may be joined.
#[test]
fn into_future_arguments() {
    struct Later(u32);
    impl IntoFuture for Later {
        type Output = u32;
        type IntoFuture = Ready<u32>;
        fn into_future(self) -> Ready<u32> {
            ready(self.0)
        }
    }
    runtime::block_on(async {
        assert_eq!(runtime::join!(Later(1), Later(2)), (1, 2));
        let r: Result<(u32,), ()> = runtime::try_join!(async { Ok(Later(3).await) });
        assert_eq!(r, Ok((3,)));
    });
}

/// 64 futures, tokio's limit: every index of the tuple is reached.
#[test]
fn sixty_four_futures() {
    macro_rules! join_over {
        ($($i:literal)*) => {
            runtime::join!($(async { yield_now().await; $i }),*)
        };
    }
    runtime::block_on(async {
        let outputs = join_over!(
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60
            61 62 63
        );
        assert_eq!(outputs.0, 0);
        assert_eq!(outputs.31, 31);
        assert_eq!(outputs.63, 63);
    });
}
