//! The response body wrapper that keeps a request in the table until its body is over.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderMap, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};

use crate::clock;
use crate::current::enter;
use crate::grpc;
use crate::table::{Ending, Tracked};
use crate::terminate::{self, BoxError};

pin_project_lite::pin_project! {
    /// The response body of [`InFlight`](crate::InFlight) and
    /// [`InFlightClient`](crate::InFlightClient): its request stays in the table until the
    /// body is over: end of stream (also noticed right after the last data frame, since
    /// hyper stops polling once it has written `Content-Length` bytes), an error, or the
    /// body being dropped. On the client that means until the caller has read the body to
    /// the end or dropped it.
    ///
    /// `Data` is the inner body's. The error type is `Box<dyn Error + Send + Sync>`, as for
    /// tower-http's `TimeoutBody`: the inner body's error, or a
    /// [`Terminated`](crate::Terminated) when an operator terminated the request while its
    /// body was under way. That error is what makes the cut visible: hyper closes an
    /// HTTP/1 connection without the last chunk and resets an HTTP/2 stream, so no client
    /// takes the truncated body for a whole one. Tell the two apart with
    /// `error.downcast_ref::<inflight::Terminated>()`. The inner body is dropped at the
    /// cut, not when this one is: an upstream's body lets go of its connection (closed or
    /// reset) at once.
    ///
    /// When a request is terminated before its head, the response the layer makes up has
    /// an empty `TrackedBody` with no inner body at all, so the layer asks nothing of the
    /// inner service's body type (no `Default`: a streaming body, or hyper's `Incoming`
    /// that a client returns and nobody else can make, works as well as axum's). Its
    /// accessors return an `Option` for that reason. The [`Default`] `TrackedBody` is such
    /// an empty body, which lets layers that make up responses of their own, such as
    /// tower-http's `TimeoutLayer`, wrap [`InFlightLayer`](crate::InFlightLayer).
    pub struct TrackedBody<B> {
        #[pin]
        inner: Inner<B>,
        state: State,
    }
}

pin_project_lite::pin_project! {
    #[project = InnerProj]
    enum Inner<B> {
        Body { #[pin] body: B },
        // A made-up response's body, or one cut short by a termination.
        Empty,
    }
}

enum State {
    /// Not tracked: its request had already ended, or never was in the table.
    Untracked,
    Tracking(BodyState),
    /// Terminated while under way: the error is out, the inner body dropped.
    Cut,
}

/// `BodyState::remaining` when the body did not announce its size.
const UNKNOWN: u64 = u64::MAX;

struct BodyState {
    tracked: Tracked,
    /// Bytes left before the body is over even if the inner body does not say so, or
    /// [`UNKNOWN`].
    remaining: u64,
    /// Whether polling the body makes the request current (inbound only).
    enter: bool,
    /// A gRPC call whose response headers already said it failed (trailers only, with a
    /// body after all): it ends as failed however the body ends.
    grpc_failed: bool,
}

impl<B> TrackedBody<B> {
    /// A body that is not tracked (its request already ended).
    pub(crate) fn untracked(body: B) -> TrackedBody<B> {
        TrackedBody {
            inner: Inner::Body { body },
            state: State::Untracked,
        }
    }

    /// An empty body, not tracked: a made-up response's.
    pub(crate) fn empty() -> TrackedBody<B> {
        TrackedBody {
            inner: Inner::Empty,
            state: State::Untracked,
        }
    }

    /// The inner body; `None` if there is none: the body of a response made up for a
    /// request terminated before its head (or the [`Default`] body), or a body cut short by
    /// a termination.
    pub fn get_ref(&self) -> Option<&B> {
        match &self.inner {
            Inner::Body { body } => Some(body),
            Inner::Empty => None,
        }
    }

    /// The inner body, mutably; `None` if there is none (see
    /// [`get_ref`](TrackedBody::get_ref)).
    pub fn get_mut(&mut self) -> Option<&mut B> {
        match &mut self.inner {
            Inner::Body { body } => Some(body),
            Inner::Empty => None,
        }
    }

    /// The inner body, `None` if there is none (see [`get_ref`](TrackedBody::get_ref)). A
    /// request still tracked ends as dropped early: from here on the body is read
    /// untracked.
    pub fn into_inner(self) -> Option<B> {
        match self.inner {
            Inner::Body { body } => Some(body),
            Inner::Empty => None,
        }
    }
}

impl<B> Default for TrackedBody<B> {
    /// An empty body that is not tracked.
    fn default() -> Self {
        TrackedBody::empty()
    }
}

impl<B> Body for TrackedBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let mut this = self.project();
        let InnerProj::Body { body: mut inner } = this.inner.as_mut().project() else {
            return Poll::Ready(None);
        };
        let state = match this.state {
            State::Tracking(state) => state,
            State::Untracked => return inner.poll_frame(cx).map_err(Into::into),
            State::Cut => return Poll::Ready(None),
        };
        if state.tracked.entry.as_ref().is_some_and(|e| e.terminated()) {
            let cut = match std::mem::replace(this.state, State::Cut) {
                State::Tracking(state) => terminate::cut(state.tracked),
                // Matched as tracking above.
                State::Untracked | State::Cut => return Poll::Ready(None),
            };
            // Let go of the inner body now, and of an upstream's connection with it, not
            // when this body is dropped.
            this.inner.set(Inner::Empty);
            return Poll::Ready(Some(Err(cut)));
        }
        let polled = if state.enter {
            let _current = enter(&mut state.tracked.entry);
            inner.as_mut().poll_frame(cx)
        } else {
            inner.as_mut().poll_frame(cx)
        };
        let ending = match &polled {
            Poll::Pending => {
                if let Some(entry) = &state.tracked.entry {
                    if entry.head_untimed() {
                        entry.time_head(clock::now());
                    }
                    entry.body_waiting();
                    entry.park(cx.waker());
                }
                return Poll::Pending;
            }
            Poll::Ready(None) => state.completed(),
            Poll::Ready(Some(Err(_))) => Ending::BodyFailed,
            Poll::Ready(Some(Ok(frame))) if frame.is_trailers() => {
                // Trailers are the body's last frame; a gRPC call's outcome is in them.
                if let (Some(entry), Some(trailers)) = (&state.tracked.entry, frame.trailers_ref())
                    && entry.grpc
                    && let Some(failure) = grpc::failure(trailers)
                {
                    entry.set_grpc_status(failure);
                    state.grpc_failed = true;
                }
                state.completed()
            }
            Poll::Ready(Some(Ok(frame))) => {
                let mut sized_and_sent = false;
                if let Some(data) = frame.data_ref() {
                    let len = bytes::Buf::remaining(data) as u64;
                    if state.remaining != UNKNOWN {
                        state.remaining = state.remaining.saturating_sub(len);
                        sized_and_sent = state.remaining == 0;
                    }
                    if let Some(entry) = &state.tracked.entry {
                        entry.body_bytes(len);
                    }
                }
                let over = sized_and_sent || inner.is_end_stream();
                if !over {
                    if let Some(entry) = &state.tracked.entry {
                        let now = clock::now();
                        entry.time_head(now);
                        entry.body_handed_off(now);
                    }
                    return polled.map_err(Into::into);
                }
                state.completed()
            }
        };
        if let State::Tracking(state) = std::mem::replace(this.state, State::Untracked) {
            state.tracked.finish(ending);
        }
        polled.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Body { body } => body.is_end_stream(),
            Inner::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Body { body } => body.size_hint(),
            Inner::Empty => SizeHint::with_exact(0),
        }
    }
}

impl BodyState {
    /// How the request ends when its body is over without an error.
    fn completed(&self) -> Ending {
        if self.grpc_failed {
            Ending::Failed
        } else {
            Ending::Completed
        }
    }
}

impl<B> fmt::Debug for TrackedBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let request = match &self.state {
            State::Tracking(state) => Some(state.tracked.id()),
            State::Untracked | State::Cut => None,
        };
        f.debug_struct("TrackedBody")
            .field("request", &request)
            .field("cut", &matches!(self.state, State::Cut))
            .finish_non_exhaustive()
    }
}

/// The response head is here: end the request now if there is no body to wait for,
/// otherwise hand the request to the body.
#[inline]
pub(crate) fn track_response<B: Body>(
    response: Response<B>,
    tracked: Tracked,
    head_request: bool,
    enter: bool,
) -> Response<TrackedBody<B>> {
    let status = response.status();
    let expected = response
        .body()
        .size_hint()
        .exact()
        .or_else(|| content_length(response.headers()));
    // hyper never polls a body announced as empty: it would end as dropped, not completed.
    let bodyless = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || expected == Some(0)
        || response.body().is_end_stream();
    // A gRPC call that fails at once answers with trailers only: `grpc-status` in the
    // headers, usually with no body.
    let grpc_failed = match &tracked.entry {
        Some(entry) if entry.grpc => grpc::failure(response.headers()).map(|failure| {
            entry.set_grpc_status(failure);
        }),
        _ => None,
    }
    .is_some();
    if bodyless {
        if let Some(entry) = &tracked.entry {
            // Kept for the record of how the request ended; no clock read needed.
            entry.response_head(status, 0);
        }
        tracked.finish(if grpc_failed {
            Ending::Failed
        } else {
            Ending::Completed
        });
        return response.map(TrackedBody::untracked);
    }
    if let Some(entry) = &tracked.entry {
        if enter {
            // Inbound: hyper polls the body right after the head, and most bodies end at
            // their first frame; the head's time is read then, if anyone needs it.
            entry.response_head_untimed(status);
        } else {
            // Outbound: the caller may read the body much later; the head is in now.
            entry.response_head(status, clock::now());
        }
    }
    response.map(|body| TrackedBody {
        inner: Inner::Body { body },
        state: State::Tracking(BodyState {
            tracked,
            remaining: expected.unwrap_or(UNKNOWN),
            enter,
            grpc_failed,
        }),
    })
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
