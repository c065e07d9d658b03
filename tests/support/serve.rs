//! Servers on fresh loopback ports: axum, hyper's HTTP/1, hyper-util's HTTP/1.1 + HTTP/2,
//! and a tower service behind `InFlightLayer`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use inflight::Table;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;
use tower::{Layer, Service, ServiceExt};

use super::BoxError;

/// Serves `router` on a fresh loopback port with axum, peers in `ConnectInfo`.
pub async fn serve_axum(router: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

/// Serves a tower service on a fresh loopback port with hyper's HTTP/1 server, one task per
/// connection; each request carries the peer's `SocketAddr` in its extensions.
pub async fn serve_hyper<S, B>(service: S) -> SocketAddr
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    serve(service, false).await
}

/// Serves a tower service on a fresh loopback port with hyper-util's server, which speaks
/// HTTP/1.1 and HTTP/2 over plain TCP (h2c with prior knowledge), whichever the client
/// opens with.
pub async fn serve_both_versions<S, B>(service: S) -> SocketAddr
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    serve(service, true).await
}

async fn serve<S, B>(service: S, both_versions: bool) -> SocketAddr
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            // Small writes (a head, then chunks) must not wait for the peer's delayed ACK.
            let _ = stream.set_nodelay(true);
            let service = service.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(peer);
                    service.clone().oneshot(req)
                });
                let io = TokioIo::new(stream);
                let _ = if both_versions {
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await
                } else {
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await
                        .map_err(Into::into)
                };
            });
        }
    });
    addr
}

/// Serves `service` behind an `InFlightLayer` on `table`.
pub async fn serve_tracked<S, B>(table: &Table, service: S) -> SocketAddr
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    serve_hyper(inflight::InFlightLayer::with_table(table.clone()).layer(service)).await
}

/// Serves `router` with its routes behind an `InFlightLayer` on `table` (inside the router,
/// so requests have their route), peers in `ConnectInfo`.
pub async fn serve_tracked_router(table: &Table, router: axum::Router) -> SocketAddr {
    serve_axum(router.layer(inflight::InFlightLayer::with_table(table.clone()))).await
}

/// Boxes the response bodies of `service`: one body type for services that answer with
/// several.
pub fn boxed<S, B>(
    service: S,
) -> impl Service<
    Request<Incoming>,
    Response = Response<UnsyncBoxBody<Bytes, BoxError>>,
    Error = S::Error,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    service.map_response(|response: Response<B>| {
        response.map(|body| body.map_err(Into::into).boxed_unsync())
    })
}

/// An untracked upstream that holds its response head until `gate` opens, then streams
/// what the test sends on the returned channel (tests look at the client's table only).
pub async fn gated_upstream(gate: &super::Gate) -> (SocketAddr, UnboundedSender<Bytes>) {
    let (chunks, body) = super::ChannelBody::new();
    let body = super::Slot::new(body);
    let gate = gate.clone();
    let addr = serve_hyper(tower::service_fn(move |_req: Request<Incoming>| {
        let (gate, body) = (gate.clone(), body.clone());
        async move {
            gate.wait().await;
            Ok::<_, std::convert::Infallible>(Response::new(body.take()))
        }
    }))
    .await;
    (addr, chunks)
}

/// The headers each request brought, in order.
pub type Seen = Arc<Mutex<Vec<HeaderMap>>>;

/// An untracked upstream whose `GET /data` records the request's headers, then waits for
/// `gate` and answers `data`.
pub async fn recording_upstream(gate: super::Gate) -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let router = axum::Router::new()
        .route(
            "/data",
            axum::routing::get(
                |State((gate, seen)): State<(super::Gate, Seen)>, headers: HeaderMap| async move {
                    seen.lock().expect("seen lock").push(headers);
                    gate.wait().await;
                    "data"
                },
            ),
        )
        .with_state((gate, seen.clone()));
    (serve_axum(router).await, seen)
}
