//! An inbound request stays in the table exactly until its response is over: streamed
//! bodies until the last chunk, Content-Length bodies once all bytes are out, bodiless
//! responses at once, and responses the client walks away from when it does.

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use inflight::{Direction, Table, Totals};
use support::{
    ChannelBody, Slot, ThenPending, Ticker, client, get, raw_request, read_bytes, read_to_end,
    read_until, request, serve_tracked, wait_for_table, wait_until_empty,
};
use tokio::io::AsyncReadExt;
use tower::service_fn;

/// `(completed, dropped_early)` of `table`'s totals.
fn ended(table: &Table) -> (u64, u64) {
    let Totals {
        completed,
        dropped_early,
        ..
    } = table.totals();
    (completed, dropped_early)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_body_stays_listed_until_its_last_chunk() {
    let table = support::table();
    let (chunks, body) = ChannelBody::new();
    let body = Slot::new(body);
    let addr = serve_tracked(
        &table,
        service_fn(move |_req: http::Request<Incoming>| {
            let body = body.take();
            async move { Ok::<_, Infallible>(Response::new(body)) }
        }),
    )
    .await;

    let response = client()
        .request(get(format!("http://{addr}/stream?n=3")))
        .await
        .expect("response head");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();

    let id = {
        let snapshot = table.snapshot();
        assert_eq!(snapshot.entries.len(), 1, "{snapshot:?}");
        let entry = &snapshot.entries[0];
        assert_eq!(entry.direction, Direction::Inbound);
        assert_eq!(entry.method, Method::GET);
        assert_eq!(entry.uri, "/stream?n=3");
        assert_eq!(entry.status, "writing body");
        assert_eq!(entry.response_status, Some(StatusCode::OK));
        assert!(entry.peer.is_some_and(|peer| peer.ip().is_loopback()));
        entry.id
    };

    let mut sent = 0;
    for i in 0..3 {
        let chunk = format!("chunk {i}\n");
        sent += chunk.len() as u64;
        chunks.send(Bytes::from(chunk.clone())).expect("body alive");
        assert_eq!(read_bytes(&mut body, chunk.len()).await, chunk);

        let entry = table
            .get(id)
            .unwrap_or_else(|| panic!("gone after chunk {i} of a body that is not over"));
        assert_eq!(entry.status, "writing body", "after chunk {i}");
        assert_eq!(entry.bytes_out, sent, "after chunk {i}");
        assert_eq!(table.len(), 1);
        assert_eq!(ended(&table), (0, 0));
    }
    let statuses: Vec<_> = table
        .get(id)
        .expect("still listed")
        .history
        .into_iter()
        .map(|change| change.status)
        .collect();
    assert_eq!(statuses, ["in handler", "writing body"]);

    // The last chunk was the third; the body ends when its source says so.
    drop(chunks);
    assert!(body.frame().await.is_none(), "the body should be over");
    // The request ended before hyper wrote the final chunk the client just read.
    assert!(table.get(id).is_none(), "listed after the body ended");
    assert!(table.is_empty());
    assert_eq!(ended(&table), (1, 0));
    assert_eq!(table.totals().started, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_mid_body_ends_the_request_as_dropped_early() {
    let table = support::table();
    let addr = serve_tracked(
        &table,
        service_fn(|_req: http::Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Ticker::every(Duration::from_millis(5))))
        }),
    )
    .await;

    let mut stream = raw_request(addr, "GET", "/ticks").await;
    let seen = read_until(&mut stream, "tick 2\n").await;
    assert!(seen.starts_with("HTTP/1.1 200 OK\r\n"), "{seen}");
    let id = wait_for_table(&table, "the streaming request", |snapshot| {
        snapshot.entries.first().map(|entry| entry.id)
    })
    .await;
    assert_eq!(table.get(id).expect("listed").status, "writing body");

    drop(stream);
    wait_until_empty(&table).await;
    assert_eq!(ended(&table), (0, 1));
    let totals = table.totals();
    assert_eq!((totals.failed, totals.body_failed), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_stops_reading_shows_as_not_reading() {
    let table = Table::builder()
        .not_reading_after(Duration::from_millis(50))
        .build();
    // Far more than loopback socket buffers hold, so hyper cannot get rid of it while the
    // client reads nothing and stops asking the body for more.
    const HUGE: usize = 64 << 20;
    let addr = serve_tracked(
        &table,
        service_fn(|_req: http::Request<Incoming>| async {
            let body = http_body_util::StreamBody::new(futures_util::stream::iter([
                Ok::<_, Infallible>(hyper::body::Frame::data(Bytes::from(vec![b'x'; HUGE]))),
                Ok(hyper::body::Frame::data(Bytes::from_static(b"end"))),
            ]));
            Ok::<_, Infallible>(Response::new(body))
        }),
    )
    .await;

    let mut stream = raw_request(addr, "GET", "/huge").await;
    let entry = wait_for_table(&table, "`client not reading`", |snapshot| {
        snapshot
            .entries
            .first()
            .filter(|entry| entry.status == "client not reading")
            .cloned()
    })
    .await;
    assert_eq!(entry.bytes_out, HUGE as u64);

    // Reading again lets the body finish.
    let mut buf = vec![0u8; 1 << 20];
    let mut tail = Vec::new();
    loop {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed before the end of the body");
        tail.extend_from_slice(&buf[..n]);
        if tail.ends_with(b"end\r\n0\r\n\r\n") {
            break;
        }
        let keep = tail.len().saturating_sub(16);
        tail.drain(..keep);
    }
    wait_until_empty(&table).await;
    assert_eq!(ended(&table), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_body_ends_when_its_bytes_are_out() {
    let table = support::table();
    let addr = serve_tracked(
        &table,
        service_fn(|_req: http::Request<Incoming>| async {
            // Never says it is over: hyper stops polling it once 11 bytes are out.
            let mut response = Response::new(ThenPending::new(["hello ", "world"]));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("11"));
            Ok::<_, Infallible>(response)
        }),
    )
    .await;

    let client = client();
    for round in 1..=2 {
        let response = client
            .request(get(format!("http://{addr}/sized")))
            .await
            .expect("response");
        assert_eq!(response.headers()[header::CONTENT_LENGTH], "11");
        assert_eq!(read_to_end(response.into_body()).await, "hello world");
        // The last data frame ended the request, before hyper wrote it.
        assert!(table.is_empty(), "listed after all bytes were read");
        assert_eq!(ended(&table), (round, 0), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_content_length_body_ends_with_the_head() {
    let table = support::table();
    let addr = serve_tracked(
        &table,
        service_fn(|_req: http::Request<Incoming>| async {
            // hyper never polls a body announced as empty.
            let mut response = Response::new(ThenPending::new([]));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            Ok::<_, Infallible>(response)
        }),
    )
    .await;
    let response = client()
        .request(get(format!("http://{addr}/empty")))
        .await
        .expect("response");
    assert_eq!(read_to_end(response.into_body()).await, "");
    wait_until_empty(&table).await;
    assert_eq!(
        ended(&table),
        (1, 0),
        "a complete response counted as cut short"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_body_ends_with_its_only_frame() {
    let table = support::table();
    let addr = serve_tracked(
        &table,
        service_fn(|_req: http::Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(http_body_util::Full::new(
                Bytes::from_static(b"all at once"),
            )))
        }),
    )
    .await;
    let response = client()
        .request(get(format!("http://{addr}/")))
        .await
        .expect("response");
    assert_eq!(read_to_end(response.into_body()).await, "all at once");
    assert!(table.is_empty());
    assert_eq!(ended(&table), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodiless_responses_end_as_soon_as_they_are_out() {
    let table = support::table();
    let addr = serve_tracked(
        &table,
        service_fn(|req: http::Request<Incoming>| async move {
            // Every body here would stay pending forever if anyone waited for its end.
            let status = match req.uri().path() {
                "/204" => StatusCode::NO_CONTENT,
                "/304" => StatusCode::NOT_MODIFIED,
                _ => StatusCode::OK,
            };
            let mut response = Response::new(ThenPending::new(["never sent"]));
            *response.status_mut() = status;
            if status == StatusCode::OK {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from_static("10"));
            }
            Ok::<_, Infallible>(response)
        }),
    )
    .await;

    let client = client();
    let cases = [
        (Method::HEAD, "/head", StatusCode::OK),
        (Method::GET, "/204", StatusCode::NO_CONTENT),
        (Method::GET, "/304", StatusCode::NOT_MODIFIED),
    ];
    for (done, (method, path, status)) in (1..).zip(cases) {
        let response = client
            .request(request(method.clone(), format!("http://{addr}{path}")))
            .await
            .expect("response");
        assert_eq!(response.status(), status);
        assert!(
            table.is_empty(),
            "{method} {path} listed once its response was out"
        );
        assert_eq!(ended(&table), (done, 0), "{method} {path}");
        assert_eq!(read_to_end(response.into_body()).await, "");
    }
}
