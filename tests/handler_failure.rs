//! Requests whose handler or body fails leave the table, counted by the way they ended,
//! and the server keeps serving.

mod support;

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body::{Body, Frame};
use hyper::body::Incoming;
use inflight::{InFlightLayer, Table, Totals};
use support::{client, serve_axum, serve_tracked, wait_until_empty};
use tokio::io::AsyncReadExt;
use tower::service_fn;

/// `(completed, failed, body_failed, dropped_early)` of `table`'s totals.
fn ended(table: &Table) -> (u64, u64, u64, u64) {
    let Totals {
        completed,
        failed,
        body_failed,
        dropped_early,
        ..
    } = table.totals();
    (completed, failed, body_failed, dropped_early)
}

async fn hello_works(addr: std::net::SocketAddr) {
    let response = client()
        .request(support::get(format!("http://{addr}/hello")))
        .await
        .expect("the server still answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(support::read_to_end(response.into_body()).await, "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_error_ends_the_request_as_failed() {
    let table = support::table();
    let addr = serve_tracked(
        &table,
        service_fn(|req: http::Request<Incoming>| async move {
            if req.uri().path() == "/fail" {
                return Err(io::Error::other("the handler gave up"));
            }
            Ok(Response::new(http_body_util::Full::new(Bytes::from(
                "hello",
            ))))
        }),
    )
    .await;

    let result = client()
        .request(support::get(format!("http://{addr}/fail")))
        .await;
    assert!(
        result.is_err(),
        "hyper closes the connection on a service error"
    );
    wait_until_empty(&table).await;
    assert_eq!(ended(&table), (0, 1, 0, 0));

    hello_works(addr).await;
    assert!(table.is_empty());
    assert_eq!(ended(&table), (1, 1, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_panic_ends_the_request_and_the_server_keeps_serving() {
    let table = support::table();
    let app = Router::new()
        .route(
            "/panic",
            get(|| async {
                inflight::set_status("about to panic");
                if true {
                    panic!("the handler panics (expected by this test)");
                }
                "unreachable"
            }),
        )
        .route("/hello", get(|| async { "hello" }))
        .layer(InFlightLayer::with_table(table.clone()));
    let addr = serve_axum(app).await;

    let mut stream = support::raw_request(addr, "GET", "/panic").await;
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest).await;
    assert!(
        read.is_err() || rest.is_empty(),
        "a panicking handler sent a response: {:?}",
        String::from_utf8_lossy(&rest)
    );
    wait_until_empty(&table).await;
    assert_eq!(ended(&table), (0, 0, 0, 1));

    hello_works(addr).await;
    assert!(table.is_empty());
    assert_eq!(ended(&table), (1, 0, 0, 1));
}

/// Hands out one chunk, then fails or panics.
struct Breaks {
    sent: bool,
    panics: bool,
}

impl Body for Breaks {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if !std::mem::replace(&mut this.sent, true) {
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from("partial\n")))));
        }
        if this.panics {
            panic!("the body panics (expected by this test)");
        }
        Poll::Ready(Some(Err(io::Error::other("the body broke"))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_error_and_body_panic_end_the_request() {
    let table = support::table();
    let addr = serve_tracked(
        &table,
        service_fn(|req: http::Request<Incoming>| async move {
            let body = Breaks {
                sent: false,
                panics: req.uri().path() == "/panic",
            };
            Ok::<_, Infallible>(Response::new(body))
        }),
    )
    .await;

    // hyper may drop the connection before it flushes the first chunk; what the client
    // sees does not matter here.
    let mut stream = support::raw_request(addr, "GET", "/error").await;
    let _ = stream.read_to_end(&mut Vec::new()).await;
    wait_until_empty(&table).await;
    assert_eq!(ended(&table), (0, 0, 1, 0));

    let mut stream = support::raw_request(addr, "GET", "/panic").await;
    let _ = stream.read_to_end(&mut Vec::new()).await;
    wait_until_empty(&table).await;
    assert_eq!(ended(&table), (0, 0, 1, 1));
    assert_eq!(table.totals().started, 2);
}
