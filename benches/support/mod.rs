//! What the benches share: a trivial service, requests built the way hyper builds them,
//! and driving a service by hand with a no-op waker (the service answers at once).

// Each bench uses a part of this.
#![allow(dead_code)]

pub mod latency;
pub mod paired;

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{Empty, Full};
use inflight::{InFlightLayer, Table, TrackedBody};
use tower::{Layer, Service, service_fn};

pub type Req = Request<Empty<Bytes>>;

/// A request with an empty body and empty extensions, as hyper hands it to a service.
pub fn request(uri: &str) -> Req {
    Request::builder()
        .uri(uri)
        .body(Empty::new())
        .expect("a valid request")
}

/// A realistic request target of exactly 60 bytes.
pub fn uri60(i: usize) -> String {
    format!("/api/v1/accounts/{i:010}/orders?state=open&page=2&size=50")
}

pub type Hello = Response<Full<Bytes>>;

/// A service that answers `hello` at once.
pub fn hello()
-> impl Service<Req, Response = Hello, Error = Infallible, Future = Ready<Result<Hello, Infallible>>>
+ Clone
+ Send
+ 'static {
    service_fn(|_request: Req| {
        ready(Ok::<_, Infallible>(Response::new(Full::new(
            Bytes::from_static(b"hello"),
        ))))
    })
}

/// Calls the service and returns the response, body not polled yet.
pub fn start<S, B>(service: &mut S, request: Req) -> Response<B>
where
    S: Service<Req, Response = Response<B>>,
{
    let mut cx = Context::from_waker(Waker::noop());
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    let mut future = pin!(service.call(request));
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(response)) => response,
        _ => panic!("the service answers at once"),
    }
}

/// Polls a body to its end.
pub fn drain<B: Body>(body: B) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut body = pin!(body);
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            Poll::Ready(None) => return,
            Poll::Ready(Some(Ok(frame))) => {
                black_box(frame);
            }
            _ => panic!("the body is ready and does not fail"),
        }
    }
}

/// One request: call, then drain the body.
#[inline]
pub fn call_and_drain<S, B>(service: &mut S, request: Req)
where
    S: Service<Req, Response = Response<B>>,
    B: Body,
{
    drain(start(service, request).into_body());
}

/// The layer over the trivial service, tracking into `table` (a clone of it: the service
/// does not borrow `table`).
pub fn tracked(
    table: &Table,
) -> impl Service<Req, Response = Response<TrackedBody<Full<Bytes>>>, Error = Infallible>
+ Clone
+ Send
+ use<> {
    InFlightLayer::with_table(table.clone()).layer(hello())
}

/// Puts `n` requests with 60-byte URIs in flight in `table`, from this thread, and returns
/// the undrained bodies that keep them there.
pub fn fill(table: &Table, n: usize) -> Vec<TrackedBody<Full<Bytes>>> {
    let mut service = tracked(table);
    let before = table.len();
    let bodies: Vec<_> = (0..n)
        .map(|i| start(&mut service, request(&uri60(i))).into_body())
        .collect();
    assert_eq!(table.len(), before + n);
    bodies
}
