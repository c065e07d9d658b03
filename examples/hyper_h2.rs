//! inflight in a plain hyper server that speaks HTTP/1.1 and HTTP/2 (h2c, prior knowledge)
//! on one port, with hyper-util's auto builder.
//!
//! ```text
//! cargo run --example hyper_h2
//! curl --http2-prior-knowledge localhost:3000/wait/3000 &
//! curl localhost:3000/wait/3000 &
//! curl localhost:9084/requests      # both, as HTTP/2.0 and HTTP/1.1
//! ```

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tower::{ServiceBuilder, ServiceExt};

/// `/wait/{ms}` answers after that long; anything else at once.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let wait = req.uri().path().strip_prefix("/wait/");
    if let Some(ms) = wait.and_then(|ms| ms.parse::<u64>().ok()) {
        inflight::set_status("waiting");
        tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"done\n"))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = ServiceBuilder::new()
        .layer(inflight::InFlightLayer::new())
        .service_fn(handle);
    let admin =
        inflight::admin::AdminServer::new(inflight::global().clone()).bind("127.0.0.1:9084")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!(
        "http://{} (HTTP/1.1 and h2c), admin http://{}",
        listener.local_addr()?,
        admin.local_addr()
    );
    loop {
        let (stream, peer) = listener.accept().await?;
        let service = service.clone();
        tokio::spawn(async move {
            // The peer in the request's extensions shows as the request's client.
            let hyper_service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(peer);
                service.clone().oneshot(req)
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), hyper_service)
                .await;
        });
    }
}
