//! `inflight kill --trace ID`: terminate (or cancel) every request of a trace at every
//! endpoint.

use std::time::Duration;

use http::StatusCode;
use inflight_core::TraceId;
use inflight_core::wire::{Request, RequestList};

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

async fn kill_at(
    api: Api,
    endpoint: Endpoint,
    list: Result<RequestList, String>,
    trace: String,
    cancel: bool,
    message: Option<String>,
    grace: Option<Duration>,
) -> Outcome {
    let list = match list {
        Ok(list) => list,
        Err(error) => {
            return Outcome {
                failed: vec![error],
                ..Outcome::default()
            };
        }
    };
    let mine: Vec<&Request> = list
        .requests
        .iter()
        .filter(|request| request.trace_id == trace)
        .collect();
    // All at once: a request killed first must not give the others time to go on.
    let calls: Vec<_> = mine
        .iter()
        .map(|request| {
            let (api, endpoint, message) = (api.clone(), endpoint.clone(), message.clone());
            let id = request.id;
            tokio::spawn(async move { control(&api, &endpoint, id, cancel, message, grace).await })
        })
        .collect();
    let mut outcome = Outcome {
        service: list.origin.service.clone(),
        ..Outcome::default()
    };
    for (call, request) in calls.into_iter().zip(mine) {
        match call.await.unwrap_or_else(|e| Err(e.to_string())) {
            Ok(_) => outcome.done.push(format!(
                "#{} ({} {} \"{}\")",
                request.id,
                if request.direction == "outbound" {
                    "out"
                } else {
                    "in"
                },
                request.method,
                request.uri
            )),
            Err(error) if ended_meanwhile(&endpoint, &error) => outcome.gone.push(request.id),
            Err(error) => outcome.failed.push(error),
        }
    }
    outcome
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
    let tasks: Vec<_> = endpoints
        .iter()
        .map(|endpoint| {
            let (api, endpoint, message) = (api.clone(), endpoint.clone(), message.clone());
            tokio::spawn(async move {
                let list = list_of_trace(&api, &endpoint, trace).await;
                kill_at(
                    api,
                    endpoint,
                    list,
                    trace.to_string(),
                    cancel,
                    message,
                    grace,
                )
                .await
            })
        })
        .collect();
    let verb = if cancel {
        "asked to cancel"
    } else {
        "terminated"
    };
    let (mut found, mut failed) = (0, 0);
    for (task, endpoint) in tasks.into_iter().zip(endpoints) {
        let outcome = task.await.unwrap_or_else(|e| Outcome {
            failed: vec![format!("{endpoint}: {e}")],
            ..Outcome::default()
        });
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
