//! Who may do what: bearer tokens, and which web origins may ask.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use subtle::ConstantTimeEq;
use tower_http::cors::{AllowMethods, AllowOrigin, CorsLayer};

use crate::AdminServer;
use crate::reply::Failure;
use crate::state::State;

/// What an endpoint needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// Reading the table.
    Read,
    /// Terminating and cancelling.
    Kill,
}

fn check(config: &AdminServer, headers: &HeaderMap, need: Need) -> Result<(), Failure> {
    let presented = bearer(headers);
    let matches = |token: &Option<String>| matches!((token, presented), (Some(token), Some(presented)) if bool::from(token.as_bytes().ct_eq(presented.as_bytes())));
    let read_ok =
        config.read_token.is_none() || matches(&config.read_token) || matches(&config.kill_token);
    match need {
        Need::Read if read_ok => Ok(()),
        Need::Kill if config.kill_token.is_none() && read_ok => Ok(()),
        Need::Kill if matches(&config.kill_token) => Ok(()),
        Need::Kill if presented.is_some() && read_ok => Err(Failure::new(
            StatusCode::FORBIDDEN,
            "this token may read but not terminate or cancel; use the kill token",
        )),
        _ if presented.is_none() => Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "a bearer token is required: send Authorization: Bearer <token>",
        )),
        _ => Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "the bearer token is not valid",
        )),
    }
}

/// Passes when the request may read the table.
#[derive(Debug)]
pub(crate) struct Reader;

impl FromRequestParts<Arc<State>> for Reader {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<State>) -> Result<Self, Failure> {
        check(&state.config, &parts.headers, Need::Read).map(|()| Reader)
    }
}

/// Passes when the request may terminate and cancel.
#[derive(Debug)]
pub(crate) struct Killer;

impl FromRequestParts<Arc<State>> for Killer {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<State>) -> Result<Self, Failure> {
        check(&state.config, &parts.headers, Need::Kill).map(|()| Killer)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The CORS answers of one endpoint, whose methods are `allow` (e.g. `GET, HEAD`): only
/// for the configured origins, echoed (never `*`), with the headers the page sends.
pub(crate) fn cors(config: &AdminServer, allow: &str) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
        .origins
        .iter()
        // `*` would answer every origin; the origin `*` is no origin a browser sends.
        .filter(|origin| *origin != "*")
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    let methods = allow
        .split(", ")
        .chain(["OPTIONS"])
        .filter_map(|method| Method::from_bytes(method.as_bytes()).ok());
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods(AllowMethods::list(methods))
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
        .vary([header::ORIGIN])
}

/// `OPTIONS` on an endpoint whose methods are `allow`: a preflight for allowed origins
/// (answered by the CORS layer inside, never by a handler), a `403` for other origins,
/// and just `Allow` without an origin.
pub(crate) async fn options(allow: &'static str, request: Request, next: Next) -> Response {
    if request.method() != Method::OPTIONS {
        return next.run(request).await;
    }
    let methods = format!("{allow}, OPTIONS");
    let mut reply = if request.headers().contains_key(header::ORIGIN) {
        let reply = next.run(request).await;
        if !reply
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        {
            return Failure::new(
                StatusCode::FORBIDDEN,
                "this origin is not allowed; start the admin server with allow_origin",
            )
            .into_response();
        }
        reply
    } else {
        Response::default()
    };
    *reply.status_mut() = StatusCode::NO_CONTENT;
    if let Ok(methods) = HeaderValue::from_str(&methods) {
        reply.headers_mut().insert(header::ALLOW, methods);
    }
    reply
}
