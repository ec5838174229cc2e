//! [`Barrier`]: lets a set number of tasks wait until all have arrived.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use crate::coop;
use crate::loom::{Mutex, MutexGuard};

use super::{lock, update};

/// Makes `n` tasks wait for each other: each calls
/// [`wait`](Barrier::wait), and all of them go on once the `n`th arrives.
/// Exactly one of each group is told it is the *leader*
/// ([`BarrierWaitResult::is_leader`]). The barrier then starts over for the
/// next `n`.
///
/// `Barrier` is `Send + Sync`: tasks on different threads and runtimes may
/// meet at it.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use runtime::sync::Barrier;
///
/// runtime::block_on(async {
///     let barrier = Arc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             runtime::spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for task in tasks {
///         leaders += task.await.unwrap() as usize;
///     }
///     assert_eq!(leaders, 1);
/// });
/// ```
pub struct Barrier {
    /// How many make a group (at least one).
    n: usize,
    /// The group being gathered.
    state: Mutex<State>,
}

/// The state of a [`Barrier`].
struct State {
    /// The generation being gathered; it increases when a group is full.
    generation: u64,
    /// The waiters of this generation that arrived, by id, with their
    /// wakers. Fewer than `n`, since the `n`th releases them all.
    arrived: BTreeMap<u64, Waker>,
    /// The id of the next arrival.
    next_id: u64,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &state.arrived.len())
            .finish()
    }
}

impl Barrier {
    /// A barrier for groups of `n` tasks. A barrier of zero behaves like
    /// one of one: every `wait` returns at once, as leader.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Barrier;
    ///
    /// runtime::block_on(async {
    ///     let barrier = Barrier::new(1);
    ///     assert!(barrier.wait().await.is_leader());
    /// });
    /// ```
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                generation: 0,
                arrived: BTreeMap::new(),
                next_id: 0,
            }),
        }
    }

    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Arrives at the barrier and waits until the group is full; the task
    /// whose arrival fills it is the leader.
    ///
    /// A task arrives at the future's first poll.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, unlike tokio's: dropping the future before its group
    /// is full withdraws the arrival, so the group still waits for `n`
    /// live tasks. Once the group is full the drop changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Barrier;
    ///
    /// runtime::block_on(async {
    ///     let barrier = Arc::new(Barrier::new(2));
    ///     let other = barrier.clone();
    ///     let task = runtime::spawn(async move { other.wait().await.is_leader() });
    ///     let here = barrier.wait().await.is_leader();
    ///     assert!(here != task.await.unwrap()); // exactly one leader
    /// });
    /// ```
    pub async fn wait(&self) -> BarrierWaitResult {
        Wait {
            barrier: self,
            arrival: None,
        }
        .await
    }
}

/// The future of [`Barrier::wait`].
struct Wait<'a> {
    /// The barrier.
    barrier: &'a Barrier,
    /// The generation and id it arrived as, once polled.
    arrival: Option<(u64, u64)>,
}

impl Future for Wait<'_> {
    type Output = BarrierWaitResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = &mut *self;
        ready!(coop::poll_proceed(cx));
        let mut state = this.barrier.lock();
        match this.arrival {
            None if state.arrived.len() + 1 == this.barrier.n => {
                // The last one: release the group and start the next.
                state.generation += 1;
                let arrived = std::mem::take(&mut state.arrived);
                drop(state);
                arrived.into_values().for_each(Waker::wake);
                Poll::Ready(BarrierWaitResult(true))
            }
            None => {
                let id = state.next_id;
                state.next_id += 1;
                state.arrived.insert(id, cx.waker().clone());
                this.arrival = Some((state.generation, id));
                drop(state);
                coop::refund();
                Poll::Pending
            }
            Some((generation, id)) => {
                if state.generation != generation {
                    this.arrival = None;
                    return Poll::Ready(BarrierWaitResult(false));
                }
                let replaced = state
                    .arrived
                    .get_mut(&id)
                    .and_then(|stored| update(stored, cx.waker()));
                drop(state);
                drop(replaced);
                coop::refund();
                Poll::Pending
            }
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let Some((generation, id)) = self.arrival else {
            return;
        };
        let mut state = self.barrier.lock();
        // Still gathering this group: withdraw.
        let removed = if state.generation == generation {
            state.arrived.remove(&id)
        } else {
            None
        };
        drop(state);
        drop(removed);
    }
}

/// What [`Barrier::wait`] returns: whether this task was the group's
/// leader.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let barrier = runtime::sync::Barrier::new(1);
///     let result = barrier.wait().await;
///     assert!(result.is_leader());
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one task of each group: the one that filled it.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let barrier = runtime::sync::Barrier::new(0); // behaves like 1
    ///     assert!(barrier.wait().await.is_leader());
    /// });
    /// ```
    pub fn is_leader(&self) -> bool {
        self.0
    }
}
