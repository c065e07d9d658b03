//! The response futures of both layers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Response, StatusCode};
use http_body::Body;

use crate::body::{TrackedBody, track_response};
use crate::client_body::ClientBody;
use crate::current::enter;
use crate::table::{Ending, Tracked};
use crate::terminate;

pin_project_lite::pin_project! {
    /// Response future of [`InFlight`](crate::InFlight).
    ///
    /// Dropping it before it resolves ends the request as dropped early. If an operator
    /// terminates the request first, the service's future is dropped and this one resolves
    /// as the made-up response (see [`InFlightLayer`](crate::InFlightLayer)).
    pub struct ResponseFuture<F> {
        #[pin]
        core: Core<F>,
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`InFlightClient`](crate::InFlightClient).
    ///
    /// Dropping it before it resolves ends the call as dropped early. If an operator
    /// terminates the call first, the client's future is dropped and this one resolves as
    /// the made-up response (see [`InFlightClientLayer`](crate::InFlightClientLayer)).
    pub struct ClientResponseFuture<F> {
        #[pin]
        core: Core<F>,
    }
}

pin_project_lite::pin_project! {
    /// What both futures do; they differ only in the body of a made-up response.
    struct Core<F> {
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

/// How a response future resolved.
enum Outcome<B> {
    /// The inner service's response, its body tracked.
    Served(Response<TrackedBody<B>>),
    /// Terminated before the head: the made-up response, its body still to be chosen.
    Terminated(Response<()>),
}

impl<F> Core<F> {
    fn new(
        inner: F,
        tracked: Tracked,
        head_request: bool,
        enter: bool,
        terminated_status: StatusCode,
    ) -> Self {
        Core {
            inner: Some(inner),
            tracked: Some(tracked),
            head_request,
            enter,
            terminated_status,
        }
    }

    fn id(&self) -> Option<u64> {
        self.tracked.as_ref().map(Tracked::id)
    }

    fn poll_outcome<B, E>(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Outcome<B>, E>>
    where
        F: Future<Output = Result<Response<B>, E>>,
        B: Body,
    {
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
                let response = terminate::response(tracked, *this.terminated_status, ());
                return Poll::Ready(Ok(Outcome::Terminated(response)));
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
            return Poll::Ready(
                result.map(|response| Outcome::Served(response.map(TrackedBody::untracked))),
            );
        };
        Poll::Ready(match result {
            Ok(response) => Ok(Outcome::Served(track_response(
                response,
                tracked,
                *this.head_request,
                *this.enter,
            ))),
            Err(error) => {
                tracked.finish(Ending::Failed);
                Err(error)
            }
        })
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(
        inner: F,
        tracked: Tracked,
        head_request: bool,
        terminated_status: StatusCode,
    ) -> Self {
        ResponseFuture {
            core: Core::new(inner, tracked, head_request, true, terminated_status),
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
        self.project()
            .core
            .poll_outcome(cx)
            .map_ok(|outcome| match outcome {
                Outcome::Served(response) => response,
                Outcome::Terminated(response) => response.map(|()| TrackedBody::empty()),
            })
    }
}

impl<F> ClientResponseFuture<F> {
    pub(crate) fn new(
        inner: F,
        tracked: Tracked,
        head_request: bool,
        terminated_status: StatusCode,
    ) -> Self {
        ClientResponseFuture {
            core: Core::new(inner, tracked, head_request, false, terminated_status),
        }
    }
}

impl<F, B, E> Future for ClientResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<ClientBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project()
            .core
            .poll_outcome(cx)
            .map_ok(|outcome| match outcome {
                Outcome::Served(response) => response.map(ClientBody::new),
                Outcome::Terminated(response) => response.map(|()| ClientBody::default()),
            })
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("request", &self.core.id())
            .finish_non_exhaustive()
    }
}

impl<F> fmt::Debug for ClientResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientResponseFuture")
            .field("request", &self.core.id())
            .finish_non_exhaustive()
    }
}
