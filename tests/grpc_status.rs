//! gRPC over a plain hyper server and client (HTTP/2, prior knowledge), both tracked: a
//! `grpc-status` other than 0 fails the request and the call, whether it comes in the
//! trailers or in trailers-only headers, and the finished record keeps code and message;
//! `grpc-timeout` is a deadline, shown until and after it passes; and a call whose request
//! has ended is an orphan. tests/tonic.rs runs the same through tonic.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{Empty, StreamBody};
use hyper::body::{Frame, Incoming};
use inflight::{Direction, Ending, GrpcStatus, InFlightClientLayer, InFlightLayer, Table};
use support::{Gate, boxed, read_to_end, serve_both_versions, wait_for, wait_for_table};
use tower::{Layer, ServiceExt, service_fn};

type Frames = StreamBody<BoxStream<'static, Result<Frame<Bytes>, Infallible>>>;

fn trailers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                http::HeaderName::from_static(name),
                HeaderValue::from_static(value),
            )
        })
        .collect()
}

/// A message, then `trailers`.
fn message_then(trailers: HeaderMap) -> Frames {
    StreamBody::new(Box::pin(stream::iter([
        Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\x02hi"))),
        Ok(Frame::trailers(trailers)),
    ])))
}

/// gRPC's answers, by method. `Wait` holds its answer until `gate` opens.
async fn grpc(req: Request<Incoming>, gate: Gate) -> Result<Response<Frames>, Infallible> {
    let response = Response::builder().header("content-type", "application/grpc");
    let response = match req.uri().path() {
        "/demo.Demo/Fails" => response.body(message_then(trailers(&[
            ("grpc-status", "14"),
            ("grpc-message", "db%20down"),
        ]))),
        // Trailers only: the status in the headers, and no body at all.
        "/demo.Demo/Missing" => response
            .header("grpc-status", "5")
            .header("grpc-message", "no such order")
            .body(StreamBody::new(
                Box::pin(stream::empty()) as BoxStream<'static, _>
            )),
        "/demo.Demo/Wait" => {
            gate.wait().await;
            response.body(message_then(trailers(&[("grpc-status", "0")])))
        }
        _ => response.body(message_then(trailers(&[("grpc-status", "0")]))),
    };
    Ok(response.expect("a valid response"))
}

async fn serve(table: &Table, gate: &Gate) -> SocketAddr {
    let gate = gate.clone();
    let service = service_fn(move |req| grpc(req, gate.clone()));
    serve_both_versions(InFlightLayer::with_table(table.clone()).layer(boxed(service))).await
}

fn call(addr: SocketAddr, method: &str, timeout: Option<&'static str>) -> Request<Empty<Bytes>> {
    let mut request = Request::post(format!("http://{addr}/demo.Demo/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(timeout) = timeout {
        request = request.header("grpc-timeout", timeout);
    }
    request.body(Empty::new()).expect("a valid request")
}

/// Sends `request` through a client tracked in `table` and reads the answer to its end.
async fn send(table: &Table, request: Request<Empty<Bytes>>) {
    let client = InFlightClientLayer::with_table(table.clone()).layer(support::h2_client());
    let response = client.oneshot(request).await.expect("an answer");
    read_to_end(response.into_body()).await;
}

/// How each request that ended since the last call ended, and its gRPC status.
fn ended(
    subscription: &mut inflight::Subscription,
) -> Vec<(Direction, String, Ending, Option<GrpcStatus>)> {
    let mut out = Vec::new();
    subscription.drain(|requests| {
        out.extend(requests.iter().map(|r| {
            (
                r.direction(),
                r.path().to_owned(),
                r.ending(),
                r.grpc_status(),
            )
        }));
    });
    out
}

async fn one_ended(
    subscription: &mut inflight::Subscription,
) -> (Direction, String, Ending, Option<GrpcStatus>) {
    let mut seen = Vec::new();
    wait_for("a request to end", || {
        seen.extend(ended(subscription));
        seen.first().cloned()
    })
    .await
}

fn status(code: u32, message: &str) -> Option<(u32, Option<String>)> {
    Some((code, Some(message.to_owned())))
}

fn code_and_message(status: Option<GrpcStatus>) -> Option<(u32, Option<String>)> {
    status.map(|status| (status.code, status.message))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_status_in_the_trailers_fails_the_request_and_the_call() {
    let (server, client) = (support::table(), support::table());
    let (mut served, mut sent) = (server.subscribe(), client.subscribe());
    let addr = serve(&server, &Gate::new()).await;
    send(&client, call(addr, "Fails", None)).await;

    for (side, subscription) in [("server", &mut served), ("client", &mut sent)] {
        let (_, path, ending, grpc) = one_ended(subscription).await;
        assert_eq!(path, "/demo.Demo/Fails", "{side}");
        assert_eq!(ending, Ending::Failed, "{side}");
        assert_eq!(code_and_message(grpc), status(14, "db down"), "{side}");
    }
    assert_eq!(server.totals().failed, 1);
    assert_eq!(client.totals().failed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_status_in_trailers_only_headers_fails_both_sides() {
    let (server, client) = (support::table(), support::table());
    let (mut served, mut sent) = (server.subscribe(), client.subscribe());
    let addr = serve(&server, &Gate::new()).await;
    send(&client, call(addr, "Missing", None)).await;

    for (side, subscription) in [("server", &mut served), ("client", &mut sent)] {
        let (_, _, ending, grpc) = one_ended(subscription).await;
        assert_eq!(ending, Ending::Failed, "{side}");
        let grpc = grpc.expect("a gRPC status");
        assert_eq!(grpc.code_name(), Some("NOT_FOUND"), "{side}");
        assert_eq!(grpc.message.as_deref(), Some("no such order"), "{side}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_zero_completes_and_trailers_of_other_requests_are_not_read() {
    let (server, client) = (support::table(), support::table());
    let (mut served, mut sent) = (server.subscribe(), client.subscribe());
    let addr = serve(&server, &Gate::new()).await;
    send(&client, call(addr, "Get", None)).await;
    for subscription in [&mut served, &mut sent] {
        let (_, _, ending, grpc) = one_ended(subscription).await;
        assert_eq!((ending, grpc), (Ending::Completed, None));
    }

    // The same failing trailers on a request that is not gRPC (no gRPC content type):
    // its HTTP exchange completed, and that is all the layers say.
    let plain = Request::post(format!("http://{addr}/demo.Demo/Fails"))
        .body(Empty::new())
        .unwrap();
    send(&client, plain).await;
    for subscription in [&mut served, &mut sent] {
        let (_, path, ending, grpc) = one_ended(subscription).await;
        assert_eq!(path, "/demo.Demo/Fails");
        assert_eq!((ending, grpc), (Ending::Completed, None));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_timeout_is_a_deadline_shown_before_and_after_it_passes() {
    let (server, client) = (support::table(), support::table());
    let gate = Gate::new();
    let addr = serve(&server, &gate).await;
    let caller = tokio::spawn({
        let client = client.clone();
        async move { send(&client, call(addr, "Wait", Some("300m"))).await }
    });

    for (side, table) in [("server", &server), ("client", &client)] {
        let entry = wait_for_table(table, "the call in flight", |snapshot| {
            snapshot.entries.first().cloned()
        })
        .await;
        assert_eq!(entry.deadline.map(|d| d.as_millis()), Some(300), "{side}");
        let mut dump = Vec::new();
        table.dump_text(&mut dump).unwrap();
        let dump = String::from_utf8(dump).unwrap();
        // Either side of the deadline, depending on how fast this machine got here.
        assert!(
            dump.contains("] deadline in ") || dump.contains("] past deadline by "),
            "{side}: {dump}"
        );
    }
    for (side, table) in [("server", &server), ("client", &client)] {
        let entry = wait_for_table(table, "the deadline to pass", |snapshot| {
            snapshot
                .entries
                .first()
                .filter(|e| e.past_deadline)
                .cloned()
        })
        .await;
        assert!(entry.age >= entry.deadline.unwrap(), "{side}");
        let json = inflight::admin::to_wire::request(&entry, false);
        assert_eq!(json.deadline_ms, Some(300.0), "{side}");
        assert!(json.past_deadline, "{side}");
        let mut dump = Vec::new();
        table.dump_text(&mut dump).unwrap();
        let dump = String::from_utf8(dump).unwrap();
        assert!(dump.contains("] past deadline by "), "{side}: {dump}");
    }
    gate.open();
    caller.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_grpc_timeout_is_no_deadline_and_no_error() {
    let (server, client) = (support::table(), support::table());
    let gate = Gate::new();
    let addr = serve(&server, &gate).await;
    let caller = tokio::spawn({
        let client = client.clone();
        async move { send(&client, call(addr, "Wait", Some("soon"))).await }
    });
    for table in [&server, &client] {
        let entry = wait_for_table(table, "the call in flight", |snapshot| {
            snapshot.entries.first().cloned()
        })
        .await;
        assert_eq!((entry.deadline, entry.past_deadline), (None, false));
    }
    gate.open();
    caller.await.unwrap();
    assert_eq!(server.totals().completed, 1);
}

/// A handler that starts a call in a task of its own and answers at once: once the
/// request has ended, nobody waits for the call, and the table says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_request_ended_is_an_orphan() {
    let table = support::table();
    let gate = Gate::new();
    let (upstream, chunks) = support::gated_upstream(&gate).await;
    let client = support::tracked_client(&table);
    let service = service_fn(move |_req: Request<Incoming>| {
        let client = client.clone();
        async move {
            tokio::spawn(inflight::in_current_request(async move {
                let call = support::get(format!("http://{upstream}/"));
                if let Ok(response) = client.oneshot(call).await {
                    read_to_end(response.into_body()).await;
                }
            }));
            Ok::<_, Infallible>(Response::new(http_body_util::Full::new(Bytes::from(
                "started\n",
            ))))
        }
    });
    let addr = support::serve_tracked(&table, service).await;
    let response = support::client()
        .request(support::get(format!("http://{addr}/start")))
        .await
        .unwrap();
    read_to_end(response.into_body()).await;

    let call = wait_for_table(&table, "the call alone", |snapshot| {
        let only = snapshot
            .entries
            .first()
            .filter(|_| snapshot.entries.len() == 1)?;
        (only.direction == Direction::Outbound).then(|| only.clone())
    })
    .await;
    assert!(call.parent.is_some());
    assert!(call.orphan);
    assert!(table.get(call.id).unwrap().orphan);
    let mut dump = Vec::new();
    table.dump_text(&mut dump).unwrap();
    let dump = String::from_utf8(dump).unwrap();
    assert!(dump.contains("[awaiting headers] orphan trace="), "{dump}");
    gate.open();
    drop(chunks);
    support::wait_until_empty(&table).await;
}
