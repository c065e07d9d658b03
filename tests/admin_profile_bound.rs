//! Handlers can make up any number of statuses (`set_status(format!(...))`); `/profile`
//! and `/recent` must stay within their stated memory bound anyway. A million distinct
//! statuses over a hundred routes go through a real admin server, and the process grows
//! by no more than the bound.

mod support;

use std::collections::HashSet;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use http::Request;
use http_body_util::BodyExt;
use inflight::admin::AdminServer;
use support::admin::start_admin;
use tower::ServiceExt;

const REQUESTS: u64 = 20_000;
const STATUSES_PER_REQUEST: u64 = 50;
const ROUTES: u64 = 100;
/// The profile keeps at most this many distinct statuses across routes (and one
/// `(other)` per route); see `crates/inflight-admin/src/profile.rs`.
const MAX_STATUSES: usize = 1024;
/// What `/profile` (≈ 19 MiB at most) and `/recent` may add to the process, with room
/// for the allocator. Without the caps, a million statuses take gigabytes.
const BOUND_BYTES: u64 = 96 << 20;

async fn steps(Path(n): Path<u64>) -> &'static str {
    inflight::set_route(format!("/steps/{}", n % ROUTES));
    for k in 0..STATUSES_PER_REQUEST {
        inflight::set_status(format!("step {n}.{k}"));
    }
    "done"
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("resident pages");
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_distinct_statuses_stay_within_the_bound() {
    let table = inflight::Table::builder().history_limit(64).build();
    let (_admin, api) = start_admin(AdminServer::new(table.clone()).stuck_after(None)).await;
    let app = Router::new()
        .route("/steps/{n}", get(steps))
        .layer(inflight::InFlightLayer::with_table(table.clone()));

    let before = resident_bytes();
    for n in 0..REQUESTS {
        let response = app
            .clone()
            .oneshot(
                Request::get(format!("/steps/{n}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        response.into_body().collect().await.unwrap();
        // Aggregate as we go, well before a shard's queue of ended requests is full.
        if n % 1000 == 999 {
            api.get("/profile").await.expect(200);
        }
    }
    let profile = api.get("/profile").await.expect(200);
    let recent = api.get("/recent").await.expect(200);
    let after = resident_bytes();

    assert_eq!(recent["dropped"], 0, "every request was aggregated");
    let routes = profile["routes"].as_array().expect("routes");
    let requests: u64 = routes
        .iter()
        .map(|route| route["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(requests, REQUESTS);
    let mut distinct = HashSet::new();
    let mut other = 0;
    for route in routes {
        for status in route["statuses"].as_array().expect("statuses") {
            let name = status["status"].as_str().unwrap();
            if name == "(other)" {
                other += 1;
            } else {
                distinct.insert(format!("{}:{name}", route["name"]));
            }
        }
    }
    assert!(
        distinct.len() <= MAX_STATUSES,
        "{} statuses kept",
        distinct.len()
    );
    assert!(other > 0, "statuses past the cap are counted under (other)");
    let grown = after.saturating_sub(before);
    println!(
        "resident before {} MiB, after {} MiB, grown {} MiB, bound {} MiB",
        before >> 20,
        after >> 20,
        grown >> 20,
        BOUND_BYTES >> 20
    );
    assert!(
        grown <= BOUND_BYTES,
        "the process grew by {} MiB, more than the {} MiB bound",
        grown >> 20,
        BOUND_BYTES >> 20
    );
}
