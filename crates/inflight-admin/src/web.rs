//! The web page: a few static files (ES modules, a style sheet) compiled into the binary,
//! no build step.
//!
//! The page holds no data, so it needs no token: it asks each admin port it watches for
//! the data itself, with the tokens the user gives it. It loads nothing from elsewhere,
//! and its Content-Security-Policy says so, with one exception: it may call any admin
//! port (`connect-src`), since watching many services is what it is for.

use http::{HeaderValue, StatusCode, header};

use crate::reply::{self, Reply};

/// The files, by path segment: `/`, the scripts and the style sheets.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "",
        "text/html; charset=utf-8",
        include_str!("web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("web/app.js"),
    ),
    (
        "tree.js",
        "text/javascript; charset=utf-8",
        include_str!("web/tree.js"),
    ),
    (
        "trace.js",
        "text/javascript; charset=utf-8",
        include_str!("web/trace.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("web/app.css"),
    ),
    (
        "trace.css",
        "text/css; charset=utf-8",
        include_str!("web/trace.css"),
    ),
];

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src *; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Whether `name` (the path without its leading `/`) is a file of the page.
pub(crate) fn is_asset(name: &str) -> bool {
    ASSETS.iter().any(|(path, _, _)| *path == name)
}

/// The file at `name`, or `None` if the page has no such file.
pub(crate) fn asset(name: &str) -> Option<Reply> {
    let (_, content_type, body) = ASSETS.iter().find(|(path, _, _)| *path == name)?;
    let mut reply = reply::text(StatusCode::OK, content_type, *body);
    let headers = reply.headers_mut();
    // The files change with the binary: always revalidate.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_page_and_its_files() {
        for name in ["", "app.js", "tree.js", "trace.js", "app.css", "trace.css"] {
            assert!(is_asset(name));
            let reply = asset(name).unwrap();
            assert_eq!(reply.status(), StatusCode::OK);
            assert!(
                reply
                    .headers()
                    .contains_key(header::CONTENT_SECURITY_POLICY)
            );
        }
        assert!(asset("index.html").is_none());
        assert!(!is_asset("requests"));
    }

    #[test]
    fn the_page_loads_its_own_files_only() {
        let html = include_str!("web/index.html");
        assert!(html.contains(r#"src="app.js""#));
        assert!(html.contains(r#"href="app.css""#));
        for text in [
            html,
            include_str!("web/app.js"),
            include_str!("web/tree.js"),
            include_str!("web/trace.js"),
            include_str!("web/app.css"),
            include_str!("web/trace.css"),
        ] {
            assert!(
                !text.contains("https://"),
                "the page loads nothing from outside"
            );
            assert!(!text.contains("innerHTML"), "data goes in with textContent");
        }
    }
}
