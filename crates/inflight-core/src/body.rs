//! The response body wrapper that keeps a request in the table until its body is over.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};

use crate::clock;
use crate::current::enter;
use crate::future::TERMINATED_HEADER;
use crate::table::{Ending, Tracked};

pin_project_lite::pin_project! {
    /// A response body whose request stays in the table until the body is over: end of
    /// stream (also noticed right after the last data frame, since hyper stops polling
    /// once it has written `Content-Length` bytes), an error, or the body being dropped.
    ///
    /// `Data` and `Error` are the inner body's. When an operator terminates the request
    /// while its body is being sent, the body is cut short: it ends with an
    /// `inflight-terminated: operator` trailer (a `Content-Length` response is left
    /// incomplete, which HTTP/1.1 clients see as an error).
    pub struct TrackedBody<B> {
        #[pin]
        inner: Inner<B>,
        state: Option<BodyState>,
    }
}

pin_project_lite::pin_project! {
    /// The body itself, or the text of a response the layer made up (one field, so the
    /// wrapper stays small: responses are moved around a lot).
    #[project = InnerProj]
    enum Inner<B> {
        Body { #[pin] body: B },
        // Made up by the layer; `None` once sent, or when a body was cut.
        Message { text: Option<Bytes> },
    }
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
}

impl<B> TrackedBody<B> {
    /// A body that is not tracked (its request already ended).
    pub(crate) fn untracked(body: B) -> TrackedBody<B> {
        TrackedBody {
            inner: Inner::Body { body },
            state: None,
        }
    }

    /// The body of a response made up by the layer.
    pub(crate) fn message(text: Bytes) -> TrackedBody<B> {
        TrackedBody {
            inner: Inner::Message { text: Some(text) },
            state: None,
        }
    }

    /// The inner body; `None` for a response the layer made up after a termination.
    pub fn get_ref(&self) -> Option<&B> {
        match &self.inner {
            Inner::Body { body } => Some(body),
            Inner::Message { .. } => None,
        }
    }

    /// The inner body, mutably.
    pub fn get_mut(&mut self) -> Option<&mut B> {
        match &mut self.inner {
            Inner::Body { body } => Some(body),
            Inner::Message { .. } => None,
        }
    }

    /// The inner body; its request ends as dropped early if it was still tracked.
    pub fn into_inner(self) -> Option<B> {
        match self.inner {
            Inner::Body { body } => Some(body),
            Inner::Message { .. } => None,
        }
    }
}

impl<B> Body for TrackedBody<B>
where
    B: Body,
    B::Data: From<Bytes>,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        let mut inner = match this.inner.as_mut().project() {
            InnerProj::Body { body } => body,
            InnerProj::Message { text } => {
                return Poll::Ready(text.take().map(|text| Ok(Frame::data(text.into()))));
            }
        };
        let Some(state) = this.state.as_mut() else {
            return inner.poll_frame(cx);
        };
        if state.tracked.entry.as_ref().is_some_and(|e| e.terminated()) {
            this.inner.set(Inner::Message { text: None });
            if let Some(state) = this.state.take() {
                state.tracked.finish(Ending::Terminated);
            }
            let mut trailers = HeaderMap::new();
            trailers.insert(TERMINATED_HEADER, HeaderValue::from_static("operator"));
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
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
                    entry.register_waker(cx.waker());
                    if entry.terminated() {
                        cx.waker().wake_by_ref();
                    }
                }
                return Poll::Pending;
            }
            Poll::Ready(None) => Ending::Completed,
            Poll::Ready(Some(Err(_))) => Ending::BodyFailed,
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
                    return polled;
                }
                Ending::Completed
            }
        };
        if let Some(state) = this.state.take() {
            state.tracked.finish(ending);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Body { body } => body.is_end_stream(),
            Inner::Message { text } => text.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Body { body } => body.size_hint(),
            Inner::Message { text } => {
                SizeHint::with_exact(text.as_ref().map_or(0, |t| t.len() as u64))
            }
        }
    }
}

impl<B> fmt::Debug for TrackedBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedBody")
            .field(
                "request",
                &self.state.as_ref().map(|state| state.tracked.id()),
            )
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
    if bodyless {
        if let Some(entry) = &tracked.entry {
            // Kept for the record of how the request ended; no clock read needed.
            entry.response_head(status, 0);
        }
        tracked.finish(Ending::Completed);
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
        state: Some(BodyState {
            tracked,
            remaining: expected.unwrap_or(UNKNOWN),
            enter,
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
