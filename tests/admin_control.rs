//! Terminate and cancel from the admin port: `DELETE /requests/{id}` ends a request held
//! by a 60 s upstream at once (in-process and in the demo), a terminated outbound call
//! resolves as a made-up 503, `POST /requests/{id}/cancel` wakes `inflight::cancelled()`
//! and escalates after the grace period, `forbid_cancel` refuses both, and bad ids are
//! 404 or 400.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
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
use support::admin::{Answer, Http, serve_slow_upstream, start_admin, wait_for_listed};
use support::demo::Demo;
use support::{Gate, serve_tracked_router};
use tokio::task::JoinHandle;
use tower::{Layer, ServiceExt};

/// How soon a terminated request must be over for its caller.
const PROMPTLY: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct App {
    gate: Gate,
    client: InFlightClient<Client<HttpConnector, Empty<Bytes>>>,
    upstream: SocketAddr,
}

/// Fetches from the 60 s upstream; says whether the call was terminated.
async fn fetch(State(app): State<App>) -> String {
    let request = http::Request::get(format!("http://{}/blob", app.upstream))
        .body(Empty::new())
        .expect("valid request");
    match app.client.oneshot(request).await {
        Ok(response) => match response.extensions().get::<inflight::Terminated>() {
            Some(terminated) => format!(
                "upstream {}; terminated #{}: {}",
                response.status(),
                terminated.id,
                terminated.message.as_deref().unwrap_or("-")
            ),
            None => format!("upstream {}", response.status()),
        },
        Err(error) => format!("upstream failed: {error}"),
    }
}

/// Stops early when asked to cancel, and takes until the gate opens to clean up.
async fn cooperative(State(app): State<App>) -> String {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(60)) => "slept a minute".into(),
        _ = inflight::cancelled() => {
            inflight::set_status("cleaning up after cancel");
            app.gate.wait().await;
            "cancelled".into()
        }
    }
}

/// Ignores cancel requests.
async fn stubborn() -> &'static str {
    tokio::time::sleep(Duration::from_secs(60)).await;
    "slept a minute"
}

/// Must not be cut in the middle.
async fn forbidden(State(app): State<App>) -> &'static str {
    inflight::current()
        .expect("a tracked request")
        .forbid_cancel();
    inflight::set_status("committing");
    app.gate.wait().await;
    "committed"
}

struct Service {
    table: Table,
    api: Http,
    admin: Http,
    gate: Gate,
    upstream: SocketAddr,
    _handle: inflight::admin::AdminHandle,
}

async fn service(admin: AdminServer, table: Table) -> Service {
    let upstream = serve_slow_upstream(Duration::from_secs(60)).await;
    let gate = Gate::new();
    let app = App {
        gate: gate.clone(),
        client: InFlightClientLayer::with_table(table.clone())
            .layer(Client::builder(TokioExecutor::new()).build_http()),
        upstream,
    };
    let router = Router::new()
        .route("/fetch", get(fetch))
        .route("/cooperative", get(cooperative))
        .route("/stubborn", get(stubborn))
        .route("/forbidden", get(forbidden))
        .with_state(app);
    let api = Http::new(serve_tracked_router(&table, router).await);
    let (handle, admin) = start_admin(admin).await;
    Service {
        table,
        api,
        admin,
        gate,
        upstream,
        _handle: handle,
    }
}

async fn default_service() -> Service {
    let table = support::table();
    service(AdminServer::new(table.clone()), table).await
}

fn id_of(request: &Value) -> u64 {
    request["id"].as_u64().expect("numeric id")
}

/// The caller's answer, which must come within [`PROMPTLY`].
async fn answer_promptly(call: JoinHandle<Answer>) -> Answer {
    tokio::time::timeout(PROMPTLY, call)
        .await
        .unwrap_or_else(|_| panic!("the caller had no answer {PROMPTLY:?} after the admin call"))
        .expect("request task")
}

/// The made-up response of a request terminated before its head: 503, the operator's
/// message in a header, nothing in the body.
fn assert_terminated(answer: &Answer, message: &str) {
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(
        answer.header(inflight::TERMINATED_HEADER),
        Some(message),
        "{answer:?}"
    );
    assert!(answer.body.is_empty(), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_ends_a_request_held_by_a_60s_upstream() {
    let s = default_service().await;
    let call = s.api.spawn_get("/fetch");
    let listed = wait_for_listed(&s.admin, "", 2).await;
    let (inbound, outbound) = (id_of(&listed[0]), id_of(&listed[1]));
    assert_eq!(listed[1]["parent"], inbound);

    let reply = s
        .admin
        .delete(&format!("/requests/{inbound}?message=maintenance%20window"))
        .await
        .expect(202);
    assert_eq!(reply["action"], "terminate");
    assert_eq!(reply["request"]["id"], inbound);
    assert_eq!(
        reply["request"]["status"],
        format!("awaiting {}", s.upstream)
    );
    assert!(reply.get("grace_ms").is_none(), "{reply}");

    let answer = answer_promptly(call).await;
    assert_terminated(&answer, "maintenance window");
    // The inbound request and its outbound child are both gone.
    wait_for_listed(&s.admin, "", 0).await;
    support::eventually("the table to empty", || async {
        s.table.is_empty().then_some(())
    })
    .await;
    let terminated = s.admin.delete(&format!("/requests/{outbound}")).await;
    terminated.expect_error(404);
    // The request was terminated; its call went with the handler's future, dropped.
    let totals = s.table.totals();
    assert_eq!(
        (totals.started, totals.terminated, totals.dropped_early),
        (2, 1, 1),
        "{totals:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_ends_a_demo_request_held_by_a_60s_upstream() {
    let demo = Demo::start(&["--no-traffic", "--upstream-delay", "60s"]);
    let (api, admin) = (demo.api_client(), demo.admin_client());
    let call = api.spawn_get("/fetch/3");
    let inbound = wait_for_listed(&admin, "direction=inbound", 1).await;
    let outbound = wait_for_listed(&admin, "direction=outbound", 1).await;
    let id = id_of(&inbound[0]);
    assert_eq!(inbound[0]["uri"], "/fetch/3");
    assert_eq!(outbound[0]["parent"], id);

    let reply = admin
        .send(
            Method::DELETE,
            &format!("/requests/{id}"),
            &[("content-type", "application/json")],
            r#"{"message": "slownode is stuck"}"#,
        )
        .await
        .expect(202);
    assert_eq!(reply["action"], "terminate");
    assert_eq!(reply["pid"], demo.process.id());

    let answer = answer_promptly(call).await;
    assert_terminated(&answer, "slownode is stuck");
    wait_for_listed(&admin, "", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_outbound_call_resolves_as_a_made_up_503() {
    let s = default_service().await;
    let call = s.api.spawn_get("/fetch");
    let listed = wait_for_listed(&s.admin, "", 2).await;
    let (inbound, outbound) = (id_of(&listed[0]), id_of(&listed[1]));
    assert_eq!(listed[1]["direction"], "outbound");

    let reply = s
        .admin
        .delete(&format!("/requests/{outbound}?message=cut"))
        .await
        .expect(202);
    assert_eq!(reply["request"]["id"], outbound);
    assert_eq!(reply["request"]["parent"], inbound);

    // The handler got a response, not an error, and carried on.
    let answer = answer_promptly(call).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.text(),
        format!("upstream 503 Service Unavailable; terminated #{outbound}: cut")
    );
    wait_for_listed(&s.admin, "", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_outbound_call_of_the_caller_carries_terminated() {
    // The caller is the test itself, outside any handler.
    let table = support::table();
    let upstream = serve_slow_upstream(Duration::from_secs(60)).await;
    let (_handle, admin) = start_admin(AdminServer::new(table.clone())).await;
    let client = InFlightClientLayer::with_table(table.clone())
        .layer(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let request = http::Request::get(format!("http://{upstream}/blob"))
        .body(Empty::new())
        .expect("valid request");
    let call = tokio::spawn(client.oneshot(request));
    let listed = wait_for_listed(&admin, "direction=outbound", 1).await;
    let outbound = id_of(&listed[0]);
    assert_eq!(listed[0]["parent"], Value::Null);

    admin
        .delete(&format!("/requests/{outbound}"))
        .await
        .expect(202);
    let response = tokio::time::timeout(PROMPTLY, call)
        .await
        .expect("the call resolves promptly")
        .expect("call task")
        .expect("a made-up response, not an error");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let terminated = response
        .extensions()
        .get::<inflight::Terminated>()
        .expect("Terminated in the extensions");
    assert_eq!(terminated.id, outbound);
    assert_eq!(terminated.message, None);
    assert_eq!(
        response.headers().get(inflight::TERMINATED_HEADER),
        Some(&http::HeaderValue::from_static("operator"))
    );
    let body = response.into_body();
    assert!(body.get_ref().is_none(), "no upstream body: {body:?}");
    let body = body.collect().await.expect("body").to_bytes();
    assert!(body.is_empty(), "{body:?}");
    wait_for_listed(&admin, "", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_wakes_the_handler_which_finishes_on_its_own() {
    let s = default_service().await;
    let call = s.api.spawn_get("/cooperative");
    let id = id_of(&wait_for_listed(&s.admin, "", 1).await[0]);

    let reply = s
        .admin
        .post(
            &format!("/requests/{id}/cancel"),
            r#"{"message": "please stop", "grace": "30s"}"#,
        )
        .await
        .expect(202);
    assert_eq!(reply["action"], "cancel");
    assert_eq!(reply["grace_ms"], 30000.0);
    assert_eq!(reply["request"]["id"], id);

    // `inflight::cancelled()` resolved: the handler moved on to cleaning up.
    let request = support::eventually("the handler to see the cancel", || async {
        let one = s.admin.get(&format!("/requests/{id}")).await.expect(200);
        let request = one["request"].clone();
        (request["status"] == "cleaning up after cancel (cancel requested)").then_some(request)
    })
    .await;
    assert_eq!(request["cancel_requested"], true);
    assert_eq!(request["control_message"], "please stop");
    let history: Vec<&str> = request["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["in handler", "cancel requested", "cleaning up after cancel"]
    );
    let listed = s
        .admin
        .get("/requests?status=cancel%20requested")
        .await
        .expect(200);
    assert_eq!(listed["requests"][0]["id"], id);

    s.gate.open();
    let answer = answer_promptly(call).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "cancelled");
    wait_for_listed(&s.admin, "", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_ignores_cancel_is_terminated_after_the_grace_period() {
    let table = support::table();
    let s = service(
        AdminServer::new(table.clone()).default_grace(Duration::from_millis(300)),
        table,
    )
    .await;

    // The server's default grace.
    let call = s.api.spawn_get("/stubborn");
    let id = id_of(&wait_for_listed(&s.admin, "", 1).await[0]);
    let reply = s
        .admin
        .post(&format!("/requests/{id}/cancel"), "")
        .await
        .expect(202);
    assert_eq!(reply["grace_ms"], 300.0);
    let answer = answer_promptly(call).await;
    assert_terminated(&answer, "not cancelled within 0.30s");
    wait_for_listed(&s.admin, "", 0).await;

    // A grace and message in the query.
    let call = s.api.spawn_get("/stubborn");
    let id = id_of(&wait_for_listed(&s.admin, "", 1).await[0]);
    let reply = s
        .admin
        .post(
            &format!("/requests/{id}/cancel?grace=200ms&message=bye"),
            "",
        )
        .await
        .expect(202);
    assert_eq!(reply["grace_ms"], 200.0);
    let status = s.admin.get(&format!("/requests/{id}")).await;
    if status.status == StatusCode::OK {
        // Still within its grace: it says a cancel was asked for.
        let request = &status.json()["request"];
        assert_eq!(request["cancel_requested"], true, "{request}");
    }
    let answer = answer_promptly(call).await;
    assert_terminated(&answer, "bye (not cancelled within 0.20s)");
    wait_for_listed(&s.admin, "", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grace_longer_than_an_hour_is_cut_to_an_hour() {
    let s = default_service().await;
    let call = s.api.spawn_get("/stubborn");
    let id = id_of(&wait_for_listed(&s.admin, "", 1).await[0]);
    let reply = s
        .admin
        .post(&format!("/requests/{id}/cancel?grace=2h"), "")
        .await
        .expect(202);
    assert_eq!(reply["grace_ms"], 3_600_000.0);
    let reply = s
        .admin
        .post(
            &format!("/requests/{id}/cancel?grace=1h"),
            r#"{"grace": "1.5s"}"#,
        )
        .await
        .expect(202);
    assert_eq!(reply["grace_ms"], 1500.0, "the body's grace wins");
    let answer = answer_promptly(call).await;
    assert_terminated(&answer, "not cancelled within 1.50s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbid_cancel_refuses_both_cancel_and_terminate() {
    let s = default_service().await;
    let call = s.api.spawn_get("/forbidden");
    let id = support::eventually("the request to forbid cancelling", || async {
        let list = s.admin.get("/requests").await.expect(200);
        let request = list["requests"].get(0)?.clone();
        (request["status"] == "committing").then(|| request["id"].as_u64().unwrap())
    })
    .await;

    let refused = s.admin.delete(&format!("/requests/{id}")).await;
    let message = refused.expect_error(403);
    assert!(message.contains("forbids"), "{message}");
    s.admin
        .post(&format!("/requests/{id}/cancel"), "")
        .await
        .expect_error(403);

    let request = s.admin.get(&format!("/requests/{id}")).await.expect(200)["request"].clone();
    assert_eq!(request["cancel_forbidden"], true);
    assert_eq!(request["cancel_requested"], false);
    assert_eq!(request["status"], "committing");

    s.gate.open();
    let answer = answer_promptly(call).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "committed");
    wait_for_listed(&s.admin, "", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_404_and_malformed_ids_400() {
    let s = default_service().await;
    for path in ["/requests/987654321", "/requests/0"] {
        let message = s.admin.get(path).await.expect_error(404);
        assert!(message.contains("is in flight"), "{message}");
        s.admin.delete(path).await.expect_error(404);
        s.admin
            .post(&format!("{path}/cancel"), "")
            .await
            .expect_error(404);
    }
    for bad in ["abc", "-1", "1.5", "0x10", "18446744073709551616", "%20"] {
        let path = format!("/requests/{bad}");
        let message = s.admin.get(&path).await.expect_error(400);
        assert!(message.contains("a request id is a number"), "{message}");
        s.admin.delete(&path).await.expect_error(400);
        s.admin
            .post(&format!("{path}/cancel"), "")
            .await
            .expect_error(400);
    }
    // Nothing was in flight, and nothing is.
    assert!(s.table.is_empty());
}
