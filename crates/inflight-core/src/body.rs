//! The response body wrapper that keeps a request in the table until its body is over.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderMap, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};

use crate::clock;
use crate::current::enter;
use crate::table::{Ending, Tracked};

pin_project_lite::pin_project! {
    /// A response body whose request stays in the table until the body is over: end of
    /// stream (also noticed right after the last data frame, since hyper stops polling
    /// once it has written `Content-Length` bytes), an error, or the body being dropped.
    ///
    /// `Data` and `Error` are the inner body's.
    pub struct TrackedBody<B> {
        #[pin]
        inner: B,
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
        TrackedBody { inner, state: None }
    }

    /// The inner body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The inner body, mutably.
    pub fn get_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    /// The inner body; its request ends as dropped early if it was still tracked.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        let Some(state) = this.state.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        let polled = if state.enter {
            let _current = enter(&mut state.tracked.entry);
            this.inner.as_mut().poll_frame(cx)
        } else {
            this.inner.as_mut().poll_frame(cx)
        };
        let ending = match &polled {
            Poll::Pending => {
                if let Some(entry) = &state.tracked.entry {
                    entry.body_waiting();
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
                let over = this.inner.is_end_stream()
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
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
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
pub(crate) fn track_response<B: Body>(
    response: Response<B>,
    tracked: Tracked,
    head_request: bool,
    enter: bool,
) -> Response<TrackedBody<B>> {
    let status = response.status();
    let bodyless = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || response.body().is_end_stream();
    if bodyless {
        tracked.finish(Ending::Completed);
        return response.map(TrackedBody::untracked);
    }
    if let Some(entry) = &tracked.entry {
        entry.response_head(status, clock::now());
    }
    let expected = response
        .body()
        .size_hint()
        .exact()
        .or_else(|| content_length(response.headers()));
    response.map(|inner| TrackedBody {
        inner,
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
