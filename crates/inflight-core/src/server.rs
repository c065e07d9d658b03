//! Tracking of inbound requests: [`InFlightLayer`] and [`InFlight`].

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::HeaderName;
use http::{Extensions, Method, Request, Response};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::TrackedBody;
use crate::current::{RequestHandle, enter};
use crate::entry::Start;
use crate::future::ResponseFuture;
use crate::snapshot::Direction;
use crate::table::Table;

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
/// requests show their route. The service's error type and the body's `Data` and `Error`
/// types are unchanged; the response body is wrapped in a [`TrackedBody`].
///
/// # When a request leaves the table
/// When the response body reaches end of stream or returns an error, or when the body or
/// the response future is dropped (the client went away, a timeout fired, the handler
/// panicked). Responses without a body (`HEAD`, `204`, `304`, an empty body) leave as soon
/// as the handler returns them.
///
/// # Terminating
/// An operator can terminate a request ([`Table::terminate`](crate::Table::terminate), or
/// `DELETE /requests/{id}` on the admin port): the handler's future is dropped at once and
/// the client gets `503 Service Unavailable` with a short text body saying so, and an
/// `inflight-terminated: operator` header. To write that body the layer needs the response
/// body's `Data` to be buildable from `Bytes`, which holds for hyper's, axum's, tonic's and
/// http-body-util's bodies.
#[derive(Clone)]
pub struct InFlightLayer {
    table: Table,
    request_extension: bool,
    headers: Arc<[HeaderName]>,
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
        }
    }

    /// Also puts a [`RequestHandle`] in each request's extensions (default off).
    ///
    /// Off by default because it is the most expensive thing the layer could do: the first
    /// extension of a request allocates the extensions map, which costs more than all the
    /// tracking together (see `benches/README.md`). Handlers can get the same handle with
    /// [`current()`](crate::current) or, with axum, by taking a `RequestHandle` argument.
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
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for InFlightLayer {
    type Service = InFlight<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InFlight {
            inner,
            table: self.table.clone(),
            request_extension: self.request_extension,
            headers: self.headers.clone(),
        }
    }
}

/// The service of [`InFlightLayer`].
#[derive(Clone)]
pub struct InFlight<S> {
    inner: S,
    table: Table,
    request_extension: bool,
    headers: Arc<[HeaderName]>,
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
    // A terminated request gets a made-up body with a message in it.
    ResBody::Data: From<bytes::Bytes>,
{
    type Response = Response<TrackedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let mut tracked = self.table.register(Start {
            parent: 0,
            direction: Direction::Inbound,
            method: req.method(),
            uri: req.uri(),
            version: req.version(),
            peer: peer(req.extensions()),
            request_bytes: req.body().size_hint().exact().unwrap_or(0),
            #[cfg(feature = "axum")]
            matched_path: req
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .cloned(),
            history_limit: self.table.history_limit(),
        });
        if !self.headers.is_empty()
            && let Some(entry) = &tracked.entry
        {
            for name in self.headers.iter() {
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
        if self.request_extension
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
        ResponseFuture::new(inner, tracked, head_request, true)
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
