//! An outbound call an operator terminates: while its body is read, the caller's next read
//! is an error that downcasts to `Terminated`, and the upstream connection is let go;
//! before the response head, the caller gets a made-up response with an empty body.

mod support;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use inflight::{InFlightClientLayer, TERMINATED_HEADER, Table, Terminated};
use support::{
    DEADLINE, Gate, client, get, read_bytes, read_to_end, tracked_client, wait_for_table,
    wait_until_empty,
};
use tower::{Layer, ServiceExt};

/// The id of the one call in `table`, once it shows `status`.
async fn call_showing(table: &Table, status: &str) -> u64 {
    wait_for_table(table, status, |snapshot| {
        let entry = snapshot.entries.first()?;
        (entry.status == status).then_some(entry.id)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_terminated_mid_body_fails_the_callers_read() {
    let table = support::table();
    let gate = Gate::new();
    gate.open();
    let (addr, chunks) = support::gated_upstream(&gate).await;
    let response = tracked_client(&table)
        .oneshot(get(format!("http://{addr}/blob")))
        .await
        .expect("response head");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    chunks.send(Bytes::from("first\n")).expect("upstream body");
    assert_eq!(read_bytes(&mut body, 6).await, "first\n");

    let id = call_showing(&table, "reading body").await;
    table
        .terminate(id, Some("upstream is stuck".into()))
        .expect("the call is listed");
    chunks.send(Bytes::from("second\n")).expect("upstream body");
    let error = body
        .frame()
        .await
        .expect("an error, not the end of the body")
        .expect_err("an error, not a frame");
    let terminated = error
        .downcast_ref::<Terminated>()
        .unwrap_or_else(|| panic!("not a Terminated: {error:?}"));
    assert_eq!(terminated.id, id);
    assert_eq!(terminated.message.as_deref(), Some("upstream is stuck"));
    assert_eq!(
        error.to_string(),
        format!("request #{id} terminated by an operator: upstream is stuck")
    );
    // The upstream body was dropped with its connection, at once.
    assert!(body.get_ref().is_none(), "{body:?}");
    assert!(body.frame().await.is_none(), "nothing after the cut");
    tokio::time::timeout(DEADLINE, chunks.closed())
        .await
        .unwrap_or_else(|_| panic!("the upstream still sends {DEADLINE:?} after the cut"));

    wait_until_empty(&table).await;
    assert_eq!(table.totals().terminated, 1, "{:?}", table.totals());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_terminated_before_the_head_resolves_as_a_made_up_response() {
    let table = support::table();
    let gate = Gate::new();
    let (addr, _chunks) = support::gated_upstream(&gate).await;
    let client = InFlightClientLayer::with_table(table.clone())
        .terminated_status(StatusCode::GATEWAY_TIMEOUT)
        .layer(client());
    let call = tokio::spawn(client.oneshot(get(format!("http://{addr}/blob"))));

    let id = call_showing(&table, "awaiting headers").await;
    table
        .terminate(id, Some("giving up".into()))
        .expect("the call is listed");
    let response = tokio::time::timeout(DEADLINE, call)
        .await
        .unwrap_or_else(|_| panic!("no response within {DEADLINE:?} of the termination"))
        .expect("the call task")
        .expect("a made-up response, not an error");
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        response
            .headers()
            .get(TERMINATED_HEADER)
            .map(|v| v.as_bytes()),
        Some(&b"giving up"[..])
    );
    let terminated = response
        .extensions()
        .get::<Terminated>()
        .expect("Terminated in the extensions");
    assert_eq!(terminated.id, id);
    assert_eq!(terminated.message.as_deref(), Some("giving up"));
    let body = response.into_body();
    assert!(body.get_ref().is_none(), "no upstream body: {body:?}");
    assert!(read_to_end(body).await.is_empty());

    wait_until_empty(&table).await;
    assert_eq!(table.totals().terminated, 1, "{:?}", table.totals());
}
