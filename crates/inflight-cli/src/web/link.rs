//! `inflight link`: a URL of the web page showing one view, to paste in a chat.

use clap::ValueEnum;
use inflight_wire::TraceId;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::Failure;
use crate::endpoints::Endpoint;

/// What a query value escapes: everything but what reads well in a URL and means the
/// same in a query (`,` separates the endpoints, `:` and `/` are in addresses).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'/')
    .remove(b',');

/// `value` escaped for a query.
pub(super) fn encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// The page's views a link can open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Tab {
    Requests,
    Recent,
    Profile,
}

/// `inflight link`'s flags.
#[derive(clap::Args, Debug)]
pub(crate) struct LinkArgs {
    /// Where `inflight web` serves the page (http://127.0.0.1:7000); the page then reaches
    /// every endpoint through it. Without --endpoints, it watches all that server's.
    #[arg(long, value_name = "URL", conflicts_with = "base")]
    server: Option<String>,
    /// Instead of --server: the admin port serving the page, which then calls every
    /// endpoint itself (they must allow its origin). Default: the first endpoint.
    #[arg(long, value_name = "URL")]
    base: Option<String>,
    /// Open the trace view of this trace (32 hex digits).
    #[arg(long, value_parser = crate::args::trace_id, value_name = "TRACE_ID", conflicts_with = "tab")]
    trace: Option<TraceId>,
    /// Open with this filter text.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Open this view.
    #[arg(long, value_enum)]
    tab: Option<Tab>,
}

/// The link, or why the flags make none. `given`: whether any source of endpoints was.
pub(crate) fn link(
    endpoints: Result<Vec<Endpoint>, Failure>,
    given: bool,
    args: &LinkArgs,
) -> Result<String, Failure> {
    let mut query: Vec<String> = Vec::new();
    let base = match &args.server {
        Some(server) => {
            let server = server_url(server)?;
            // Without endpoints named, the server's own list: it fills it in.
            let endpoints = if given { endpoints? } else { Vec::new() };
            if !endpoints.is_empty() {
                let authority = server.trim_start_matches("http://");
                query.push(format!("endpoints={}", through(authority, &endpoints)));
            }
            server
        }
        None => {
            let endpoints = endpoints?;
            let base = args.base.as_deref().map_or_else(
                || {
                    endpoints
                        .first()
                        .map_or_else(String::new, |e| e.base.clone())
                },
                |base| base.trim_end_matches('/').to_owned(),
            );
            let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
            query.push(format!("endpoints={}", encode(&names.join(","))));
            base
        }
    };
    if let Some(tab) = args.tab.filter(|tab| *tab != Tab::Requests) {
        let tab = tab.to_possible_value().map(|v| v.get_name().to_owned());
        query.push(format!("tab={}", tab.unwrap_or_default()));
    }
    if let Some(filter) = args.filter.as_deref().filter(|f| !f.is_empty()) {
        query.push(format!("filter={}", encode(filter)));
    }
    if let Some(trace) = args.trace {
        query.push(format!("trace={trace}"));
    }
    if query.is_empty() {
        return Ok(format!("{base}/"));
    }
    Ok(format!("{base}/?{}", query.join("&")))
}

/// The page's `endpoints` value reaching each endpoint through the server at `authority`.
pub(super) fn through(authority: &str, endpoints: &[Endpoint]) -> String {
    let list: Vec<String> = endpoints
        .iter()
        .map(|e| format!("{authority}/e/{}/", e.name))
        .collect();
    encode(&list.join(","))
}

/// `--server` as `http://host:port`: the page is served at its root.
fn server_url(text: &str) -> Result<String, Failure> {
    let url = crate::endpoints::http_url("--server", text)?;
    let uri: http::Uri = url
        .parse()
        .map_err(|_| Failure::Usage(format!("--server {text:?} is not a URL")))?;
    if !matches!(uri.path(), "" | "/") {
        return Err(Failure::Usage(format!(
            "--server {text:?}: `inflight web` serves the page at the root; give \
             http://host:port without a path"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(server: Option<&str>) -> LinkArgs {
        LinkArgs {
            server: server.map(str::to_owned),
            base: None,
            trace: None,
            filter: None,
            tab: None,
        }
    }

    #[test]
    fn links_through_the_server() {
        let endpoints = crate::endpoints::from_list("a:9084,b:9085").unwrap();
        let mut with = args(Some("127.0.0.1:7000/"));
        with.filter = Some("GET /a+b".into());
        with.tab = Some(Tab::Recent);
        assert_eq!(
            link(Ok(endpoints.clone()), true, &with).ok().unwrap(),
            "http://127.0.0.1:7000/?endpoints=127.0.0.1:7000/e/a:9084/,127.0.0.1:7000/e/b:9085/\
             &tab=recent&filter=GET%20/a%2Bb"
        );
        let none = Err(Failure::Usage("no endpoints: give ...".into()));
        assert_eq!(
            link(none, false, &args(Some("http://h:7000")))
                .ok()
                .unwrap(),
            "http://h:7000/"
        );
        assert_eq!(
            link(Ok(endpoints.clone()), true, &args(None)).ok().unwrap(),
            "http://a:9084/?endpoints=a:9084,b:9085"
        );
        let mut base = args(None);
        base.base = Some("http://ops:8080/".into());
        assert_eq!(
            link(Ok(endpoints), true, &base).ok().unwrap(),
            "http://ops:8080/?endpoints=a:9084,b:9085"
        );
        for bad in ["http://h:7000/page", "ftp://h", "h:7000?x=1"] {
            assert!(matches!(
                link(Ok(Vec::new()), false, &args(Some(bad))),
                Err(Failure::Usage(_))
            ));
        }
    }
}
