//! W3C Trace Context through both layers: a request joins the trace its caller names in
//! `traceparent`, keeps `tracestate`, and its outbound calls send a `traceparent` naming
//! their own spans. The ids show on the admin port and through `inflight::current()`.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use inflight::admin::AdminServer;
use inflight::{InFlightClient, InFlightClientLayer, InFlightLayer, Table};
use serde_json::{Value, json};
use support::admin::{Http, start_admin, wait_for_listed};
use support::{Gate, recording_upstream};
use tower::{Layer, ServiceExt};

/// The example of the W3C recommendation, as OpenTelemetry services send it.
const KNOWN: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const KNOWN_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const KNOWN_SPAN: &str = "00f067aa0ba902b7";

#[derive(Clone)]
struct App {
    client: InFlightClient<Client<HttpConnector, Empty<Bytes>>>,
    upstream: SocketAddr,
}

/// Answers with the ids `inflight::current()` gives, after one call upstream.
async fn call(State(app): State<App>) -> String {
    let request = inflight::current().expect("the handler runs in a tracked request");
    let before = json!({
        "trace_id": request.trace_id().to_string(),
        "span_id": request.span_id().to_string(),
        "parent_span_id": request.trace().parent_span_id.map(|s| s.to_string()),
    });
    let upstream = http::Request::get(format!("http://{}/data", app.upstream))
        .body(Empty::new())
        .expect("valid request");
    let status = match app.client.oneshot(upstream).await {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    };
    json!({ "current": before, "upstream_status": status }).to_string()
}

struct Service {
    api: Http,
    admin: Http,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
    gate: Gate,
    _admin: inflight::admin::AdminHandle,
}

async fn service(layer: impl Fn(Table) -> InFlightLayer) -> Service {
    let table = support::table();
    let gate = Gate::new();
    let (upstream, seen) = recording_upstream(gate.clone()).await;
    let app = App {
        client: InFlightClientLayer::with_table(table.clone())
            .layer(Client::builder(TokioExecutor::new()).build_http()),
        upstream,
    };
    let router = Router::new()
        .route("/call", get(call))
        .with_state(app)
        .layer(layer(table.clone()));
    // Served as built: the layer under test is the one `layer` made.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (handle, admin) = start_admin(AdminServer::new(table)).await;
    Service {
        api: Http::new(addr),
        admin,
        seen,
        gate,
        _admin: handle,
    }
}

/// The headers of the upstream's first request, once it has them: the call is in the
/// table from the moment it is made, before the upstream has read it.
async fn first_headers(seen: &Mutex<Vec<HeaderMap>>) -> HeaderMap {
    support::eventually("the upstream to get the call", || async {
        seen.lock().unwrap().first().cloned()
    })
    .await
}

fn by_direction<'a>(requests: &'a [Value], direction: &str) -> &'a Value {
    requests
        .iter()
        .find(|r| r["direction"] == direction)
        .unwrap_or_else(|| panic!("an {direction} request in {requests:?}"))
}

fn hex(value: &Value, digits: usize) -> String {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is a string"));
    assert_eq!(text.len(), digits, "{text}");
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{text} is lowercase hex"
    );
    assert_ne!(text.trim_matches('0'), "", "{text} is not all zeros");
    text.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_the_callers_trace_and_passes_it_on() {
    let service = service(InFlightLayer::with_table).await;
    let api = service.api.clone();
    let answer = tokio::spawn(async move {
        api.send(
            Method::GET,
            "/call",
            &[
                ("traceparent", KNOWN),
                ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
            ],
            Bytes::new(),
        )
        .await
    });
    let listed = wait_for_listed(&service.admin, "", 2).await;
    let inbound = by_direction(&listed, "inbound");
    let outbound = by_direction(&listed, "outbound");

    // The inbound request is the caller's span's child, with a span of its own.
    assert_eq!(inbound["trace_id"], KNOWN_TRACE);
    assert_eq!(inbound["parent_span_id"], KNOWN_SPAN);
    let inbound_span = hex(&inbound["span_id"], 16);
    assert_ne!(inbound_span, KNOWN_SPAN);

    // The outbound call is the inbound request's child, in the same trace.
    assert_eq!(outbound["trace_id"], KNOWN_TRACE);
    assert_eq!(outbound["parent_span_id"], inbound_span.as_str());
    assert_eq!(outbound["parent"], inbound["id"]);
    let outbound_span = hex(&outbound["span_id"], 16);
    assert_ne!(outbound_span, inbound_span);

    // The upstream got the outbound call's span, the caller's flags, and the tracestate.
    let headers = first_headers(&service.seen).await;
    assert_eq!(
        headers["traceparent"],
        format!("00-{KNOWN_TRACE}-{outbound_span}-01").as_str()
    );
    assert_eq!(
        headers["tracestate"],
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    );

    // The same ids in GET /requests/{id}, and through inflight::current().
    let one = service
        .admin
        .get(&format!("/requests/{}", inbound["id"]))
        .await
        .expect(200);
    assert_eq!(one["request"]["span_id"], inbound_span.as_str());
    service.gate.open();
    let body = answer.await.unwrap().expect(200);
    assert_eq!(body["upstream_status"], 200);
    assert_eq!(body["current"]["trace_id"], KNOWN_TRACE);
    assert_eq!(body["current"]["span_id"], inbound_span.as_str());
    assert_eq!(body["current"]["parent_span_id"], KNOWN_SPAN);

    // Finished requests carry the ids too.
    let recent = support::eventually("the ended requests in /recent", || async {
        let recent = service.admin.get("/recent").await.expect(200);
        let samples: Vec<Value> = recent["families"]
            .as_array()?
            .iter()
            .flat_map(|family| family["buckets"][0]["samples"].as_array().cloned())
            .flatten()
            .collect();
        (samples.len() == 2).then_some(samples)
    })
    .await;
    for sample in &recent {
        assert_eq!(sample["request"]["trace_id"], KNOWN_TRACE, "{sample}");
        hex(&sample["request"]["span_id"], 16);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_service_starts_its_own_trace() {
    let service =
        service(|table| InFlightLayer::with_table(table).trust_incoming_trace(false)).await;
    let api = service.api.clone();
    let answer = tokio::spawn(async move {
        api.send(
            Method::GET,
            "/call",
            &[("traceparent", KNOWN), ("tracestate", "congo=t61rcWkgMzE")],
            Bytes::new(),
        )
        .await
    });
    let listed = wait_for_listed(&service.admin, "", 2).await;
    let inbound = by_direction(&listed, "inbound");
    let trace = hex(&inbound["trace_id"], 32);
    assert_ne!(trace, KNOWN_TRACE);
    assert_eq!(inbound["parent_span_id"], Value::Null);
    let outbound = by_direction(&listed, "outbound");
    assert_eq!(outbound["trace_id"], trace.as_str());
    let headers = first_headers(&service.seen).await;
    let sent = headers["traceparent"].to_str().unwrap().to_owned();
    assert!(sent.starts_with(&format!("00-{trace}-")), "{sent}");
    // The untrusted caller's tracestate is not passed on, and its flags are not kept.
    assert!(sent.ends_with("-00"), "{sent}");
    assert!(headers.get("tracestate").is_none(), "{headers:?}");
    service.gate.open();
    answer.await.unwrap().expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_header_starts_a_new_trace_and_is_never_an_error() {
    let service = service(InFlightLayer::with_table).await;
    service.gate.open();
    let oversized = format!("{KNOWN}{}", "-ab".repeat(3000));
    let huge_state = format!("a={},b=1", "x".repeat(4000));
    let bad: Vec<Vec<(&str, &str)>> = vec![
        vec![("traceparent", "garbage")],
        vec![(
            "traceparent",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        )],
        vec![(
            "traceparent",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        )],
        vec![(
            "traceparent",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )],
        vec![("traceparent", &oversized)],
        vec![("traceparent", KNOWN), ("traceparent", KNOWN)],
        vec![("traceparent", KNOWN), ("tracestate", &huge_state)],
        vec![("tracestate", "congo=t61rcWkgMzE")],
    ];
    for headers in &bad {
        let before = service.seen.lock().unwrap().len();
        let answer = service
            .api
            .send(Method::GET, "/call", headers, Bytes::new())
            .await
            .expect(200);
        assert_eq!(answer["upstream_status"], 200, "{headers:?}");
        let current = &answer["current"];
        let trace = hex(&current["trace_id"], 32);
        let seen = service.seen.lock().unwrap()[before].clone();
        let sent = seen["traceparent"].to_str().unwrap().to_owned();
        assert!(sent.starts_with(&format!("00-{trace}-")), "{sent}");
        let joined = headers.len() == 2 && headers[1].0 == "tracestate";
        if joined {
            // A valid traceparent with an oversized tracestate: the trace is joined, the
            // one oversized member dropped, the rest passed on.
            assert_eq!(trace, KNOWN_TRACE);
            assert_eq!(seen["tracestate"], "b=1");
        } else {
            assert_ne!(trace, KNOWN_TRACE, "{headers:?}");
            assert_eq!(current["parent_span_id"], Value::Null, "{headers:?}");
            assert!(seen.get("tracestate").is_none(), "{headers:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_outside_any_request_starts_a_trace_and_keeps_a_set_traceparent() {
    let table = support::table();
    let gate = Gate::new();
    gate.open();
    let (upstream, seen) = recording_upstream(gate).await;
    let client = InFlightClientLayer::with_table(table.clone())
        .layer(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let uri = format!("http://{upstream}/data");

    let response = client
        .clone()
        .oneshot(http::Request::get(&uri).body(Empty::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sent = seen.lock().unwrap()[0]["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let parsed = inflight::TraceContext::parse_traceparent(sent.as_bytes()).expect("valid");
    assert!(!parsed.sampled());
    drop(response);

    // A traceparent the caller set (an OpenTelemetry propagator, say) goes out untouched,
    // and the call takes its ids from it.
    let held = Gate::new();
    let (held_upstream, held_seen) = recording_upstream(held.clone()).await;
    let call = tokio::spawn(
        client.clone().oneshot(
            http::Request::get(format!("http://{held_upstream}/data"))
                .header("traceparent", KNOWN)
                .body(Empty::new())
                .unwrap(),
        ),
    );
    let entry = support::eventually("the call in the table", || async {
        let port = held_upstream.port().to_string();
        (table.snapshot().entries.into_iter()).find(|entry| entry.uri.contains(&port))
    })
    .await;
    assert_eq!(entry.trace_id.to_string(), KNOWN_TRACE);
    assert_eq!(entry.span_id.to_string(), KNOWN_SPAN);
    assert_eq!(entry.parent_span_id, None);
    held.open();
    assert_eq!(call.await.unwrap().unwrap().status(), 200);
    assert_eq!(held_seen.lock().unwrap()[0]["traceparent"], KNOWN);
}
