//! The response future of both layers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body::Body;

use crate::body::{TrackedBody, track_response};
use crate::current::enter;
use crate::table::{Ending, Tracked};

/// The header on a response the layer made up because an operator terminated the
/// request; its value is `operator`.
pub const TERMINATED_HEADER: &str = "inflight-terminated";

/// In the extensions of a response the layer made up because an operator terminated the
/// request (`503 Service Unavailable`, see [`Table::terminate`](crate::Table::terminate)).
///
/// A caller of a client wrapped in [`InFlightClientLayer`](crate::InFlightClientLayer)
/// tells a terminated call from a real 503 with
/// `response.extensions().get::<inflight::Terminated>()`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Terminated {
    /// The terminated request.
    pub id: u64,
    /// What the operator said, if anything.
    pub message: Option<String>,
}

pin_project_lite::pin_project! {
    /// Response future of [`InFlight`](crate::InFlight) and
    /// [`InFlightClient`](crate::InFlightClient).
    ///
    /// Dropping it before it resolves ends the request as dropped early.
    pub struct ResponseFuture<F> {
        // `None` once the inner future completed or was dropped by a termination.
        #[pin]
        inner: Option<F>,
        tracked: Option<Tracked>,
        head_request: bool,
        // Inbound: polling makes the request current.
        enter: bool,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, tracked: Tracked, head_request: bool, enter: bool) -> Self {
        ResponseFuture {
            inner: Some(inner),
            tracked: Some(tracked),
            head_request,
            enter,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
    B::Data: From<Bytes>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if this
            .tracked
            .as_ref()
            .and_then(|tracked| tracked.entry.as_ref())
            .is_some_and(|entry| entry.terminated())
        {
            // Dropping the handler's future drops its outbound calls with it.
            this.inner.set(None);
            if let Some(tracked) = this.tracked.take() {
                return Poll::Ready(Ok(terminated_response(tracked)));
            }
        }
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            // Polled after completion.
            return Poll::Pending;
        };
        let polled = match this.tracked.as_mut() {
            Some(tracked) if *this.enter => {
                let _current = enter(&mut tracked.entry);
                inner.poll(cx)
            }
            _ => inner.poll(cx),
        };
        let result = match polled {
            Poll::Ready(result) => result,
            Poll::Pending => {
                if let Some(entry) = this.tracked.as_ref().and_then(|t| t.entry.as_ref()) {
                    entry.register_waker(cx.waker());
                    // A termination between the check above and the registration must
                    // not be missed.
                    if entry.terminated() {
                        cx.waker().wake_by_ref();
                    }
                }
                return Poll::Pending;
            }
        };
        this.inner.set(None);
        let Some(tracked) = this.tracked.take() else {
            return Poll::Ready(result.map(|response| response.map(TrackedBody::untracked)));
        };
        Poll::Ready(match result {
            Ok(response) => Ok(track_response(
                response,
                tracked,
                *this.head_request,
                *this.enter,
            )),
            Err(error) => {
                tracked.finish(Ending::Failed);
                Err(error)
            }
        })
    }
}

/// `503 Service Unavailable`, saying who ended the request.
fn terminated_response<B: Body>(tracked: Tracked) -> Response<TrackedBody<B>> {
    let id = tracked.id();
    let message = tracked
        .entry
        .as_ref()
        .and_then(|entry| entry.control_message());
    let text = match &message {
        Some(message) => format!("request #{id} terminated by an operator: {message}\n"),
        None => format!("request #{id} terminated by an operator\n"),
    };
    tracked.finish(Ending::Terminated);
    let mut response = Response::new(TrackedBody::message(Bytes::from(text)));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(TERMINATED_HEADER, HeaderValue::from_static("operator"));
    response.extensions_mut().insert(Terminated { id, message });
    response
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("request", &self.tracked.as_ref().map(Tracked::id))
            .finish_non_exhaustive()
    }
}
