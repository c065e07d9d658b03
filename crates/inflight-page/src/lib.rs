//! The web page of `inflight`: a few static files (an HTML page, ES modules, style
//! sheets) compiled into the binary, with no build step.
//!
//! The admin port serves the page, and so does the CLI's `inflight web`; both take the
//! files, their content types and the Content-Security-Policy from here, so the page is
//! the same wherever it comes from.
//!
//! The page holds no data, so it needs no token: it asks each admin port it watches for
//! the data itself, with the tokens the user gives it. It loads nothing from elsewhere,
//! and its Content-Security-Policy says so, with one exception: it may call any admin
//! port (`connect-src`), since watching many services is what it is for.

#![warn(missing_docs)]

/// One file of the page: what to answer a `GET` for its path with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The `Content-Type` to send it with, charset included.
    pub content_type: &'static str,
    /// The file itself.
    pub body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// A file of the page, served at its own name.
macro_rules! served {
    ($name:literal, $content_type:expr) => {
        (
            $name,
            Asset {
                content_type: $content_type,
                body: include_str!(concat!("page/", $name)),
            },
        )
    };
}

/// The files, by path without the leading `/`: `""` is the page itself.
const ASSETS: &[(&str, Asset)] = &[
    (
        "",
        Asset {
            content_type: HTML,
            body: include_str!("page/index.html"),
        },
    ),
    served!("app.js", JS),
    served!("format.js", JS),
    served!("endpoints.js", JS),
    served!("state.js", JS),
    served!("dialog.js", JS),
    served!("requests.js", JS),
    served!("detail.js", JS),
    served!("history.js", JS),
    served!("reports.js", JS),
    served!("recent.js", JS),
    served!("profile.js", JS),
    served!("trace-tab.js", JS),
    served!("poll.js", JS),
    served!("actions.js", JS),
    served!("render.js", JS),
    served!("controls.js", JS),
    served!("tree.js", JS),
    served!("trace.js", JS),
    served!("app.css", CSS),
    served!("trace.css", CSS),
];

/// The Content-Security-Policy to send with every file of the page: nothing but the
/// page's own scripts, styles and images, no forms, no frames, and calls to any admin
/// port (`connect-src *`), since the page watches services on other ports and hosts.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src *; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The headers to send with every file of the page besides its content type and
/// [`CONTENT_SECURITY_POLICY`]: revalidate (the files change with the binary), no type
/// sniffing, no referrer, no framing.
pub const HEADERS: &[(&str, &str)] = &[
    ("cache-control", "no-cache"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
];

/// The file at `path` (the request's path without its leading `/`; `""` is the page
/// itself), or `None` if the page has no such file.
///
/// ```
/// let page = inflight_page::asset("").unwrap();
/// assert!(page.content_type.starts_with("text/html"));
/// assert!(inflight_page::asset("index.html").is_none());
/// ```
pub fn asset(path: &str) -> Option<Asset> {
    ASSETS
        .iter()
        .find(|(served, _)| *served == path)
        .map(|(_, asset)| *asset)
}

/// Every path the page's files are served at (without the leading `/`; `""` is the
/// page itself), for a server that routes them one by one.
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(path, _)| *path)
}

#[cfg(test)]
mod tests;
