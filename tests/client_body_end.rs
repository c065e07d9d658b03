//! An outbound call stays in the table until the caller has read its response body to the
//! end or dropped it: `awaiting headers` before the response head, `reading body` after.

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use inflight::{Direction, EntrySnapshot, Table};
use support::{
    Gate, get, read_bytes, read_to_end, serve_hyper, tracked_client, wait_for_table,
    wait_until_empty,
};
use tower::{ServiceExt, service_fn};

/// `(completed, dropped_early)` of `table`'s totals.
fn ended(table: &Table) -> (u64, u64) {
    let totals = table.totals();
    (totals.completed, totals.dropped_early)
}

/// Waits for the one outbound call to show `status`.
async fn call_with_status(table: &Table, status: &str) -> EntrySnapshot {
    wait_for_table(table, status, |snapshot| {
        snapshot
            .entries
            .first()
            .filter(|entry| entry.status == status)
            .cloned()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_is_listed_until_the_body_is_read_to_the_end() {
    let table = support::table();
    let gate = Gate::new();
    let (addr, chunks) = support::gated_upstream(&gate).await;
    let uri = format!("http://{addr}/slow?part=1");
    let call = tokio::spawn(tracked_client(&table).oneshot(get(&uri)));

    let entry = call_with_status(&table, "awaiting headers").await;
    assert_eq!(entry.direction, Direction::Outbound);
    assert_eq!(entry.method, Method::GET);
    assert_eq!(entry.uri, uri);
    assert_eq!(entry.parent, None, "no inbound request made this call");
    assert_eq!(entry.response_status, None);
    assert_eq!(table.len(), 1);

    gate.open();
    let response = call.await.expect("task").expect("response head");
    assert_eq!(response.status(), StatusCode::OK);
    let now = table.get(entry.id).expect("listed once the head is in");
    assert_eq!(now.status, "reading body");
    assert_eq!(now.response_status, Some(StatusCode::OK));

    let mut body = response.into_body();
    for (i, chunk) in ["first\n", "second\n"].into_iter().enumerate() {
        chunks
            .send(Bytes::from(chunk))
            .expect("upstream body alive");
        assert_eq!(read_bytes(&mut body, chunk.len()).await, chunk);
        let now = table
            .get(entry.id)
            .unwrap_or_else(|| panic!("gone after chunk {i} of a body that is not over"));
        assert_eq!(now.status, "reading body");
        assert_eq!(ended(&table), (0, 0));
    }
    assert_eq!(table.get(entry.id).expect("listed").bytes_in, 13);
    let statuses: Vec<_> = table
        .get(entry.id)
        .expect("listed")
        .history
        .into_iter()
        .map(|change| change.status)
        .collect();
    assert_eq!(statuses, ["awaiting headers", "reading body"]);

    drop(chunks);
    assert!(body.frame().await.is_none(), "the body should be over");
    assert!(table.is_empty(), "listed after the caller read the end");
    assert_eq!(ended(&table), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_body_midway_ends_the_call() {
    let table = support::table();
    let gate = Gate::new();
    gate.open();
    let (addr, chunks) = support::gated_upstream(&gate).await;
    let response = tracked_client(&table)
        .oneshot(get(format!("http://{addr}/slow")))
        .await
        .expect("response head");
    let mut body = response.into_body();
    chunks
        .send(Bytes::from("some\n"))
        .expect("upstream body alive");
    read_bytes(&mut body, 5).await;
    assert_eq!(table.len(), 1);

    drop(body);
    assert!(table.is_empty(), "listed after the caller dropped the body");
    assert_eq!(ended(&table), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_response_unread_ends_the_call() {
    let table = support::table();
    let gate = Gate::new();
    gate.open();
    let (addr, _chunks) = support::gated_upstream(&gate).await;
    let response = tracked_client(&table)
        .oneshot(get(format!("http://{addr}/slow")))
        .await
        .expect("response head");
    assert_eq!(
        table.snapshot().entries[0].status,
        "reading body",
        "the head is in"
    );

    drop(response);
    assert!(
        table.is_empty(),
        "listed after the caller dropped the response"
    );
    assert_eq!(ended(&table), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_call_before_the_head_ends_it() {
    let table = support::table();
    let gate = Gate::new();
    let (addr, _chunks) = support::gated_upstream(&gate).await;
    let call = tokio::spawn(tracked_client(&table).oneshot(get(format!("http://{addr}/slow"))));
    call_with_status(&table, "awaiting headers").await;

    call.abort();
    assert!(call.await.expect_err("aborted").is_cancelled());
    wait_until_empty(&table).await;
    assert_eq!(ended(&table), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_that_stops_reading_shows_as_not_reading() {
    let table = Table::builder()
        .not_reading_after(Duration::from_millis(50))
        .build();
    let gate = Gate::new();
    gate.open();
    let (addr, chunks) = support::gated_upstream(&gate).await;
    let response = tracked_client(&table)
        .oneshot(get(format!("http://{addr}/slow")))
        .await
        .expect("response head");
    let mut body = response.into_body();
    chunks
        .send(Bytes::from("one\n"))
        .expect("upstream body alive");
    read_bytes(&mut body, 4).await;
    chunks
        .send(Bytes::from("two\n"))
        .expect("upstream body alive");

    // The caller holds the body without asking for the next frame.
    call_with_status(&table, "caller not reading").await;

    assert_eq!(read_bytes(&mut body, 4).await, "two\n");
    drop(chunks);
    assert!(body.frame().await.is_none());
    assert!(table.is_empty());
    assert_eq!(ended(&table), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sized_and_bodiless_responses_end_when_read() {
    let table = support::table();
    let addr = serve_hyper(service_fn(|req: http::Request<Incoming>| async move {
        let mut response = Response::new(http_body_util::Full::new(Bytes::from("sized body")));
        if req.uri().path() == "/204" {
            *response.status_mut() = StatusCode::NO_CONTENT;
            *response.body_mut() = http_body_util::Full::default();
        }
        Ok::<_, Infallible>(response)
    }))
    .await;
    let client = tracked_client(&table);

    let response = client
        .clone()
        .oneshot(get(format!("http://{addr}/sized")))
        .await
        .expect("response");
    assert_eq!(table.len(), 1, "the body is not read yet");
    assert_eq!(read_to_end(response.into_body()).await, "sized body");
    assert!(table.is_empty());
    assert_eq!(ended(&table), (1, 0));

    for (done, (method, path)) in (2..).zip([(Method::HEAD, "/head"), (Method::GET, "/204")]) {
        let response = client
            .clone()
            .oneshot(support::request(
                method.clone(),
                format!("http://{addr}{path}"),
            ))
            .await
            .expect("response");
        assert!(table.is_empty(), "{method} {path} listed with no body");
        assert_eq!(ended(&table), (done, 0));
        drop(response);
        assert_eq!(ended(&table), (done, 0), "dropping it changed nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_that_cannot_connect_ends_as_failed() {
    let table = support::table();
    let port = support::free_port();
    let result = tracked_client(&table)
        .oneshot(get(format!("http://127.0.0.1:{port}/nobody")))
        .await;
    assert!(result.is_err(), "connected to a closed port");
    assert!(table.is_empty());
    let totals = table.totals();
    assert_eq!((totals.started, totals.failed), (1, 1));
    assert_eq!(ended(&table), (0, 0));
}
