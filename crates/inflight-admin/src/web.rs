//! The web page, served from the admin port: its files come from `inflight_page`, this
//! module only turns them into replies with the headers every file gets.

use http::{HeaderValue, StatusCode, header};

use crate::reply::{self, Reply};

/// Whether `name` (the path without its leading `/`) is a file of the page.
pub(crate) fn is_asset(name: &str) -> bool {
    inflight_page::asset(name).is_some()
}

/// The file at `name`, or `None` if the page has no such file.
pub(crate) fn asset(name: &str) -> Option<Reply> {
    let asset = inflight_page::asset(name)?;
    let mut reply = reply::text(StatusCode::OK, asset.content_type, asset.body);
    let headers = reply.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(inflight_page::CONTENT_SECURITY_POLICY),
    );
    for (name, value) in inflight_page::HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_page_and_its_files() {
        for name in inflight_page::paths() {
            assert!(is_asset(name));
            let reply = asset(name).unwrap();
            assert_eq!(reply.status(), StatusCode::OK);
            assert_eq!(
                reply.headers()[header::CONTENT_SECURITY_POLICY],
                inflight_page::CONTENT_SECURITY_POLICY
            );
        }
        assert!(asset("index.html").is_none());
        assert!(!is_asset("requests"));
    }

    #[test]
    fn openapi_describes_every_file_of_the_page() {
        let spec: serde_json::Value = serde_json::from_str(crate::OPENAPI).unwrap();
        for name in inflight_page::paths() {
            let path = format!("/{name}");
            assert!(
                spec["paths"][&path]["get"].is_object(),
                "openapi.json describes GET {path}"
            );
        }
    }
}
