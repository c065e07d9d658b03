//! The one-shot commands: ls, show, kill, dump, recent, profile.

use std::time::Duration;

use http::Method;
use inflight_wire::{ControlReply, Request, RequestList, RequestReply};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Failure;
use crate::client::{Api, decode};
use crate::endpoints::Endpoint;
use crate::render::{TextTable, ms};

mod reports;
mod tree;
pub(crate) use reports::{dump, profile, recent};
pub(crate) use tree::{listed, ls_tree};

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
    fetch_each(api, endpoints, path).await
}

/// `GET path` of every endpoint, asked concurrently (as many at once as the client
/// allows), in endpoint order.
pub(crate) async fn fetch_each<T: DeserializeOwned + Send + 'static>(
    api: &Api,
    endpoints: &[Endpoint],
    path: &str,
) -> Vec<(Endpoint, Result<T, String>)> {
    let tasks: Vec<_> = endpoints
        .iter()
        .map(|endpoint| {
            let (api, endpoint, path) = (api.clone(), endpoint.clone(), path.to_owned());
            tokio::spawn(async move { api.get::<T>(&endpoint, &path).await })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for (task, endpoint) in tasks.into_iter().zip(endpoints) {
        let answer = task
            .await
            .unwrap_or_else(|e| Err(format!("{endpoint}: {e}")));
        answers.push((endpoint.clone(), answer));
    }
    answers
}

#[derive(Serialize)]
struct LsJson<'a> {
    requests: Vec<LsRequest<'a>>,
    errors: Vec<LsError<'a>>,
}

#[derive(Serialize)]
struct LsRequest<'a> {
    endpoint: &'a str,
    /// The Prometheus job the endpoint was discovered under.
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<&'a str>,
    #[serde(flatten)]
    request: &'a Request,
}

/// An endpoint that did not answer, in the JSON of the commands over many endpoints.
#[derive(Serialize)]
pub(crate) struct LsError<'a> {
    pub(crate) endpoint: &'a str,
    pub(crate) error: &'a str,
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
    direction: Option<&str>,
) -> Result<(), Failure> {
    let mut params = Vec::new();
    if let Some(age) = min_age {
        params.push(format!("min_age={}", duration_param(age)));
    }
    if let Some(direction) = direction {
        params.push(format!("direction={direction}"));
    }
    let path = format!("/requests?{}", params.join("&"));
    let lists = fetch_lists(api, endpoints, &path).await;
    let mut rows: Vec<(&Endpoint, &Request)> = Vec::new();
    let mut errors: Vec<(&str, &str)> = Vec::new();
    for (endpoint, list) in &lists {
        match list {
            Ok(list) => rows.extend(list.requests.iter().map(|r| (endpoint, r))),
            Err(error) => errors.push((endpoint.name.as_str(), error.as_str())),
        }
    }
    rows.sort_by(|a, b| b.1.elapsed_ms.total_cmp(&a.1.elapsed_ms));
    if json {
        let out = LsJson {
            requests: rows
                .iter()
                .map(|(endpoint, request)| LsRequest {
                    endpoint: &endpoint.name,
                    job: endpoint.job.as_deref(),
                    request,
                })
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
        // Which job each endpoint is in, when discovery said; a column only then.
        let jobs = endpoints.iter().any(|endpoint| endpoint.job.is_some());
        let mut headers = vec!["HOST"];
        if jobs {
            headers.push("JOB");
        }
        let skip = usize::from(jobs);
        headers.extend([
            "ID",
            "DIR",
            "AGE",
            "IN STATUS",
            "STATUS",
            "METHOD",
            "URL",
            "ATTRIBUTES",
        ]);
        let mut table = TextTable::new(&headers, &[1 + skip, 3 + skip, 4 + skip]);
        for (endpoint, request) in &rows {
            let mut cells = vec![endpoint.name.clone()];
            if jobs {
                cells.push(endpoint.job.clone().unwrap_or_default());
            }
            cells.extend([
                request.id.to_string(),
                crate::render::direction(request).to_owned(),
                ms(request.elapsed_ms),
                ms(request.status_elapsed_ms),
                crate::render::status(request),
                request.method.clone(),
                request.uri.clone(),
                attributes(request),
            ]);
            table.row(cells);
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
    if let Some(deadline) = request.deadline_ms {
        let state = if request.past_deadline {
            "passed"
        } else {
            "not reached"
        };
        field(
            "deadline",
            format!("{} after start ({state})", ms(deadline)),
        );
    }
    if request.orphan {
        field(
            "orphan",
            "its request has ended; nobody waits for it".into(),
        );
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

/// The exit of a command that asked every endpoint: a failure when `failed` of `total`
/// did not answer (what they said is already on stderr).
pub(crate) fn all_answered(failed: usize, total: usize) -> Result<(), Failure> {
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "{failed} of {total} endpoints failed"
        )))
    }
}
