//! [`Builder`]: spawning a task with a name.

use std::future::Future;
use std::io;
use std::rc::Rc;

use super::JoinHandle;
use crate::executor::context;

/// Spawns a task with a name, which the runtime's traces and task dumps
/// show.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let task = runtime::task::Builder::new()
///         .name("conn 10.0.0.2")
///         .spawn(async { runtime::task::name() })?;
///     assert_eq!(task.await.unwrap().as_deref(), Some("conn 10.0.0.2"));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a Builder does nothing until spawn is called"]
pub struct Builder {
    /// The task's name.
    name: Option<Rc<str>>,
}

impl Builder {
    /// A builder for an unnamed task.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: &str) -> Builder {
        self.name = Some(Rc::from(name));
        self
    }

    /// Spawns `future` on the current runtime, as [`spawn`](crate::spawn).
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's shape.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Ok(context::current().spawn_named(self.name, future))
    }
}
