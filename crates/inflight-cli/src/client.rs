//! Talking to admin ports, and to the Prometheus servers and service-discovery URLs that
//! list them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use inflight_wire::ErrorBody;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use crate::endpoints::Endpoint;

/// Answers larger than this are refused (a list of a million requests is ~600 MB; this
/// is a tool for people, not a bulk exporter).
const MAX_ANSWER: usize = 256 * 1024 * 1024;

/// How many calls to admin ports are in flight at once unless told otherwise.
pub(crate) const DEFAULT_CONCURRENCY: usize = 64;

/// An HTTP client for admin ports, with a token, a time limit per call and a bound on
/// the calls in flight at once (shared by the clones).
#[derive(Clone)]
pub(crate) struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    token: Option<String>,
    timeout: Duration,
    slots: Arc<Semaphore>,
}

impl Api {
    pub(crate) fn new(token: Option<String>, timeout: Duration) -> Api {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        Api {
            client: Client::builder(TokioExecutor::new()).build(connector),
            token,
            timeout,
            slots: Arc::new(Semaphore::new(DEFAULT_CONCURRENCY)),
        }
    }

    /// At most `calls` calls to admin ports in flight at once (at least one).
    ///
    /// A thousand endpoints asked at once would open a thousand sockets and parse a
    /// thousand answers in one burst; the bound spreads them while one slow endpoint
    /// still holds only its own slot.
    pub(crate) fn with_concurrency(mut self, calls: usize) -> Api {
        self.slots = Arc::new(Semaphore::new(calls.clamp(1, Semaphore::MAX_PERMITS)));
        self
    }

    /// Sends a request and returns the status and body, or a message saying what failed.
    pub(crate) async fn call(
        &self,
        endpoint: &Endpoint,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(StatusCode, Bytes), String> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", endpoint.base))
            .header(
                header::USER_AGENT,
                concat!("inflight/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("{endpoint}: cannot build the request: {e}"))?;
        // The time limit starts once a slot is free: waiting behind other endpoints is
        // not this endpoint being slow.
        let _slot = self.slots.acquire().await.map_err(|e| e.to_string())?;
        self.exchange(request)
            .await
            .map_err(|error| format!("{endpoint}: {error}"))
    }

    /// `GET url` without the admin token (it is not Prometheus' to see), within the
    /// time limit; the status and body, or what failed.
    pub(crate) async fn get_url(&self, url: &str) -> Result<(StatusCode, Bytes), String> {
        let request = Request::get(url)
            .header(
                header::USER_AGENT,
                concat!("inflight/", env!("CARGO_PKG_VERSION")),
            )
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        self.exchange(request).await
    }

    async fn exchange(&self, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), String> {
        self.exchange_within(request, MAX_ANSWER)
            .await
            .map(|(status, _, body)| (status, body))
    }

    /// Sends `request` as it is, within the time limit and a slot; the status, content
    /// type and body (at most `limit` bytes), or what failed.
    ///
    /// For `inflight web`, which passes the browser's method, path, token and body on.
    pub(crate) async fn forward(
        &self,
        endpoint: &Endpoint,
        request: Request<Full<Bytes>>,
        limit: usize,
    ) -> Result<(StatusCode, Option<header::HeaderValue>, Bytes), String> {
        let _slot = self.slots.acquire().await.map_err(|e| e.to_string())?;
        self.exchange_within(request, limit)
            .await
            .map_err(|error| format!("{endpoint}: {error}"))
    }

    async fn exchange_within(
        &self,
        request: Request<Full<Bytes>>,
        limit: usize,
    ) -> Result<(StatusCode, Option<header::HeaderValue>, Bytes), String> {
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("unreachable ({})", root_cause(&e)))?;
            let status = response.status();
            let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
            let body = http_body_util::Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|e| format!("the answer broke off ({e})"))?
                .to_bytes();
            Ok((status, content_type, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {}", inflight_wire::Elapsed(self.timeout)))?
    }

    /// `GET` a JSON document; non-2xx answers become their `{"error"}` message.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        path: &str,
    ) -> Result<T, String> {
        let (status, body) = self.call(endpoint, Method::GET, path, None).await?;
        decode(endpoint, status, &body)
    }
}

/// The JSON of a successful answer, or the error message of a failed one.
pub(crate) fn decode<T: DeserializeOwned>(
    endpoint: &Endpoint,
    status: StatusCode,
    body: &[u8],
) -> Result<T, String> {
    if !status.is_success() {
        return Err(error_message(endpoint, status, body));
    }
    serde_json::from_slice(body).map_err(|e| {
        format!("{endpoint}: unexpected answer ({e}); is this an inflight admin port?")
    })
}

pub(crate) fn error_message(endpoint: &Endpoint, status: StatusCode, body: &[u8]) -> String {
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .map(|error| error.error)
        .unwrap_or_else(|_| {
            String::from_utf8_lossy(body)
                .trim()
                .chars()
                .take(200)
                .collect()
        });
    let hint = match status {
        StatusCode::UNAUTHORIZED => " (give --token or INFLIGHT_TOKEN)",
        _ => "",
    };
    format!("{endpoint}: {} {detail}{hint}", status.as_u16())
}

/// The innermost error, which says what actually happened (connection refused, ...).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}
