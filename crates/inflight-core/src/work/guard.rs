//! [`WorkGuard`]: tracked work for code that cannot wrap a future.

use std::fmt;
use std::future::Future;

use super::WorkBuilder;
use crate::current::{RequestHandle, WithRequest};
use crate::table::{Ending, Tracked};

/// Work in the table from [`start`](WorkGuard::start) until the guard is dropped, for code
/// that cannot hand its work over as one future (a loop body, a callback, a thread).
///
/// ```
/// # use inflight_core as inflight;
/// # async fn handle_batch() {}
/// # async fn example() {
/// let guard = inflight::WorkGuard::start("compact segment 12");
/// guard.scope(async {
///     inflight::set_status("merging"); // inside `scope`, the guard's work is current
///     handle_batch().await;
/// })
/// .await;
/// drop(guard); // ends as completed
/// # }
/// ```
///
/// Dropped while the thread panics, the work ends as failed; [`fail`](WorkGuard::fail)
/// ends it so on purpose. An operator's cancel reaches [`cancelled`](crate::cancelled)
/// inside [`scope`](WorkGuard::scope). A terminate cannot drop anything here: the work
/// shows as `terminating` until the guard is dropped, and then ends as terminated. Prefer
/// [`work`](crate::work()), whose future a terminate drops at once.
#[must_use = "the work ends when the guard is dropped"]
pub struct WorkGuard {
    tracked: Option<Tracked>,
}

impl WorkGuard {
    /// Starts work named `name` in the [`global`](crate::global) table.
    pub fn start(name: impl Into<std::borrow::Cow<'static, str>>) -> WorkGuard {
        WorkBuilder::new(name).start()
    }

    pub(super) fn new(tracked: Tracked) -> WorkGuard {
        WorkGuard {
            tracked: Some(tracked),
        }
    }

    /// The work's id in the table (0 if the table had no room for it).
    pub fn id(&self) -> u64 {
        self.tracked.as_ref().map_or(0, Tracked::id)
    }

    /// A handle to set the work's status and attributes, or see whether it was cancelled;
    /// `None` if the table had no room for it.
    pub fn handle(&self) -> Option<RequestHandle> {
        let entry = self.tracked.as_ref()?.entry.as_ref()?;
        Some(RequestHandle::new(entry.clone()))
    }

    /// Runs `future` as part of this work: while it is polled, the work is the current
    /// request, so statuses, attributes, `cancelled()` and outbound calls go to it.
    pub fn scope<F: Future>(&self, future: F) -> WithRequest<F> {
        match self.handle() {
            Some(handle) => handle.scope(future),
            None => crate::current::untracked_scope(future),
        }
    }

    /// Ends the work as failed.
    pub fn fail(mut self) {
        if let Some(tracked) = self.tracked.take() {
            tracked.finish(Ending::Failed);
        }
    }
}

impl Drop for WorkGuard {
    fn drop(&mut self) {
        let Some(tracked) = self.tracked.take() else {
            return;
        };
        let ending = if std::thread::panicking() {
            Ending::Failed
        } else if tracked
            .entry
            .as_ref()
            .is_some_and(|entry| entry.terminated())
        {
            Ending::Terminated
        } else {
            Ending::Completed
        };
        tracked.finish(ending);
    }
}

impl fmt::Debug for WorkGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkGuard").field("id", &self.id()).finish()
    }
}
