//! Outbound calls made while serving an inbound request are its children, also with many
//! requests in flight at once on a multi-threaded runtime.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use http::{Response, StatusCode};
use hyper::body::Incoming;
use inflight::{Direction, InFlightClient, InFlightLayer};
use support::{Gate, PlainClient, client, read_to_end, serve_axum, serve_hyper, wait_for_table};
use tower::{ServiceExt, service_fn};

const INBOUND: usize = 100;

#[derive(Clone)]
struct Upstream {
    client: InFlightClient<PlainClient>,
    addr: SocketAddr,
}

/// `GET /in/{i}`: calls `/up/{i}/a` and `/up/{i}/b` upstream at the same time.
async fn fan_out(State(upstream): State<Upstream>, Path(i): Path<usize>) -> String {
    inflight::set_attr("index", i.to_string());
    let call = |part: &str| {
        let uri = format!("http://{}/up/{i}/{part}", upstream.addr);
        let client = upstream.client.clone();
        async move {
            let response = client
                .oneshot(support::get(uri))
                .await
                .expect("upstream answers");
            read_to_end(response.into_body()).await
        }
    };
    let (a, b) = tokio::join!(call("a"), call("b"));
    format!(
        "{} {}",
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b)
    )
}

/// The number in `/in/{i}` or `…/up/{i}/…`.
fn index_in(uri: &str, marker: &str) -> usize {
    let rest = &uri[uri
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {uri}"))
        + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("index in {uri}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_outbound_call_is_the_child_of_the_request_that_made_it() {
    let table = support::table();
    let gate = Gate::new();
    let arrived = Arc::new(AtomicUsize::new(0));
    let upstream_addr = {
        let (gate, arrived) = (gate.clone(), arrived.clone());
        serve_hyper(service_fn(move |req: http::Request<Incoming>| {
            let (gate, arrived) = (gate.clone(), arrived.clone());
            async move {
                arrived.fetch_add(1, Ordering::SeqCst);
                gate.wait().await;
                Ok::<_, Infallible>(Response::new(req.uri().path().to_owned()))
            }
        }))
        .await
    };
    let app = Router::new()
        .route("/in/{i}", get(fan_out))
        .with_state(Upstream {
            client: support::tracked_client(&table),
            addr: upstream_addr,
        })
        .layer(InFlightLayer::with_table(table.clone()));
    let addr = serve_axum(app).await;

    let requests: Vec<_> = (0..INBOUND)
        .map(|i| {
            let client = client();
            tokio::spawn(async move {
                let response = client
                    .request(support::get(format!("http://{addr}/in/{i}")))
                    .await
                    .expect("response");
                assert_eq!(response.status(), StatusCode::OK);
                read_to_end(response.into_body()).await
            })
        })
        .collect();

    let snapshot = wait_for_table(&table, "all 300 requests in flight", |snapshot| {
        (snapshot.entries.len() == 3 * INBOUND && arrived.load(Ordering::SeqCst) == 2 * INBOUND)
            .then(|| snapshot.clone())
    })
    .await;
    assert_eq!(table.count(Direction::Inbound), INBOUND);
    assert_eq!(table.count(Direction::Outbound), 2 * INBOUND);

    let upstream_target = format!("127.0.0.1:{}", upstream_addr.port());
    let mut inbound_by_index = HashMap::new();
    for entry in snapshot.inbound() {
        let i = index_in(&entry.uri, "/in/");
        assert_eq!(entry.uri, format!("/in/{i}"));
        assert_eq!(entry.route.as_deref(), Some("/in/{i}"));
        assert_eq!(
            entry.attributes,
            [("index".to_owned(), i.to_string())],
            "#{}",
            entry.id
        );
        assert_eq!(entry.parent, None);
        assert_eq!(
            entry.status,
            format!("awaiting {upstream_target} (+1 more)"),
            "#{}",
            entry.id
        );
        assert_eq!(
            entry.children.len(),
            2,
            "#{} {:?}",
            entry.id,
            entry.children
        );
        assert!(
            inbound_by_index.insert(i, entry).is_none(),
            "two inbound requests for index {i}"
        );
    }
    assert_eq!(inbound_by_index.len(), INBOUND);

    let mut children_by_index: HashMap<usize, BTreeSet<u64>> = HashMap::new();
    for entry in snapshot.outbound() {
        let i = index_in(&entry.uri, "/up/");
        let parent = inbound_by_index[&i];
        assert_eq!(
            entry.parent,
            Some(parent.id),
            "call {} ({}) has the wrong parent",
            entry.id,
            entry.uri
        );
        assert!(
            entry.uri == format!("http://{upstream_addr}/up/{i}/a")
                || entry.uri == format!("http://{upstream_addr}/up/{i}/b"),
            "{}",
            entry.uri
        );
        assert_eq!(entry.status, "awaiting headers");
        assert!(!entry.orphan, "call {} has its request", entry.id);
        assert!(entry.children.is_empty());
        children_by_index.entry(i).or_default().insert(entry.id);
    }
    for (i, parent) in &inbound_by_index {
        let children: BTreeSet<u64> = parent.children.iter().copied().collect();
        assert_eq!(
            Some(&children),
            children_by_index.get(i),
            "children of #{} (index {i})",
            parent.id
        );
    }

    // The dump shows each request with its two calls indented under it.
    let mut dump = Vec::new();
    snapshot.write_text(&mut dump).expect("dump");
    let dump = String::from_utf8(dump).expect("utf-8");
    let lines: Vec<&str> = dump.lines().collect();
    assert_eq!(
        lines[0].split(" (pid").next(),
        Some(
            format!(
                "inflight: {INBOUND} inbound, {} outbound in flight",
                2 * INBOUND
            )
            .as_str()
        )
    );
    assert_eq!(lines[1], "inbound:");
    let id_of = |line: &str| -> u64 {
        let id = line.trim_start().strip_prefix('#').expect("#id");
        id[..id.find(' ').expect("space")].parse().expect("id")
    };
    for group in lines[2..2 + 3 * INBOUND].chunks(3) {
        assert!(group[0].starts_with("  #"), "{}", group[0]);
        let parent = snapshot.get(id_of(group[0])).expect("listed parent");
        assert_eq!(parent.direction, Direction::Inbound);
        for line in &group[1..] {
            assert!(line.starts_with("    #"), "{line}");
            assert_eq!(
                snapshot.get(id_of(line)).expect("listed child").parent,
                Some(parent.id)
            );
        }
    }
    assert_eq!(lines[2 + 3 * INBOUND], "outbound:");
    assert_eq!(lines.len(), 3 + 5 * INBOUND);

    gate.open();
    for (i, request) in requests.into_iter().enumerate() {
        let body = request.await.expect("client task");
        assert_eq!(body, format!("/up/{i}/a /up/{i}/b"));
    }
    support::wait_until_empty(&table).await;
    let totals = table.totals();
    assert_eq!(totals.started, 3 * INBOUND as u64);
    assert_eq!(totals.completed, 3 * INBOUND as u64);
}
