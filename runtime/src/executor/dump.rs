//! [`dump`]: every live task, what it is and what it waits for.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::{context, Core};
use crate::reactor::Direction;
use crate::task::Id;

/// A snapshot of a runtime's live tasks, from [`dump`] or
/// [`Runtime::dump`](crate::Runtime::dump). Its `Display` prints one line
/// per task.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let _idle = runtime::task::Builder::new()
///         .name("idle")
///         .spawn(runtime::time::sleep(std::time::Duration::from_secs(60)))?;
///     runtime::task::yield_now().await;
///     let dump = runtime::dump();
///     let text = dump.to_string();
///     assert!(text.contains("\"idle\"") && text.contains("timer in"), "{text}");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone)]
pub struct TaskDump {
    /// One entry per live task, in slab order.
    pub tasks: Vec<TaskInfo>,
}

/// One task of a [`TaskDump`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskInfo {
    /// Its id.
    pub id: Id,
    /// Its name, if it was given one.
    pub name: Option<Rc<str>>,
    /// How long ago it was spawned.
    pub age: Duration,
    /// How often it was polled.
    pub polls: u64,
    /// How long its polls took in all, if the runtime traces (else `None`:
    /// timing every poll costs two clock reads).
    pub poll_time: Option<Duration>,
    /// What it waits for right now, in words: `queued`, `fd 7 readable`,
    /// `timer in 4.2 s`, or `something else (a channel, a lock, another
    /// task)`.
    pub waiting_on: String,
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} live task(s)", self.tasks.len())?;
        for task in &self.tasks {
            write!(f, "  task {}", task.id)?;
            if let Some(name) = &task.name {
                write!(f, " \"{name}\"")?;
            }
            write!(
                f,
                ": age {:.1} s, {} polls",
                task.age.as_secs_f64(),
                task.polls
            )?;
            if let Some(busy) = task.poll_time {
                write!(f, " ({:.1} ms polling)", busy.as_secs_f64() * 1e3)?;
            }
            writeln!(f, ", waiting on {}", task.waiting_on)?;
        }
        Ok(())
    }
}

/// Every live task of the current runtime.
///
/// # Panics
///
/// Outside a runtime.
pub fn dump() -> TaskDump {
    context::with_current(Core::dump)
        .expect("runtime::dump() must be called inside a runtime (`runtime::block_on`)")
}

impl Core {
    /// Every live task, what it is and what it waits for.
    pub(crate) fn dump(&self) -> TaskDump {
        let now = self.clock.now();
        let tasks = self.tasks.borrow();
        let infos = tasks
            .values()
            .map(|task| {
                let key = task.header.id();
                let waker_data = task.waker.data() as usize;
                let mut waits: Vec<String> = self
                    .reactor
                    .waits_of(key, waker_data)
                    .into_iter()
                    .map(|(fd, direction)| {
                        let what = match direction {
                            Direction::Read => "readable",
                            Direction::Write => "writable",
                        };
                        format!("fd {fd} {what}")
                    })
                    .collect();
                if let Some(deadline) = self.timers.deadline_of(waker_data) {
                    let left = deadline.saturating_duration_since(now);
                    waits.push(format!("timer in {:.1} s", left.as_secs_f64()));
                }
                let waiting_on = if task.header.is_queued() {
                    "nothing: queued to run".to_string()
                } else if waits.is_empty() {
                    "something else (a channel, a lock, another task)".to_string()
                } else {
                    waits.join(", ")
                };
                TaskInfo {
                    id: task.meta.id,
                    name: task.meta.name.clone(),
                    age: task.spawned.elapsed(),
                    polls: task.polls.get(),
                    poll_time: self.tracer.as_ref().map(|_| task.busy.get()),
                    waiting_on,
                }
            })
            .collect();
        TaskDump { tasks: infos }
    }
}
