//! `select!` and the two-future combinators `future::or` and
//! `future::race`: polling order (biased, and really random otherwise),
//! preconditions, `else`, patterns that do not match, drop order, control
//! flow in handlers, and use in a loop with futures that outlive it.

mod probe;

use std::cell::Cell;
use std::future::{pending, ready};
use std::pin::pin;
use std::time::Duration;

use probe::{after, never, Event, Log};
use runtime::future::{or, race};
use runtime::sync::mpsc;
use runtime::time::sleep;

/// `biased;` polls the branches in the order written: the first ready one
/// wins every time, and those after it are not polled.
#[test]
fn biased_polls_in_order() {
    runtime::block_on(async {
        let log = Log::new();
        for _ in 0..50 {
            log.clear();
            let winner = runtime::select! {
                biased;
                v = never::<u32>(&log, 0) => v,
                v = probe::ready(&log, 1, 1) => v,
                v = probe::ready(&log, 2, 2) => v,
            };
            assert_eq!(winner, 1);
            assert_eq!(log.polls(), [0, 1]);
        }
    });
}

/// Without `biased;`, every one of several always-ready branches wins
/// sometimes: the start is random at each poll.
#[test]
fn random_start_lets_every_branch_win() {
    runtime::block_on(async {
        let mut wins = [0u32; 4];
        for _ in 0..400 {
            let winner = runtime::select! {
                v = ready(0) => v,
                v = ready(1) => v,
                v = ready(2) => v,
                v = ready(3) => v,
            };
            wins[winner] += 1;
        }
        // Each is expected 100 times; under 40 would be far outside chance.
        assert!(wins.iter().all(|&count| count >= 40), "wins: {wins:?}");
    });
}

/// Each poll of one `select!` draws a new start and goes round from it in
/// order: over many polls every branch is polled first sometimes, and each
/// poll visits every branch once, in a rotation of the written order.
#[test]
fn random_start_at_each_poll_of_one_select() {
    runtime::block_on(async {
        const BRANCHES: usize = 3;
        const POLLS: usize = 300;
        let log = Log::new();
        let winner = runtime::select! {
            v = after(&log, 0, POLLS, 0) => v,
            v = after(&log, 1, usize::MAX, 1) => v,
            v = after(&log, 2, usize::MAX, 2) => v,
        };
        assert_eq!(winner, 0);
        let polls = log.polls();
        // Until the last poll, every poll saw all three pending.
        let rounds: Vec<&[usize]> = polls.chunks(BRANCHES).take(POLLS).collect();
        let mut first = [0u32; BRANCHES];
        for round in &rounds {
            let start = round[0];
            let rotation: Vec<usize> = (0..BRANCHES).map(|k| (start + k) % BRANCHES).collect();
            assert_eq!(*round, rotation.as_slice());
            first[start] += 1;
        }
        // Each start is expected 100 times.
        assert!(first.iter().all(|&count| count >= 50), "starts: {first:?}");
    });
}

/// A branch whose precondition is false is not polled, but its future is
/// still created (after every precondition was evaluated, as tokio does);
/// a branch whose precondition is true is polled.
#[test]
fn precondition_disables_a_branch() {
    runtime::block_on(async {
        let log = Log::new();
        let order = Log::new();
        let condition = |name, value| {
            order.mark(name);
            value
        };
        let future = |name, id| {
            order.mark(name);
            probe::ready(&log, id, id)
        };
        let winner = runtime::select! {
            biased;
            v = future("future 0", 0), if condition("condition 0", false) => v,
            v = future("future 1", 1), if condition("condition 1", true) => v,
        };
        assert_eq!(winner, 1);
        assert_eq!(log.polls_of(0), 0, "a disabled branch was polled");
        assert_eq!(
            order.events(),
            [
                Event::Mark("condition 0"),
                Event::Mark("condition 1"),
                Event::Mark("future 0"),
                Event::Mark("future 1"),
            ]
        );
        // Its future was created, and dropped with the others.
        assert!(log.dropped(0));
    });
}

/// `else` runs when every branch is disabled by its precondition, after
/// the futures are dropped, and without polling any of them.
#[test]
fn else_runs_when_every_precondition_is_false() {
    runtime::block_on(async {
        let log = Log::new();
        let enabled = false;
        let outcome = runtime::select! {
            v = probe::ready(&log, 0, "zero"), if enabled => v,
            v = probe::ready(&log, 1, "one"), if enabled => v,
            else => {
                assert!(log.dropped(0) && log.dropped(1), "else ran before the drops");
                "else"
            }
        };
        assert_eq!(outcome, "else");
        assert!(log.polls().is_empty());
    });
}

/// Every branch disabled and no `else`: a clear panic.
#[test]
#[should_panic(expected = "every branch is disabled and there is no `else` branch")]
fn every_branch_disabled_without_else_panics() {
    runtime::block_on(async {
        let enabled = false;
        runtime::select! {
            () = ready(()), if enabled => {}
        }
    });
}

/// An output that does not match its branch's pattern disables that
/// branch (it is not polled again) and the `select!` waits on the others.
#[test]
fn pattern_mismatch_disables_the_branch() {
    runtime::block_on(async {
        let log = Log::new();
        let got = runtime::select! {
            biased;
            Some(v) = probe::ready(&log, 0, None::<u32>) => v,
            Some(v) = after(&log, 1, 3, Some(7)) => v,
        };
        assert_eq!(got, 7);
        // Branch 0 finished at the first poll and was never polled again,
        // while branch 1 took four polls.
        assert_eq!(log.polls_of(0), 1);
        assert_eq!(log.polls_of(1), 4);
    });
}

/// Outputs that match no pattern anywhere lead to `else`.
#[test]
fn pattern_mismatch_everywhere_runs_else() {
    runtime::block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        drop(tx);
        let outcome = runtime::select! {
            Some(v) = rx.recv() => v,
            Ok(v) = async { Err::<u32, ()>(()) } => v,
            else => 99,
        };
        assert_eq!(outcome, 99);
    });
}

/// Outputs that match no pattern and no `else`: the same clear panic.
#[test]
#[should_panic(expected = "every branch is disabled and there is no `else` branch")]
fn pattern_mismatch_everywhere_without_else_panics() {
    runtime::block_on(async {
        runtime::select! {
            Some(v) = ready(None::<u32>) => v,
        }
    });
}

/// When a branch wins, the other branches' futures are dropped before its
/// handler runs, and the winner's output reaches the handler.
#[test]
fn losers_are_dropped_before_the_handler_runs() {
    runtime::block_on(async {
        let log = Log::new();
        let got = runtime::select! {
            biased;
            v = probe::ready(&log, 0, 10) => {
                log.mark("handler");
                v
            }
            v = never::<i32>(&log, 1) => v,
            v = after(&log, 2, 5, 12) => v,
        };
        assert_eq!(got, 10);
        let events = log.events();
        let handler = events
            .iter()
            .position(|e| *e == Event::Mark("handler"))
            .unwrap();
        for id in [0, 1, 2] {
            let dropped = events.iter().position(|e| *e == Event::Dropped(id));
            assert!(
                dropped.is_some_and(|at| at < handler),
                "probe {id} not dropped before the handler: {events:?}"
            );
        }
    });
}

/// A handler may `continue` or `break` (with a value, or to a label) the
/// loop around the `select!`, `return` from the function, and use `?`.
#[test]
fn handlers_break_continue_return_and_try() {
    runtime::block_on(async {
        // continue and break with a value
        let mut n = 0;
        let mut after_select = 0;
        let result = loop {
            n += 1;
            runtime::select! {
                v = ready(n) => {
                    if v % 2 == 0 {
                        continue;
                    }
                    if v >= 7 {
                        break v * 10;
                    }
                }
            }
            after_select += 1;
        };
        assert_eq!(result, 70);
        assert_eq!(after_select, 3); // 1, 3 and 5

        // continue the inner loop, continue the outer one, break out of both
        let mut rounds = 0;
        let mut outer_rounds = 0;
        'outer: loop {
            outer_rounds += 1;
            loop {
                rounds += 1;
                runtime::select! {
                    _ = ready(()), if rounds == 5 => break 'outer,
                    _ = ready(()), if rounds % 2 == 0 => continue 'outer,
                    else => continue,
                }
            }
        }
        assert_eq!(rounds, 5);
        assert_eq!(outer_rounds, 3);

        // return from the function
        async fn first_even(values: Vec<u32>) -> Option<u32> {
            let (tx, mut rx) = mpsc::channel(values.len().max(1));
            for v in values {
                tx.send(v).await.unwrap();
            }
            drop(tx);
            loop {
                runtime::select! {
                    Some(v) = rx.recv() => if v % 2 == 0 {
                        return Some(v);
                    },
                    else => return None,
                }
            }
        }
        assert_eq!(first_even(vec![1, 3, 4, 5, 6]).await, Some(4));
        assert_eq!(first_even(vec![1, 3]).await, None);

        // ? in a handler
        async fn parse(text: &str) -> Result<u32, String> {
            let n = runtime::select! {
                r = async { text.parse::<u32>().map_err(|e| e.to_string()) } => r?,
            };
            Ok(n + 1)
        }
        assert_eq!(parse("41").await, Ok(42));
        assert!(parse("x").await.is_err());
    });
}

/// In a loop, futures created outside it and selected by `&mut` are
/// resumed, not re-created, across iterations; a precondition keeps a
/// finished one from being polled again.
#[test]
fn loop_with_mut_futures() {
    runtime::Builder::new()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(async {
            let (tx, mut rx) = mpsc::channel(4);
            runtime::spawn(async move {
                for n in 0..5 {
                    sleep(Duration::from_secs(1)).await;
                    tx.send(n).await.unwrap();
                }
            });
            let created = Cell::new(0);
            let mut timeout = pin!(async {
                created.set(created.get() + 1);
                sleep(Duration::from_millis(2_500)).await;
            });
            let mut timed_out = false;
            let mut before_timeout = Vec::new();
            let mut after_timeout = Vec::new();
            loop {
                runtime::select! {
                    () = &mut timeout, if !timed_out => timed_out = true,
                    Some(n) = rx.recv() => if timed_out {
                        after_timeout.push(n);
                    } else {
                        before_timeout.push(n);
                    },
                    else => break,
                }
            }
            assert_eq!(created.get(), 1);
            assert_eq!(before_timeout, [0, 1]);
            assert_eq!(after_timeout, [2, 3, 4]);
        });
}

/// `mut`, `ref` and `ref mut` bindings, or-patterns, `_` and a plain name
/// all work as patterns, and outputs of different types may share a
/// `select!`.
#[test]
fn patterns_of_every_shape() {
    runtime::block_on(async {
        let s = runtime::select! {
            Some(mut s) = ready(Some(String::from("a"))) => {
                s.push('b');
                s
            }
        };
        assert_eq!(s, "ab");

        let len = runtime::select! {
            (ref text, ref mut n) = ready((String::from("xyz"), 0usize)) => {
                *n += text.len();
                *n
            }
        };
        assert_eq!(len, 3);

        let n = runtime::select! {
            Ok(n) | Err(n) = ready(Err::<u8, u8>(5)) => n,
        };
        assert_eq!(n, 5);

        let kind = runtime::select! {
            biased;
            _ = pending::<()>() => "pending",
            3..=9 = ready(4u8) => "range",
            n = ready(1u64) => if n == 1 { "name" } else { "other" },
        };
        assert_eq!(kind, "range");
    });
}

/// A `select!` parks until a pending branch is woken, then finishes.
#[test]
fn waits_for_a_wake_up() {
    runtime::block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        runtime::spawn(async move {
            sleep(Duration::from_millis(5)).await;
            tx.send("late").await.unwrap();
        });
        let got = runtime::select! {
            Some(msg) = rx.recv() => msg,
            () = sleep(Duration::from_secs(20)) => panic!("the channel never delivered"),
        };
        assert_eq!(got, "late");
    });
}

/// A `select!` of 64 always-ready branches, `v = ready(i), if
/// enabled(i) => v` for `i` in `0..64`.
macro_rules! select_64 {
    ($enabled:expr) => {
        select_64!(@branches $enabled;
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60
            61 62 63
        )
    };
    (@branches $enabled:expr; $($i:literal)*) => {
        runtime::select! {
            $(v = ready($i), if $enabled($i) => v,)*
        }
    };
}

/// 64 branches, tokio's limit: the last one's bit and index work, and
/// every branch can win.
#[test]
fn sixty_four_branches() {
    runtime::block_on(async {
        let only_last = |i: usize| i == 63;
        assert_eq!(select_64!(only_last), 63);

        let mut seen = [false; 64];
        for _ in 0..2_000 {
            let all = |_: usize| true;
            seen[select_64!(all)] = true;
        }
        // Expected ~31 wins each; missing one has odds of about 1e-12.
        let never: Vec<usize> = (0..64).filter(|&i| !seen[i]).collect();
        assert!(never.is_empty(), "never won: {never:?}");
    });
}

/// `or` polls its first future first: it wins every tie, and the second
/// wins only while the first is pending.
#[test]
fn or_prefers_the_first() {
    runtime::block_on(async {
        for _ in 0..50 {
            assert_eq!(or(ready(1), ready(2)).await, 1);
        }
        let log = Log::new();
        assert_eq!(
            or(after(&log, 0, 2, "first"), after(&log, 1, 1, "second")).await,
            "second"
        );
        assert_eq!(log.polls(), [0, 1, 0, 1]);
        assert!(log.dropped(0) && log.dropped(1));
    });
}

/// `race` picks at random which to poll first, so each of two ready
/// futures wins sometimes; a pending one loses to a ready one.
#[test]
fn race_prefers_neither() {
    runtime::block_on(async {
        let mut wins = [0u32; 2];
        for _ in 0..200 {
            wins[race(ready(0), ready(1)).await] += 1;
        }
        // Each is expected 100 times.
        assert!(wins.iter().all(|&count| count >= 50), "wins: {wins:?}");

        let log = Log::new();
        for _ in 0..20 {
            assert_eq!(race(never(&log, 0), ready("ready")).await, "ready");
        }
    });
}
