//! The request being served, as handlers see it: `set_status`, `set_attr`, `current()`,
//! `in_current_request` across `tokio::spawn`, and `RequestHandle` from axum, from the
//! request extensions and from the table.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::{Response, StatusCode};
use hyper::body::Incoming;
use inflight::{Direction, InFlightClient, InFlightLayer, RequestHandle, Table};
use support::{
    Gate, PlainClient, client, read_to_end, serve_axum, serve_hyper, wait_for_table,
    wait_until_empty,
};
use tower::{Layer, ServiceExt, service_fn};

async fn fetch(uri: String) -> String {
    let response = client().request(support::get(uri)).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    String::from_utf8(read_to_end(response.into_body()).await.to_vec()).expect("utf-8")
}

/// An untracked upstream that answers once `gate` opens.
async fn gated_upstream(gate: &Gate) -> SocketAddr {
    let gate = gate.clone();
    serve_hyper(service_fn(move |req: http::Request<Incoming>| {
        let gate = gate.clone();
        async move {
            gate.wait().await;
            Ok::<_, Infallible>(Response::new(req.uri().path().to_owned()))
        }
    }))
    .await
}

#[derive(Clone)]
struct App {
    calls: InFlightClient<PlainClient>,
    upstream: SocketAddr,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_sets_status_and_attributes_of_its_request() {
    let table = support::table();
    let gate = Gate::new();
    let app = Router::new()
        .route(
            "/users/{id}",
            get(|State(gate): State<Gate>| async move {
                let me = inflight::current().expect("inside a tracked request");
                assert_eq!(me.direction(), Direction::Inbound);
                inflight::set_attr("user", "42");
                inflight::set_attr("shard", "eu-1");
                inflight::set_attr("user", "43");
                inflight::set_status("querying db");
                gate.wait().await;
                me.id().to_string()
            }),
        )
        .with_state(gate.clone())
        .layer(InFlightLayer::with_table(table.clone()));
    let addr = serve_axum(app).await;
    let response = tokio::spawn(fetch(format!("http://{addr}/users/7")));

    let entry = wait_for_table(&table, "the handler's status", |snapshot| {
        snapshot
            .entries
            .first()
            .filter(|entry| entry.status == "querying db")
            .cloned()
    })
    .await;
    assert_eq!(
        entry.attributes,
        [
            ("user".to_owned(), "43".to_owned()),
            ("shard".to_owned(), "eu-1".to_owned())
        ]
    );
    assert_eq!(entry.route.as_deref(), Some("/users/{id}"));
    let peer = entry.peer.expect("axum's ConnectInfo gives the peer");
    assert!(peer.ip().is_loopback() && peer.port() != addr.port());

    let mut text = Vec::new();
    table.dump_text(&mut text).expect("dump");
    let text = String::from_utf8(text).expect("utf-8");
    assert!(text.contains("[querying db"), "{text}");
    assert!(text.contains("{user=43, shard=eu-1}"), "{text}");

    // Anyone holding the table can set the status too.
    table
        .handle(entry.id)
        .expect("handle of a request in flight")
        .set_status("nudged from outside");
    assert_eq!(
        table.get(entry.id).expect("in flight").status,
        "nudged from outside"
    );

    gate.open();
    assert_eq!(
        response.await.expect("task"),
        entry.id.to_string(),
        "current() is the request"
    );
    wait_until_empty(&table).await;
    assert!(table.handle(entry.id).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_a_request_there_is_no_current_request() {
    assert!(inflight::current().is_none());
    // These do nothing, and do not panic.
    inflight::set_status("nobody sees this");
    inflight::set_attr("k", "v");
    inflight::set_route("/nowhere");

    // Nor in a task spawned from a handler without `in_current_request`.
    let table = support::table();
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                let inside = inflight::current().is_some();
                let spawned = tokio::spawn(async { inflight::current().is_some() })
                    .await
                    .expect("task");
                let carried = tokio::spawn(inflight::in_current_request(async {
                    inflight::current().is_some()
                }))
                .await
                .expect("task");
                format!("{inside} {spawned} {carried}")
            }),
        )
        .layer(InFlightLayer::with_table(table.clone()));
    let addr = serve_axum(app).await;
    assert_eq!(fetch(format!("http://{addr}/")).await, "true false true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_from_a_spawned_task_is_a_child_when_the_request_is_carried() {
    let table = support::table();
    let gate = Gate::new();
    let upstream = gated_upstream(&gate).await;
    let app = Router::new()
        .route(
            "/carried",
            get(|State(app): State<App>| async move {
                let uri = format!("http://{}/carried", app.upstream);
                let task = tokio::spawn(inflight::in_current_request(async move {
                    inflight::set_status("calling from a task");
                    let response = app.calls.oneshot(support::get(uri)).await.expect("call");
                    read_to_end(response.into_body()).await
                }));
                task.await.expect("task")
            }),
        )
        .route(
            "/detached",
            get(|State(app): State<App>| async move {
                let uri = format!("http://{}/detached", app.upstream);
                let task = tokio::spawn(async move {
                    let response = app.calls.oneshot(support::get(uri)).await.expect("call");
                    read_to_end(response.into_body()).await
                });
                task.await.expect("task")
            }),
        )
        .with_state(App {
            calls: support::tracked_client(&table),
            upstream,
        })
        .layer(InFlightLayer::with_table(table.clone()));
    let addr = serve_axum(app).await;

    let carried = tokio::spawn(fetch(format!("http://{addr}/carried")));
    let detached = tokio::spawn(fetch(format!("http://{addr}/detached")));
    // A call is in the table a moment before its parent lists it.
    let snapshot = wait_for_table(&table, "two requests and two calls", |snapshot| {
        let linked = snapshot.inbound().any(|entry| !entry.children.is_empty());
        (snapshot.entries.len() == 4 && linked).then(|| snapshot.clone())
    })
    .await;
    let by_uri = |uri: &str| {
        snapshot
            .entries
            .iter()
            .find(|entry| entry.uri == uri)
            .unwrap_or_else(|| panic!("{uri} in {snapshot:?}"))
    };
    let carried_request = by_uri("/carried");
    let detached_request = by_uri("/detached");
    let carried_call = by_uri(&format!("http://{upstream}/carried"));
    let detached_call = by_uri(&format!("http://{upstream}/detached"));

    assert_eq!(carried_call.parent, Some(carried_request.id));
    assert_eq!(carried_request.children, [carried_call.id]);
    assert_eq!(
        carried_request.status,
        format!("awaiting 127.0.0.1:{}", upstream.port())
    );
    assert!(
        carried_request
            .history
            .iter()
            .any(|change| change.status == "calling from a task"),
        "{:?}",
        carried_request.history
    );
    assert_eq!(detached_call.parent, None, "the request was not carried");
    assert!(detached_request.children.is_empty());
    assert_eq!(detached_request.status, "in handler");

    gate.open();
    assert_eq!(carried.await.expect("task"), "/carried");
    assert_eq!(detached.await.expect("task"), "/detached");
    wait_until_empty(&table).await;
    assert_eq!(table.totals().completed, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_handlers_take_a_request_handle() {
    let table = support::table();
    let gate = Gate::new();
    let app = Router::new()
        .route(
            "/handle",
            get(
                |handle: RequestHandle, State(gate): State<Gate>| async move {
                    handle.set_status("set through the handle");
                    handle.set_attr("via", "extractor");
                    handle.set_route("/handle (named)");
                    // The handle also carries the request into other tasks.
                    let scoped = tokio::spawn(handle.scope(async {
                        inflight::set_attr("scoped", "yes");
                        inflight::current().map(|current| current.id())
                    }))
                    .await
                    .expect("task");
                    assert_eq!(scoped, Some(handle.id()));
                    gate.wait().await;
                    handle.id().to_string()
                },
            ),
        )
        .with_state(gate.clone())
        .layer(InFlightLayer::with_table(table.clone()));
    let addr = serve_axum(app).await;
    let response = tokio::spawn(fetch(format!("http://{addr}/handle")));

    let entry = wait_for_table(&table, "the status set through the handle", |snapshot| {
        snapshot
            .entries
            .first()
            .filter(|entry| entry.attributes.len() == 2)
            .cloned()
    })
    .await;
    assert_eq!(entry.status, "set through the handle");
    assert_eq!(
        entry.attributes,
        [
            ("via".to_owned(), "extractor".to_owned()),
            ("scoped".to_owned(), "yes".to_owned())
        ]
    );
    assert_eq!(entry.route.as_deref(), Some("/handle (named)"));

    gate.open();
    assert_eq!(response.await.expect("task"), entry.id.to_string());
    wait_until_empty(&table).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_handle_extractor_rejects_untracked_requests() {
    let app = Router::new().route(
        "/",
        get(|handle: RequestHandle| async move { handle.id().to_string() }),
    );
    let addr = serve_axum(app).await;
    let response = client()
        .request(support::get(format!("http://{addr}/")))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = read_to_end(response.into_body()).await;
    assert!(
        String::from_utf8_lossy(&body).contains("InFlightLayer"),
        "the rejection says what to do: {body:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_extension_carries_the_handle_when_enabled() {
    let service = service_fn(|req: http::Request<Incoming>| async move {
        let handle = req.extensions().get::<RequestHandle>().cloned();
        if let Some(handle) = &handle {
            handle.set_status("seen in extensions");
        }
        let text = match handle {
            Some(handle) => handle.id().to_string(),
            None => "none".to_owned(),
        };
        Ok::<_, Infallible>(Response::new(text))
    });

    for enabled in [true, false] {
        let table = Table::builder().history_limit(8).build();
        let layer = InFlightLayer::with_table(table.clone()).request_extension(enabled);
        let addr = serve_hyper(layer.layer(service)).await;
        let body = fetch(format!("http://{addr}/")).await;
        assert!(table.is_empty());
        if enabled {
            let id: u64 = body.parse().expect("an id");
            assert!(id > 0);
        } else {
            assert_eq!(body, "none");
        }
        assert_eq!(table.totals().completed, 1);
    }
}
