//! `join!` and `try_join!`: wait on several futures at once until all
//! finish (or, for `try_join!`, until one fails).
//!
//! Both expand alike. `__join_internal!` gives each future an index, one
//! future per step (so 64 futures stay within the default recursion
//! limit), then awaits a `poll_fn` over a tuple of
//! [`MaybeDone`](super::maybe_done::MaybeDone)s pinned in place. Each poll
//! starts one future further along than the last, so that every future
//! gets polled first in turn and none is starved by those before it.

/// Waits on several futures at once and returns all their outputs, as a
/// tuple in the order of the arguments.
///
/// The futures run concurrently on the current task (not in parallel:
/// nothing is spawned) and are polled where they lie, pinned in place; a
/// future that finishes is dropped at once, and its output waits for the
/// others. Each time the task is woken, the polling starts one future
/// further along, so that a busy future cannot starve the others.
/// Anything that is [`IntoFuture`](std::future::IntoFuture) may be passed;
/// `join!()` is `()`. It may be used only inside an `async` function or
/// block.
///
/// To stop at the first error, use [`try_join!`](crate::try_join!); to
/// run the futures on other tasks, [`spawn`](crate::spawn) them and join
/// the handles.
///
/// # Cancel safety
///
/// Dropping the `join!` future drops every future not yet finished, and
/// the outputs of those that were; each is as cancel-safe as it is.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{sleep, Instant};
///
/// runtime::block_on(async {
///     let start = Instant::now();
///     let (a, b, ()) = runtime::join!(
///         async { 1 },
///         async {
///             sleep(Duration::from_millis(20)).await;
///             "two"
///         },
///         sleep(Duration::from_millis(20)),
///     );
///     assert_eq!((a, b), (1, "two"));
///     // The two sleeps overlapped.
///     assert!(start.elapsed() < Duration::from_millis(40));
/// });
/// ```
#[macro_export]
macro_rules! join {
    ($($future:expr),* $(,)?) => {
        $crate::__join_internal!(@start mode=[join] $($future,)*)
    };
}

/// Waits on several futures that return `Result`s, until all succeed or
/// one fails: `Ok` with a tuple of the values, in the order of the
/// arguments, or the first `Err`.
///
/// As with [`join!`](crate::join!), the futures run concurrently on the
/// current task, pinned in place, with the polling order rotating
/// fairly. The first future to finish with an `Err` ends the `try_join!`
/// at once: the other futures are dropped unfinished, and the values of
/// those that succeeded with them. Every future must have the same error type (convert with
/// `map_err` or an `async` block with `?` otherwise). `try_join!()` is
/// `Ok(())`. It may be used only inside an `async` function or block.
///
/// # Cancel safety
///
/// As [`join!`](crate::join!)'s: dropping it drops every future not yet
/// finished.
///
/// # Examples
///
/// ```
/// use std::io;
///
/// async fn parse(text: &str) -> io::Result<u32> {
///     text.parse()
///         .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, text.to_owned()))
/// }
///
/// runtime::block_on(async {
///     let both = runtime::try_join!(parse("1"), parse("2"));
///     assert_eq!(both.unwrap(), (1, 2));
///
///     let failed = runtime::try_join!(parse("1"), parse("two"), parse("3"));
///     assert_eq!(failed.unwrap_err().to_string(), "two");
/// });
/// ```
#[macro_export]
macro_rules! try_join {
    ($($future:expr),* $(,)?) => {
        $crate::__join_internal!(@start mode=[try_join] $($future,)*)
    };
}

/// The machinery of `join!` and `try_join!`; see `macros/join.rs`.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_internal {
    // ---- Start: the indices futures take, one per future, plus one more
    // that is the number of futures once all are taken.
    (@start mode=[$mode:ident] $($futures:tt)*) => {
        $crate::__join_internal!(
            @parse mode=[$mode]
            indices=[
                0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
                16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
                32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
                48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63
                64
            ]
            futures=[]
            $($futures)*
        )
    };

    // ---- Parse: one future per rule application.
    (@parse mode=[$mode:ident] indices=[$i:tt $($indices:tt)+] futures=[$($futures:tt)*]
        $future:expr, $($rest:tt)*
    ) => {
        $crate::__join_internal!(
            @parse mode=[$mode] indices=[$($indices)+]
            futures=[$($futures)* [$i ($future)]]
            $($rest)*
        )
    };
    (@parse mode=[$mode:ident] indices=[$last:tt] futures=[$($futures:tt)*] $($rest:tt)+) => {
        ::core::compile_error!("join! and try_join! take at most 64 futures")
    };
    (@parse mode=[$mode:ident] indices=[$count:tt $($_rest:tt)*] futures=[$($futures:tt)*]) => {
        $crate::__join_internal!(@emit mode=[$mode] count=[$count] futures=[$($futures)*])
    };

    // ---- Emit.
    (@emit mode=[join] count=[$count:tt] futures=[]) => {
        ::core::future::ready(()).await
    };
    (@emit mode=[try_join] count=[$count:tt] futures=[]) => {
        ::core::future::ready(::core::result::Result::Ok(())).await
    };
    (@emit mode=[$mode:ident] count=[$count:tt] futures=[$([$i:tt ($future:expr)])+]) => {{
        const __COUNT: u32 = $count;
        // Every future pinned where it lies until the join ends.
        let mut __futures = (
            $(::core::pin::pin!($crate::__private::MaybeDone::new(
                ::core::future::IntoFuture::into_future($future),
            )),)+
        );
        // The future polled first at the next poll.
        let mut __first: u32 = 0;
        ::core::future::poll_fn(|__cx: &mut ::core::task::Context<'_>| {
            let __start = __first;
            __first = $crate::__private::nth_after(__first, 1, __COUNT);
            let mut __all_done = true;
            for __offset in 0..__COUNT {
                match $crate::__private::nth_after(__start, __offset, __COUNT) {
                    $(
                        $i => {
                            if __futures.$i.as_mut().poll_done(__cx).is_pending() {
                                __all_done = false;
                            }
                            $crate::__join_internal!(@check_err mode=[$mode] __futures.$i);
                        }
                    )+
                    _ => ::core::unreachable!("join! has no such future"),
                }
            }
            if !__all_done {
                return ::core::task::Poll::Pending;
            }
            ::core::task::Poll::Ready(
                $crate::__join_internal!(@outputs mode=[$mode] $(__futures.$i)+)
            )
        })
        .await
    }};

    // ---- Helpers of emit, by mode.
    (@check_err mode=[join] $($slot:tt)+) => {};
    (@check_err mode=[try_join] $($slot:tt)+) => {
        if let ::core::option::Option::Some(__error) = $($slot)+.as_mut().take_err() {
            return ::core::task::Poll::Ready(::core::result::Result::Err(__error));
        }
    };
    (@outputs mode=[join] $($futures:ident . $i:tt)+) => {
        ($(
            $futures.$i
                .as_mut()
                .take_output()
                .expect("join! took an output that is not there"),
        )+)
    };
    (@outputs mode=[try_join] $($futures:ident . $i:tt)+) => {
        ::core::result::Result::Ok(($($futures.$i.as_mut().take_ok(),)+))
    };
}
