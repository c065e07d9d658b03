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
        // `None` for a response the layer made up, or once the body was cut.
        #[pin]
        inner: Option<B>,
        // The body of a response the layer made up.
        message: Option<Bytes>,
        state: Option<BodyState>,
    }
}

struct BodyState {
    tracked: Tracked,
    /// Bytes after which the body is over even if the inner body does not say so.
    expected: Option<u64>,
    sent: u64,
    /// Whether polling the body makes the request current (inbound only).
    enter: bool,
}

impl<B> TrackedBody<B> {
    /// A body that is not tracked (its request already ended).
    pub(crate) fn untracked(inner: B) -> TrackedBody<B> {
        TrackedBody {
            inner: Some(inner),
            message: None,
            state: None,
        }
    }

    /// The body of a response made up by the layer.
    pub(crate) fn message(text: Bytes) -> TrackedBody<B> {
        TrackedBody {
            inner: None,
            message: Some(text),
            state: None,
        }
    }

    /// The inner body; `None` for a response the layer made up after a termination.
    pub fn get_ref(&self) -> Option<&B> {
        self.inner.as_ref()
    }

    /// The inner body, mutably.
    pub fn get_mut(&mut self) -> Option<&mut B> {
        self.inner.as_mut()
    }

    /// The inner body; its request ends as dropped early if it was still tracked.
    pub fn into_inner(self) -> Option<B> {
        self.inner
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
        let Some(mut inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(this.message.take().map(|text| Ok(Frame::data(text.into()))));
        };
        let Some(state) = this.state.as_mut() else {
            return inner.poll_frame(cx);
        };
        if state.tracked.entry.as_ref().is_some_and(|e| e.terminated()) {
            this.inner.set(None);
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
                if let Some(data) = frame.data_ref() {
                    let len = bytes::Buf::remaining(data) as u64;
                    state.sent += len;
                    if let Some(entry) = &state.tracked.entry {
                        entry.body_bytes(len);
                    }
                }
                let over = inner.is_end_stream()
                    || state
                        .expected
                        .is_some_and(|expected| state.sent >= expected);
                if !over {
                    if let Some(entry) = &state.tracked.entry {
                        entry.body_handed_off(clock::now());
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
            Some(inner) => inner.is_end_stream(),
            None => self.message.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.inner, &self.message) {
            (Some(inner), _) => inner.size_hint(),
            (None, Some(text)) => SizeHint::with_exact(text.len() as u64),
            (None, None) => SizeHint::with_exact(0),
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
        entry.response_head(status, clock::now());
    }
    response.map(|inner| TrackedBody {
        inner: Some(inner),
        message: None,
        state: Some(BodyState {
            tracked,
            expected,
            sent: 0,
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
