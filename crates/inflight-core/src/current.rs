//! The request being served on this task, so handlers can set a status without plumbing.
//!
//! While the layer polls a request's future (and its response body), the request's entry
//! sits in a thread-local; [`set_status`], [`set_attr`] and [`current`] read it. Polling
//! moves the entry in and out (no reference counting), so this costs two thread-local
//! writes per poll. Work spawned onto another task does not see the request unless it is
//! wrapped with [`in_current_request`] or [`RequestHandle::scope`].

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::entry::Entry;
use crate::snapshot::Direction;
use crate::sync::Arc;
use crate::trace::{SpanId, TraceContext, TraceId};

thread_local! {
    static CURRENT: Cell<Option<Arc<Entry>>> = const { Cell::new(None) };
}

/// Makes `slot`'s entry the current request until the guard is dropped, then puts it back
/// (also when the poll panics).
#[inline]
pub(crate) fn enter(slot: &mut Option<Arc<Entry>>) -> Enter<'_> {
    if slot.is_none() {
        return Enter {
            slot,
            prev: None,
            entered: false,
        };
    }
    let mut mine = slot.take();
    match CURRENT.try_with(|current| current.replace(mine.take())) {
        Ok(prev) => Enter {
            slot,
            prev,
            entered: true,
        },
        Err(_) => {
            *slot = mine;
            Enter {
                slot,
                prev: None,
                entered: false,
            }
        }
    }
}

pub(crate) struct Enter<'a> {
    slot: &'a mut Option<Arc<Entry>>,
    prev: Option<Arc<Entry>>,
    entered: bool,
}

impl Drop for Enter<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.entered {
            let prev = self.prev.take();
            if let Ok(mine) = CURRENT.try_with(|current| current.replace(prev)) {
                *self.slot = mine;
            }
        }
    }
}

fn with_current<R>(f: impl FnOnce(&Arc<Entry>) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| {
            let entry = current.take();
            let out = entry.as_ref().map(f);
            current.set(entry);
            out
        })
        .ok()
        .flatten()
}

/// The entry of the request being served on this task, if any.
pub(crate) fn current_entry() -> Option<Arc<Entry>> {
    with_current(Arc::clone)
}

/// Sets the status of the request being served on this task: what it is doing now, shown
/// in dumps and on the admin port with how long it has been doing it. Each call is also
/// recorded in the request's status history.
///
/// Does nothing outside a request tracked by [`InFlightLayer`](crate::InFlightLayer).
///
/// ```
/// # use inflight_core as inflight;
/// async fn handler() -> &'static str {
///     inflight::set_status("querying db");
///     // ...
///     inflight::set_status("rendering");
///     "ok"
/// }
/// # let _ = handler;
/// ```
pub fn set_status(status: impl Into<Cow<'static, str>>) {
    with_current(|entry| entry.set_status(status.into()));
}

/// Sets an attribute of the request being served on this task (`user=42`,
/// `shard=eu-1`). Setting a key again replaces its value; a request keeps at most 32.
///
/// Does nothing outside a tracked request.
pub fn set_attr(key: impl Into<Cow<'static, str>>, value: impl Into<Cow<'static, str>>) {
    with_current(|entry| entry.set_attribute(key.into(), value.into()));
}

/// Names the route of the request being served on this task (`/users/{id}`), for
/// servers that do not use axum's `MatchedPath`.
pub fn set_route(route: impl Into<Cow<'static, str>>) {
    with_current(|entry| entry.set_route(route.into()));
}

/// A handle on the request being served on this task, if any.
pub fn current() -> Option<RequestHandle> {
    current_entry().map(RequestHandle::new)
}

/// Carries the current request into a future that runs elsewhere, typically a spawned
/// task, so that [`set_status`] and outbound calls made there belong to the request.
///
/// ```
/// # use inflight_core as inflight;
/// # async fn work() {}
/// async fn handler() {
///     tokio::spawn(inflight::in_current_request(async {
///         inflight::set_status("background part");
///         work().await;
///     }));
/// }
/// # let _ = handler;
/// ```
pub fn in_current_request<F: Future>(future: F) -> WithRequest<F> {
    WithRequest {
        inner: future,
        entry: current_entry(),
    }
}

/// Resolves when an operator asks the request being served on this task to cancel
/// (`POST /requests/{id}/cancel` on the admin port, or [`Table::cancel`](crate::Table::cancel)).
/// Outside a tracked request it never resolves.
///
/// ```
/// # use inflight_core as inflight;
/// # async fn long_query() -> &'static str { "rows" }
/// async fn handler() -> &'static str {
///     tokio::select! {
///         rows = long_query() => rows,
///         _ = inflight::cancelled() => "cancelled by an operator",
///     }
/// }
/// # let _ = handler;
/// ```
pub fn cancelled() -> Cancelled {
    Cancelled {
        entry: current_entry(),
    }
}

/// The future of [`cancelled`].
pub struct Cancelled {
    entry: Option<Arc<Entry>>,
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.entry {
            Some(entry) if entry.poll_cancelled(cx.waker()) => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }
}

impl fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled")
            .field("request", &self.entry.as_ref().map(|e| e.id()))
            .finish()
    }
}

/// A handle on one tracked request.
///
/// Get one with [`current()`], from the request extensions when the layer is told to put
/// it there ([`InFlightLayer::request_extension`](crate::InFlightLayer::request_extension)),
/// with axum's extractor (feature `axum`), or from [`Table::handle`](crate::Table::handle).
/// It stays valid after the request ends; changes then have no visible effect.
#[derive(Clone)]
pub struct RequestHandle {
    entry: Arc<Entry>,
}

impl RequestHandle {
    pub(crate) fn new(entry: Arc<Entry>) -> RequestHandle {
        RequestHandle { entry }
    }

    /// The request's id, as shown in dumps and on the admin port.
    pub fn id(&self) -> u64 {
        self.entry.id()
    }

    /// Inbound or outbound.
    pub fn direction(&self) -> Direction {
        self.entry.direction
    }

    /// The request's place in its W3C trace: put it in logs and `tracing` spans to find
    /// them from a trace id the `inflight` CLI shows, and the other way round.
    ///
    /// ```
    /// # use inflight_core as inflight;
    /// if let Some(request) = inflight::current() {
    ///     let trace = request.trace();
    ///     println!("trace_id={} span_id={}", trace.trace_id, trace.span_id);
    /// }
    /// ```
    pub fn trace(&self) -> TraceContext {
        self.entry.trace
    }

    /// The W3C trace id (32 hex digits when shown).
    pub fn trace_id(&self) -> TraceId {
        self.entry.trace.trace_id
    }

    /// The request's own span id (16 hex digits when shown).
    pub fn span_id(&self) -> SpanId {
        self.entry.trace.span_id
    }

    /// Like [`set_status`], for this request.
    pub fn set_status(&self, status: impl Into<Cow<'static, str>>) {
        self.entry.set_status(status.into());
    }

    /// Like [`set_attr`], for this request.
    pub fn set_attr(&self, key: impl Into<Cow<'static, str>>, value: impl Into<Cow<'static, str>>) {
        self.entry.set_attribute(key.into(), value.into());
    }

    /// Like [`set_route`], for this request.
    pub fn set_route(&self, route: impl Into<Cow<'static, str>>) {
        self.entry.set_route(route.into());
    }

    /// Resolves when an operator asks this request to cancel.
    pub fn cancelled(&self) -> Cancelled {
        Cancelled {
            entry: Some(self.entry.clone()),
        }
    }

    /// Whether an operator asked this request to cancel.
    pub fn is_cancelled(&self) -> bool {
        self.entry.cancel_requested()
    }

    /// Forbids cancelling and terminating this request from the admin port (for work
    /// that must not be cut in the middle); such attempts get `403 Forbidden`.
    ///
    /// Returns `false`, and forbids nothing, when an operator already asked to terminate
    /// or cancel it: the check and the forbid are one atomic step, so either the forbid
    /// is in before any operator's request, or the operator's request won.
    pub fn forbid_cancel(&self) -> bool {
        self.entry.forbid_cancel()
    }

    /// Runs `future` as part of this request: while it is polled this is the current
    /// request, wherever it runs.
    pub fn scope<F: Future>(&self, future: F) -> WithRequest<F> {
        WithRequest {
            inner: future,
            entry: Some(self.entry.clone()),
        }
    }
}

impl fmt::Debug for RequestHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHandle")
            .field("id", &self.entry.id())
            .field("direction", &self.entry.direction)
            .finish()
    }
}

pin_project_lite::pin_project! {
    /// A future that runs as part of a request; see [`in_current_request`].
    pub struct WithRequest<F> {
        #[pin]
        inner: F,
        entry: Option<Arc<Entry>>,
    }
}

/// `future` run as part of no request (for work the table had no room for).
pub(crate) fn untracked_scope<F: Future>(future: F) -> WithRequest<F> {
    WithRequest {
        inner: future,
        entry: None,
    }
}

impl<F: Future> Future for WithRequest<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _current = enter(this.entry);
        this.inner.poll(cx)
    }
}

impl<F> fmt::Debug for WithRequest<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithRequest")
            .field("request", &self.entry.as_ref().map(|e| e.id()))
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "axum")]
mod extract {
    use axum::extract::FromRequestParts;
    use axum::response::{IntoResponse, Response};
    use http::StatusCode;
    use http::request::Parts;

    use super::{RequestHandle, current};

    /// The rejection when a handler asks for a [`RequestHandle`] but the request is not
    /// tracked (the router has no `InFlightLayer`).
    #[derive(Debug, Clone, Copy)]
    pub struct NotTracked;

    impl IntoResponse for NotTracked {
        fn into_response(self) -> Response {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "this request is not tracked: add inflight::InFlightLayer to the router",
            )
                .into_response()
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for RequestHandle {
        type Rejection = NotTracked;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Self, Self::Rejection> {
            parts
                .extensions
                .get::<RequestHandle>()
                .cloned()
                .or_else(current)
                .ok_or(NotTracked)
        }
    }
}

#[cfg(feature = "axum")]
pub use extract::NotTracked;
