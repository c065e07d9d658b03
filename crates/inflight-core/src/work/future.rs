//! The future of [`work`](crate::work()): runs the inner future as a tracked entry.

use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::WorkBuilder;
use crate::current::enter;
use crate::table::{Ending, Tracked};
use crate::terminate::Terminated;

pin_project_lite::pin_project! {
    /// Future of [`work`](crate::work()) and [`WorkBuilder::run`]: `Ok` with the inner
    /// future's output, or `Err(`[`Terminated`]`)` if an operator terminated the work.
    ///
    /// The work enters the table at the first poll, and ends when this resolves, when
    /// polling the inner future panics (as failed), or when this is dropped first (as
    /// dropped early); see the [`work`](crate::work()#how-work-ends).
    #[must_use = "futures do nothing unless polled"]
    pub struct Work<F: Future> {
        // `None` once the inner future completed or was dropped by a termination.
        #[pin]
        inner: Option<F>,
        // What the work starts with, until the first poll puts it in the table. Inline, not
        // boxed: starting work allocates nothing, like a request.
        start: Option<WorkBuilder>,
        tracked: Option<Tracked>,
        // Whether an output ends the work as failed (`fail_on_err`).
        failed: Option<fn(&F::Output) -> bool>,
    }
}

impl<F: Future> Work<F> {
    /// Work named after `builder`; starts at the first poll.
    pub(super) fn new(builder: WorkBuilder, inner: F) -> Work<F> {
        Work {
            inner: Some(inner),
            start: Some(builder),
            tracked: None,
            failed: None,
        }
    }

    /// The work's id in the table, once it started (first poll) and while in flight.
    pub fn id(&self) -> Option<u64> {
        self.tracked.as_ref().map(Tracked::id).filter(|id| *id != 0)
    }
}

// On one type only, like `HashMap::new`, so `Work::builder(..)` needs no type annotation.
impl Work<std::future::Pending<()>> {
    /// A builder for work with a table, attributes or a trace of its own (the same as
    /// [`WorkBuilder::new`]).
    pub fn builder(name: impl Into<std::borrow::Cow<'static, str>>) -> WorkBuilder {
        WorkBuilder::new(name)
    }
}

impl<F, T, E> Work<F>
where
    F: Future<Output = Result<T, E>>,
{
    /// Ends the work as failed, not completed, when the inner future's output is an
    /// `Err`. Off by default: for many jobs an `Err` is an answer (a message rejected as
    /// invalid), not a failure of the work.
    pub fn fail_on_err(mut self) -> Work<F> {
        self.failed = Some(Result::is_err);
        self
    }
}

impl<F: Future> Future for Work<F> {
    type Output = Result<F::Output, Terminated>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(start) = this.start.take() {
            *this.tracked = Some(start.register());
        }
        if this
            .tracked
            .as_ref()
            .and_then(|tracked| tracked.entry.as_ref())
            .is_some_and(|entry| entry.terminated())
        {
            // Dropping the work's future drops its outbound calls with it.
            this.inner.set(None);
            if let Some(tracked) = this.tracked.take() {
                return Poll::Ready(Err(Terminated::end(tracked)));
            }
        }
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            // Polled after completion.
            return Poll::Pending;
        };
        let polled = match this.tracked.as_mut() {
            Some(tracked) => {
                let _current = enter(&mut tracked.entry);
                panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))
            }
            None => Ok(inner.poll(cx)),
        };
        match polled {
            Ok(Poll::Ready(output)) => {
                this.inner.set(None);
                if let Some(tracked) = this.tracked.take() {
                    let failed = this.failed.is_some_and(|failed| failed(&output));
                    tracked.finish(if failed {
                        Ending::Failed
                    } else {
                        Ending::Completed
                    });
                }
                Poll::Ready(Ok(output))
            }
            Ok(Poll::Pending) => {
                if let Some(entry) = this.tracked.as_ref().and_then(|t| t.entry.as_ref()) {
                    entry.park(cx.waker());
                }
                Poll::Pending
            }
            Err(payload) => {
                // The entry ends and is counted as failed now: unwinding would otherwise
                // drop it as if its owner had given up on it.
                if let Some(tracked) = this.tracked.take() {
                    tracked.finish(Ending::Failed);
                }
                panic::resume_unwind(payload)
            }
        }
    }
}

impl<F: Future> fmt::Debug for Work<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Work")
            .field("id", &self.id())
            .field("started", &self.start.is_none())
            .finish_non_exhaustive()
    }
}
