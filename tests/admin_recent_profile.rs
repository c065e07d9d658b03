//! `/recent` (finished requests per route, by latency bucket, and the errors) and
//! `/profile` (time per route and status, `?reset=true` starts a new window) after real
//! requests: fast, slow, failed, terminated, and outbound calls.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use inflight::admin::AdminServer;
use inflight::{InFlightClient, InFlightClientLayer};
use serde_json::Value;
use support::admin::{Http, serve_slow_upstream, start_admin, wait_for_listed};
use support::serve_tracked_router;
use tower::{Layer, ServiceExt};

#[derive(Clone)]
struct App {
    client: InFlightClient<Client<HttpConnector, Empty<Bytes>>>,
    upstream: SocketAddr,
}

async fn work(Path(ms): Path<u64>) -> &'static str {
    inflight::set_status("working");
    tokio::time::sleep(Duration::from_millis(ms)).await;
    inflight::set_status("rendering");
    "done"
}

async fn fail() -> (StatusCode, &'static str) {
    inflight::set_status("failing");
    (StatusCode::INTERNAL_SERVER_ERROR, "failed")
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(60)).await;
    "slept a minute"
}

async fn proxy(State(app): State<App>) -> String {
    let request = http::Request::get(format!("http://{}/quick", app.upstream))
        .body(Empty::new())
        .expect("valid request");
    match app.client.oneshot(request).await {
        Ok(response) => {
            let status = response.status();
            // Reading the body to its end finishes the outbound call.
            let _ = http_body_util::BodyExt::collect(response.into_body()).await;
            format!("upstream {status}")
        }
        Err(error) => format!("upstream failed: {error}"),
    }
}

fn family<'a>(report: &'a Value, direction: &str, name: &str) -> Option<&'a Value> {
    report["families"]
        .as_array()?
        .iter()
        .find(|family| family["direction"] == direction && family["name"] == name)
}

fn route<'a>(report: &'a Value, name: &str) -> Option<&'a Value> {
    report["routes"]
        .as_array()?
        .iter()
        .find(|route| route["direction"] == "inbound" && route["name"] == name)
}

fn status<'a>(route: &'a Value, name: &str) -> &'a Value {
    route["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .find(|status| status["status"] == name)
        .unwrap_or_else(|| panic!("no status {name:?} in {route}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_and_profile_after_real_requests() {
    let table = support::table();
    let upstream = serve_slow_upstream(Duration::ZERO).await;
    let app = App {
        client: InFlightClientLayer::with_table(table.clone())
            .layer(Client::builder(TokioExecutor::new()).build_http()),
        upstream,
    };
    let router = Router::new()
        .route("/work/{ms}", get(work))
        .route("/fail", get(fail))
        .route("/slow", get(slow))
        .route("/proxy", get(proxy))
        .with_state(app);
    let api = Http::new(serve_tracked_router(&table, router).await);
    let (_handle, admin) = start_admin(AdminServer::new(table.clone())).await;

    for path in ["/work/0", "/work/0", "/work/0", "/work/150"] {
        let answer = api.get(path).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
    assert_eq!(
        api.get("/fail").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(api.get("/proxy").await.text(), "upstream 200 OK");
    let slow_call = api.spawn_get("/slow");
    let slow_id = wait_for_listed(&admin, "", 1).await[0]["id"].clone();
    admin
        .delete(&format!("/requests/{slow_id}?message=too%20slow"))
        .await
        .expect(202);
    assert_eq!(
        slow_call.await.expect("request task").status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Requests end a moment after their client has the last byte.
    let recent = support::eventually("every request in /recent", || async {
        let recent = admin.get("/recent").await.expect(200);
        let done = ["/work/{ms}", "/fail", "/slow", "/proxy"]
            .iter()
            .map(|name| {
                family(&recent, "inbound", name).map_or(0, |f| f["finished"].as_u64().unwrap())
            })
            .collect::<Vec<_>>();
        let outbound = family(&recent, "outbound", &upstream.to_string())
            .map_or(0, |f| f["finished"].as_u64().unwrap());
        (done == [4, 1, 1, 1] && outbound == 1).then_some(recent)
    })
    .await;
    assert_eq!(recent["dropped"], 0);
    assert_eq!(recent["pid"], std::process::id());

    let work = family(&recent, "inbound", "/work/{ms}").unwrap();
    let buckets = work["buckets"].as_array().expect("buckets");
    let names: Vec<&str> = buckets
        .iter()
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "≥0s", "≥50ms", "≥100ms", "≥200ms", "≥500ms", "≥1s", "≥10s", "≥100s"
        ]
    );
    let all = buckets[0]["samples"].as_array().unwrap();
    assert_eq!(all.len(), 4, "{work}");
    // Newest first: the slow one came last.
    assert_eq!(all[0]["request"]["uri"], "/work/150");
    assert!(all[0]["duration_ms"].as_f64().unwrap() >= 150.0);
    // Each bucket holds exactly the samples at least that slow.
    for bucket in buckets {
        let min_ms = bucket["min_ms"].as_f64().unwrap();
        let expected: Vec<&Value> = all
            .iter()
            .filter(|sample| sample["duration_ms"].as_f64().unwrap() >= min_ms)
            .collect();
        let samples: Vec<&Value> = bucket["samples"].as_array().unwrap().iter().collect();
        assert_eq!(samples, expected, "bucket {}", bucket["bucket"]);
    }
    let hundred = buckets[2]["samples"].as_array().unwrap();
    assert!(
        hundred.iter().any(|s| s["request"]["uri"] == "/work/150"),
        "{work}"
    );
    assert_eq!(buckets[5]["samples"], serde_json::json!([]));
    for sample in all {
        assert_eq!(sample["ending"], "completed");
        assert_eq!(sample["request"]["response_status"], 200);
        assert!(sample["ended_at"].as_str().unwrap().ends_with('Z'));
        let history: Vec<&str> = sample["request"]["history"]
            .as_array()
            .expect("samples carry their history")
            .iter()
            .map(|change| change["status"].as_str().unwrap())
            .collect();
        assert_eq!(history[..3], ["in handler", "working", "rendering"]);
    }
    assert_eq!(work["errors"], serde_json::json!([]));

    // Errors: a 500, and a terminated request with its operator's message.
    let fail = family(&recent, "inbound", "/fail").unwrap();
    let errors = fail["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{fail}");
    assert_eq!(errors[0]["request"]["response_status"], 500);
    assert_eq!(errors[0]["ending"], "completed");
    let slow = family(&recent, "inbound", "/slow").unwrap();
    let errors = slow["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{slow}");
    assert_eq!(errors[0]["ending"], "terminated");
    assert_eq!(errors[0]["request"]["id"], slow_id);
    assert_eq!(errors[0]["request"]["control_message"], "too slow");
    // The outbound call, under its target.
    let outbound = family(&recent, "outbound", &upstream.to_string()).unwrap();
    let sample = &outbound["buckets"][0]["samples"][0];
    assert_eq!(sample["request"]["uri"], format!("http://{upstream}/quick"));
    assert_eq!(sample["request"]["direction"], "outbound");
    assert_eq!(sample["ending"], "completed");

    // The profile: time per route and status, largest first.
    let profile = admin.get("/profile").await.expect(200);
    assert!(profile["window_start"].as_str().unwrap().ends_with('Z'));
    let first_window = profile["window_seconds"].as_f64().unwrap();
    assert!(first_window > 0.0);
    let routes = profile["routes"].as_array().unwrap();
    let totals: Vec<f64> = routes
        .iter()
        .map(|r| r["total_ms"].as_f64().unwrap())
        .collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
    let work = route(&profile, "/work/{ms}").expect("the /work route");
    assert_eq!(work["requests"], 4);
    let working = status(work, "working");
    assert_eq!(working["count"], 4);
    assert!(working["total_ms"].as_f64().unwrap() >= 150.0, "{working}");
    assert!(working["max_ms"].as_f64().unwrap() >= 140.0, "{working}");
    assert!(working["p50_ms"].as_f64().unwrap() <= working["max_ms"].as_f64().unwrap());
    assert_eq!(status(work, "in handler")["count"], 4);
    assert_eq!(status(work, "rendering")["count"], 4);
    let statuses = work["statuses"].as_array().unwrap();
    assert!(
        statuses
            .windows(2)
            .all(|w| w[0]["total_ms"].as_f64() >= w[1]["total_ms"].as_f64()),
        "{work}"
    );
    assert_eq!(route(&profile, "/slow").expect("/slow")["requests"], 1);
    assert_eq!(
        status(route(&profile, "/fail").unwrap(), "failing")["count"],
        1
    );

    // reset=true answers with the window it closes, then starts a new one.
    let closed = admin.get("/profile?reset=true").await.expect(200);
    assert_eq!(route(&closed, "/work/{ms}").unwrap()["requests"], 4);
    let fresh = admin.get("/profile").await.expect(200);
    assert_eq!(fresh["routes"], serde_json::json!([]), "{fresh}");
    assert!(fresh["window_seconds"].as_f64().unwrap() < closed["window_seconds"].as_f64().unwrap());
    assert!(fresh["window_start"].as_str() >= closed["window_start"].as_str());
    let same = admin.get("/profile?reset=false").await.expect(200);
    assert_eq!(same["window_start"], fresh["window_start"]);

    assert_eq!(api.get("/work/0").await.status, StatusCode::OK);
    let next = support::eventually("the new request in the profile", || async {
        let profile = admin.get("/profile").await.expect(200);
        route(&profile, "/work/{ms}").is_some().then_some(profile)
    })
    .await;
    assert_eq!(route(&next, "/work/{ms}").unwrap()["requests"], 1);
    assert_eq!(route(&next, "/slow"), None);
    // /recent keeps its history across profile windows.
    let recent = admin.get("/recent").await.expect(200);
    assert_eq!(
        family(&recent, "inbound", "/work/{ms}").unwrap()["finished"],
        5
    );
}
