//! [`InFlightClient`]: puts each call in the table when the client is called, as a child
//! of the request it is made for, and sends its trace context.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::uri::Authority;
use http::{HeaderValue, Method, Request, Response, Uri, header};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::InFlightClientLayer;
use crate::body::TrackedBody;
use crate::current::current_entry;
use crate::entry::{Entry, Start, Target};
use crate::future::ResponseFuture;
use crate::grpc;
use crate::snapshot::Direction;
use crate::trace::{self, TraceContext};

/// The service of [`InFlightClientLayer`].
#[derive(Clone)]
pub struct InFlightClient<S> {
    pub(super) inner: S,
    pub(super) layer: InFlightClientLayer,
}

impl<S> InFlightClient<S> {
    /// Tracks `inner`'s calls in the global table.
    pub fn new(inner: S) -> Self {
        InFlightClientLayer::new().layer(inner)
    }

    /// A layer that wraps clients in `InFlightClient`.
    pub fn layer() -> InFlightClientLayer {
        InFlightClientLayer::new()
    }

    /// The inner client.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner client, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner client.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for InFlightClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlightClient")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for InFlightClient<S>
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
        let parent = current_entry().filter(|entry| entry.direction.has_children());
        let trace = call_trace(&mut req, parent.as_deref(), self.layer.propagate_trace);
        // A path-only request is listed with the configured target's authority.
        let shown = match &self.layer.target {
            Some(authority)
                if req.uri().authority().is_none() && !req.headers().contains_key(header::HOST) =>
            {
                let mut parts = req.uri().clone().into_parts();
                parts.scheme = Some(parts.scheme.unwrap_or(http::uri::Scheme::HTTP));
                parts.authority = Some(authority.clone());
                if parts.path_and_query.is_none() {
                    parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
                }
                Uri::from_parts(parts).ok()
            }
            _ => None,
        };
        let grpc = grpc::is_grpc_post(req.method(), req.headers());
        let mut tracked = self.layer.table.register(Start {
            parent: parent.as_ref().map_or(0, |entry| entry.id()),
            trace,
            direction: Direction::Outbound,
            method: req.method(),
            target: Target::Uri(shown.as_ref().unwrap_or(req.uri())),
            version: req.version(),
            peer: None,
            request_bytes: req.body().size_hint().exact().unwrap_or(0),
            #[cfg(feature = "axum")]
            matched_path: None,
            history_limit: self.layer.table.history_limit(),
            grpc,
            timeout: if grpc {
                grpc::timeout(req.headers())
            } else {
                None
            },
        });
        if let (Some(parent), Some(entry)) = (parent, &tracked.entry) {
            parent.child_started(
                entry.id(),
                target(&req, self.layer.target.as_ref()),
                entry.start,
            );
            tracked.set_parent(parent);
        }
        let head_request = req.method() == Method::HEAD;
        ResponseFuture::new(
            self.inner.call(req),
            tracked,
            head_request,
            false,
            self.layer.terminated_status,
        )
    }
}

/// The call's place in its trace, and the headers that pass it on.
fn call_trace<B>(req: &mut Request<B>, parent: Option<&Entry>, propagate: bool) -> TraceContext {
    let headers = req.headers_mut();
    if let Some(set) = TraceContext::from_headers(headers) {
        // The caller named this call's span itself: the next service's request is its
        // child under that span id, so the call takes it as its own.
        return TraceContext {
            parent_span_id: parent.map(|parent| parent.trace.span_id),
            ..set
        };
    }
    let trace = parent.map_or_else(TraceContext::new_root, |parent| parent.trace.child());
    if propagate {
        headers.insert(trace::TRACEPARENT, trace.traceparent());
        if let Some(state) = parent.and_then(Entry::tracestate)
            && !headers.contains_key(trace::TRACESTATE)
            && let Ok(value) = HeaderValue::from_str(&state)
        {
            headers.insert(trace::TRACESTATE, value);
        }
    }
    trace
}

/// `host:port` of the call, as the parent's `awaiting …` status shows it: the request's
/// authority, its `Host` header, or the layer's configured target.
fn target<B>(req: &Request<B>, configured: Option<&Authority>) -> Arc<str> {
    let uri = req.uri();
    if let Some(host) = uri.host() {
        return match uri.port_u16() {
            Some(port) => format!("{host}:{port}").into(),
            None => host.into(),
        };
    }
    if let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    {
        return host.into();
    }
    configured.map_or_else(
        || "unknown host".into(),
        |authority| authority.as_str().into(),
    )
}
