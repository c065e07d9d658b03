//! What the table shows of URLs: no userinfo, no values of sensitive query parameters,
//! in snapshots and in the text dump alike.

mod support;

use std::convert::Infallible;

use http::Response;
use hyper::body::Incoming;
use inflight::{Direction, Table};
use support::{Gate, client, read_to_end, serve_hyper, serve_tracked, wait_for_table};
use tower::{ServiceExt, service_fn};

fn dump(table: &Table) -> String {
    let mut out = Vec::new();
    table.dump_text(&mut out).expect("dump");
    String::from_utf8(out).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_urls_never_show() {
    let table = support::table();
    let gate = Gate::new();
    let upstream = {
        let gate = gate.clone();
        serve_hyper(service_fn(move |req: http::Request<Incoming>| {
            let gate = gate.clone();
            async move {
                gate.wait().await;
                // What the upstream really received, secrets included.
                Ok::<_, Infallible>(Response::new(req.uri().to_string()))
            }
        }))
        .await
    };
    let port = upstream.port();
    let calls = support::tracked_client(&table);
    let addr = serve_tracked(
        &table,
        service_fn(move |_req: http::Request<Incoming>| {
            let calls = calls.clone();
            async move {
                let response = calls
                    .oneshot(support::get(format!(
                        "http://user:pass@127.0.0.1:{port}/y?api_key=k"
                    )))
                    .await
                    .expect("upstream answers");
                let seen = read_to_end(response.into_body()).await;
                Ok::<_, Infallible>(Response::new(http_body_util::Full::new(seen)))
            }
        }),
    )
    .await;

    let response =
        tokio::spawn(client().request(support::get(format!("http://{addr}/x?token=abc&page=2"))));
    let snapshot = wait_for_table(&table, "both requests", |snapshot| {
        (snapshot.entries.len() == 2).then(|| snapshot.clone())
    })
    .await;
    let inbound = snapshot.inbound().next().expect("inbound");
    let outbound = snapshot.outbound().next().expect("outbound");
    assert_eq!(inbound.uri, "/x?token=REDACTED&page=2");
    assert_eq!(
        outbound.uri,
        format!("http://127.0.0.1:{port}/y?api_key=REDACTED")
    );
    assert_eq!(outbound.direction, Direction::Outbound);
    assert_eq!(outbound.parent, Some(inbound.id));
    let by_id = table.get(outbound.id).expect("in flight");
    assert_eq!(by_id.uri, outbound.uri);

    let text = dump(&table);
    assert!(
        text.contains(r#"servicing GET "/x?token=REDACTED&page=2" for "#),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#"servicing GET "http://127.0.0.1:{port}/y?api_key=REDACTED" for "#
        )),
        "{text}"
    );
    for secret in ["abc", "user:pass", "api_key=k"] {
        assert!(!text.contains(secret), "{secret:?} in the dump:\n{text}");
        assert!(
            !format!("{snapshot:?}").contains(secret),
            "{secret:?} in the snapshot"
        );
    }

    // Redaction is for display only: the request itself went out unchanged.
    gate.open();
    let response = response.await.expect("task").expect("response");
    assert_eq!(read_to_end(response.into_body()).await, "/y?api_key=k");
    support::wait_until_empty(&table).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_redact_their_own_parameters_too() {
    let table = Table::builder().sensitive_param("tenant").build();
    let gate = Gate::new();
    let addr = {
        let gate = gate.clone();
        serve_tracked(
            &table,
            service_fn(move |_req: http::Request<Incoming>| {
                let gate = gate.clone();
                async move {
                    gate.wait().await;
                    Ok::<_, Infallible>(Response::new(http_body_util::Empty::new()))
                }
            }),
        )
        .await
    };
    let response = tokio::spawn(client().request(support::get(format!(
        "http://{addr}/r?tenant=acme&Session_Id=s1&keyboard=qwerty"
    ))));
    let uri = wait_for_table(&table, "the request", |snapshot| {
        snapshot.entries.first().map(|entry| entry.uri.clone())
    })
    .await;
    assert_eq!(
        uri,
        "/r?tenant=REDACTED&Session_Id=REDACTED&keyboard=qwerty"
    );

    gate.open();
    response.await.expect("task").expect("response");
    support::wait_until_empty(&table).await;
}

/// Headers are never shown, but for those the layer is told to show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allow_listed_headers_show() {
    let table = support::table();
    let gate = Gate::new();
    let service = {
        let gate = gate.clone();
        service_fn(move |_req: http::Request<Incoming>| {
            let gate = gate.clone();
            async move {
                gate.wait().await;
                Ok::<_, Infallible>(Response::new(http_body_util::Full::new(
                    bytes::Bytes::from_static(b"ok"),
                )))
            }
        })
    };
    let layer = inflight::InFlightLayer::with_table(table.clone())
        .show_header(http::header::USER_AGENT)
        .show_header(http::HeaderName::from_static("x-request-id"));
    let addr = serve_hyper(tower::Layer::layer(&layer, service)).await;
    let long_id = "r".repeat(300);
    let request = http::Request::get(format!("http://{addr}/h"))
        .header("user-agent", "probe/1.0")
        .header("x-request-id", long_id.as_str())
        .header("cookie", "session=s3cr3t")
        .header("authorization", "Bearer t0k3n")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let call = tokio::spawn(client().request(request));
    let entry = wait_for_table(&table, "the request", |snapshot| {
        snapshot
            .entries
            .iter()
            .find(|e| e.direction == Direction::Inbound)
            .cloned()
    })
    .await;
    let attribute = |key: &str| {
        entry
            .attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(attribute("header.user-agent").as_deref(), Some("probe/1.0"));
    assert_eq!(attribute("header.x-request-id").map(|v| v.len()), Some(256));
    assert_eq!(entry.attributes.len(), 2, "{:?}", entry.attributes);
    let text = dump(&table);
    for secret in ["s3cr3t", "t0k3n", "cookie", "authorization"] {
        assert!(
            !text.to_lowercase().contains(secret),
            "{secret} in dump:\n{text}"
        );
        assert!(
            !format!("{entry:?}").to_lowercase().contains(secret),
            "{secret} in {entry:?}"
        );
    }
    gate.open();
    let response = call.await.unwrap().unwrap();
    assert_eq!(read_to_end(response.into_body()).await, "ok");
}
