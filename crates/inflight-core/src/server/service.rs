//! [`InFlight`]: puts each request in the table when the service is called, with what the
//! request says about itself (trace context, route, peer, gRPC deadline).

use std::fmt;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use http::{Extensions, Method, Request, Response};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::InFlightLayer;
use crate::body::TrackedBody;
use crate::current::{RequestHandle, enter};
use crate::entry::{Start, Target};
use crate::future::ResponseFuture;
use crate::grpc;
use crate::snapshot::Direction;
use crate::trace::{self, TraceContext};

/// The service of [`InFlightLayer`].
#[derive(Clone)]
pub struct InFlight<S> {
    pub(super) inner: S,
    pub(super) layer: InFlightLayer,
}

impl<S> InFlight<S> {
    /// Tracks `inner`'s requests in the global table.
    pub fn new(inner: S) -> Self {
        InFlightLayer::new().layer(inner)
    }

    /// A layer that wraps services in `InFlight`.
    pub fn layer() -> InFlightLayer {
        InFlightLayer::new()
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for InFlight<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for InFlight<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body,
    ResBody: Body,
{
    type Response = Response<TrackedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let caller = if self.layer.trust_incoming_trace {
            TraceContext::from_headers(req.headers())
        } else {
            None
        };
        // gRPC is HTTP/2 POSTs only: other requests pay two comparisons, not a header
        // lookup.
        let grpc = grpc::is_call(req.version(), req.method(), req.headers());
        let mut tracked = self.layer.table.register(Start {
            parent: 0,
            trace: caller.map_or_else(TraceContext::new_root, |caller| caller.child()),
            direction: Direction::Inbound,
            method: req.method(),
            target: Target::Uri(req.uri()),
            version: req.version(),
            peer: peer(req.extensions()),
            request_bytes: req.body().size_hint().exact().unwrap_or(0),
            #[cfg(feature = "axum")]
            matched_path: req
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .cloned(),
            history_limit: self.layer.table.history_limit(),
            grpc,
            timeout: if grpc {
                grpc::timeout(req.headers())
            } else {
                None
            },
        });
        // A gRPC request's route is its method, `/pkg.Service/Method`.
        if grpc && let Some(entry) = &tracked.entry {
            entry.set_route(req.uri().path().to_owned().into());
        }
        if caller.is_some()
            && let Some(entry) = &tracked.entry
            && let Some(state) = trace::tracestate(req.headers())
        {
            entry.set_tracestate(state);
        }
        if !self.layer.headers.is_empty()
            && let Some(entry) = &tracked.entry
        {
            for name in self.layer.headers.iter() {
                if let Some(value) = req.headers().get(name) {
                    let text = String::from_utf8_lossy(value.as_bytes());
                    let cut = text
                        .char_indices()
                        .nth(256)
                        .map_or(text.len(), |(at, _)| at);
                    entry.set_attribute(
                        format!("header.{name}").into(),
                        text[..cut].to_owned().into(),
                    );
                }
            }
        }
        if self.layer.request_extension
            && let Some(entry) = &tracked.entry
        {
            req.extensions_mut()
                .insert(RequestHandle::new(entry.clone()));
        }
        let head_request = req.method() == Method::HEAD;
        // Some services do work in `call`; it belongs to the request too.
        let inner = {
            let _current = enter(&mut tracked.entry);
            self.inner.call(req)
        };
        ResponseFuture::new(
            inner,
            tracked,
            head_request,
            true,
            self.layer.terminated_status,
        )
    }
}

/// The client's address, when the server put one in the request extensions.
fn peer(extensions: &Extensions) -> Option<SocketAddr> {
    let plain = extensions.get::<SocketAddr>().copied();
    #[cfg(feature = "axum")]
    let plain = plain.or_else(|| {
        extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0)
    });
    plain
}
