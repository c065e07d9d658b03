//! What a table keeps of ended requests under load, over real sockets: errors,
//! terminated, dropped-early and slow requests always; of the rest a sample chosen by
//! trace id, the same one in every service a trace goes through.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use inflight::admin::AdminServer;
use inflight::{InFlightClient, InFlightClientLayer, Table};
use serde_json::Value;
use support::admin::{Http, start_admin, wait_for_listed};
use support::serve_tracked_router;
use tower::{Layer, ServiceExt};

fn traceparent(n: u64) -> (String, String) {
    let trace = format!("{n:032x}");
    // The last seven bytes are what the sample is chosen by: spread them.
    let trace = format!(
        "{}{:014x}",
        &trace[..18],
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 8
    );
    (format!("00-{trace}-00f067aa0ba902b7-01"), trace)
}

async fn handler(Path(kind): Path<String>) -> (StatusCode, &'static str) {
    match kind.as_str() {
        "fail" => (StatusCode::INTERNAL_SERVER_ERROR, "failed"),
        "slow" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            (StatusCode::OK, "slow")
        }
        "hold" => {
            inflight::set_status("held until terminated");
            std::future::pending::<()>().await;
            (StatusCode::OK, "never")
        }
        _ => (StatusCode::OK, "fast"),
    }
}

/// `GET /r/hold` in its trace, in flight until terminated or dropped.
fn hold(api: &Http, traceparent: String) -> tokio::task::JoinHandle<support::admin::Answer> {
    let api = api.clone();
    tokio::spawn(async move {
        api.send(
            Method::GET,
            "/r/hold",
            &[("traceparent", &traceparent)],
            Bytes::new(),
        )
        .await
    })
}

async fn finished_of(admin: &Http, trace: &str) -> Vec<Value> {
    let answer = admin.get(&format!("/traces/{trace}")).await.expect(200);
    answer["finished"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_terminated_dropped_and_slow_requests_are_always_kept_under_load() {
    // Keep at most 20 a second of the rest: far fewer than the load below.
    let table = Table::builder()
        .keep_rate(20)
        .slow_at_least(Duration::from_millis(100))
        .build();
    let router = Router::new().route("/r/{kind}", get(handler));
    let api = Http::new(serve_tracked_router(&table, router).await);
    let (_admin, admin) = start_admin(AdminServer::new(table.clone())).await;

    let mut special: Vec<(String, &str)> = Vec::new();
    let mut n = 0u64;
    for _ in 0..6 {
        // A burst of fast requests, 8 at a time, with the ones that must be kept in it.
        let mut fast = Vec::new();
        for _ in 0..400 {
            n += 1;
            let (header, _) = traceparent(n);
            let api = api.clone();
            fast.push(tokio::spawn(async move {
                api.send(
                    Method::GET,
                    "/r/fast",
                    &[("traceparent", &header)],
                    Bytes::new(),
                )
                .await
                .status
            }));
            if fast.len() == 8 {
                for request in fast.drain(..) {
                    assert_eq!(request.await.unwrap(), StatusCode::OK);
                }
            }
        }
        for kind in ["fail", "slow"] {
            n += 1;
            let (header, trace) = traceparent(n);
            let answer = api
                .send(
                    Method::GET,
                    &format!("/r/{kind}"),
                    &[("traceparent", &header)],
                    Bytes::new(),
                )
                .await;
            assert_eq!(answer.status != StatusCode::OK, kind == "fail");
            special.push((trace, kind));
        }
        // Terminated by an operator.
        n += 1;
        let (header, trace) = traceparent(n);
        let held = hold(&api, header);
        wait_for_listed(&admin, "direction=inbound", 1).await;
        let listed = admin.get("/requests?direction=inbound").await.expect(200);
        let id = listed["requests"][0]["id"].as_u64().unwrap();
        admin
            .send(
                Method::DELETE,
                &format!("/requests/{id}"),
                &[],
                Bytes::new(),
            )
            .await
            .expect(202);
        assert_eq!(held.await.unwrap().status, StatusCode::SERVICE_UNAVAILABLE);
        special.push((trace, "terminated"));
        // Dropped early: the client goes away before the answer.
        n += 1;
        let (header, trace) = traceparent(n);
        let gone = hold(&api, header);
        wait_for_listed(&admin, "direction=inbound", 1).await;
        gone.abort();
        let _ = gone.await;
        wait_for_listed(&admin, "direction=inbound", 0).await;
        special.push((trace, "dropped_early"));
    }

    for (trace, kind) in &special {
        let finished = finished_of(&admin, trace).await;
        assert_eq!(finished.len(), 1, "the {kind} request of {trace} is kept");
        let hop = &finished[0];
        match *kind {
            "fail" => assert_eq!(hop["request"]["response_status"], 500, "{hop}"),
            "slow" => assert!(hop["duration_ms"].as_f64().unwrap() >= 300.0, "{hop}"),
            ending => {
                assert_eq!(hop["ending"], ending, "{hop}");
                // Kept whole, with its history.
                let history = hop["request"]["history"].as_array().unwrap();
                assert!(
                    history
                        .iter()
                        .any(|change| change["status"] == "held until terminated"),
                    "{hop}"
                );
            }
        }
    }
    // The fast ones were sampled: counted, but not all kept.
    let recent = admin.get("/recent").await.expect(200);
    let ended = recent["ended"].as_u64().unwrap();
    let kept = recent["kept"].as_u64().unwrap();
    assert_eq!(ended, n, "{recent}");
    assert!(kept >= special.len() as u64, "{recent}");
    assert!(kept < ended / 2, "kept {kept} of {ended}: not sampled");
    let family = recent["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|family| family["name"] == "/r/{kind}")
        .expect("the route's family");
    assert_eq!(family["finished"], n, "counts are exact: {family}");
    let errors = family["errors"].as_array().unwrap();
    assert!(errors.len() >= 10, "{family}");
}

#[derive(Clone)]
struct Front {
    client: InFlightClient<Client<HttpConnector, Empty<Bytes>>>,
    back: SocketAddr,
}

async fn call(State(front): State<Front>) -> String {
    let request = http::Request::get(format!("http://{}/leaf", front.back))
        .body(Empty::new())
        .expect("valid request");
    match front.client.oneshot(request).await {
        Ok(response) => match response.into_body().collect().await {
            Ok(_) => "called".to_owned(),
            Err(error) => format!("back's body failed: {error}"),
        },
        Err(error) => format!("back failed: {error}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_keep_the_same_sampled_traces() {
    // Both sample a quarter of their traces, and nothing is slow enough to be kept
    // for it: only the sample decides.
    let build = || {
        Table::builder()
            .keep_fraction(0.25)
            .slow_at_least(Duration::from_secs(3600))
            .build()
    };
    let back_table = build();
    let back_router = Router::new().route("/leaf", get(|| async { "leaf" }));
    let back = serve_tracked_router(&back_table, back_router).await;
    let front_table = build();
    let front = Front {
        client: InFlightClientLayer::with_table(front_table.clone())
            .layer(Client::builder(TokioExecutor::new()).build_http()),
        back,
    };
    let front_router = Router::new().route("/call", get(call)).with_state(front);
    let api = Http::new(serve_tracked_router(&front_table, front_router).await);
    let (_front_admin, front_admin) = start_admin(AdminServer::new(front_table)).await;
    let (_back_admin, back_admin) = start_admin(AdminServer::new(back_table)).await;

    // The front starts each trace: its ids are its own random ones.
    const REQUESTS: usize = 200;
    for _ in 0..REQUESTS {
        assert_eq!(api.get("/call").await.text(), "called");
    }
    wait_for_listed(&front_admin, "", 0).await;
    wait_for_listed(&back_admin, "", 0).await;
    let front_recent = front_admin.get("/recent").await.expect(200);
    let back_recent = back_admin.get("/recent").await.expect(200);
    let counts = |recent: &Value| {
        (
            recent["ended"].as_u64().unwrap(),
            recent["kept"].as_u64().unwrap(),
        )
    };
    let (front_ended, front_kept) = counts(&front_recent);
    let (back_ended, back_kept) = counts(&back_recent);
    // The front has each inbound request and its call, the back each inbound request.
    assert_eq!(front_ended, 2 * REQUESTS as u64);
    assert_eq!(back_ended, REQUESTS as u64);
    assert!(
        back_kept > 0 && back_kept < REQUESTS as u64 / 2,
        "{back_kept}"
    );
    assert_eq!(
        front_kept,
        2 * back_kept,
        "front {front_kept}, back {back_kept}"
    );

    // Trace by trace: the front keeps a trace exactly when the back does.
    let listed = front_admin.get("/recent").await.expect(200);
    let mut traces: HashSet<String> = HashSet::new();
    for family in listed["families"].as_array().unwrap() {
        for bucket in family["buckets"].as_array().unwrap() {
            for sample in bucket["samples"].as_array().unwrap() {
                traces.insert(sample["request"]["trace_id"].as_str().unwrap().to_owned());
            }
        }
    }
    assert!(!traces.is_empty());
    for trace in &traces {
        let front = finished_of(&front_admin, trace).await;
        let back = finished_of(&back_admin, trace).await;
        assert_eq!(front.len(), 2, "front keeps both hops of {trace}");
        assert_eq!(back.len(), 1, "back keeps {trace} too");
    }
}
