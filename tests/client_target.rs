//! A client whose requests carry only a path, as tonic's generated clients send them
//! (the `Channel` under them adds the address): with `InFlightClientLayer::target`, the
//! call is listed with that authority and its parent shows `awaiting host:port`; without
//! it, `awaiting unknown host`.

mod support;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::Empty;
use hyper::body::Incoming;
use inflight::{Direction, InFlightClientLayer, InFlightLayer, Table};
use support::{BoxError, Gate, gated_upstream, wait_for_table};
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt, service_fn};

type Channel = BoxCloneSyncService<Request<Empty<Bytes>>, Response<Incoming>, BoxError>;

/// Like a tonic `Channel`: takes path-only requests and sends them to `addr` itself.
fn channel(addr: SocketAddr) -> Channel {
    let client = support::client();
    BoxCloneSyncService::new(service_fn(move |mut req: Request<Empty<Bytes>>| {
        let client = client.clone();
        async move {
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            *req.uri_mut() = format!("http://{addr}{path}").parse::<Uri>()?;
            Ok::<_, BoxError>(client.request(req).await?)
        }
    }))
}

/// `POST /call`: a gRPC-style call with a path-only URI through the tracked channel.
async fn call(State(channel): State<inflight::InFlightClient<Channel>>) -> &'static str {
    let request = Request::post("/orders.Orders/Get")
        .header("content-type", "application/grpc")
        .body(Empty::new())
        .expect("a valid request");
    match channel.oneshot(request).await {
        Ok(_) => "called\n",
        Err(_) => "failed\n",
    }
}

async fn start(table: &Table, layer: InFlightClientLayer, upstream: SocketAddr) -> SocketAddr {
    let router = Router::new()
        .route("/call", post(call))
        .with_state(layer.layer(channel(upstream)))
        .layer(InFlightLayer::with_table(table.clone()));
    support::serve_axum(router).await
}

async fn parent_and_call(table: &Table) -> (inflight::EntrySnapshot, inflight::EntrySnapshot) {
    wait_for_table(table, "the request and its call", |snapshot| {
        let inbound = snapshot.inbound().next()?.clone();
        let outbound = snapshot.outbound().next()?.clone();
        inbound
            .status
            .starts_with("awaiting")
            .then_some((inbound, outbound))
    })
    .await
}

async fn post_call(api: SocketAddr) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let request = Request::post(format!("http://{api}/call"))
            .body(Empty::<Bytes>::new())
            .expect("a valid request");
        let _ = support::client().request(request).await;
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_target_names_path_only_calls() {
    let gate = Gate::new();
    let (upstream, chunks) = gated_upstream(&gate).await;
    let table = support::table();
    let target = format!("orders:{}", upstream.port());
    let layer = InFlightClientLayer::with_table(table.clone()).target(target.parse().unwrap());
    let api = start(&table, layer, upstream).await;
    let caller = post_call(api).await;

    let (inbound, outbound) = parent_and_call(&table).await;
    assert_eq!(inbound.status, format!("awaiting {target}"));
    assert_eq!(outbound.direction, Direction::Outbound);
    assert_eq!(outbound.uri, format!("http://{target}/orders.Orders/Get"));
    assert_eq!(outbound.parent, Some(inbound.id));
    gate.open();
    drop(chunks);
    caller.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_target_a_path_only_call_awaits_an_unknown_host() {
    let gate = Gate::new();
    let (upstream, chunks) = gated_upstream(&gate).await;
    let table = support::table();
    let api = start(
        &table,
        InFlightClientLayer::with_table(table.clone()),
        upstream,
    )
    .await;
    let caller = post_call(api).await;

    let (inbound, outbound) = parent_and_call(&table).await;
    assert_eq!(inbound.status, "awaiting unknown host");
    assert_eq!(outbound.uri, "/orders.Orders/Get");
    gate.open();
    drop(chunks);
    caller.await.unwrap();
}
