//! [`name`]: the name of the task being polled.

use std::rc::Rc;

use crate::executor::context;

/// The name of the task being polled, if it was spawned with one
/// ([`Builder::name`](super::Builder::name)).
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let unnamed = runtime::spawn(async { runtime::task::name() });
///     assert!(unnamed.await.unwrap().is_none());
/// });
/// ```
pub fn name() -> Option<Rc<str>> {
    context::with_current(|core| core.polled_task_meta().and_then(|meta| meta.name)).flatten()
}
