//! The one-shot commands: ls, show, kill, dump, recent, profile, link.

use std::time::Duration;

use http::Method;
use inflight_core::wire::{
    ControlReply, ProfileReport, RecentReport, Request, RequestList, RequestReply,
};
use serde::Serialize;

use crate::Failure;
use crate::client::{Api, decode, error_message};
use crate::endpoints::Endpoint;
use crate::render::{TextTable, ms};

/// `Duration` in the admin API's syntax.
fn duration_param(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}

/// The `/requests` list of every endpoint, asked concurrently, in endpoint order.
pub(crate) async fn fetch_lists(
    api: &Api,
    endpoints: &[Endpoint],
    path: &str,
) -> Vec<(Endpoint, Result<RequestList, String>)> {
    let tasks: Vec<_> = endpoints
        .iter()
        .map(|endpoint| {
            let (api, endpoint, path) = (api.clone(), endpoint.clone(), path.to_owned());
            tokio::spawn(async move {
                let list = api.get::<RequestList>(&endpoint, &path).await;
                (endpoint, list)
            })
        })
        .collect();
    let mut lists = Vec::with_capacity(tasks.len());
    for (task, endpoint) in tasks.into_iter().zip(endpoints) {
        lists.push(
            task.await
                .unwrap_or_else(|e| (endpoint.clone(), Err(format!("{endpoint}: {e}")))),
        );
    }
    lists
}

#[derive(Serialize)]
struct LsJson<'a> {
    requests: Vec<LsRequest<'a>>,
    errors: Vec<LsError<'a>>,
}

#[derive(Serialize)]
struct LsRequest<'a> {
    endpoint: &'a str,
    #[serde(flatten)]
    request: &'a Request,
}

#[derive(Serialize)]
struct LsError<'a> {
    endpoint: &'a str,
    error: &'a str,
}

pub(crate) fn attributes(request: &Request) -> String {
    request
        .attributes
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) async fn ls(
    api: &Api,
    endpoints: &[Endpoint],
    json: bool,
    min_age: Option<Duration>,
    inbound: Option<bool>,
) -> Result<(), Failure> {
    let mut params = Vec::new();
    if let Some(age) = min_age {
        params.push(format!("min_age={}", duration_param(age)));
    }
    if let Some(inbound) = inbound {
        params.push(format!(
            "direction={}",
            if inbound { "inbound" } else { "outbound" }
        ));
    }
    let path = format!("/requests?{}", params.join("&"));
    let lists = fetch_lists(api, endpoints, &path).await;
    let mut rows: Vec<(&str, &Request)> = Vec::new();
    let mut errors: Vec<(&str, &str)> = Vec::new();
    for (endpoint, list) in &lists {
        match list {
            Ok(list) => rows.extend(list.requests.iter().map(|r| (endpoint.name.as_str(), r))),
            Err(error) => errors.push((endpoint.name.as_str(), error.as_str())),
        }
    }
    rows.sort_by(|a, b| b.1.elapsed_ms.total_cmp(&a.1.elapsed_ms));
    if json {
        let out = LsJson {
            requests: rows
                .iter()
                .map(|(endpoint, request)| LsRequest { endpoint, request })
                .collect(),
            errors: errors
                .iter()
                .map(|(endpoint, error)| LsError { endpoint, error })
                .collect(),
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        let mut table = TextTable::new(
            &[
                "HOST",
                "ID",
                "DIR",
                "AGE",
                "IN STATUS",
                "STATUS",
                "METHOD",
                "URL",
                "ATTRIBUTES",
            ],
            &[1, 3, 4],
        );
        for (endpoint, request) in &rows {
            table.row(vec![
                (*endpoint).to_owned(),
                request.id.to_string(),
                if request.direction == "inbound" {
                    "in"
                } else {
                    "out"
                }
                .to_owned(),
                ms(request.elapsed_ms),
                ms(request.status_elapsed_ms),
                request.status.clone(),
                request.method.clone(),
                request.uri.clone(),
                attributes(request),
            ]);
        }
        out!("{}", table.render());
    }
    for (_, error) in &errors {
        eprintln!("inflight: {error}");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "{} of {} endpoints failed",
            errors.len(),
            endpoints.len()
        )))
    }
}

pub(crate) fn describe(endpoint: &Endpoint, request: &Request) -> String {
    let mut out = format!(
        "#{} {} {} \"{}\" on {endpoint}\n",
        request.id, request.direction, request.method, request.uri
    );
    let mut field = |name: &str, value: String| out.push_str(&format!("  {name:<12}{value}\n"));
    field(
        "status",
        format!("{} for {}", request.status, ms(request.status_elapsed_ms)),
    );
    field(
        "age",
        format!(
            "{} (started {})",
            ms(request.elapsed_ms),
            request.started_at
        ),
    );
    if let Some(route) = &request.route {
        field("route", route.clone());
    }
    if let Some(peer) = &request.peer {
        field("peer", peer.clone());
    }
    field("version", request.version.clone());
    if !request.attributes.is_empty() {
        field("attributes", attributes(request));
    }
    if let Some(parent) = request.parent {
        field("parent", format!("#{parent}"));
    }
    if !request.children.is_empty() {
        let children: Vec<String> = request.children.iter().map(|c| format!("#{c}")).collect();
        field("children", children.join(" "));
    }
    field(
        "bytes",
        format!("{} in, {} out", request.bytes_in, request.bytes_out),
    );
    field("idle", ms(request.idle_ms));
    if let Some(status) = request.response_status {
        field("response", status.to_string());
    }
    if request.cancel_requested {
        field("cancel", "requested".into());
    }
    if request.cancel_forbidden {
        field("cancel", "forbidden by the handler".into());
    }
    if let Some(message) = &request.control_message {
        field("message", message.clone());
    }
    if let Some(history) = &request.history {
        out.push_str("  history:\n");
        if request.history_dropped > 0 {
            out.push_str(&format!(
                "    ({} older transitions dropped)\n",
                request.history_dropped
            ));
        }
        for change in history {
            out.push_str(&format!(
                "    +{:<10} {}\n",
                ms(change.offset_ms),
                change.status
            ));
        }
    }
    out
}

pub(crate) async fn show(api: &Api, endpoint: &Endpoint, id: u64) -> Result<(), Failure> {
    let reply: RequestReply = api.get(endpoint, &format!("/requests/{id}")).await?;
    out!("{}", describe(endpoint, &reply.request));
    Ok(())
}

/// Terminates (or cancels) a request; returns what the admin port said.
pub(crate) async fn control(
    api: &Api,
    endpoint: &Endpoint,
    id: u64,
    cancel: bool,
    message: Option<String>,
    grace: Option<Duration>,
) -> Result<ControlReply, String> {
    let mut body = serde_json::Map::new();
    if let Some(message) = message {
        body.insert("message".into(), message.into());
    }
    if let Some(grace) = grace {
        body.insert("grace".into(), duration_param(grace).into());
    }
    let body = serde_json::Value::Object(body).to_string();
    let (method, path) = if cancel {
        (Method::POST, format!("/requests/{id}/cancel"))
    } else {
        (Method::DELETE, format!("/requests/{id}"))
    };
    let (status, answer) = api.call(endpoint, method, &path, Some(body)).await?;
    decode(endpoint, status, &answer)
}

pub(crate) async fn kill(
    api: &Api,
    endpoint: &Endpoint,
    id: u64,
    cancel: bool,
    message: Option<String>,
    grace: Option<Duration>,
) -> Result<(), Failure> {
    let reply = control(api, endpoint, id, cancel, message, grace).await?;
    let request = &reply.request;
    match reply.grace_ms {
        Some(grace) => outln!(
            "asked #{} ({} \"{}\", {} old) to cancel on {endpoint}; it is terminated if still there in {}",
            request.id,
            request.method,
            request.uri,
            ms(request.elapsed_ms),
            ms(grace)
        ),
        None => outln!(
            "terminated #{} ({} \"{}\", {} old, {}) on {endpoint}",
            request.id,
            request.method,
            request.uri,
            ms(request.elapsed_ms),
            request.status
        ),
    }
    Ok(())
}

pub(crate) async fn dump(api: &Api, endpoints: &[Endpoint]) -> Result<(), Failure> {
    let mut failed = 0;
    for endpoint in endpoints {
        if endpoints.len() > 1 {
            outln!("== {endpoint}");
        }
        match api.call(endpoint, Method::GET, "/dump", None).await {
            Ok((status, body)) if status.is_success() => {
                out!("{}", String::from_utf8_lossy(&body))
            }
            Ok((status, body)) => {
                failed += 1;
                eprintln!("inflight: {}", error_message(endpoint, status, &body));
            }
            Err(error) => {
                failed += 1;
                eprintln!("inflight: {error}");
            }
        }
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "{failed} of {} endpoints failed",
            endpoints.len()
        )))
    }
}

pub(crate) async fn recent(api: &Api, endpoint: &Endpoint) -> Result<(), Failure> {
    let report: RecentReport = api.get(endpoint, "/recent").await?;
    if report.families.is_empty() {
        outln!("no finished requests yet on {endpoint}");
    }
    for family in &report.families {
        outln!(
            "{} {}  ({} finished)",
            family.direction,
            family.name,
            family.finished
        );
        let mut table = TextTable::new(&["BUCKET", "COUNT", "LATEST (newest first)"], &[1]);
        for bucket in &family.buckets {
            let latest: Vec<String> = bucket.samples.iter().map(|s| ms(s.duration_ms)).collect();
            table.row(vec![
                bucket.bucket.clone(),
                bucket.samples.len().to_string(),
                latest.join(" "),
            ]);
        }
        out!("{}", indent(&table.render()));
        if !family.errors.is_empty() {
            let mut errors =
                TextTable::new(&["ERROR", "ID", "TOOK", "ENDING", "STATUS", "URL"], &[1, 2]);
            for error in &family.errors {
                errors.row(vec![
                    String::new(),
                    error.request.id.to_string(),
                    ms(error.duration_ms),
                    error.ending.clone(),
                    error
                        .request
                        .response_status
                        .map_or_else(|| "-".into(), |s| s.to_string()),
                    error.request.uri.clone(),
                ]);
            }
            out!("{}", indent(&errors.render()));
        }
        outln!();
    }
    if report.dropped > 0 {
        outln!(
            "({} finished requests were not recorded: the recorder fell behind)",
            report.dropped
        );
    }
    Ok(())
}

pub(crate) async fn profile(api: &Api, endpoint: &Endpoint) -> Result<(), Failure> {
    let report: ProfileReport = api.get(endpoint, "/profile").await?;
    outln!(
        "time spent on {endpoint} since {} ({:.0}s)",
        report.window_start,
        report.window_seconds
    );
    let mut table = TextTable::new(
        &[
            "ROUTE", "STATUS", "COUNT", "TOTAL", "MEAN", "P50", "P95", "P99", "MAX",
        ],
        &[2, 3, 4, 5, 6, 7, 8],
    );
    for route in &report.routes {
        table.row(vec![
            format!("{} {}", route.direction, route.name),
            "(all)".into(),
            route.requests.to_string(),
            ms(route.total_ms),
            ms(route.mean_ms),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        for status in &route.statuses {
            table.row(vec![
                String::new(),
                status.status.clone(),
                status.count.to_string(),
                ms(status.total_ms),
                ms(status.mean_ms),
                ms(status.p50_ms),
                ms(status.p95_ms),
                ms(status.p99_ms),
                ms(status.max_ms),
            ]);
        }
    }
    if table.is_empty() {
        outln!("no finished requests yet");
    } else {
        out!("{}", table.render());
    }
    Ok(())
}

/// The web page URL watching `endpoints`.
pub(crate) fn link(endpoints: &[Endpoint], base: Option<&str>) -> String {
    let base = base.map_or_else(
        || {
            endpoints
                .first()
                .map_or_else(String::new, |e| e.base.clone())
        },
        |base| base.trim_end_matches('/').to_owned(),
    );
    let list: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
    format!("{base}/?endpoints={}", list.join(","))
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        let endpoints = crate::endpoints::from_list("a:9084,b:9085").unwrap();
        assert_eq!(
            link(&endpoints, None),
            "http://a:9084/?endpoints=a:9084,b:9085"
        );
        assert_eq!(
            link(&endpoints, Some("http://ops:8080/")),
            "http://ops:8080/?endpoints=a:9084,b:9085"
        );
    }
}
