//! Tracking of outbound requests: [`InFlightClientLayer`] and [`InFlightClient`].

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::uri::Authority;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::TrackedBody;
use crate::current::current_entry;
use crate::entry::{Entry, Start, Target};
use crate::future::ResponseFuture;
use crate::grpc;
use crate::snapshot::Direction;
use crate::table::Table;
use crate::terminate;
use crate::trace::{self, TraceContext};

/// Tracks every request a client sends, from `call` until the caller has read the whole
/// response body or dropped it.
///
/// ```
/// # use inflight_core as inflight;
/// use http_body_util::Full;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use tower::ServiceBuilder;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
/// let client = ServiceBuilder::new()
///     .layer(inflight::InFlightClientLayer::new())
///     .service(client);
/// # let _ = client;
/// # }
/// ```
///
/// A call made while an inbound request tracked by [`InFlightLayer`](crate::InFlightLayer)
/// is being served (on the same task, or in a future wrapped with
/// [`in_current_request`](crate::in_current_request)) becomes that request's child: the
/// inbound request shows `awaiting host:port` until the call ends.
///
/// The error type and the response body's `Data` type are the inner client's; the body is
/// a [`TrackedBody`], whose error type is `Box<dyn Error + Send + Sync>`.
///
/// # Terminating
/// An operator can terminate a call ([`Table::terminate`](crate::Table::terminate), or
/// `DELETE /requests/{id}` on the admin port; terminating an inbound request terminates
/// its calls too). The client's future is dropped at once, and the caller gets:
/// - **before the response head**: a made-up response, not an error (an error would need
///   a value of the inner client's error type), with the status set by
///   [`terminated_status`](InFlightClientLayer::terminated_status) (`503 Service
///   Unavailable` by default), the operator's message in an `inflight-terminated` header,
///   an empty body, and [`Terminated`](crate::Terminated) in its extensions: check
///   `response.extensions().get::<inflight::Terminated>()` to tell it from a real 503;
/// - **while it reads the body**: an error from the body, which downcasts to
///   [`Terminated`](crate::Terminated); the upstream's body is dropped with its
///   connection.
///
/// The made-up response's body is empty without asking anything of the inner client's
/// body type (hyper's `Incoming` cannot be made): see [`TrackedBody`].
///
/// # Trace context
/// Each call gets its own span id and sends it in a W3C `traceparent` header, so the
/// request it causes in the next service (tracked by that service's `InFlightLayer`) is
/// its child: the `inflight` CLI joins the two into one tree. A call made for an inbound
/// request continues that request's trace and passes on its `tracestate`; any other call
/// starts a new trace. A request that already carries a `traceparent` (set by the caller
/// or by an OpenTelemetry propagator) keeps it, and the call takes its ids from it. See
/// [`propagate_trace`](InFlightClientLayer::propagate_trace).
#[derive(Clone)]
pub struct InFlightClientLayer {
    table: Table,
    terminated_status: StatusCode,
    propagate_trace: bool,
    target: Option<Authority>,
}

impl InFlightClientLayer {
    /// Tracks calls in the [`global`](crate::global) table.
    pub fn new() -> Self {
        InFlightClientLayer::with_table(crate::global().clone())
    }

    /// Tracks calls in `table`.
    pub fn with_table(table: Table) -> Self {
        InFlightClientLayer {
            table,
            terminated_status: terminate::DEFAULT_STATUS,
            propagate_trace: true,
            target: None,
        }
    }

    /// The status of the response a caller gets when its call is terminated before the
    /// response head arrived (default `503 Service Unavailable`, which retry policies
    /// already treat as "try again"; see
    /// [`InFlightLayer::terminated_status`](crate::InFlightLayer::terminated_status)).
    pub fn terminated_status(mut self, status: StatusCode) -> Self {
        self.terminated_status = status;
        self
    }

    /// Whether calls send `traceparent` (and `tracestate`) headers (default on).
    ///
    /// Off, calls still carry trace and span ids in the table, but the next service cannot
    /// tell which call its request came from. Turn it off for calls that leave your
    /// systems, where the ids mean nothing and a header is one more thing sent out.
    pub fn propagate_trace(mut self, propagate: bool) -> Self {
        self.propagate_trace = propagate;
        self
    }

    /// Names the target of calls whose request has no authority of its own: tonic's
    /// generated clients send path-only URIs (`/orders.Orders/Get`), and the `Channel`
    /// under them adds the address inside itself. Such a call is then listed as
    /// `http://orders:50051/orders.Orders/Get`, and the request it was made for shows
    /// `awaiting orders:50051` instead of `awaiting unknown host`. A request with an
    /// authority (or a `Host` header) keeps its own.
    ///
    /// ```
    /// # use inflight_core as inflight;
    /// let layer = inflight::InFlightClientLayer::new().target("orders:50051".parse().unwrap());
    /// # let _ = layer;
    /// ```
    pub fn target(mut self, authority: Authority) -> Self {
        self.target = Some(authority);
        self
    }

    /// The table calls go to.
    pub fn table(&self) -> &Table {
        &self.table
    }
}

impl Default for InFlightClientLayer {
    fn default() -> Self {
        InFlightClientLayer::new()
    }
}

impl fmt::Debug for InFlightClientLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlightClientLayer")
            .field("terminated_status", &self.terminated_status)
            .field("propagate_trace", &self.propagate_trace)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for InFlightClientLayer {
    type Service = InFlightClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InFlightClient {
            inner,
            table: self.table.clone(),
            terminated_status: self.terminated_status,
            propagate_trace: self.propagate_trace,
            target: self.target.clone(),
        }
    }
}

/// The service of [`InFlightClientLayer`].
#[derive(Clone)]
pub struct InFlightClient<S> {
    inner: S,
    table: Table,
    terminated_status: StatusCode,
    propagate_trace: bool,
    target: Option<Authority>,
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
        let trace = call_trace(&mut req, parent.as_deref(), self.propagate_trace);
        // A path-only request is listed with the configured target's authority.
        let shown = match &self.target {
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
        let mut tracked = self.table.register(Start {
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
            history_limit: self.table.history_limit(),
            grpc,
            timeout: if grpc {
                grpc::timeout(req.headers())
            } else {
                None
            },
        });
        if let (Some(parent), Some(entry)) = (parent, &tracked.entry) {
            parent.child_started(entry.id(), target(&req, self.target.as_ref()), entry.start);
            tracked.set_parent(parent);
        }
        let head_request = req.method() == Method::HEAD;
        ResponseFuture::new(
            self.inner.call(req),
            tracked,
            head_request,
            false,
            self.terminated_status,
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
