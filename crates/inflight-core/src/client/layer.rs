//! [`InFlightClientLayer`]: which table outbound calls go to, what a terminated call
//! answers, and how calls pass on their trace.

use std::fmt;

use http::StatusCode;
use http::uri::Authority;
use tower_layer::Layer;

use super::InFlightClient;
use crate::table::Table;
use crate::terminate;

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
///
/// [`TrackedBody`]: crate::TrackedBody
#[derive(Clone)]
pub struct InFlightClientLayer {
    pub(super) table: Table,
    pub(super) terminated_status: StatusCode,
    pub(super) propagate_trace: bool,
    pub(super) target: Option<Authority>,
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
            layer: self.clone(),
        }
    }
}
