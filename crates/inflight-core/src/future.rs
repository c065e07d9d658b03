//! The response future of both layers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Response, StatusCode};
use http_body::Body;

use crate::body::{TrackedBody, track_response};
use crate::current::enter;
use crate::table::{Ending, Tracked};
use crate::terminate;

pin_project_lite::pin_project! {
    /// Response future of [`InFlight`](crate::InFlight) and
    /// [`InFlightClient`](crate::InFlightClient).
    ///
    /// Dropping it before it resolves ends the request as dropped early. If an operator
    /// terminates the request first, the inner service's future is dropped and this one
    /// resolves as the made-up response (see [`InFlightLayer`](crate::InFlightLayer) and
    /// [`InFlightClientLayer`](crate::InFlightClientLayer)).
    pub struct ResponseFuture<F> {
        // `None` once the inner future completed or was dropped by a termination.
        #[pin]
        inner: Option<F>,
        tracked: Option<Tracked>,
        head_request: bool,
        // Inbound: polling makes the request current.
        enter: bool,
        terminated_status: StatusCode,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(
        inner: F,
        tracked: Tracked,
        head_request: bool,
        enter: bool,
        terminated_status: StatusCode,
    ) -> Self {
        ResponseFuture {
            inner: Some(inner),
            tracked: Some(tracked),
            head_request,
            enter,
            terminated_status,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
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
                let status = *this.terminated_status;
                return Poll::Ready(Ok(terminate::response(
                    tracked,
                    status,
                    TrackedBody::empty(),
                )));
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
                    entry.park(cx.waker());
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

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("request", &self.tracked.as_ref().map(Tracked::id))
            .finish_non_exhaustive()
    }
}
