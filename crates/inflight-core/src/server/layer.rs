//! [`InFlightLayer`]: which table inbound requests go to, and what the layer shows and
//! answers for them.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;
use http::header::HeaderName;
use tower_layer::Layer;

use super::InFlight;
use crate::table::Table;
use crate::terminate;

/// Tracks every request a service serves, from `call` until its response body is over.
///
/// ```
/// # use inflight_core as inflight;
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/hello", get(|| async { "hello" }))
///     .layer(inflight::InFlightLayer::new());
/// # let _ = app;
/// ```
///
/// Applied with `Router::layer`, the layer sees axum's `MatchedPath` (feature `axum`), so
/// requests show their route. The service's error type and the body's `Data` type are
/// unchanged; the response body is wrapped in a [`TrackedBody`], whose error type is
/// `Box<dyn Error + Send + Sync>` (the inner body's error, or the cut of a termination), as
/// hyper, axum and tonic accept.
///
/// # When a request leaves the table
/// When the response body reaches end of stream or returns an error, or when the body or
/// the response future is dropped (the client went away, a timeout fired, the handler
/// panicked). Responses without a body (`HEAD`, `204`, `304`, an empty body) leave as soon
/// as the handler returns them.
///
/// # Terminating
/// An operator can terminate a request ([`Table::terminate`](crate::Table::terminate), or
/// `DELETE /requests/{id}` on the admin port). The handler's future is dropped at once,
/// and what the client gets depends on how far the response had gone:
/// - **before the response head**: a response the layer makes up, with the status set by
///   [`terminated_status`](InFlightLayer::terminated_status) (`503 Service Unavailable`
///   by default), the operator's message in an `inflight-terminated` header
///   ([`TERMINATED_HEADER`](crate::TERMINATED_HEADER); `operator` when there is no
///   message), an empty body (a [`TrackedBody`] without inner body: the layer asks
///   nothing of the service's body type), and [`Terminated`](crate::Terminated) in its
///   extensions for the layers around this one;
/// - **while the body is being sent**: the body's next poll returns a
///   [`Terminated`](crate::Terminated) error, so hyper closes an HTTP/1 connection
///   without the last chunk and resets an HTTP/2 stream. A cut response never looks
///   complete: curl exits with an error, and HTTP clients report a failed body.
///
/// # With tower-http's `TimeoutLayer`
/// [`TrackedBody`] is [`Default`] (empty), so the two stack either way.
/// With the timeout outside (applied after this layer), a request that times out is
/// dropped, and ends in the table as [dropped early](crate::Ending::DroppedEarly). With
/// the timeout inside, this layer sees the timeout's response, and the request ends as
/// [completed](crate::Ending::Completed) with its `408` status.
///
/// [`TrackedBody`]: crate::TrackedBody
#[derive(Clone)]
pub struct InFlightLayer {
    pub(super) table: Table,
    pub(super) request_extension: bool,
    pub(super) headers: Arc<[HeaderName]>,
    pub(super) terminated_status: StatusCode,
    pub(super) trust_incoming_trace: bool,
}

impl InFlightLayer {
    /// Tracks requests in the [`global`](crate::global) table.
    pub fn new() -> Self {
        InFlightLayer::with_table(crate::global().clone())
    }

    /// Tracks requests in `table`.
    pub fn with_table(table: Table) -> Self {
        InFlightLayer {
            table,
            request_extension: false,
            headers: Arc::new([]),
            terminated_status: terminate::DEFAULT_STATUS,
            trust_incoming_trace: true,
        }
    }

    /// Also puts a [`RequestHandle`] in each request's extensions (default off).
    ///
    /// Off by default because it is the most expensive thing the layer could do: the first
    /// extension of a request allocates the extensions map, which costs more than all the
    /// tracking together (see `benches/README.md`). Handlers can get the same handle with
    /// [`current()`](crate::current) or, with axum, by taking a `RequestHandle` argument.
    ///
    /// [`RequestHandle`]: crate::RequestHandle
    pub fn request_extension(mut self, enabled: bool) -> Self {
        self.request_extension = enabled;
        self
    }

    /// Shows this request header as the attribute `header.<name>` (values cut at 256
    /// characters). No header is shown otherwise: they carry cookies and credentials.
    ///
    /// ```
    /// # use inflight_core as inflight;
    /// let layer = inflight::InFlightLayer::new()
    ///     .show_header(http::header::USER_AGENT)
    ///     .show_header(http::HeaderName::from_static("x-request-id"));
    /// # let _ = layer;
    /// ```
    pub fn show_header(mut self, name: HeaderName) -> Self {
        let mut headers = self.headers.to_vec();
        if !headers.contains(&name) {
            headers.push(name);
        }
        self.headers = headers.into();
        self
    }

    /// The status of the response a client gets when its request is terminated before the
    /// response head is out (default `503 Service Unavailable`).
    ///
    /// 503 fits because the request was dropped by the server, not refused for anything the
    /// client did: clients, proxies and load balancers read it as "not your fault", and
    /// retry it, elsewhere if they can. Pick another 5xx if something in front of the
    /// service treats 503 specially (a `502 Bad Gateway` for a proxy, say); a 2xx would
    /// make a terminated request look served.
    ///
    /// ```
    /// # use inflight_core as inflight;
    /// let layer = inflight::InFlightLayer::new().terminated_status(http::StatusCode::BAD_GATEWAY);
    /// # let _ = layer;
    /// ```
    pub fn terminated_status(mut self, status: StatusCode) -> Self {
        self.terminated_status = status;
        self
    }

    /// Whether a request joins the trace its caller names in `traceparent` (default on).
    ///
    /// Turn it off in a service that faces the internet: there the caller is anyone, and
    /// a trace id it picks could join unrelated requests or make one look like part of
    /// another's trace. Each request then starts its own trace and the caller's
    /// `tracestate` is dropped; the services behind it still join that trace through the
    /// `traceparent` their callers send.
    ///
    /// ```
    /// # use inflight_core as inflight;
    /// let edge = inflight::InFlightLayer::new().trust_incoming_trace(false);
    /// # let _ = edge;
    /// ```
    pub fn trust_incoming_trace(mut self, trust: bool) -> Self {
        self.trust_incoming_trace = trust;
        self
    }

    /// The table requests go to.
    pub fn table(&self) -> &Table {
        &self.table
    }
}

impl Default for InFlightLayer {
    fn default() -> Self {
        InFlightLayer::new()
    }
}

impl fmt::Debug for InFlightLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlightLayer")
            .field("request_extension", &self.request_extension)
            .field("headers", &self.headers)
            .field("terminated_status", &self.terminated_status)
            .field("trust_incoming_trace", &self.trust_incoming_trace)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for InFlightLayer {
    type Service = InFlight<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InFlight {
            inner,
            layer: self.clone(),
        }
    }
}
