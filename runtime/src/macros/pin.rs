//! [`pin!`](crate::pin): pins values on the stack, as tokio's `pin!` does.

/// Pins each named value in place on the stack, shadowing it with a
/// `Pin<&mut T>`, so that a future can be polled by reference (in a
/// [`select!`](crate::select) loop, say) without boxing it.
///
/// Two forms, as tokio's: `pin!(a, b)` pins existing variables, and
/// `pin! { let a = expr; }` binds and pins at once. Each expands to
/// [`std::pin::pin!`], so no `unsafe` is involved.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// runtime::block_on(async {
///     let deadline = runtime::time::sleep(Duration::from_millis(30));
///     runtime::pin!(deadline);
///     let mut ticks = 0;
///     loop {
///         runtime::select! {
///             _ = &mut deadline => break,
///             _ = runtime::time::sleep(Duration::from_millis(1)) => ticks += 1,
///         }
///     }
///     assert!(ticks > 0);
///
///     runtime::pin! {
///         let answer = async { 42 };
///     }
///     assert_eq!(answer.as_mut().await, 42);
/// });
/// ```
#[macro_export]
macro_rules! pin {
    ($($name:ident),* $(,)?) => {
        $(
            let mut $name = ::std::pin::pin!($name);
        )*
    };
    ($(let $name:ident = $init:expr;)*) => {
        $(
            let mut $name = ::std::pin::pin!($init);
        )*
    };
}
