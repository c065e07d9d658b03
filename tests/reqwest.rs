//! A real reqwest client with `InFlightMiddleware` against real servers on loopback: the
//! call is listed until its body is read or dropped, ends as failed on errors and
//! timeouts, is the child of the inbound request it was made for, sends trace context, and
//! can be terminated.

mod support;

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use bytes::Bytes;
use http::{Method, StatusCode};
use inflight::reqwest::InFlightMiddleware;
use inflight::{Direction, EntrySnapshot, InFlightLayer, TERMINATED_HEADER, Table, Terminated};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use support::{
    Gate, read_to_end, recording_upstream, serve_axum, wait_for_table, wait_until_empty,
};

/// A reqwest client whose calls are tracked in `table`.
fn tracked(table: &Table) -> ClientWithMiddleware {
    tracked_with(table, reqwest::Client::new())
}

fn tracked_with(table: &Table, client: reqwest::Client) -> ClientWithMiddleware {
    ClientBuilder::new(client)
        .with(InFlightMiddleware::with_table(table.clone()))
        .build()
}

/// Waits for the one outbound call in `table` to show `status`.
async fn call_showing(table: &Table, status: &str) -> EntrySnapshot {
    wait_for_table(table, status, |snapshot| {
        snapshot
            .outbound()
            .find(|entry| entry.status == status)
            .cloned()
    })
    .await
}

/// Whether `error` or one of its sources is a `T`.
fn caused_by<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_is_listed_until_the_body_is_read_to_the_end() {
    let table = support::table();
    let gate = Gate::new();
    let (addr, chunks) = support::gated_upstream(&gate).await;
    let url = format!("http://{addr}/blob?part=1");
    let client = tracked(&table);
    let call = tokio::spawn(client.get(&url).send());

    let entry = call_showing(&table, "awaiting headers").await;
    assert_eq!(entry.direction, Direction::Outbound);
    assert_eq!(entry.method, Method::GET);
    assert_eq!(entry.uri, url);
    assert_eq!(entry.parent, None, "no inbound request made this call");

    gate.open();
    let mut response = call.await.expect("task").expect("response head");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().as_str(), url, "the response keeps its URL");
    assert_eq!(table.get(entry.id).expect("listed").status, "reading body");

    chunks.send(Bytes::from("first\n")).expect("upstream body");
    let chunk = response
        .chunk()
        .await
        .expect("a chunk")
        .expect("not the end");
    assert_eq!(chunk, "first\n");
    let now = table
        .get(entry.id)
        .expect("listed while the body is not over");
    assert_eq!(now.status, "reading body");
    assert_eq!(now.bytes_in, 6);

    drop(chunks);
    assert_eq!(response.chunk().await.expect("the end"), None);
    assert!(table.get(entry.id).is_none(), "gone once the body is over");
    let totals = table.totals();
    assert_eq!((totals.started, totals.completed), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_response_unread_ends_the_call_as_dropped_early() {
    let table = support::table();
    let gate = Gate::new();
    gate.open();
    let (addr, chunks) = support::gated_upstream(&gate).await;
    let response = tracked(&table)
        .get(format!("http://{addr}/blob"))
        .send()
        .await
        .expect("response head");
    let entry = call_showing(&table, "reading body").await;
    drop(response);
    assert!(table.get(entry.id).is_none(), "gone with the body");
    let totals = table.totals();
    assert_eq!((totals.completed, totals.dropped_early), (0, 1));
    drop(chunks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_cannot_connect_ends_as_failed() {
    let table = support::table();
    let port = support::free_port();
    let error = tracked(&table)
        .get(format!("http://127.0.0.1:{port}/nobody"))
        .send()
        .await
        .expect_err("connected to a closed port");
    assert!(error.is_connect(), "not a connect error: {error:?}");
    assert!(table.is_empty());
    let totals = table.totals();
    assert_eq!(
        (totals.started, totals.failed, totals.dropped_early),
        (1, 1, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwests_timeout_before_the_head_ends_the_call_as_failed() {
    let table = support::table();
    // Never opened: the head never comes.
    let gate = Gate::new();
    let (addr, _chunks) = support::gated_upstream(&gate).await;
    let error = tracked(&table)
        .get(format!("http://{addr}/stuck"))
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .expect_err("the upstream never answers");
    assert!(error.is_timeout(), "not a timeout: {error:?}");
    // reqwest's own future returns the timeout as an error: the call failed, it was not
    // dropped.
    assert!(table.is_empty());
    let totals = table.totals();
    assert_eq!(
        (totals.started, totals.failed, totals.dropped_early),
        (1, 1, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwests_timeout_while_reading_the_body_ends_the_call_as_body_failed() {
    let table = support::table();
    let gate = Gate::new();
    gate.open();
    let (addr, _chunks) = support::gated_upstream(&gate).await;
    // Long enough for the head, which the upstream sends at once, on a busy machine.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    let response = tracked_with(&table, client)
        .get(format!("http://{addr}/stuck-body"))
        .send()
        .await
        .expect("the head comes at once");
    let error = response.bytes().await.expect_err("the body never ends");
    assert!(error.is_timeout(), "not a timeout: {error:?}");
    assert!(table.is_empty());
    let totals = table.totals();
    assert_eq!((totals.started, totals.body_failed), (1, 1));
}

#[derive(Clone)]
struct App {
    client: ClientWithMiddleware,
    upstream: SocketAddr,
}

/// `GET /call`: calls the upstream with reqwest and answers with what it said.
async fn call(State(app): State<App>) -> String {
    let response = app
        .client
        .get(format!("http://{}/data", app.upstream))
        .send()
        .await
        .expect("upstream answers");
    response.text().await.expect("upstream body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_made_for_an_inbound_request_is_its_child_and_carries_its_trace() {
    let table = support::table();
    let gate = Gate::new();
    let (upstream, seen) = recording_upstream(gate.clone()).await;
    let app = App {
        client: tracked(&table),
        upstream,
    };
    let router = Router::new()
        .route("/call", get(call))
        .with_state(app)
        .layer(InFlightLayer::with_table(table.clone()));
    let addr = serve_axum(router).await;
    let inbound =
        tokio::spawn(support::client().request(support::get(format!("http://{addr}/call"))));

    let awaiting = format!("awaiting {upstream}");
    let (parent, child) = wait_for_table(&table, &awaiting, |snapshot| {
        let parent = snapshot.inbound().find(|entry| entry.status == awaiting)?;
        let child = snapshot.outbound().next()?;
        Some((parent.clone(), child.clone()))
    })
    .await;
    assert_eq!(child.parent, Some(parent.id));
    assert_eq!(parent.children, vec![child.id]);
    assert_eq!(child.uri, format!("http://{upstream}/data"));
    assert_eq!(
        child.trace_id, parent.trace_id,
        "the call continues the trace"
    );
    assert_eq!(child.parent_span_id, Some(parent.span_id));

    let headers = support::wait_for("the upstream to get the call", || {
        seen.lock().unwrap().first().cloned()
    })
    .await;
    let sent = inflight::TraceContext::from_headers(&headers).expect("a valid traceparent");
    assert_eq!(sent.trace_id, child.trace_id);
    assert_eq!(
        sent.span_id, child.span_id,
        "the traceparent names the call's span"
    );

    gate.open();
    let response = inbound.await.expect("task").expect("inbound answered");
    assert_eq!(read_to_end(response.into_body()).await, "data");
    wait_until_empty(&table).await;
    assert_eq!(table.totals().completed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traceparent_the_caller_set_is_kept() {
    const KNOWN: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let table = support::table();
    let gate = Gate::new();
    gate.open();
    let (upstream, seen) = recording_upstream(gate).await;
    let body = tracked(&table)
        .get(format!("http://{upstream}/data"))
        .header("traceparent", KNOWN)
        .send()
        .await
        .expect("response")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "data");
    assert_eq!(seen.lock().unwrap()[0]["traceparent"], KNOWN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_terminated_before_its_head_gets_a_made_up_response() {
    let table = support::table();
    let gate = Gate::new();
    let (addr, _chunks) = support::gated_upstream(&gate).await;
    let url = format!("http://{addr}/stuck");
    let client = tracked(&table);
    let call = tokio::spawn(client.get(&url).send());
    let entry = call_showing(&table, "awaiting headers").await;

    table
        .terminate(entry.id, Some("upstream is stuck".into()))
        .expect("the call is listed");
    let response = call.await.expect("task").expect("a made-up response");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[TERMINATED_HEADER], "upstream is stuck");
    let terminated = response
        .extensions()
        .get::<Terminated>()
        .expect("marked as made up");
    assert_eq!(terminated.id, entry.id);
    assert_eq!(response.url().as_str(), url, "it answers the URL asked for");
    assert_eq!(response.bytes().await.expect("an empty body"), "");
    assert!(table.is_empty());
    assert_eq!(table.totals().terminated, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_terminated_mid_body_fails_the_callers_read() {
    let table = support::table();
    let gate = Gate::new();
    gate.open();
    let (addr, chunks) = support::gated_upstream(&gate).await;
    let mut response = tracked(&table)
        .get(format!("http://{addr}/blob"))
        .send()
        .await
        .expect("response head");
    chunks.send(Bytes::from("first\n")).expect("upstream body");
    assert_eq!(
        response.chunk().await.expect("chunk").expect("data"),
        "first\n"
    );

    let entry = call_showing(&table, "reading body").await;
    table.terminate(entry.id, None).expect("the call is listed");
    let error = response.chunk().await.expect_err("cut, not ended");
    let terminated =
        caused_by::<Terminated>(&error).unwrap_or_else(|| panic!("no Terminated behind {error:?}"));
    assert_eq!(terminated.id, entry.id);
    assert!(table.is_empty());
    assert_eq!(table.totals().terminated, 1);
}
