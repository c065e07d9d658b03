//! The response future of both layers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use http_body::Body;

use crate::body::{TrackedBody, track_response};
use crate::current::enter;
use crate::table::{Ending, Tracked};

pin_project_lite::pin_project! {
    /// Response future of [`InFlight`](crate::InFlight) and
    /// [`InFlightClient`](crate::InFlightClient).
    ///
    /// Dropping it before it resolves ends the request as dropped early.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        tracked: Option<Tracked>,
        head_request: bool,
        // Inbound: polling makes the request current.
        enter: bool,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, tracked: Tracked, head_request: bool, enter: bool) -> Self {
        ResponseFuture {
            inner,
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
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.tracked.as_mut() {
            Some(tracked) if *this.enter => {
                let _current = enter(&mut tracked.entry);
                ready!(this.inner.poll(cx))
            }
            _ => ready!(this.inner.poll(cx)),
        };
        let Some(tracked) = this.tracked.take() else {
            // Polled again after completion: nothing left to track.
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
