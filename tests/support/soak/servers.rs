//! The soak's servers on loopback: an untracked upstream, and the front server tracked by
//! `InFlightLayer` whose handler makes one outbound call per request through
//! `InFlightClientLayer`, both on the same table. Each serves HTTP/1.1 and h2c.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use inflight::{InFlightClient, InFlightClientLayer, InFlightLayer, Table, TrackedBody};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;

use super::{Kind, Plan};
use crate::support::process::expected_panic;
use crate::support::{self, BoxError, PlainClient};

/// The body of every soak response.
pub type SoakBody = UnsyncBoxBody<Bytes, BoxError>;

type TrackedClient = InFlightClient<PlainClient>;

/// What the front server saw, counted where the test can count it exactly.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests hyper handed to the service: each is one call of `InFlightLayer`.
    pub accepted: AtomicU64,
    /// Requests whose handler started running.
    pub reached: AtomicU64,
    /// Outbound calls made: each is one call of `InFlightClientLayer`.
    pub outbound_calls: AtomicU64,
    /// Handlers that saw the operator's cancel and stopped early.
    pub cancelled: AtomicU64,
    /// Outbound calls that failed where the plan expected them to work.
    pub unexpected_upstream_errors: AtomicU64,
}

/// The front server.
#[derive(Debug)]
pub struct Front {
    pub addr: SocketAddr,
    pub counters: Arc<Counters>,
}

pub const CHUNK: &[u8; 64] = b"soak soak soak soak soak soak soak soak soak soak soak soak soa\n";

/// A body of `plan.chunks` chunks, `plan.pace` apart, that fails after `fail_after`
/// chunks if given.
fn chunks(plan: &Plan, fail_after: Option<u32>) -> SoakBody {
    let (count, pace) = (plan.chunks, plan.pace);
    let frames = stream::unfold(0, move |sent| async move {
        if sent == count {
            return None;
        }
        if sent > 0 && !pace.is_zero() {
            tokio::time::sleep(pace).await;
        }
        if fail_after == Some(sent) {
            // Let the head and the chunks so far go out first, so the break is mid-body.
            tokio::time::sleep(Duration::from_millis(1)).await;
            let error: BoxError = "the body breaks (planned)".into();
            return Some((Err(error), count));
        }
        Some((Ok(Frame::data(Bytes::from_static(CHUNK))), sent + 1))
    });
    StreamBody::new(frames).boxed_unsync()
}

fn text(status: StatusCode, text: &'static str) -> Response<SoakBody> {
    let body = Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

/// Serves the upstream: `GET /u/{index}` answers after the plan's delay with the plan's
/// chunks (failing mid-body for [`Kind::UpstreamCut`]).
pub async fn serve_upstream() -> SocketAddr {
    support::serve_both_versions(tower::service_fn(|req: Request<Incoming>| async move {
        let Some(plan) = Plan::from_path(req.uri().path(), "/u/") else {
            return Ok::<_, Infallible>(text(StatusCode::NOT_FOUND, "no such plan\n"));
        };
        tokio::time::sleep(plan.delay).await;
        let cut = (plan.kind == Kind::UpstreamCut).then_some(plan.point);
        Ok(Response::new(chunks(&plan, cut)))
    }))
    .await
}

#[derive(Clone)]
struct App {
    upstream: SocketAddr,
    /// A loopback port nobody listens on.
    refused: SocketAddr,
    http1: TrackedClient,
    http2: TrackedClient,
    counters: Arc<Counters>,
}

/// Serves the front server on `table`, calling `upstream`: panics become `500` outside the
/// tracking layer, as `CatchPanicLayer` would in a real service.
pub async fn serve_front(table: &Table, upstream: SocketAddr) -> Front {
    let counters = Arc::new(Counters::default());
    let tracked = InFlightClientLayer::with_table(table.clone());
    let app = App {
        upstream,
        refused: SocketAddr::from(([127, 0, 0, 1], support::free_port())),
        http1: tracked.layer(support::client_nodelay(false)),
        http2: tracked.layer(support::client_nodelay(true)),
        counters: counters.clone(),
    };
    let accepted = counters.clone();
    let service = ServiceBuilder::new()
        .layer(CatchPanicLayer::new())
        .map_request(move |req: Request<Incoming>| {
            accepted.accepted.fetch_add(1, Relaxed);
            req
        })
        .layer(InFlightLayer::with_table(table.clone()))
        .service_fn(move |req: Request<Incoming>| handle(app.clone(), req));
    Front {
        addr: support::serve_both_versions(service).await,
        counters,
    }
}

async fn handle(app: App, req: Request<Incoming>) -> Result<Response<SoakBody>, BoxError> {
    let Some(plan) = Plan::from_path(req.uri().path(), "/r/") else {
        return Ok(text(StatusCode::NOT_FOUND, "no such plan\n"));
    };
    app.counters.reached.fetch_add(1, Relaxed);
    if !plan.cooperative {
        return serve(&app, &plan).await;
    }
    tokio::select! {
        answer = serve(&app, &plan) => answer,
        () = inflight::cancelled() => {
            app.counters.cancelled.fetch_add(1, Relaxed);
            Ok(text(StatusCode::OK, "cancelled"))
        }
    }
}

/// One outbound call, counted once the client is ready: from there `call` starts it at
/// once, so the count is exactly the outbound requests the table saw start.
async fn call(
    app: &App,
    plan: &Plan,
    to: SocketAddr,
) -> Result<Response<TrackedBody<Incoming>>, BoxError> {
    let mut client = if plan.upstream_http2 {
        app.http2.clone()
    } else {
        app.http1.clone()
    };
    client.ready().await?;
    app.counters.outbound_calls.fetch_add(1, Relaxed);
    Ok(client
        .call(support::get(format!("http://{to}/u/{}", plan.index)))
        .await?)
}

async fn serve(app: &App, plan: &Plan) -> Result<Response<SoakBody>, BoxError> {
    match (plan.kind, plan.point) {
        (Kind::Panic, 0) => expected_panic(),
        (Kind::HandlerError, 0) => {
            return Err(io::Error::other("the handler fails (planned)").into());
        }
        (Kind::UpstreamRefused, _) => {
            return Ok(match call(app, plan, app.refused).await {
                Ok(_) => text(StatusCode::OK, "a closed port answered"),
                Err(_) => text(StatusCode::BAD_GATEWAY, "upstream refused"),
            });
        }
        (Kind::Panic, 1) => {
            // Panic while the outbound call is in flight: unwinding drops it.
            let pending = call(app, plan, app.upstream);
            tokio::pin!(pending);
            tokio::select! {
                _ = &mut pending => {}
                () = tokio::time::sleep(Duration::from_millis(1)) => {}
            }
            expected_panic();
        }
        _ => {}
    }
    let response = match call(app, plan, app.upstream).await {
        Ok(response) => response,
        Err(_) => {
            app.counters
                .unexpected_upstream_errors
                .fetch_add(1, Relaxed);
            return Ok(text(StatusCode::BAD_GATEWAY, "upstream failed"));
        }
    };
    let (parts, body) = response.into_parts();
    let passed = |body: TrackedBody<Incoming>| {
        let mut response = Response::new(body.map_err(BoxError::from).boxed_unsync());
        *response.status_mut() = parts.status;
        response
    };
    let collected = match plan.kind {
        Kind::Panic => {
            // Panic holding the upstream's unread body: unwinding drops it.
            let _held = body;
            expected_panic();
        }
        Kind::Stream
        | Kind::AbortBeforeHead
        | Kind::AbortMidBody
        | Kind::RawClose
        | Kind::Timeout
        | Kind::Slow => return Ok(passed(body)),
        _ => body.collect().await.map(|body| body.to_bytes()),
    };
    Ok(match (plan.kind, collected) {
        (Kind::HandlerError, _) => {
            return Err(io::Error::other("the handler fails (planned)").into());
        }
        (_, Err(_)) if plan.kind == Kind::UpstreamCut => {
            text(StatusCode::BAD_GATEWAY, "upstream cut")
        }
        (_, Err(_)) => {
            app.counters
                .unexpected_upstream_errors
                .fetch_add(1, Relaxed);
            text(StatusCode::BAD_GATEWAY, "upstream body failed")
        }
        (Kind::Status500, Ok(_)) => text(StatusCode::INTERNAL_SERVER_ERROR, "planned 500"),
        (Kind::BodyError, Ok(_)) => {
            // Fail before the last chunk, so the body never looks complete.
            let fail_after = plan.point.min(plan.chunks - 1);
            let mut response = Response::new(chunks(plan, Some(fail_after)));
            *response.status_mut() = parts.status;
            response
        }
        (_, Ok(bytes)) => {
            let mut response = Response::new(
                Full::new(bytes)
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            );
            *response.status_mut() = parts.status;
            response
        }
    })
}
