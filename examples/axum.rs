//! inflight in an axum service: the layer on the router, a tracked client for the calls
//! the handlers make, the dump on a signal, and the admin port. The README's snippets are
//! cut from this file (`tests/readme_snippets.rs` checks that they still are).
//!
//! ```text
//! cargo run --example axum
//! curl localhost:3000/fetch/7 &    # waits on a slow upstream for 5 s
//! kill -USR1 <pid>                 # the dump, or: curl localhost:9084/requests
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::{Router, routing::get};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use inflight::InFlightClient;
use tower::{ServiceBuilder, ServiceExt};

type TrackedClient = InFlightClient<Client<HttpConnector, Empty<Bytes>>>;

#[derive(Clone)]
struct App {
    client: TrackedClient,
    upstream: SocketAddr,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let upstream = slow_upstream().await?;

    // Outbound: every call, until the caller has read or dropped the response body.
    let client = ServiceBuilder::new()
        .layer(inflight::InFlightClientLayer::new())
        .service(Client::builder(TokioExecutor::new()).build_http());

    // Inbound: every request, from `call` until its response body is over.
    let app = Router::new()
        .route("/fetch/{n}", get(fetch))
        .with_state(App { client, upstream })
        .layer(inflight::InFlightLayer::new());

    // Dump the table to stderr on SIGUSR1, and on SIGINFO (^T) on macOS and the BSDs.
    inflight::dump_on_signal()?;

    let admin = inflight::admin::AdminServer::new(inflight::global().clone())
        .read_token("r34d") // optional: bearer token to read
        .kill_token("k1ll") // optional: bearer token to terminate / cancel
        .busy_when_oldest_inbound_above(Duration::from_secs(30))
        .bind("127.0.0.1:9084")?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!(
        "pid {}: http://{}/fetch/7, admin on http://{}",
        std::process::id(),
        listener.local_addr()?,
        admin.local_addr()
    );
    // `ConnectInfo` gives each request its peer (feature `axum`).
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).await?;
    Ok(())
}

async fn fetch(State(app): State<App>, Path(n): Path<u64>) -> String {
    inflight::set_status("querying db"); // what the request is doing now
    inflight::set_attr("user", "42"); // shown next to it
    if let Some(request) = inflight::current() {
        let trace = request.trace();
        eprintln!("fetch: trace {} span {}", trace.trace_id, trace.span_id);
    }
    // The call is this request's child: the request shows `awaiting host:port` until
    // the call is over, and the call sends the request's W3C trace context upstream.
    let uri = format!("http://{}/blob/{n}", app.upstream);
    let Ok(request) = http::Request::get(uri).body(Empty::new()) else {
        return "bad uri\n".into();
    };
    match app.client.oneshot(request).await {
        Ok(response) => match response.into_body().collect().await {
            Ok(body) => format!("{} bytes\n", body.to_bytes().len()),
            Err(error) => format!("upstream body failed: {error}\n"),
        },
        Err(error) => format!("upstream failed: {error}\n"),
    }
}

/// An upstream that answers after 5 seconds.
async fn slow_upstream() -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let blobs = Router::new().route(
        "/blob/{n}",
        get(|Path(n): Path<u64>| async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            format!("blob {n}\n")
        }),
    );
    tokio::spawn(async move { axum::serve(listener, blobs).await });
    Ok(addr)
}
