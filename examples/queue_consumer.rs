//! A queue consumer: each message is tracked work, listed next to HTTP requests.
//!
//! ```text
//! cargo run --example queue_consumer    # prints its admin port and pid
//! inflight ls --endpoints 127.0.0.1:PORT --direction work
//! curl http://127.0.0.1:PORT/requests?direction=work
//! kill -USR1 PID                        # the dump's `work:` section
//! ```
//!
//! A producer puts orders on a `tokio::sync::mpsc` channel (the "queue", three
//! partitions); the consumer handles each in `inflight::work("consume orders/{partition}",
//! ...)`, which calls a slow local upstream through `InFlightClientLayer`: the call is
//! listed under the work, which waits on it. `DELETE /requests/{id}` on the admin port
//! drops a message's work (the consumer logs the `Terminated`), `POST
//! /requests/{id}/cancel` makes its `inflight::cancelled()` resolve.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::mpsc;
use tower::{Layer, ServiceExt};

/// One message of the queue.
struct Order {
    partition: u32,
    id: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    inflight::dump_on_signal()?;
    let admin =
        inflight::admin::AdminServer::new(inflight::global().clone()).bind("127.0.0.1:0")?;
    let upstream = serve_upstream().await?;
    let client = inflight::InFlightClientLayer::new()
        .layer(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    println!(
        "pid {}: admin on http://{addr}\n  inflight ls --endpoints {addr} --direction work\n  \
         curl 'http://{addr}/requests?direction=work'\n  kill -USR1 {}",
        std::process::id(),
        std::process::id(),
        addr = admin.local_addr(),
    );

    let (queue, mut messages) = mpsc::channel::<Order>(64);
    tokio::spawn(async move {
        for id in 0.. {
            let order = Order {
                partition: (id % 3) as u32,
                id,
            };
            if queue.send(order).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    });

    while let Some(order) = messages.recv().await {
        let client = client.clone();
        tokio::spawn(async move {
            let handled = inflight::work(format!("consume orders/{}", order.partition), async {
                inflight::set_attr("order", order.id.to_string());
                inflight::set_status("charging");
                let charge = http::Request::get(format!("http://{upstream}/charge/{}", order.id))
                    .body(Empty::new())
                    .expect("a valid request");
                tokio::select! {
                    charged = client.oneshot(charge) => match charged {
                        Ok(response) => {
                            let _ = response.into_body().collect().await;
                            "charged"
                        }
                        Err(_) => "upstream failed",
                    },
                    _ = inflight::cancelled() => "cancelled by an operator",
                }
            })
            .await;
            match handled {
                Ok(outcome) => eprintln!("order {}: {outcome}", order.id),
                Err(terminated) => eprintln!("order {}: {terminated}", order.id),
            }
        });
    }
    Ok(())
}

/// The service the consumer calls: answers after 5 s, so calls stay in flight a while.
async fn serve_upstream() -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                        b"charged\n",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}
