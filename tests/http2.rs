//! HTTP/2 through the layer, on hyper-util's auto builder (HTTP/1.1 and h2c with prior
//! knowledge on one port): requests show as HTTP/2.0; a stream the client resets mid-body
//! ends as dropped early while its connection goes on serving; and h2load's 64 concurrent
//! streams are all tracked, none left behind.

mod support;

use std::convert::Infallible;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http::{Request, Response, Version};
use http_body_util::StreamBody;
use hyper::body::{Frame, Incoming};
use inflight::{Direction, Ending, InFlightLayer, Table};
use support::{boxed, h2_client, read_to_end, serve_both_versions, wait_for_table};
use tower::{Layer, service_fn};

type Chunks =
    StreamBody<futures_util::stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>>;

/// `/stream`: 200 chunks of 1 KiB, one every 10 ms. `/wait`: 20 ms, then `ok`. Anything
/// else: `hello` at once.
async fn service(req: Request<Incoming>) -> Result<Response<Chunks>, Infallible> {
    let body: futures_util::stream::BoxStream<'static, _> = match req.uri().path() {
        "/stream" => Box::pin(stream::unfold(0u32, |sent| async move {
            if sent == 200 {
                return None;
            }
            if sent > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Some((Ok(Frame::data(Bytes::from(vec![b'x'; 1024]))), sent + 1))
        })),
        "/wait" => Box::pin(stream::once(async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Frame::data(Bytes::from_static(b"ok")))
        })),
        _ => Box::pin(stream::iter([Ok(Frame::data(Bytes::from_static(
            b"hello",
        )))])),
    };
    Ok(Response::new(StreamBody::new(body)))
}

async fn serve(table: &Table) -> std::net::SocketAddr {
    let tracked = InFlightLayer::with_table(table.clone()).layer(boxed(service_fn(service)));
    serve_both_versions(tracked).await
}

/// The endings of the requests that ended since the last call.
fn endings(ended: &mut inflight::Subscription) -> Vec<(String, Ending)> {
    let mut out = Vec::new();
    ended.drain(|requests| {
        out.extend(requests.iter().map(|r| (r.path().to_owned(), r.ending())));
    });
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prior_knowledge_requests_are_tracked_as_http2() {
    let table = support::table();
    let mut ended = table.subscribe();
    let addr = serve(&table).await;
    let client = h2_client();
    let call = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .request(support::get(format!("http://{addr}/stream")))
                .await
        }
    });
    let entry = wait_for_table(&table, "the stream in flight", |snapshot| {
        snapshot.entries.first().cloned()
    })
    .await;
    assert_eq!(entry.version, Version::HTTP_2);
    assert_eq!(entry.direction, Direction::Inbound);
    let response = call.await.unwrap().expect("an answer");
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(read_to_end(response.into_body()).await.len(), 200 * 1024);
    wait_for_table(&table, "the table to empty", |s| {
        s.entries.is_empty().then_some(())
    })
    .await;
    assert_eq!(
        endings(&mut ended),
        [("/stream".to_owned(), Ending::Completed)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reset_mid_body_ends_dropped_early_and_the_connection_goes_on() {
    let table = support::table();
    let mut ended = table.subscribe();
    let addr = serve(&table).await;
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (send_request, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(connection);

    let request = Request::get(format!("http://{addr}/stream"))
        .body(())
        .unwrap();
    let (response, mut stream) = send_request
        .clone()
        .ready()
        .await
        .expect("ready")
        .send_request(request, true)
        .expect("sent");
    let mut body = response.await.expect("a head").into_body();
    let first = body.data().await.expect("a chunk").expect("data");
    assert_eq!(first.len(), 1024);
    assert_eq!(table.len(), 1, "the stream is in flight");
    // RST_STREAM(CANCEL) on this stream only.
    stream.send_reset(h2::Reason::CANCEL);
    drop(body);
    wait_for_table(&table, "the reset stream to end", |s| {
        s.entries.is_empty().then_some(())
    })
    .await;
    assert_eq!(
        endings(&mut ended),
        [("/stream".to_owned(), Ending::DroppedEarly)]
    );

    // The same connection still serves.
    let request = Request::get(format!("http://{addr}/hello"))
        .body(())
        .unwrap();
    let (response, _) = send_request
        .ready()
        .await
        .expect("the connection is still open")
        .send_request(request, true)
        .expect("sent");
    let mut body = response.await.expect("a head").into_body();
    let mut text = Vec::new();
    while let Some(chunk) = body.data().await {
        text.extend_from_slice(&chunk.expect("data"));
    }
    assert_eq!(text, b"hello");
    wait_for_table(&table, "the second stream to end", |s| {
        s.entries.is_empty().then_some(())
    })
    .await;
    assert_eq!(
        endings(&mut ended),
        [("/hello".to_owned(), Ending::Completed)]
    );
}

/// h2load from Debian's `nghttp2-client`; `scripts/test-all.sh` installs it.
fn h2load() -> &'static str {
    let found = Command::new("h2load").arg("--version").output();
    assert!(
        found.is_ok_and(|output| output.status.success()),
        "h2load is missing: run scripts/test-all.sh, or apt-get install nghttp2-client"
    );
    "h2load"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2load_at_64_concurrent_streams_is_all_tracked_and_nothing_is_left() {
    let table = support::table();
    let addr = serve(&table).await;
    let program = h2load();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(program)
            .args(["-n", "3000", "-c", "2", "-m", "64"])
            .arg(format!("http://{addr}/wait"))
            .output()
            .expect("h2load runs")
    });
    // With 2 connections of 64 streams each, many requests are in flight at once.
    let most = wait_for_table(&table, "64 requests in flight at once", |s| {
        (s.entries.len() >= 64).then_some(s.entries.len())
    })
    .await;
    assert!(
        table
            .snapshot()
            .entries
            .iter()
            .all(|e| e.version == Version::HTTP_2),
        "every stream is HTTP/2"
    );
    let output = run.await.unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "h2load failed:\n{report}");
    assert!(
        report.contains("3000 succeeded, 0 failed, 0 errored"),
        "h2load's report:\n{report}"
    );
    wait_for_table(&table, "the table to empty", |s| {
        s.entries.is_empty().then_some(())
    })
    .await;
    let totals = table.totals_of(Direction::Inbound);
    assert_eq!(totals.started, 3000, "{totals:?}");
    assert_eq!(
        totals.completed, 3000,
        "{totals:?} (at most {most} at once)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_request_is_routed_by_its_method() {
    let table = support::table();
    let mut ended = table.subscribe();
    let addr = serve(&table).await;
    let send = |http2: bool, content_type: &'static str| {
        let client = support::client_nodelay(http2);
        let uri = format!("http://{addr}/orders.Orders/Get");
        async move {
            let request = Request::post(uri)
                .header("content-type", content_type)
                .body(http_body_util::Empty::<Bytes>::new())
                .unwrap();
            let response = client.request(request).await.expect("an answer");
            read_to_end(response.into_body()).await;
        }
    };
    send(true, "application/grpc").await;
    send(true, "application/grpc+proto").await;
    // Not gRPC: JSON over HTTP/2, and gRPC's content type over HTTP/1.1.
    send(true, "application/json").await;
    send(false, "application/grpc").await;
    wait_for_table(&table, "the table to empty", |s| {
        s.entries.is_empty().then_some(())
    })
    .await;
    let mut routes = Vec::new();
    ended.drain(|requests| routes.extend(requests.iter().map(|r| r.route())));
    assert_eq!(
        routes,
        [
            Some("/orders.Orders/Get".to_owned()),
            Some("/orders.Orders/Get".to_owned()),
            None,
            None
        ]
    );
}
