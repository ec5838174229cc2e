//! [`CancellationToken`]: a tree of cancellation signals, shaped like
//! tokio-util's.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use crate::coop;
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{Arc, Mutex, MutexGuard};

use super::{lock, update};

/// A signal that work should stop, shared by every clone of the token.
///
/// [`cancel`](CancellationToken::cancel) sets it for good; tasks check it
/// with [`is_cancelled`](CancellationToken::is_cancelled) or wait for it
/// with [`cancelled().await`](CancellationToken::cancelled), typically as a
/// branch of a `select`.
///
/// Tokens form a tree: [`child_token`](CancellationToken::child_token)
/// makes a token that is cancelled with its parent (and its parent's
/// parent, and so on), while cancelling the child leaves the parent alone.
/// A server can so hold one root token, give each connection a child, and
/// stop either one connection or all of them.
///
/// The token is `Send + Sync` and cheap to clone (an `Arc`). A child that
/// is dropped leaves its parent's list, so a long-lived parent does not
/// accumulate dead children.
///
/// # Examples
///
/// ```
/// use runtime::sync::CancellationToken;
///
/// runtime::block_on(async {
///     let shutdown = CancellationToken::new();
///     let worker = runtime::spawn({
///         let token = shutdown.child_token();
///         async move {
///             token.cancelled().await;
///             "stopped"
///         }
///     });
///     shutdown.cancel();
///     assert_eq!(worker.await.unwrap(), "stopped");
/// });
/// ```
pub struct CancellationToken {
    /// The node shared by this token and its clones.
    node: Arc<Node>,
}

/// One node of the token tree.
struct Node {
    /// Set (under the state lock, before its waiters are woken) once
    /// cancelled; read without the lock.
    cancelled: AtomicBool,
    /// The parent, for leaving its child list; `None` for a root and for a
    /// child made of an already cancelled parent.
    parent: Option<Arc<Node>>,
    /// Everything else, behind one lock.
    state: Mutex<NodeState>,
}

/// The mutable part of a [`Node`].
struct NodeState {
    /// Live `CancellationToken`s of this node (clones included).
    handles: usize,
    /// Children not yet cancelled or detached, by id.
    children: BTreeMap<u64, Arc<Node>>,
    /// This node's id in its parent's `children`.
    id_in_parent: u64,
    /// True once this node left its parent's list.
    detached: bool,
    /// Tasks awaiting `cancelled()`, by id.
    waiters: BTreeMap<u64, Waker>,
    /// The next id for a child or a waiter.
    next_id: u64,
}

impl Node {
    /// A node with one handle.
    fn new(parent: Option<Arc<Node>>, id_in_parent: u64, cancelled: bool) -> Arc<Node> {
        Arc::new(Node {
            cancelled: AtomicBool::new(cancelled),
            parent,
            state: Mutex::new(NodeState {
                handles: 1,
                children: BTreeMap::new(),
                id_in_parent,
                detached: false,
                waiters: BTreeMap::new(),
                next_id: 0,
            }),
        })
    }

    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, NodeState> {
        lock(&self.state)
    }

    /// True once cancelled.
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Cancels `node` and its whole subtree, one node at a time (no lock
    /// is held while another is taken), waking every waiter.
    fn cancel(node: &Arc<Node>) {
        let mut pending = vec![node.clone()];
        while let Some(node) = pending.pop() {
            let mut state = node.lock();
            if node.cancelled.load(Ordering::Relaxed) {
                continue;
            }
            node.cancelled.store(true, Ordering::Release);
            let children = std::mem::take(&mut state.children);
            let waiters = std::mem::take(&mut state.waiters);
            drop(state);
            waiters.into_values().for_each(Waker::wake);
            pending.extend(children.into_values());
        }
    }

    /// Leaves the parent's list if nothing needs this node any more (no
    /// handle and no child), then asks the same of the parent, and so on up.
    fn detach_if_unused(node: &Arc<Node>) {
        let mut node = node.clone();
        loop {
            let mut state = node.lock();
            if state.handles > 0 || !state.children.is_empty() || state.detached {
                return;
            }
            state.detached = true;
            let id = state.id_in_parent;
            drop(state);
            let Some(parent) = node.parent.clone() else {
                return;
            };
            let removed = parent.lock().children.remove(&id);
            // May drop the last `Arc` of `node`, with the lock released.
            drop(removed);
            node = parent;
        }
    }

    /// Polls for cancellation, registering (or refreshing) the waiter
    /// `waiter`.
    fn poll_cancelled(&self, waiter: &mut Option<u64>, cx: &mut Context<'_>) -> Poll<()> {
        ready!(coop::poll_proceed(cx));
        if self.is_cancelled() {
            *waiter = None;
            return Poll::Ready(());
        }
        let mut state = self.lock();
        // `cancel` sets the flag under this lock: checked again, it cannot
        // be missed.
        if self.cancelled.load(Ordering::Relaxed) {
            *waiter = None;
            return Poll::Ready(());
        }
        let replaced = match waiter.and_then(|id| state.waiters.get_mut(&id)) {
            Some(stored) => update(stored, cx.waker()),
            None => {
                let id = state.next_id;
                state.next_id += 1;
                state.waiters.insert(id, cx.waker().clone());
                *waiter = Some(id);
                None
            }
        };
        drop(state);
        drop(replaced);
        coop::refund();
        Poll::Pending
    }

    /// Removes the waiter `waiter`, if registered.
    fn withdraw(&self, waiter: &mut Option<u64>) {
        if let Some(id) = waiter.take() {
            let removed = self.lock().waiters.remove(&id);
            drop(removed);
        }
    }
}

impl CancellationToken {
    /// A new root token, not cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = runtime::sync::CancellationToken::new();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Node::new(None, 0, false),
        }
    }

    /// A token cancelled with this one (and with this one's ancestors);
    /// cancelling the child does not cancel this one. A child of a token
    /// already cancelled is born cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::CancellationToken;
    ///
    /// let parent = CancellationToken::new();
    /// let child = parent.child_token();
    /// child.cancel();
    /// assert!(!parent.is_cancelled());
    ///
    /// let other = parent.child_token();
    /// parent.cancel();
    /// assert!(other.is_cancelled());
    /// ```
    pub fn child_token(&self) -> CancellationToken {
        let mut state = self.node.lock();
        if self.node.cancelled.load(Ordering::Relaxed) {
            drop(state);
            return CancellationToken {
                node: Node::new(None, 0, true),
            };
        }
        let id = state.next_id;
        state.next_id += 1;
        let child = Node::new(Some(self.node.clone()), id, false);
        state.children.insert(id, child.clone());
        drop(state);
        CancellationToken { node: child }
    }

    /// Cancels this token and every token below it, waking every task
    /// waiting in [`cancelled`](CancellationToken::cancelled). Cancelling
    /// twice does nothing more.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = runtime::sync::CancellationToken::new();
    /// let clone = token.clone();
    /// token.cancel();
    /// assert!(clone.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        Node::cancel(&self.node);
    }

    /// True once this token (or an ancestor) was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = runtime::sync::CancellationToken::new();
    /// token.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.node.is_cancelled()
    }

    /// Waits until the token is cancelled; completes at once if it already
    /// is.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only withdraws its waker.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::CancellationToken;
    ///
    /// runtime::block_on(async {
    ///     let token = CancellationToken::new();
    ///     let canceller = token.clone();
    ///     std::thread::spawn(move || canceller.cancel());
    ///     token.cancelled().await;
    /// });
    /// ```
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        WaitForCancellationFuture {
            token: self,
            waiter: None,
        }
    }

    /// Like [`cancelled`](CancellationToken::cancelled), but the future
    /// owns its token (a clone of it): it borrows nothing, so it can be
    /// stored or moved into a task.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only withdraws its waker.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::CancellationToken;
    ///
    /// runtime::block_on(async {
    ///     let token = CancellationToken::new();
    ///     let waiting = runtime::spawn(token.clone().cancelled_owned());
    ///     token.cancel();
    ///     waiting.await.unwrap();
    /// });
    /// ```
    pub fn cancelled_owned(self) -> WaitForCancellationFutureOwned {
        WaitForCancellationFutureOwned {
            token: self,
            waiter: None,
        }
    }

    /// Wraps the token in a guard that cancels it when dropped (unless
    /// [`disarm`](DropGuard::disarm)ed): handy to stop helpers when a
    /// function returns early or panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::CancellationToken;
    ///
    /// let token = CancellationToken::new();
    /// {
    ///     let _guard = token.clone().drop_guard();
    /// } // dropped here
    /// assert!(token.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }
}

impl Default for CancellationToken {
    fn default() -> CancellationToken {
        CancellationToken::new()
    }
}

impl Clone for CancellationToken {
    fn clone(&self) -> CancellationToken {
        self.node.lock().handles += 1;
        CancellationToken {
            node: self.node.clone(),
        }
    }
}

impl Drop for CancellationToken {
    fn drop(&mut self) {
        let mut state = self.node.lock();
        state.handles -= 1;
        let unused = state.handles == 0;
        drop(state);
        if unused {
            Node::detach_if_unused(&self.node);
        }
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The future of [`CancellationToken::cancelled`].
///
/// Dropping it withdraws its waker.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitForCancellationFuture<'a> {
    /// The token waited on.
    token: &'a CancellationToken,
    /// Its waiter id, once registered.
    waiter: Option<u64>,
}

impl fmt::Debug for WaitForCancellationFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFuture")
            .finish_non_exhaustive()
    }
}

impl Future for WaitForCancellationFuture<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.token.node.poll_cancelled(&mut this.waiter, cx)
    }
}

impl Drop for WaitForCancellationFuture<'_> {
    fn drop(&mut self) {
        self.token.node.withdraw(&mut self.waiter);
    }
}

/// The future of [`CancellationToken::cancelled_owned`].
///
/// Dropping it withdraws its waker.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitForCancellationFutureOwned {
    /// The token waited on.
    token: CancellationToken,
    /// Its waiter id, once registered.
    waiter: Option<u64>,
}

impl fmt::Debug for WaitForCancellationFutureOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFutureOwned")
            .finish_non_exhaustive()
    }
}

impl Future for WaitForCancellationFutureOwned {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.token.node.poll_cancelled(&mut this.waiter, cx)
    }
}

impl Drop for WaitForCancellationFutureOwned {
    fn drop(&mut self) {
        self.token.node.withdraw(&mut self.waiter);
    }
}

/// Cancels its token when dropped; made by
/// [`CancellationToken::drop_guard`].
///
/// # Examples
///
/// ```
/// use runtime::sync::CancellationToken;
///
/// let token = CancellationToken::new();
/// let guard = token.clone().drop_guard();
/// let token_again = guard.disarm(); // no longer cancels on drop
/// assert!(!token_again.is_cancelled());
/// ```
#[must_use = "the token is cancelled as soon as the guard is dropped"]
#[derive(Debug)]
pub struct DropGuard {
    /// The token; `None` once disarmed.
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = runtime::sync::CancellationToken::new();
    /// let token = token.drop_guard().disarm();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("a drop guard holds its token until disarmed or dropped")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn dropped_children_leave_their_parent() {
        let parent = CancellationToken::new();
        for _ in 0..100 {
            let child = parent.child_token();
            let grandchild = child.child_token();
            drop(child);
            // The grandchild keeps the child in the tree...
            assert_eq!(parent.node.lock().children.len(), 1);
            drop(grandchild);
        }
        // ...but once both are gone, nothing is left.
        assert!(parent.node.lock().children.is_empty());
    }

    #[test]
    fn a_grandchild_whose_parent_handle_is_gone_is_still_cancelled() {
        let root = CancellationToken::new();
        let child = root.child_token();
        let grandchild = child.child_token();
        drop(child);
        root.cancel();
        assert!(grandchild.is_cancelled());
    }
}
