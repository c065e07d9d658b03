//! `/healthz` turns from free (200) to busy (503 `{"state":"busy"}`) by the configured
//! rules, and `on_busy_change` fires once per transition.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::StatusCode;
use inflight::admin::{AdminServer, BuildInfo};
use serde_json::Value;
use support::admin::{Http, start_admin, wait_for_listed};
use support::{Gate, serve_tracked_router};

async fn held(State(gate): State<Gate>) -> &'static str {
    gate.wait().await;
    "released"
}

type Transitions = Arc<Mutex<Vec<bool>>>;

/// A service whose `/held` requests wait for the gate, and its admin port configured by
/// `configure`, with busy transitions recorded.
async fn service(
    configure: impl FnOnce(AdminServer) -> AdminServer,
) -> (Http, Http, Gate, Transitions, inflight::admin::AdminHandle) {
    let table = support::table();
    let gate = Gate::new();
    let router = Router::new()
        .route("/held", get(held))
        .with_state(gate.clone());
    let api = Http::new(serve_tracked_router(&table, router).await);
    let transitions = Transitions::default();
    let seen = transitions.clone();
    let server = configure(AdminServer::new(table))
        .on_busy_change(move |busy| seen.lock().expect("transitions lock").push(busy));
    let (handle, admin) = start_admin(server).await;
    (api, admin, gate, transitions, handle)
}

fn transitions(seen: &Transitions) -> Vec<bool> {
    seen.lock().expect("transitions lock").clone()
}

async fn health(admin: &Http) -> (StatusCode, Value) {
    let answer = admin.get("/healthz").await;
    assert_eq!(answer.header("content-type"), Some("application/json"));
    (answer.status, answer.json())
}

async fn wait_for_state(admin: &Http, state: &str) -> Value {
    support::eventually(&format!("/healthz to say {state}"), || async {
        let (status, report) = health(admin).await;
        if report["state"] != state {
            return None;
        }
        let expected = if state == "busy" {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "{report}");
        Some(report)
    })
    .await
}

/// No transition is reported twice, however often health is read (by `/healthz` and by
/// the admin server's own periodic reading).
async fn assert_transitions_stay(admin: &Http, seen: &Transitions, expected: &[bool]) {
    for _ in 0..5 {
        health(admin).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(transitions(seen), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_when_more_inbound_requests_than_the_limit() {
    let before_start = std::time::Instant::now();
    let (api, admin, gate, seen, _handle) = service(|server| {
        server
            .busy_when_inbound_above(1)
            .build_info(BuildInfo::new("health-test", "1.2.3").git_commit("abc123"))
    })
    .await;

    let (status, free) = health(&admin).await;
    assert_eq!(status, StatusCode::OK, "{free}");
    assert_eq!(free["state"], "free");
    assert_eq!(free["reasons"], serde_json::json!([]));
    assert_eq!(free["service"], "health-test");
    assert_eq!(free["version"], "1.2.3");
    assert_eq!(free["git_commit"], "abc123");
    assert!(
        free["rustc"].as_str().unwrap().starts_with("rustc "),
        "{free}"
    );
    // Up since this test started it, and not a moment longer.
    let uptime = free["uptime_seconds"].as_f64().unwrap();
    assert!(
        uptime > 0.0 && uptime <= before_start.elapsed().as_secs_f64(),
        "uptime {uptime}s, the test started {:?} ago",
        before_start.elapsed()
    );
    assert_eq!(free["inbound"], 0);
    assert_eq!(free["outbound"], 0);
    assert_eq!(free["oldest_inbound_ms"], Value::Null);
    assert_eq!(free["pid"], std::process::id());

    // One request is not above the limit of one.
    let first = api.spawn_get("/held");
    wait_for_listed(&admin, "", 1).await;
    let (status, report) = health(&admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inbound"], 1);
    // No rule needs the oldest request's age, so the table is not walked for it.
    assert_eq!(report["oldest_inbound_ms"], Value::Null, "{report}");
    assert_eq!(transitions(&seen), Vec::<bool>::new());

    // Two are.
    let second = api.spawn_get("/held");
    let busy = wait_for_state(&admin, "busy").await;
    assert_eq!(busy["inbound"], 2);
    assert_eq!(
        busy["reasons"],
        serde_json::json!(["2 inbound requests in flight, more than 1"])
    );
    assert_transitions_stay(&admin, &seen, &[true]).await;

    gate.open();
    for call in [first, second] {
        assert_eq!(call.await.expect("request task").text(), "released");
    }
    let free = wait_for_state(&admin, "free").await;
    assert_eq!(free["reasons"], serde_json::json!([]));
    assert_transitions_stay(&admin, &seen, &[true, false]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_when_the_oldest_inbound_request_is_too_old() {
    let (api, admin, gate, seen, _handle) =
        service(|server| server.busy_when_oldest_inbound_above(Duration::from_millis(300))).await;
    let (status, _) = health(&admin).await;
    assert_eq!(status, StatusCode::OK);

    let call = api.spawn_get("/held");
    let busy = wait_for_state(&admin, "busy").await;
    assert!(
        busy["oldest_inbound_ms"].as_f64().unwrap() > 300.0,
        "{busy}"
    );
    let reasons = busy["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{busy}");
    let reason = reasons[0].as_str().unwrap();
    assert!(
        reason.starts_with("the oldest inbound request is ")
            && reason.ends_with("older than 0.30s"),
        "{reason}"
    );
    assert_transitions_stay(&admin, &seen, &[true]).await;

    gate.open();
    assert_eq!(call.await.expect("request task").status, StatusCode::OK);
    wait_for_state(&admin, "free").await;
    assert_transitions_stay(&admin, &seen, &[true, false]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rules_the_service_is_always_free() {
    let (api, admin, gate, seen, _handle) = service(|server| server).await;
    let calls: Vec<_> = (0..5).map(|_| api.spawn_get("/held")).collect();
    wait_for_listed(&admin, "", 5).await;
    let (status, report) = health(&admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["state"], "free");
    assert_eq!(report["inbound"], 5);
    gate.open();
    for call in calls {
        assert_eq!(call.await.expect("request task").status, StatusCode::OK);
    }
    assert_eq!(transitions(&seen), Vec::<bool>::new());
}

/// Dropping the handle leaves the server running; only `shutdown` stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_handle_leaves_the_server_running_and_shutdown_stops_it() {
    let (handle, admin) = start_admin(AdminServer::new(support::table())).await;
    let addr = handle.local_addr();
    drop(handle);
    // Long after the drop, and on fresh connections, it still answers.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, report) = health(&Http::new(addr)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
    }
    assert_eq!(health(&admin).await.0, StatusCode::OK);

    let (handle, admin) = start_admin(AdminServer::new(support::table())).await;
    let addr = handle.local_addr();
    assert_eq!(health(&admin).await.0, StatusCode::OK);
    handle.shutdown();
    handle.await.expect("the server stops cleanly");
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "still listening after shutdown");
}
