//! `GET /stream`: a response body that takes its time, for watching `writing body` and
//! `client not reading`.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::RawQuery;
use axum::http::Response;
use bytes::Bytes;
use futures_util::stream;

use crate::bad_request;

/// `GET /stream?chunks=N&interval_ms=M`: a slowly streamed body, no upstream.
pub(crate) async fn slow_stream(RawQuery(query): RawQuery) -> Response<Body> {
    let (mut chunks, mut interval_ms) = (10u32, 500u64);
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "chunks" => match value.parse() {
                Ok(n) if (1..=100_000).contains(&n) => chunks = n,
                _ => {
                    return bad_request(format!(
                        "chunks must be a number from 1 to 100000, not {value:?}"
                    ));
                }
            },
            "interval_ms" => match value.parse() {
                Ok(ms) if ms <= 600_000 => interval_ms = ms,
                _ => {
                    return bad_request(format!(
                        "interval_ms must be a number from 0 to 600000, not {value:?}"
                    ));
                }
            },
            other => {
                return bad_request(format!(
                    "unknown parameter {other:?}; use chunks and interval_ms"
                ));
            }
        }
    }
    let interval = Duration::from_millis(interval_ms);
    let body = stream::unfold(0u32, move |sent| async move {
        if sent == chunks {
            return None;
        }
        if sent > 0 {
            tokio::time::sleep(interval).await;
        }
        Some((
            Ok::<_, Infallible>(Bytes::from(format!("chunk {sent}\n"))),
            sent + 1,
        ))
    });
    Response::new(Body::from_stream(body))
}
