//! `DELETE /requests/{id}` and `POST /requests/{id}/cancel`: what an operator asks, read
//! from the query or a JSON body, checked, and handed to the table.

use std::time::Duration;

use axum::body::Body;
use http::StatusCode;
use inflight_core::ControlError;
use inflight_wire::{ControlAction, ControlReply, millis, parse_duration};
use serde::Deserialize;

use crate::query::TerminateParams;
use crate::reply::{self, Failure, Reply, json};
use crate::state::State;
use crate::to_wire;

/// Longest operator message kept with a terminate or cancel.
const MAX_MESSAGE: usize = 1024;
/// Longest grace period of a cancel; longer ones are cut to this (the reply says so).
const MAX_GRACE: Duration = Duration::from_secs(3600);

/// The body of a terminate or cancel. Fields may be left out, but not be null: they are
/// strings.
/// A cancel's query reads the same fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Control {
    #[serde(default, deserialize_with = "string")]
    message: Option<String>,
    #[serde(default, deserialize_with = "string")]
    grace: Option<String>,
}

fn string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

/// The message and grace of a terminate or cancel, from the JSON body or the query.
async fn control_input(
    from_query: Control,
    body: Body,
    takes_grace: bool,
) -> Result<(Option<String>, Option<Duration>), Failure> {
    let from_body: Control = reply::json_body(body).await?;
    if !takes_grace && from_body.grace.is_some() {
        return Err(Failure::bad_request("grace only applies to a cancel"));
    }
    // Both are checked; where both say something, the body wins.
    let (mut message, mut grace) = (None, None);
    for control in [from_query, from_body] {
        if let Some(text) = control.message {
            if text.chars().count() > MAX_MESSAGE {
                return Err(Failure::bad_request(format!(
                    "the message is longer than {MAX_MESSAGE} characters"
                )));
            }
            if !text.is_empty() {
                message = Some(text);
            }
        }
        if let Some(text) = control.grace {
            let parsed =
                parse_duration(&text).map_err(|e| Failure::bad_request(format!("grace: {e}")))?;
            grace = Some(parsed.min(MAX_GRACE));
        }
    }
    Ok((message, grace))
}

fn control_failure(error: ControlError) -> Failure {
    let status = match error {
        ControlError::Forbidden(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::NOT_FOUND,
    };
    Failure::new(status, error.to_string())
}

pub(crate) async fn terminate(
    state: &State,
    id: u64,
    query: TerminateParams,
    body: Body,
) -> Result<Reply, Failure> {
    let query = Control {
        message: query.message,
        grace: None,
    };
    let (message, _) = control_input(query, body, false).await?;
    let before = state
        .config
        .table
        .terminate(id, message)
        .map_err(control_failure)?;
    Ok(json(
        StatusCode::ACCEPTED,
        &ControlReply::new(
            state.origin(),
            ControlAction::Terminate,
            to_wire::request(&before, true),
            None,
        ),
    ))
}

pub(crate) async fn cancel(
    state: &State,
    id: u64,
    query: Control,
    body: Body,
) -> Result<Reply, Failure> {
    let (message, grace) = control_input(query, body, true).await?;
    let grace = grace.unwrap_or(state.config.default_grace);
    let table = state.config.table.clone();
    let before = table.cancel(id, message.clone()).map_err(control_failure)?;
    // Escalate if the handler does not finish in time. An id names one use of a slot (its
    // generation moves on when the request ends), so this
    // cannot hit another request.
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        let message = Some(message.map_or_else(
            || format!("not cancelled within {}", inflight_core::Elapsed(grace)),
            |m| {
                format!(
                    "{m} (not cancelled within {})",
                    inflight_core::Elapsed(grace)
                )
            },
        ));
        let _ = table.terminate(id, message);
    });
    Ok(json(
        StatusCode::ACCEPTED,
        &ControlReply::new(
            state.origin(),
            ControlAction::Cancel,
            to_wire::request(&before, true),
            Some(millis(grace)),
        ),
    ))
}
