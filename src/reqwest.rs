//! Tracking of the calls of a [`reqwest`](reqwest_middleware::reqwest) client (feature `reqwest`):
//! [`InFlightMiddleware`].

use std::fmt;
use std::io;

use http::Extensions;
use inflight_core::{InFlightClientLayer, Table, Terminated};
use reqwest_middleware::reqwest::{Body, Request, Response, ResponseBuilderExt, Url};
use reqwest_middleware::{Error, Middleware, Next, Result};
use tower::{Layer, ServiceExt, service_fn};

/// A [`reqwest_middleware::Middleware`] that tracks every call of a
/// [`reqwest_middleware::ClientWithMiddleware`] as
/// [`InFlightClientLayer`] tracks the calls of a tower client:
/// the call is listed from the moment it is sent until the caller has read the response
/// body to its end or dropped it.
///
/// - A call made while an inbound request tracked by [`InFlightLayer`](crate::InFlightLayer)
///   is served is that request's child, and the request shows `awaiting host:port`.
/// - The call sends W3C trace context (`traceparent`, `tracestate`); a `traceparent` the
///   request already carries is kept, and the call takes its ids from it.
/// - A call terminated by an operator before its response head gets a made-up response
///   (`503 Service Unavailable` by default, the operator's message in an
///   `inflight-terminated` header, an empty body, [`Terminated`] in its extensions);
///   terminated while its body is read, reading the body fails with an error whose source
///   chain holds a [`Terminated`].
///
/// Add it last (closest to the network) to see each retry of a retry middleware as a
/// call of its own, first to see the whole exchange as one.
///
/// ```
/// use reqwest_middleware::ClientBuilder;
///
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(inflight::reqwest::InFlightMiddleware::new())
///     .build();
/// # let _ = client;
/// ```
#[derive(Clone, Default)]
pub struct InFlightMiddleware {
    layer: InFlightClientLayer,
}

impl InFlightMiddleware {
    /// Tracks calls in the [`global`](crate::global) table.
    pub fn new() -> Self {
        InFlightMiddleware::from_layer(InFlightClientLayer::new())
    }

    /// Tracks calls in `table`.
    pub fn with_table(table: Table) -> Self {
        InFlightMiddleware::from_layer(InFlightClientLayer::with_table(table))
    }

    /// Tracks calls as `layer` does: its table, its
    /// [`terminated_status`](InFlightClientLayer::terminated_status) and its
    /// [`propagate_trace`](InFlightClientLayer::propagate_trace).
    pub fn from_layer(layer: InFlightClientLayer) -> Self {
        InFlightMiddleware { layer }
    }

    /// The table calls go to.
    pub fn table(&self) -> &Table {
        self.layer.table()
    }
}

impl fmt::Debug for InFlightMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlightMiddleware")
            .field("layer", &self.layer)
            .finish()
    }
}

#[async_trait::async_trait]
impl Middleware for InFlightMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        // The request goes through the client layer as an `http::Request` and comes back
        // unchanged but for the trace context headers; its URL is kept as it was, not
        // reparsed from the `Uri`.
        let url = req.url().clone();
        let req = http::Request::<Body>::try_from(req)?;
        let mut rest = Some((next, extensions, url.clone()));
        let client = service_fn(move |req: http::Request<Body>| {
            let rest = rest.take();
            async move {
                let (next, extensions, url) = rest.ok_or_else(|| {
                    Error::middleware(io::Error::other("the middleware chain ran twice"))
                })?;
                let mut req = Request::try_from(req)?;
                *req.url_mut() = url;
                let response = next.run(req, extensions).await?;
                Ok::<_, Error>(into_http(response))
            }
        });
        let response = self.layer.layer(client).oneshot(req).await?;
        let mut response = response.map(Body::wrap);
        if response.extensions().get::<Terminated>().is_some() {
            // Made up before any response came: it answers the URL asked for.
            response.extensions_mut().extend(url_extension(url));
        }
        Ok(Response::from(response))
    }
}

/// `response` as an `http::Response`, which keeps its final URL (after redirects) in its
/// extensions, where [`Response::from`] looks for it.
fn into_http(response: Response) -> http::Response<Body> {
    let url = response.url().clone();
    let mut response = http::Response::<Body>::from(response);
    response.extensions_mut().extend(url_extension(url));
    response
}

/// Extensions that hold `url` as reqwest's response URL (a type reqwest keeps private).
fn url_extension(url: Url) -> Extensions {
    let mut builder = http::Response::builder().url(url);
    builder
        .extensions_mut()
        .map(std::mem::take)
        .unwrap_or_default()
}
