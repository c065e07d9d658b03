//! `inflight kill --trace ID`: terminate (or cancel) every request of a trace at every
//! endpoint.

use std::time::Duration;

use http::StatusCode;
use inflight_wire::{Request, RequestList, TraceId};

use crate::tree::{self, Listed};

use crate::Failure;
use crate::client::Api;
use crate::commands::control;
use crate::endpoints::Endpoint;

/// What happened at one endpoint.
#[derive(Default)]
struct Outcome {
    service: String,
    done: Vec<String>,
    /// Requests that ended between the listing and the kill: not a failure.
    gone: Vec<u64>,
    failed: Vec<String>,
}

/// Whether `control`'s error says the request is no longer there.
fn ended_meanwhile(endpoint: &Endpoint, error: &str) -> bool {
    error.starts_with(&format!("{endpoint}: {} ", StatusCode::NOT_FOUND.as_u16()))
}

/// One request to terminate: where it is and how to name it in the report.
struct Target {
    /// Index into the endpoints.
    at: usize,
    id: u64,
    label: String,
}

/// Terminates (or cancels) `targets` all at once and records each result.
async fn kill_all(
    api: &Api,
    endpoints: &[Endpoint],
    targets: Vec<Target>,
    how: &How,
    outcomes: &mut [Outcome],
) {
    let calls: Vec<_> = targets
        .iter()
        .map(|target| {
            let (api, endpoint) = (api.clone(), endpoints[target.at].clone());
            let (id, cancel, message, grace) =
                (target.id, how.cancel, how.message.clone(), how.grace);
            tokio::spawn(async move { control(&api, &endpoint, id, cancel, message, grace).await })
        })
        .collect();
    for (call, target) in calls.into_iter().zip(targets) {
        let endpoint = &endpoints[target.at];
        let outcome = &mut outcomes[target.at];
        match call.await.unwrap_or_else(|e| Err(e.to_string())) {
            Ok(_) => outcome.done.push(target.label),
            Err(error) if ended_meanwhile(endpoint, &error) => outcome.gone.push(target.id),
            Err(error) => outcome.failed.push(error),
        }
    }
}

/// What to do to each request.
struct How {
    cancel: bool,
    message: Option<String>,
    grace: Option<Duration>,
}

fn label(request: &Request) -> String {
    format!(
        "#{} ({} {} \"{}\")",
        request.id,
        crate::render::direction(request),
        request.method,
        request.uri
    )
}

/// The requests of `trace` in flight at `endpoint`. An admin port too old to filter by
/// trace refuses the parameter (400); the whole list is then filtered here.
async fn list_of_trace(
    api: &Api,
    endpoint: &Endpoint,
    trace: TraceId,
) -> Result<RequestList, String> {
    let refused = format!("{endpoint}: {} ", StatusCode::BAD_REQUEST.as_u16());
    match api
        .get::<RequestList>(endpoint, &format!("/requests?trace={trace}"))
        .await
    {
        Err(error) if error.starts_with(&refused) => api.get(endpoint, "/requests").await,
        answer => answer,
    }
}

/// Terminates (or cancels) every request of `trace` at every endpoint and says what it
/// did at each. Exit 1 when an endpoint or a kill failed, or when no endpoint had any
/// request of the trace in flight (as `kill ENDPOINT ID` of an id that is not there).
pub(crate) async fn kill_trace(
    api: &Api,
    endpoints: &[Endpoint],
    trace: TraceId,
    cancel: bool,
    message: Option<String>,
    grace: Option<Duration>,
) -> Result<(), Failure> {
    let listing: Vec<_> = endpoints
        .iter()
        .map(|endpoint| {
            let (api, endpoint) = (api.clone(), endpoint.clone());
            tokio::spawn(async move { list_of_trace(&api, &endpoint, trace).await })
        })
        .collect();
    let mut lists = Vec::with_capacity(endpoints.len());
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(endpoints.len());
    for (task, endpoint) in listing.into_iter().zip(endpoints) {
        let mut outcome = Outcome::default();
        match task
            .await
            .unwrap_or_else(|e| Err(format!("{endpoint}: {e}")))
        {
            Ok(list) => {
                outcome.service = list.origin.service.clone();
                lists.push(Some(list));
            }
            Err(error) => {
                outcome.failed.push(error);
                lists.push(None);
            }
        }
        outcomes.push(outcome);
    }
    // The trace's requests as one tree: its roots are terminated first, so the client
    // that started the trace gets the operator's message, not the error of a call that
    // was cut below it; then the rest, which are mostly ending by then anyway.
    let trace_text = trace.to_string();
    let names: Vec<String> = endpoints.iter().map(ToString::to_string).collect();
    let mut items = Vec::new();
    let mut places = Vec::new();
    for (at, list) in lists.iter().enumerate() {
        let Some(list) = list else { continue };
        for request in list.requests.iter().filter(|r| r.trace_id == trace_text) {
            items.push(Listed {
                endpoint: &names[at],
                service: &list.origin.service,
                request,
            });
            places.push(at);
        }
    }
    let parents = tree::parents(&items);
    let (mut roots, mut rest) = (Vec::new(), Vec::new());
    for ((item, at), parent) in items.iter().zip(&places).zip(&parents) {
        let target = Target {
            at: *at,
            id: item.request.id,
            label: label(item.request),
        };
        match parent {
            None => roots.push(target),
            Some(_) => rest.push(target),
        }
    }
    let how = How {
        cancel,
        message,
        grace,
    };
    kill_all(api, endpoints, roots, &how, &mut outcomes).await;
    kill_all(api, endpoints, rest, &how, &mut outcomes).await;
    let verb = if cancel {
        "asked to cancel"
    } else {
        "terminated"
    };
    let (mut found, mut failed) = (0, 0);
    for (outcome, endpoint) in outcomes.into_iter().zip(endpoints) {
        found += outcome.done.len() + outcome.gone.len();
        failed += outcome.failed.len();
        let name = if outcome.service.is_empty() {
            endpoint.to_string()
        } else {
            format!("{endpoint} ({})", outcome.service)
        };
        let mut parts = Vec::new();
        if !outcome.done.is_empty() {
            parts.push(format!("{verb} {}", outcome.done.join(", ")));
        }
        if !outcome.gone.is_empty() {
            let ids: Vec<String> = outcome.gone.iter().map(|id| format!("#{id}")).collect();
            parts.push(format!("{} had ended meanwhile", ids.join(", ")));
        }
        if outcome.failed.is_empty() && parts.is_empty() {
            parts.push("nothing of the trace in flight".into());
        }
        if !parts.is_empty() {
            outln!("{name}: {}", parts.join("; "));
        }
        for error in &outcome.failed {
            eprintln!("inflight: {error}");
        }
    }
    if failed > 0 {
        Err(Failure::Failed(format!(
            "{failed} failures at {} endpoints",
            endpoints.len()
        )))
    } else if found == 0 {
        Err(Failure::Failed(format!(
            "no endpoint has a request of trace {trace} in flight"
        )))
    } else {
        Ok(())
    }
}
