//! The page's files, with `/` sending the browser to the page watching every endpoint
//! through this server.

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, Uri, header};
use http_body_util::Full;

use super::link::through;
use super::{Server, error};

/// The page's policy, calling only this server: every endpoint is reached through it.
fn content_security_policy() -> String {
    inflight_page::CONTENT_SECURITY_POLICY
        .split(';')
        .map(str::trim)
        .filter(|directive| !directive.is_empty() && !directive.starts_with("connect-src"))
        .chain(["connect-src 'self'"])
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn serve(
    server: &Server,
    host: &str,
    method: &Method,
    uri: &Uri,
) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{method} {}: the page's files are read with GET",
                uri.path()
            ),
        );
    }
    let query = uri.query().unwrap_or("");
    let path = match uri.path() {
        "/" if !query.split('&').any(|pair| pair.starts_with("endpoints=")) => {
            return to_all_endpoints(server, host, query);
        }
        path => path.trim_start_matches('/'),
    };
    let Some(asset) = inflight_page::asset(path) else {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no such page file: {:?}; endpoints are under /e/host:port/",
                uri.path()
            ),
        );
    };
    let mut response = Response::new(Full::new(Bytes::from_static(asset.body.as_bytes())));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if let Ok(policy) = HeaderValue::try_from(content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    for (name, value) in inflight_page::HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    response
}

/// A redirect to the page watching every endpoint, keeping the rest of the query (a
/// link's tab, filter or trace).
fn to_all_endpoints(server: &Server, host: &str, query: &str) -> Response<Full<Bytes>> {
    let endpoints = server
        .endpoints
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut location = format!("/?endpoints={}", through(host, &endpoints));
    if !query.is_empty() {
        location.push('&');
        location.push_str(query);
    }
    let Ok(location) = HeaderValue::try_from(location) else {
        return error(StatusCode::BAD_REQUEST, "not a query to keep".into());
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(header::LOCATION, location);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_calls_only_this_server() {
        let policy = super::content_security_policy();
        assert!(policy.contains("connect-src 'self'"), "{policy}");
        assert!(!policy.contains('*'), "{policy}");
        assert!(policy.contains("script-src 'self'"), "{policy}");
    }
}
