//! Tasks: [`spawn`], [`JoinHandle`] and [`JoinError`], [`JoinSet`] for a
//! group of tasks, [`yield_now`], task [ids](Id), names ([`Builder`]) and
//! task-local values ([`task_local!`](crate::task_local)), the cooperative
//! budget ([`consume_budget`], [`unconstrained`]) and the blocking pool
//! ([`spawn_blocking`]).

mod builder;
mod id;
mod join_error;
mod join_handle;
mod join_set;
mod name;
mod task_local;
mod yield_now;

pub use crate::blocking::spawn_blocking;
pub use crate::coop::{consume_budget, unconstrained, Unconstrained};
pub use builder::Builder;
pub use id::{id, try_id, Id};
pub use join_error::JoinError;
pub use join_handle::{AbortHandle, JoinHandle};
pub use join_set::JoinSet;
pub(crate) use join_set::LocalReady;
pub use name::name;
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};
pub use yield_now::{yield_now, YieldNow};

use std::future::Future;

use crate::executor::context;

/// Spawns `future` as a task on the current runtime and returns a handle
/// to its output.
///
/// The future need not be `Send`: it runs on this thread. It starts running
/// at the next opportunity, whether or not the handle is awaited; dropping
/// the [`JoinHandle`] detaches the task, which keeps running.
///
/// # Panics
///
/// Outside a runtime (that is, not within [`block_on`](crate::block_on)).
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let shared = std::rc::Rc::new(5); // !Send is fine
///     let task = runtime::spawn(async move { *shared * 2 });
///     assert_eq!(task.await.unwrap(), 10);
/// });
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::current().spawn(future)
}
