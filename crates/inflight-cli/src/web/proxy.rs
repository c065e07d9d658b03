//! `/e/{host:port}/{admin path}`: the browser's call passed on to that endpoint, and only
//! to an endpoint this server was given.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

use super::{Server, error};
use crate::endpoints::Endpoint;

/// The largest body passed on to an endpoint: kills and cancels carry a few bytes.
const MAX_REQUEST_BODY: usize = 64 * 1024;
/// The largest answer passed back: a list of ~100k requests.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// An answer of an endpoint's on this server's origin must not run: a discovered
/// endpoint could answer with a page that calls the others with this server's tokens.
const ANSWER_POLICY: &str = "default-src 'none'; sandbox";

/// The endpoint's name and the admin path of a `/e/` path, or why it is refused.
fn split(path: &str) -> Result<(&str, &str), (StatusCode, String)> {
    let rest = path.strip_prefix("/e/").unwrap_or(path);
    let (name, admin_path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let bad = |why: &str| Err((StatusCode::BAD_REQUEST, format!("{why}: {path:?}")));
    // Percent-encoding would let `%2f` or `%2e%2e` mean something else to the endpoint
    // than to this check; no admin path needs it.
    if path.contains('%') || path.contains('\\') {
        return bad("encoded or escaped characters are not passed on");
    }
    if admin_path.contains("//")
        || admin_path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
    {
        return bad("no empty, `.` or `..` path segments");
    }
    if name.is_empty() {
        return bad("no endpoint named; the path is /e/host:port/admin-path");
    }
    Ok((name, admin_path))
}

/// The URI at `endpoint` for `admin_path` and `query`; never any other authority.
fn target(endpoint: &Endpoint, admin_path: &str, query: Option<&str>) -> Option<Uri> {
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    let uri: Uri = format!("{}{admin_path}{query}", endpoint.base)
        .parse()
        .ok()?;
    let own: Uri = format!("{}/", endpoint.base).parse().ok()?;
    (uri.authority().is_some() && uri.authority() == own.authority()).then_some(uri)
}

pub(super) async fn forward(server: &Server, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let (name, admin_path) = match split(parts.uri.path()) {
        Ok(split) => split,
        Err((status, message)) => return error(status, message),
    };
    let Some(endpoint) = server.endpoint(name) else {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "{name:?} is not one of the {} endpoints this server watches",
                server.endpoint_count()
            ),
        );
    };
    let token = match parts.method {
        Method::GET | Method::HEAD => &server.read_token,
        Method::DELETE | Method::POST => &server.kill_token,
        _ => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} is not passed on to endpoints", parts.method),
            );
        }
    };
    let Some(uri) = target(&endpoint, admin_path, parts.uri.query()) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("not a path at {endpoint}: {admin_path:?}"),
        );
    };
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("bodies of at most {MAX_REQUEST_BODY} bytes are passed on"),
            );
        }
    };
    let mut outbound = Request::builder().method(parts.method).uri(uri).header(
        header::USER_AGENT,
        concat!("inflight-web/", env!("CARGO_PKG_VERSION")),
    );
    // The browser's own token wins: the person at the page typed it for this endpoint.
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .cloned()
        .or_else(|| {
            token
                .as_ref()
                .and_then(|token| HeaderValue::try_from(format!("Bearer {token}")).ok())
        });
    if let Some(authorization) = authorization {
        outbound = outbound.header(header::AUTHORIZATION, authorization);
    }
    for name in [header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(value) = parts.headers.get(&name) {
            outbound = outbound.header(name, value);
        }
    }
    let outbound = match outbound.body(Full::new(body)) {
        Ok(outbound) => outbound,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("cannot pass this on: {e}")),
    };
    match server.api.forward(&endpoint, outbound, MAX_ANSWER).await {
        Ok((status, content_type, body)) => {
            let mut response = Response::new(Full::new(body));
            *response.status_mut() = status;
            let headers = response.headers_mut();
            if let Some(content_type) = content_type {
                headers.insert(header::CONTENT_TYPE, content_type);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(ANSWER_POLICY),
            );
            response
        }
        Err(message) => error(StatusCode::BAD_GATEWAY, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_endpoint_and_admin_path() {
        assert_eq!(
            split("/e/a:9084/requests").unwrap(),
            ("a:9084", "/requests")
        );
        assert_eq!(split("/e/a:9084").unwrap(), ("a:9084", "/"));
        assert_eq!(split("/e/a:9084/").unwrap(), ("a:9084", "/"));
        for bad in [
            "/e//requests",
            "/e/a:9084/../x",
            "/e/a:9084/./x",
            "/e/a:9084//evil:80/x",
            "/e/a:9084%2f..%2fevil:1/x",
            "/e/a:9084/%2e%2e/x",
            "/e/a:9084/x\\y",
        ] {
            assert_eq!(split(bad).unwrap_err().0, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn targets_stay_at_the_endpoint() {
        let endpoint = Endpoint::parse("a:9084").unwrap();
        assert_eq!(
            target(&endpoint, "/requests/7", Some("mode=cancel")).unwrap(),
            "http://a:9084/requests/7?mode=cancel"
        );
        assert_eq!(
            target(&endpoint, "/@evil:1/x", None)
                .unwrap()
                .authority()
                .unwrap(),
            "a:9084"
        );
    }
}
