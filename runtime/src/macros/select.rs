//! `select!`: wait on several futures at once and run the handler of the
//! first that finishes.
//!
//! # How the expansion works
//!
//! The public macro only normalises the input; `__select_internal!` does
//! the rest in three steps, each a group of its rules:
//!
//! 1. `@parse` takes one branch per step (so 64 branches stay well within
//!    the default recursion limit of 128) and gives it the next name from a
//!    fixed list: a variant name `_k` and its index `k`. After the last
//!    branch, the next unused index is the number of branches.
//! 2. `@emit` declares, inside the expansion's own block, an enum with one
//!    variant per branch (`_k` holding the `k`th future's output) and
//!    `Disabled`; evaluates the preconditions into a bit mask; pins every
//!    future in place with `core::pin::pin!` (no allocation, no `unsafe`);
//!    and awaits a `poll_fn` that polls the enabled futures, from a random
//!    start unless `biased;`.
//! 3. When a future finishes, its branch is disabled (it is never polled
//!    again) and its output is tested against the branch's pattern. The
//!    test is a `match` whose only arm has the user's pattern and a guard
//!    that records the match and then says `false`: in a guard, bindings
//!    are only borrowed, so the test moves nothing, and `mut`/`ref`
//!    bindings need no special care. A mismatch leaves the branch disabled
//!    and the poll goes on with the next branch; a match returns the output
//!    in its variant.
//!
//! The block holding the pinned futures ends there, so every other future
//! is dropped before the handler runs; the handlers run outside the
//! closure, in the caller's own function and loops, so `break`,
//! `continue`, `return` and `?` in a handler act on them.

/// Waits on several futures at once, runs the handler of the first to
/// finish whose output matches its pattern, and drops the others.
///
/// ```text
/// runtime::select! {
///     biased;                                   // optional: poll in order
///     <pattern> = <future> (, if <condition>)? => <handler>,
///     ...
///     else => <handler>,                        // optional: all disabled
/// }
/// ```
///
/// The whole `select!` is an expression whose value is that of the handler
/// that ran; every handler has the same type. It may be used only inside
/// an `async` function or block.
///
/// # What happens, step by step
///
/// 1. Every `if <condition>` is evaluated, in order. A branch whose
///    condition is `false` is *disabled* for this run of the `select!`.
/// 2. Every `<future>` expression is evaluated, in order, disabled branches
///    included (anything that is [`IntoFuture`](std::future::IntoFuture)
///    will do), and the futures are pinned in place, where they stay until
///    the `select!` ends: nothing is boxed.
/// 3. The `select!` waits, polling the futures of the enabled branches
///    each time it is woken. A disabled branch's future is never polled.
///    The polling order starts at a random branch each time, so that a
///    future that is always ready cannot starve the others; after
///    `biased;` it is the order of the branches, which suits code that
///    wants, say, a shutdown signal checked first.
/// 4. When a future finishes, its branch is disabled and its output is
///    matched against `<pattern>`. If it does not match (the output of
///    `rx.recv()` was `None`, the pattern `Some(msg)`), the `select!` goes
///    on waiting on the branches still enabled.
/// 5. If it matches, every other future is dropped, and then the handler
///    runs with the pattern's bindings. A handler may `break` or
///    `continue` the loop around the `select!`, `return` from the
///    function or use `?`: it runs outside the polling, as if written
///    there.
/// 6. If every branch is disabled (by its condition or by a mismatch), the
///    `else` handler runs, after the futures are dropped.
///
/// Re-running a `select!` (in a loop, say) starts again at step 1: a
/// branch disabled in one run is enabled in the next if its condition
/// holds.
///
/// # Cancel safety
///
/// When a branch wins, the futures of the other branches are dropped
/// before they finish. Whatever such a future had done until then is lost
/// unless the future is *cancel-safe*, which its documentation states.
/// Losing a future is harmless for most waits here, whose docs say so:
///
/// - [`mpsc::Receiver::recv`](crate::sync::mpsc::Receiver::recv) and
///   [`oneshot::Receiver`](crate::sync::oneshot::Receiver) (awaited as
///   `&mut rx`): a value is taken only by the poll that returns it.
/// - [`TcpListener::accept`](crate::net::TcpListener::accept): no
///   connection is lost.
/// - [`time::sleep`](crate::time::sleep), [`Interval::tick`](crate::time::Interval::tick)
///   and [`Notify::notified`](crate::sync::Notify::notified).
/// - Reading into a buffer with [`AsyncReadExt::read`](crate::io::AsyncReadExt::read):
///   bytes are consumed only by the poll that returns them.
///
/// Others are not cancel-safe: [`read_exact`](crate::io::AsyncReadExt::read_exact)
/// and [`write_all`](crate::io::AsyncWriteExt::write_all) may have moved
/// part of the data when dropped, and the part is not known. In a loop,
/// create such a future once outside the loop, pin it, and select on
/// `&mut` it, so that it is resumed rather than dropped and re-made each
/// time round (see the second example).
///
/// # Panics
///
/// If every branch is disabled and there is no `else` branch: there would
/// be nothing left to wait on.
///
/// # Examples
///
/// The first of two channels to deliver, with a timeout:
///
/// ```
/// use std::time::Duration;
/// use runtime::sync::mpsc;
/// use runtime::time::sleep;
///
/// runtime::block_on(async {
///     let (_quiet_tx, mut quiet) = mpsc::channel::<&str>(1);
///     let (busy_tx, mut busy) = mpsc::channel(1);
///     busy_tx.send("hello").await.unwrap();
///
///     let got = runtime::select! {
///         Some(msg) = quiet.recv() => msg,
///         Some(msg) = busy.recv() => msg,
///         _ = sleep(Duration::from_secs(5)) => "timed out",
///     };
///     assert_eq!(got, "hello");
/// });
/// ```
///
/// In a loop, with a future that must survive the iterations (selected by
/// `&mut`), a precondition, and `else` for when the channel is closed and
/// the deadline passed:
///
/// ```
/// use std::pin::pin;
/// use std::time::Duration;
/// use runtime::sync::mpsc;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = mpsc::channel(8);
///     runtime::spawn(async move {
///         for n in 1..=3 {
///             tx.send(n).await.unwrap();
///         }
///     }); // the sender is dropped: recv() then returns None
///
///     let mut deadline = pin!(runtime::time::sleep(Duration::from_millis(20)));
///     let mut expired = false;
///     let mut sum = 0;
///     loop {
///         runtime::select! {
///             Some(n) = rx.recv() => sum += n,
///             () = &mut deadline, if !expired => expired = true,
///             else => break,
///         }
///     }
///     assert_eq!(sum, 6);
///     assert!(expired);
/// });
/// ```
///
/// `biased;` checks the branches in order, here a shutdown signal first:
///
/// ```
/// use runtime::sync::oneshot;
///
/// runtime::block_on(async {
///     let (stop_tx, mut stop) = oneshot::channel::<()>();
///     stop_tx.send(()).unwrap();
///     let outcome = runtime::select! {
///         biased;
///         _ = &mut stop => "stopped",
///         _ = std::future::ready(()) => "worked",
///     };
///     assert_eq!(outcome, "stopped");
/// });
/// ```
#[macro_export]
macro_rules! select {
    () => {
        ::core::compile_error!("select! needs at least one branch")
    };
    (biased; $($branches:tt)*) => {
        $crate::__select_internal!(@start biased=[true] $($branches)*)
    };
    ($($branches:tt)*) => {
        $crate::__select_internal!(@start biased=[false] $($branches)*)
    };
}

/// The machinery of `select!`; see `macros/select.rs` for how it works.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_internal {
    // ---- Start: the names that branches take, one per branch, plus one
    // more whose index is the number of branches once all are taken.
    (@start biased=[$biased:tt] $($branches:tt)*) => {
        $crate::__select_internal!(
            @parse biased=[$biased]
            names=[
                (_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7)
                (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15)
                (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23)
                (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31)
                (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39)
                (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47)
                (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55)
                (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63)
                (_64 64)
            ]
            branches=[]
            $($branches)*
        )
    };

    // ---- Parse: one branch per rule application.

    // `else` ends the branches.
    (@parse biased=[$biased:tt] names=[$($names:tt)*] branches=[$($branches:tt)*]
        else => $else:expr $(,)?
    ) => {
        $crate::__select_internal!(
            @emit biased=[$biased] names=[$($names)*] branches=[$($branches)*] else=[$else]
        )
    };
    // No more branches and no `else`.
    (@parse biased=[$biased:tt] names=[$($names:tt)*] branches=[$($branches:tt)*]) => {
        $crate::__select_internal!(
            @emit biased=[$biased] names=[$($names)*] branches=[$($branches)*]
            else=[::core::panic!(
                "select!: every branch is disabled and there is no `else` branch"
            )]
        )
    };
    // A branch with a precondition and a block handler (comma optional).
    (@parse biased=[$biased:tt] names=[($v:ident $i:tt) $($names:tt)+] branches=[$($branches:tt)*]
        $p:pat = $f:expr, if $c:expr => $h:block $(, $($rest:tt)*)?
    ) => {
        $crate::__select_internal!(
            @parse biased=[$biased] names=[$($names)+]
            branches=[$($branches)* [$v $i ($p) ($f) ($c) ($h)]]
            $($($rest)*)?
        )
    };
    // A branch with a precondition and a block handler, not followed by a comma.
    (@parse biased=[$biased:tt] names=[($v:ident $i:tt) $($names:tt)+] branches=[$($branches:tt)*]
        $p:pat = $f:expr, if $c:expr => $h:block $($rest:tt)*
    ) => {
        $crate::__select_internal!(
            @parse biased=[$biased] names=[$($names)+]
            branches=[$($branches)* [$v $i ($p) ($f) ($c) ($h)]]
            $($rest)*
        )
    };
    // A branch with a block handler.
    (@parse biased=[$biased:tt] names=[($v:ident $i:tt) $($names:tt)+] branches=[$($branches:tt)*]
        $p:pat = $f:expr => $h:block $(, $($rest:tt)*)?
    ) => {
        $crate::__select_internal!(
            @parse biased=[$biased] names=[$($names)+]
            branches=[$($branches)* [$v $i ($p) ($f) (true) ($h)]]
            $($($rest)*)?
        )
    };
    (@parse biased=[$biased:tt] names=[($v:ident $i:tt) $($names:tt)+] branches=[$($branches:tt)*]
        $p:pat = $f:expr => $h:block $($rest:tt)*
    ) => {
        $crate::__select_internal!(
            @parse biased=[$biased] names=[$($names)+]
            branches=[$($branches)* [$v $i ($p) ($f) (true) ($h)]]
            $($rest)*
        )
    };
    // A branch with a precondition and an expression handler.
    (@parse biased=[$biased:tt] names=[($v:ident $i:tt) $($names:tt)+] branches=[$($branches:tt)*]
        $p:pat = $f:expr, if $c:expr => $h:expr $(, $($rest:tt)*)?
    ) => {
        $crate::__select_internal!(
            @parse biased=[$biased] names=[$($names)+]
            branches=[$($branches)* [$v $i ($p) ($f) ($c) ($h)]]
            $($($rest)*)?
        )
    };
    // A branch with an expression handler.
    (@parse biased=[$biased:tt] names=[($v:ident $i:tt) $($names:tt)+] branches=[$($branches:tt)*]
        $p:pat = $f:expr => $h:expr $(, $($rest:tt)*)?
    ) => {
        $crate::__select_internal!(
            @parse biased=[$biased] names=[$($names)+]
            branches=[$($branches)* [$v $i ($p) ($f) (true) ($h)]]
            $($($rest)*)?
        )
    };
    // Only the last name is left: every name of a branch is taken.
    (@parse biased=[$biased:tt] names=[$last:tt] branches=[$($branches:tt)*] $($rest:tt)+) => {
        ::core::compile_error!("select! takes at most 64 branches")
    };

    // ---- Emit: the code, once every branch is parsed.
    (@emit biased=[$biased:tt] names=[($_unused:ident $count:tt) $($_rest:tt)*]
        branches=[$([$v:ident $i:tt ($p:pat) ($f:expr) ($c:expr) ($h:expr)])+]
        else=[$else:expr]
    ) => {{
        // One variant per branch, holding its future's output, and one for
        // "every branch is disabled". The generic parameters share the
        // variants' names: the outputs' types cannot be named.
        #[allow(non_camel_case_types)]
        enum __SelectOutput<$($v,)+> {
            $($v($v),)+
            Disabled,
        }

        const __BRANCHES: u32 = $count;

        // Bit k set: branch k is disabled. Preconditions first, in order.
        let mut __disabled: u64 = 0;
        $(
            if !$c {
                __disabled |= 1 << $i;
            }
        )+

        #[allow(unused_mut)]
        let mut __output = {
            // Every future, disabled branches' too, pinned where it lies
            // until this block ends: that drops the losers before any
            // handler runs.
            let mut __futures = (
                $(::core::pin::pin!(::core::future::IntoFuture::into_future($f)),)+
            );
            ::core::future::poll_fn(|__cx: &mut ::core::task::Context<'_>| {
                let __start: u32 = if $biased {
                    0
                } else {
                    $crate::__private::random_below(__BRANCHES)
                };
                let mut __pending = false;
                for __offset in 0..__BRANCHES {
                    match $crate::__private::nth_after(__start, __offset, __BRANCHES) {
                        $(
                            $i => {
                                let __mask: u64 = 1 << $i;
                                if __disabled & __mask != 0 {
                                    continue;
                                }
                                let __poll = ::core::future::Future::poll(
                                    __futures.$i.as_mut(),
                                    __cx,
                                );
                                // `mut`: a `ref mut` binding borrows it
                                // mutably.
                                #[allow(unused_mut)]
                                let ::core::task::Poll::Ready(mut __value) = __poll else {
                                    __pending = true;
                                    continue;
                                };
                                // Finished: never poll it again, whatever
                                // its output.
                                __disabled |= __mask;
                                // Does the output match the pattern? The
                                // guard only borrows the bindings, and
                                // since it says `false` the arm is never
                                // taken: nothing is moved.
                                let mut __matches = false;
                                #[allow(unused_variables, unused_mut)]
                                match __value {
                                    $p if {
                                        __matches = true;
                                        false
                                    } => ::core::unreachable!(),
                                    _ => {}
                                }
                                if __matches {
                                    return ::core::task::Poll::Ready(
                                        __SelectOutput::$v(__value),
                                    );
                                }
                            }
                        )+
                        _ => ::core::unreachable!("select! has no such branch"),
                    }
                }
                if __pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(__SelectOutput::Disabled)
                }
            })
            .await
        };

        match __output {
            $(__SelectOutput::$v($p) => $h,)+
            __SelectOutput::Disabled => $else,
            // A variant whose pattern is refutable holds only matching
            // outputs: the poll above checked.
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!("select! returned an output its pattern does not match"),
        }
    }};
}
