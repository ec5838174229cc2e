//! [`MaybeDone`]: one future of a `join!`, pinned in place, that keeps its
//! output once it finishes.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

pin_project! {
    /// A future of `join!` or `try_join!`, then its output, then nothing.
    ///
    /// The future is dropped in place as soon as it finishes, so a joined
    /// future that completes early gives back its memory and resources
    /// while the others run on; its output waits here until all are done.
    // Fields inside `pin_project!` cannot carry doc comments; the
    // variants' docs say what each holds.
    #[allow(missing_docs)]
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    #[derive(Debug)]
    pub enum MaybeDone<F: Future> {
        /// Still running.
        Running {
            // The joined future.
            #[pin]
            future: F,
        },
        /// Finished; the output is waiting to be taken.
        Done {
            // What the future returned.
            output: F::Output,
        },
        /// The output was taken.
        Taken,
    }
}

impl<F: Future> MaybeDone<F> {
    /// Wraps a future that has not run yet.
    pub fn new(future: F) -> MaybeDone<F> {
        MaybeDone::Running { future }
    }

    /// Polls the future if it is still running: `Ready` once its output is
    /// here (at once, if it already was).
    ///
    /// # Panics
    ///
    /// If the output was already taken.
    pub fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let output = match self.as_mut().project() {
            MaybeDoneProj::Running { future } => match future.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return Poll::Pending,
            },
            MaybeDoneProj::Done { .. } => return Poll::Ready(()),
            MaybeDoneProj::Taken => panic!("join! polled a future whose output it took"),
        };
        // Dropping the finished future here, in place, is what `set` does.
        self.set(MaybeDone::Done { output });
        Poll::Ready(())
    }

    /// Takes the output, if the future finished and it was not taken yet.
    pub fn take_output(self: Pin<&mut Self>) -> Option<F::Output> {
        if !matches!(*self, MaybeDone::Done { .. }) {
            return None;
        }
        match self.project_replace(MaybeDone::Taken) {
            MaybeDoneReplace::Done { output } => Some(output),
            _ => unreachable!("the output was just seen"),
        }
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> MaybeDone<F> {
    /// Takes the error, if the future finished with one: what `try_join!`
    /// returns at once. An `Ok` output stays.
    pub fn take_err(self: Pin<&mut Self>) -> Option<E> {
        if !matches!(*self, MaybeDone::Done { output: Err(_) }) {
            return None;
        }
        match self.project_replace(MaybeDone::Taken) {
            MaybeDoneReplace::Done { output: Err(error) } => Some(error),
            _ => unreachable!("the error was just seen"),
        }
    }

    /// Takes the `Ok` value, once every future of a `try_join!` finished
    /// without an error.
    ///
    /// # Panics
    ///
    /// If there is no `Ok` value here.
    pub fn take_ok(self: Pin<&mut Self>) -> T {
        match self.take_output() {
            Some(Ok(value)) => value,
            _ => panic!("try_join! took a value that is not there"),
        }
    }
}
