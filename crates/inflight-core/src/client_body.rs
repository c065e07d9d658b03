//! The response body a caller of a tracked client reads.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

use crate::body::TrackedBody;
use crate::terminate::BoxError;

pin_project_lite::pin_project! {
    /// The response body of [`InFlightClient`](crate::InFlightClient): the upstream's body,
    /// tracked until the caller has read it to the end or dropped it, or nothing at all for
    /// a call an operator terminated before any response arrived.
    ///
    /// Why not a [`TrackedBody`] as on the server: a made-up response needs a body, and
    /// the bodies clients return often cannot be made. hyper's `Incoming` (the body of
    /// hyper-util's `Client`) has no `Default` and no public constructor. So this body may
    /// have no inner body, and its accessors say so with an `Option`; a server's
    /// `TrackedBody` always has one.
    ///
    /// `Data` is the inner body's; the error type is `Box<dyn Error + Send + Sync>`: the
    /// inner body's error, or a [`Terminated`](crate::Terminated) when the call was
    /// terminated while its body was being read (`error.downcast_ref::<inflight::Terminated>()`).
    /// The upstream body is dropped at that moment, which closes or resets its connection.
    ///
    /// The [`Default`] body is empty and untracked, whatever `B` is.
    pub struct ClientBody<B> {
        #[pin]
        inner: Inner<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = InnerProj]
    enum Inner<B> {
        Body { #[pin] body: TrackedBody<B> },
        // A made-up response, or a body cut short by a termination.
        Empty,
    }
}

impl<B> ClientBody<B> {
    /// The upstream's body, tracked.
    pub(crate) fn new(body: TrackedBody<B>) -> ClientBody<B> {
        ClientBody {
            inner: Inner::Body { body },
        }
    }

    /// The inner body; `None` if the call was terminated: before any response arrived (the
    /// response was made up), or while its body was read.
    pub fn get_ref(&self) -> Option<&B> {
        match &self.inner {
            Inner::Body { body } => body.get_ref(),
            Inner::Empty => None,
        }
    }

    /// The inner body, mutably; `None` if the call was terminated.
    pub fn get_mut(&mut self) -> Option<&mut B> {
        match &mut self.inner {
            Inner::Body { body } => body.get_mut(),
            Inner::Empty => None,
        }
    }

    /// The inner body, `None` if the call was terminated. A call still tracked ends as
    /// dropped early: from here on the caller reads the body on its own.
    pub fn into_inner(self) -> Option<B> {
        match self.inner {
            Inner::Body { body } => body.into_inner(),
            Inner::Empty => None,
        }
    }
}

impl<B> Default for ClientBody<B> {
    /// An empty body that is not tracked.
    fn default() -> Self {
        ClientBody {
            inner: Inner::Empty,
        }
    }
}

impl<B> Body for ClientBody<B>
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
        let mut inner = self.project().inner;
        let InnerProj::Body { body } = inner.as_mut().project() else {
            return Poll::Ready(None);
        };
        let polled = body.poll_frame(cx);
        if let InnerProj::Body { body } = inner.as_mut().project()
            && body.is_cut()
        {
            // Let go of the upstream connection now, not when the caller drops the body.
            inner.set(Inner::Empty);
        }
        polled
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

impl<B> fmt::Debug for ClientBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Body { body } => f.debug_tuple("ClientBody").field(body).finish(),
            Inner::Empty => f.write_str("ClientBody(Empty)"),
        }
    }
}
