//! The read endpoints of the admin port against a live service with slow requests in
//! flight: `/requests` and every filter, `/requests/{id}` with its history, `/dump` and
//! `/openapi.json`.

mod support;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{any, get};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use inflight::admin::AdminServer;
use inflight::{InFlightClient, InFlightClientLayer};
use serde_json::Value;
use support::admin::{Http, serve_slow_upstream, start_admin, wait_for_listed};
use support::{Gate, serve_tracked_router};
use tower::{Layer, ServiceExt};

#[derive(Clone)]
struct App {
    gate: Gate,
    client: InFlightClient<Client<HttpConnector, Empty<Bytes>>>,
    upstream: SocketAddr,
}

/// Any method: two statuses, then waits for the gate.
async fn hold(State(app): State<App>, Path(name): Path<String>) -> String {
    inflight::set_status(format!("loading {name}"));
    inflight::set_status(format!("waiting on {name}"));
    app.gate.wait().await;
    format!("held {name}")
}

/// Calls the upstream through the tracked client: the request waits on a child call.
async fn call(State(app): State<App>, Path(name): Path<String>) -> String {
    let request = http::Request::get(format!("http://{}/data/{name}", app.upstream))
        .body(Empty::new())
        .expect("valid request");
    match app.client.oneshot(request).await {
        Ok(response) => format!("upstream said {}", response.status()),
        Err(error) => format!("upstream failed: {error}"),
    }
}

const NONE: [u64; 0] = [];

fn ids(requests: &[Value]) -> Vec<u64> {
    requests
        .iter()
        .map(|request| request["id"].as_u64().expect("numeric id"))
        .collect()
}

async fn listed(admin: &Http, query: &str) -> Vec<u64> {
    let answer = admin.get(&format!("/requests?{query}")).await;
    let list = answer.expect(200);
    ids(list["requests"].as_array().expect("requests array"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filters_and_shows_requests_in_flight() {
    let table = support::table();
    let upstream = serve_slow_upstream(std::time::Duration::from_secs(60)).await;
    let gate = Gate::new();
    let app = App {
        gate: gate.clone(),
        client: InFlightClientLayer::with_table(table.clone())
            .layer(Client::builder(TokioExecutor::new()).build_http()),
        upstream,
    };
    let router = Router::new()
        .route("/hold/{name}", any(hold))
        .route("/call/{name}", get(call))
        .with_state(app);
    let api = Http::new(serve_tracked_router(&table, router).await);
    let (_handle, admin) = start_admin(AdminServer::new(table.clone()).host_name("testhost")).await;

    // Nothing in flight yet.
    let empty = admin.get("/requests").await.expect(200);
    assert_eq!(empty["requests"], serde_json::json!([]));

    // A first, and old enough for min_age=2s; then B, C (with its outbound child) and D.
    let a_call = api.spawn(Method::GET, "/hold/alpha");
    let a = wait_for_listed(&admin, "", 1).await[0]["id"]
        .as_u64()
        .unwrap();
    support::eventually("#A to be 2s old", || async {
        let answer = admin.get(&format!("/requests/{a}")).await.expect(200);
        (answer["request"]["elapsed_ms"].as_f64().unwrap() >= 2100.0).then_some(())
    })
    .await;
    let b_call = api.spawn(Method::POST, "/hold/beta");
    wait_for_listed(&admin, "", 2).await;
    let _c_call = api.spawn(Method::GET, "/call/gamma");
    wait_for_listed(&admin, "", 4).await;
    let d_call = api.spawn(Method::DELETE, "/hold/delta");
    let all = wait_for_listed(&admin, "", 5).await;

    // min_age first, while B, C and D are young.
    let old = admin.get("/requests?min_age=2s").await.expect(200);
    let old = old["requests"].as_array().unwrap();
    assert_eq!(ids(old), [a], "{old:?}");
    assert!(old[0]["elapsed_ms"].as_f64().unwrap() >= 2000.0);
    assert_eq!(listed(&admin, "min_age=1h").await, NONE);
    assert_eq!(listed(&admin, "min_age=0").await.len(), 5);

    // Oldest first: A, B, C, C's child, D.
    let [b, c, child, d] = [1, 2, 3, 4].map(|i| all[i]["id"].as_u64().unwrap());
    assert_eq!(ids(&all)[0], a);
    let by_id = |id: u64| all.iter().find(|r| r["id"] == id).unwrap().clone();
    for (id, method, uri) in [
        (a, "GET", "/hold/alpha"),
        (b, "POST", "/hold/beta"),
        (c, "GET", "/call/gamma"),
        (d, "DELETE", "/hold/delta"),
    ] {
        let request = by_id(id);
        assert_eq!(request["direction"], "inbound", "{request}");
        assert_eq!(request["method"], method, "{request}");
        assert_eq!(request["uri"], uri, "{request}");
        assert_eq!(request["version"], "HTTP/1.1", "{request}");
        assert!(request["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
        assert!(
            request.get("history").is_none(),
            "lists leave history out: {request}"
        );
    }
    let outbound = by_id(child);
    assert_eq!(outbound["direction"], "outbound");
    assert_eq!(outbound["uri"], format!("http://{upstream}/data/gamma"));
    assert_eq!(outbound["parent"], c);
    assert_eq!(outbound["status"], "awaiting headers");
    assert_eq!(by_id(c)["children"], serde_json::json!([child]));
    assert_eq!(by_id(c)["status"], format!("awaiting {upstream}"));
    assert_eq!(by_id(a)["status"], "waiting on alpha");
    assert_eq!(by_id(a)["route"], "/hold/{name}");

    let list = admin.get("/requests").await.expect(200);
    assert_eq!(list["host"], "testhost");
    assert_eq!(list["pid"], std::process::id());
    assert!(list["server_time"].as_str().unwrap().ends_with('Z'));
    assert!(list["service"].is_string());

    // direction
    assert_eq!(listed(&admin, "direction=inbound").await, [a, b, c, d]);
    assert_eq!(listed(&admin, "direction=in").await, [a, b, c, d]);
    assert_eq!(listed(&admin, "direction=outbound").await, [child]);
    assert_eq!(listed(&admin, "direction=out").await, [child]);
    // status: a case-insensitive substring
    assert_eq!(listed(&admin, "status=WAITING%20ON").await, [a, b, d]);
    assert_eq!(listed(&admin, "status=waiting+on+b").await, [b]);
    assert_eq!(listed(&admin, "status=awaiting").await, [c, child]);
    assert_eq!(
        listed(&admin, "status=awaiting&direction=inbound").await,
        [c]
    );
    assert_eq!(listed(&admin, "status=nothing-like-this").await, NONE);
    // route: the pattern, exactly
    assert_eq!(
        listed(&admin, "route=%2Fhold%2F%7Bname%7D").await,
        [a, b, d]
    );
    assert_eq!(listed(&admin, "route=%2Fcall%2F%7Bname%7D").await, [c]);
    assert_eq!(listed(&admin, "route=%2Fhold").await, NONE);
    // sort: stable, so ties stay oldest first
    assert_eq!(listed(&admin, "sort=age").await, [a, b, c, child, d]);
    assert_eq!(
        listed(&admin, "sort=method&direction=inbound").await,
        [d, a, c, b]
    );
    assert_eq!(
        listed(&admin, "sort=status&direction=inbound").await,
        [c, a, b, d]
    );
    // limit: after the sort
    assert_eq!(listed(&admin, "limit=2").await, [a, b]);
    assert_eq!(listed(&admin, "limit=1000000").await.len(), 5);
    assert_eq!(
        listed(&admin, "limit=1&sort=method&direction=inbound").await,
        [d]
    );
    assert_eq!(
        listed(
            &admin,
            "direction=inbound&status=waiting&sort=method&limit=2"
        )
        .await,
        [d, a]
    );

    // One request, with its history.
    let one = admin.get(&format!("/requests/{a}")).await.expect(200);
    assert_eq!(one["host"], "testhost");
    let request = &one["request"];
    assert_eq!(request["id"], a);
    assert_eq!(request["status"], "waiting on alpha");
    let history: Vec<&str> = request["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|change| change["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["in handler", "loading alpha", "waiting on alpha"]);
    let offsets: Vec<f64> = request["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["offset_ms"].as_f64().unwrap())
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "{offsets:?}");
    assert!(request["history"][2]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(request["history_dropped"], 0);
    let child_one = admin.get(&format!("/requests/{child}")).await.expect(200);
    assert_eq!(child_one["request"]["parent"], c);
    assert_eq!(
        child_one["request"]["history"][0]["status"],
        "awaiting headers"
    );

    // HEAD answers like GET, without a body.
    let head = admin
        .send(Method::HEAD, "/requests", &[], Bytes::new())
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());

    // The text dump: counts, one line per request, the child under its parent.
    let dump = admin.get("/dump").await;
    assert_eq!(dump.status, StatusCode::OK);
    assert_eq!(
        dump.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let text = dump.text();
    assert!(
        text.starts_with("inflight: 4 inbound, 1 outbound in flight"),
        "{text}"
    );
    assert!(
        text.contains(&format!("#{a} servicing GET \"/hold/alpha\" for ")),
        "{text}"
    );
    assert!(text.contains("[waiting on alpha"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let parent_line = lines
        .iter()
        .position(|line| line.trim_start().starts_with(&format!("#{c} ")))
        .unwrap_or_else(|| panic!("no line for #{c}:\n{text}"));
    let next = lines[parent_line + 1];
    assert!(
        next.trim_start()
            .starts_with(&format!("#{child} servicing GET \"http://")),
        "{text}"
    );
    let indent = |line: &str| line.len() - line.trim_start().len();
    assert!(indent(next) > indent(lines[parent_line]), "{text}");

    // The OpenAPI description, as compiled in.
    let openapi = admin.get("/openapi.json").await;
    assert_eq!(openapi.status, StatusCode::OK);
    assert_eq!(openapi.header("content-type"), Some("application/json"));
    assert_eq!(openapi.text(), inflight::admin::OPENAPI);
    assert_eq!(openapi.json()["openapi"], "3.0.3");

    // Once the held requests finish, the list says so.
    gate.open();
    for (call, name) in [(a_call, "alpha"), (b_call, "beta"), (d_call, "delta")] {
        let answer = call.await.expect("request task");
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.text(), format!("held {name}"));
    }
    assert_eq!(listed(&admin, "").await, [c, child]);
    assert_eq!(
        admin.get(&format!("/requests/{a}")).await.expect_error(404),
        format!("no request #{a} is in flight")
    );
}
