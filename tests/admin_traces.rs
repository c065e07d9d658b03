//! `GET /traces/{id}` and `GET /requests?trace=` on two real services chained over
//! loopback with real `traceparent` headers: what each has in flight of a trace, what it
//! finished recently, bad and unknown ids, and the bounds of the table's kept records.

mod support;

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
use inflight::admin::{AdminHandle, AdminServer};
use inflight::{InFlightClient, InFlightClientLayer, TableBuilder};
use serde_json::Value;
use support::admin::{Http, start_admin, wait_for_listed};
use support::{Gate, serve_tracked_router};
use tower::{Layer, ServiceExt};

/// The example of the W3C recommendation, as OpenTelemetry services send it.
const KNOWN: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const KNOWN_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const KNOWN_SPAN: &str = "00f067aa0ba902b7";

/// The back service: `/leaf/held` waits for the gate, any other name answers at once.
async fn leaf(State(gate): State<Gate>, Path(name): Path<String>) -> String {
    if name == "held" {
        inflight::set_status("waiting on the gate");
        gate.wait().await;
    }
    format!("leaf {name}")
}

#[derive(Clone)]
struct Front {
    client: InFlightClient<Client<HttpConnector, Empty<Bytes>>>,
    back: SocketAddr,
}

/// The front service: calls the back service's `/leaf/{name}` through a tracked client
/// and reads the answer to its end, so the call completes.
async fn call(State(front): State<Front>, Path(name): Path<String>) -> String {
    let request = http::Request::get(format!("http://{}/leaf/{name}", front.back))
        .body(Empty::new())
        .expect("valid request");
    match front.client.oneshot(request).await {
        Ok(response) => {
            let status = response.status();
            match response.into_body().collect().await {
                Ok(_) => format!("back said {status}"),
                Err(error) => format!("back's body failed: {error}"),
            }
        }
        Err(error) => format!("back failed: {error}"),
    }
}

struct Chain {
    front: Http,
    front_admin: Http,
    back_admin: Http,
    gate: Gate,
    _admins: [AdminHandle; 2],
}

/// Two services, each with its own table and admin port: front calls back.
async fn chain(configure: impl Fn(AdminServer) -> AdminServer) -> Chain {
    chain_of(|table| table, configure).await
}

/// Like [`chain`], with tables built by `table`.
async fn chain_of(
    table: impl Fn(TableBuilder) -> TableBuilder,
    configure: impl Fn(AdminServer) -> AdminServer,
) -> Chain {
    let build =
        || table(inflight::Table::builder().not_reading_after(Duration::from_secs(3600))).build();
    let gate = Gate::new();
    let back_table = build();
    let back_router = Router::new()
        .route("/leaf/{name}", get(leaf))
        .with_state(gate.clone());
    let back = serve_tracked_router(&back_table, back_router).await;
    let front_table = build();
    let front = Front {
        client: InFlightClientLayer::with_table(front_table.clone())
            .layer(Client::builder(TokioExecutor::new()).build_http()),
        back,
    };
    let front_router = Router::new()
        .route("/call/{name}", get(call))
        .with_state(front);
    let front = Http::new(serve_tracked_router(&front_table, front_router).await);
    let (front_handle, front_admin) =
        start_admin(configure(AdminServer::new(front_table).host_name("front"))).await;
    let (back_handle, back_admin) =
        start_admin(configure(AdminServer::new(back_table).host_name("back"))).await;
    Chain {
        front,
        front_admin,
        back_admin,
        gate,
        _admins: [front_handle, back_handle],
    }
}

/// `GET path` on the front service with `traceparent`.
async fn traced(http: &Http, path: &str, traceparent: &str) -> support::admin::Answer {
    http.send(
        Method::GET,
        path,
        &[("traceparent", traceparent)],
        Bytes::new(),
    )
    .await
}

fn traceparent(trace: &str) -> String {
    format!("00-{trace}-00f067aa0ba902b7-01")
}

/// `/traces/{trace}` once it has `count` finished requests (no more, no fewer).
async fn finished_on(admin: &Http, trace: &str, count: usize) -> Value {
    support::eventually(&format!("{count} finished of {trace}"), || async {
        let answer = admin.get(&format!("/traces/{trace}")).await.expect(200);
        (array(&answer, "finished").len() == count).then_some(answer)
    })
    .await
}

fn array<'a>(value: &'a Value, field: &str) -> &'a [Value] {
    value[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} is an array: {value}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_across_two_services_in_flight_and_finished() {
    let test_started = std::time::Instant::now();
    let chain = chain(|server| server).await;

    // A finished hop of the trace, then one held in flight, and a request of another
    // trace that must not show.
    let done = traced(&chain.front, "/call/quick", KNOWN).await;
    assert_eq!(done.text(), "back said 200 OK");
    let _other = chain.front.spawn(Method::GET, "/call/held");
    let held = {
        let front = chain.front.clone();
        tokio::spawn(async move { traced(&front, "/call/held", KNOWN).await })
    };
    // The untraced /call/held above and the traced one: two of each side in flight.
    wait_for_listed(&chain.front_admin, "", 4).await;
    wait_for_listed(&chain.back_admin, "", 2).await;
    // A server's request ends when its body is written, maybe after the client has it.
    finished_on(&chain.front_admin, KNOWN_TRACE, 2).await;
    finished_on(&chain.back_admin, KNOWN_TRACE, 1).await;

    // The front service: the inbound request and its outbound call, oldest first, with
    // histories; the id may come in upper case.
    let front = chain
        .front_admin
        .get(&format!("/traces/{}", KNOWN_TRACE.to_uppercase()))
        .await
        .expect(200);
    assert_eq!(front["trace_id"], KNOWN_TRACE);
    assert_eq!(front["host"], "front");
    let requests = array(&front, "requests");
    assert_eq!(requests.len(), 2, "{front}");
    assert_eq!(requests[0]["direction"], "inbound", "oldest first: {front}");
    assert_eq!(requests[1]["direction"], "outbound", "{front}");
    let (inbound, outbound) = (&requests[0], &requests[1]);
    for request in requests {
        assert_eq!(request["trace_id"], KNOWN_TRACE);
        assert!(request["history"].as_array().is_some_and(|h| !h.is_empty()));
    }
    assert_eq!(inbound["uri"], "/call/held");
    assert_eq!(
        inbound["parent_span_id"], KNOWN_SPAN,
        "joins the caller's span"
    );
    assert_eq!(outbound["parent"], inbound["id"]);
    assert_eq!(outbound["parent_span_id"], inbound["span_id"]);

    // What finished: the quick call's inbound request and outbound call.
    let finished = array(&front, "finished");
    assert_eq!(finished.len(), 2, "{front}");
    for hop in finished {
        assert_eq!(hop["request"]["trace_id"], KNOWN_TRACE);
        assert_eq!(hop["ending"], "completed");
        let duration = hop["duration_ms"].as_f64().unwrap();
        let bound = test_started.elapsed().as_secs_f64() * 1000.0;
        assert!(duration > 0.0 && duration <= bound, "{duration} ms: {hop}");
        // Completed hops are kept compact: their history is the time per status.
        let first = &hop["request"]["history"][0];
        let expected = match hop["request"]["direction"].as_str() {
            Some("inbound") => "in handler",
            _ => "awaiting headers",
        };
        assert_eq!(first["status"], expected, "{hop}");
        assert_eq!(first["offset_ms"], 0.0, "{hop}");
        assert_eq!(hop["request"]["status"], "completed");
    }
    assert_eq!(finished[0]["request"]["direction"], "inbound", "{front}");
    assert_eq!(finished[0]["request"]["uri"], "/call/quick");
    let window = &front["finished_window"];
    assert_eq!(window["capacity"], 16384);
    assert_eq!(window["max_age_seconds"], 300.0);
    assert!(window["held"].as_u64().unwrap() >= 2, "{window}");
    // Few requests a second: every one that ended is kept.
    assert_eq!(window["ended"], window["kept"], "{window}");
    assert!(window["ended"].as_u64().unwrap() >= 2, "{window}");

    // The back service: its inbound request is the front's outbound call's child.
    let back = chain
        .back_admin
        .get(&format!("/traces/{KNOWN_TRACE}"))
        .await
        .expect(200);
    let back_requests = array(&back, "requests");
    assert_eq!(back_requests.len(), 1, "{back}");
    assert_eq!(back_requests[0]["uri"], "/leaf/held");
    assert_eq!(back_requests[0]["parent_span_id"], outbound["span_id"]);
    assert_eq!(back_requests[0]["status"], "waiting on the gate");
    let back_finished = array(&back, "finished");
    assert_eq!(back_finished.len(), 1, "{back}");
    assert_eq!(back_finished[0]["request"]["uri"], "/leaf/quick");
    assert_eq!(
        back_finished[0]["request"]["parent_span_id"],
        finished[1]["request"]["span_id"]
    );

    // /requests?trace= lists the trace's requests in flight only, whatever the case.
    let listed = chain
        .front_admin
        .get(&format!("/requests?trace={KNOWN_TRACE}"))
        .await
        .expect(200);
    let ids: Vec<&Value> = array(&listed, "requests")
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, [&inbound["id"], &outbound["id"]]);
    let upper = chain
        .front_admin
        .get(&format!(
            "/requests?trace={}&direction=outbound",
            KNOWN_TRACE.to_uppercase()
        ))
        .await
        .expect(200);
    assert_eq!(array(&upper, "requests").len(), 1);
    let everything = chain.front_admin.get("/requests").await.expect(200);
    assert_eq!(
        array(&everything, "requests").len(),
        4,
        "the other trace is there"
    );
    let other = chain
        .front_admin
        .get("/requests?trace=0af7651916cd43dd8448eb211c80319c")
        .await
        .expect(200);
    assert_eq!(array(&other, "requests").len(), 0, "{other}");

    // Once the held call is let go, all of it is finished and nothing is in flight.
    chain.gate.open();
    assert_eq!(held.await.unwrap().text(), "back said 200 OK");
    let front = finished_on(&chain.front_admin, KNOWN_TRACE, 4).await;
    assert_eq!(array(&front, "requests").len(), 0, "{front}");
    let uris: Vec<&str> = array(&front, "finished")
        .iter()
        .map(|hop| hop["request"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris[0], "/call/quick", "oldest first: {uris:?}");
    assert_eq!(uris[2], "/call/held", "{uris:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_trace_ids_are_refused_and_unknown_ones_are_empty() {
    let chain = chain(|server| server).await;
    let admin = &chain.front_admin;
    let too_long = format!("{KNOWN_TRACE}0");
    let not_hex = format!("{}g", &KNOWN_TRACE[1..]);
    for bad in [
        "x",
        &KNOWN_TRACE[1..],
        too_long.as_str(),
        not_hex.as_str(),
        "%20bf92f3577b34da6a3ce929d0e0e4736",
        "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
    ] {
        let message = admin.get(&format!("/traces/{bad}")).await.expect_error(400);
        assert!(message.contains("32 hex digits"), "{message}");
        let message = admin
            .get(&format!("/requests?trace={bad}"))
            .await
            .expect_error(400);
        assert!(message.contains("32 hex digits"), "{message}");
    }
    admin
        .get(&format!("/traces/{KNOWN_TRACE}?x=1"))
        .await
        .expect_error(400);
    admin.get("/requests?trace=").await.expect_error(400);
    let answer = admin
        .send(
            Method::POST,
            &format!("/traces/{KNOWN_TRACE}"),
            &[],
            Bytes::new(),
        )
        .await;
    answer.expect_error(405);
    assert_eq!(answer.header("allow"), Some("GET, HEAD"));
    admin.get("/traces").await.expect_error(404);

    // A trace nobody sent, and the all-zero id W3C reserves: clear empty answers.
    for unknown in [
        "0af7651916cd43dd8448eb211c80319c",
        "00000000000000000000000000000000",
    ] {
        let answer = admin.get(&format!("/traces/{unknown}")).await.expect(200);
        assert_eq!(answer["trace_id"], unknown);
        assert_eq!(answer["requests"], serde_json::json!([]));
        assert_eq!(answer["finished"], serde_json::json!([]));
        assert_eq!(answer["finished_window"]["capacity"], 16384);
        assert!(answer["server_time"].is_string());
    }
    assert_eq!(
        admin
            .get("/requests?trace=00000000000000000000000000000000")
            .await
            .expect(200)["requests"],
        serde_json::json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ring_keeps_the_newest_requests_up_to_its_count() {
    // Each of the table's shards keeps its share of the records: two each here.
    let chain = chain_of(|table| table.shards(8).kept_records(16), |server| server).await;
    let first = "11111111111111111111111111111111";
    let second = "22222222222222222222222222222222";
    // Forty hops of the first trace on the back service: it keeps the newest.
    for n in 0..40 {
        traced(&chain.front, &format!("/call/n{n}"), &traceparent(first)).await;
    }
    let back = support::eventually("the last hop", || async {
        let back = chain
            .back_admin
            .get(&format!("/traces/{first}"))
            .await
            .expect(200);
        array(&back, "finished")
            .iter()
            .any(|hop| hop["request"]["uri"] == "/leaf/n39")
            .then_some(back)
    })
    .await;
    let uris: Vec<&str> = array(&back, "finished")
        .iter()
        .map(|hop| hop["request"]["uri"].as_str().unwrap())
        .collect();
    assert!(
        !uris.contains(&"/leaf/n0"),
        "the oldest is written over: {uris:?}"
    );
    assert!(uris.len() <= 16, "{uris:?}");
    let window = &back["finished_window"];
    assert_eq!(window["capacity"], 16);
    assert_eq!(window["held"], uris.len());
    assert_eq!(window["ended"], 40);
    assert_eq!(window["kept"], 40, "all kept, most written over: {window}");

    // Forty of another trace, served by the same threads, push the first one out.
    for n in 0..40 {
        traced(&chain.front, &format!("/call/m{n}"), &traceparent(second)).await;
    }
    let kept = support::eventually("the last hop of the second trace", || async {
        let back = chain
            .back_admin
            .get(&format!("/traces/{second}"))
            .await
            .expect(200);
        array(&back, "finished")
            .iter()
            .any(|hop| hop["request"]["uri"] == "/leaf/m39")
            .then_some(back)
    })
    .await;
    let gone = chain
        .back_admin
        .get(&format!("/traces/{first}"))
        .await
        .expect(200);
    assert_eq!(array(&gone, "finished").len(), 0, "{gone}");
    assert!(kept["finished_window"]["held"].as_u64().unwrap() <= 16);

    // A table that keeps none keeps nothing.
    let none = chain_none().await;
    traced(&none.front, "/call/z", &traceparent(first)).await;
    wait_for_listed(&none.front_admin, "", 0).await;
    let answer = none
        .front_admin
        .get(&format!("/traces/{first}"))
        .await
        .expect(200);
    assert_eq!(array(&answer, "finished").len(), 0);
    assert_eq!(answer["finished_window"]["capacity"], 0);
    assert_eq!(answer["finished_window"]["held"], 0);
    assert_eq!(answer["finished_window"]["kept"], 0);
}

async fn chain_none() -> Chain {
    chain_of(|table| table.kept_records(0), |server| server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ring_forgets_requests_older_than_its_age() {
    let max_age = Duration::from_secs(2);
    let chain = chain_of(|table| table.keep_for(max_age), |server| server).await;
    let trace = "33333333333333333333333333333333";
    traced(&chain.front, "/call/old", &traceparent(trace)).await;
    let fresh = finished_on(&chain.front_admin, trace, 2).await;
    assert_eq!(fresh["finished_window"]["max_age_seconds"], 2.0);

    // Every answer drops what is too old before it looks.
    tokio::time::sleep(max_age + Duration::from_millis(200)).await;
    let old = chain
        .front_admin
        .get(&format!("/traces/{trace}"))
        .await
        .expect(200);
    assert_eq!(array(&old, "finished").len(), 0, "{old}");
    assert_eq!(old["finished_window"]["held"], 0);
    assert_eq!(
        old["finished_window"]["capacity"], 16384,
        "age bounds it, not count"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guarded_admin_port_wants_its_token_for_traces() {
    let chain = chain(|server| server.read_token("reader")).await;
    let path = format!("/traces/{KNOWN_TRACE}");
    chain.front_admin.get(&path).await.expect_error(401);
    let answer = chain
        .front_admin
        .send(
            Method::GET,
            &path,
            &[("authorization", "Bearer reader")],
            Bytes::new(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
}
