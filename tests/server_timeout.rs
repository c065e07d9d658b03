//! tower-http's `TimeoutLayer` and `InFlightLayer` stack in both orders on an axum server.
//! With the timeout outside, a request that times out is dropped and ends in the table as
//! dropped early; with it inside, `InFlightLayer` sees the timeout's 408 and the request
//! ends as completed. A fast request completes either way.

mod support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use http::StatusCode;
use inflight::{InFlightLayer, Table, Totals};
use support::{client, get as request, read_to_end, serve_axum, wait_until_empty};
use tower_http::timeout::TimeoutLayer;

/// Long enough for the fast route on a loaded machine, short enough to wait for.
const TIMEOUT: Duration = Duration::from_secs(1);

fn router() -> Router {
    Router::new()
        .route("/slow", get(std::future::pending::<&'static str>))
        .route("/fast", get(|| async { "fast\n" }))
}

fn timeout() -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, TIMEOUT)
}

/// `(completed, dropped_early)` of `table`'s totals.
fn ended(table: &Table) -> (u64, u64) {
    let Totals {
        completed,
        dropped_early,
        ..
    } = table.totals();
    (completed, dropped_early)
}

/// Sends `/slow` then `/fast` to `app`; returns the table's `(completed, dropped_early)`
/// after each.
async fn slow_then_fast(table: &Table, app: Router) -> [(u64, u64); 2] {
    let addr = serve_axum(app).await;
    let slow = client()
        .request(request(format!("http://{addr}/slow")))
        .await
        .expect("a response");
    assert_eq!(slow.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(read_to_end(slow.into_body()).await.is_empty());
    wait_until_empty(table).await;
    let after_slow = ended(table);

    let fast = client()
        .request(request(format!("http://{addr}/fast")))
        .await
        .expect("a response");
    assert_eq!(fast.status(), StatusCode::OK);
    assert_eq!(read_to_end(fast.into_body()).await, "fast\n");
    wait_until_empty(table).await;
    [after_slow, ended(table)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_outside_drops_the_request() {
    let table = support::table();
    let app = router()
        .layer(InFlightLayer::with_table(table.clone()))
        .layer(timeout());
    let [after_slow, after_fast] = slow_then_fast(&table, app).await;
    assert_eq!(after_slow, (0, 1), "the slow request was dropped early");
    assert_eq!(after_fast, (1, 1), "the fast request completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_inside_completes_the_request_with_its_408() {
    let table = support::table();
    let app = router()
        .layer(timeout())
        .layer(InFlightLayer::with_table(table.clone()));
    let [after_slow, after_fast] = slow_then_fast(&table, app).await;
    assert_eq!(after_slow, (1, 0), "the 408 completed the slow request");
    assert_eq!(after_fast, (2, 0), "the fast request completed");
}
