//! A request's status history: the transitions in order, bounded by the table's limit,
//! with a count of what was dropped.

mod support;

use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::Response;
use hyper::body::Incoming;
use inflight::{EntrySnapshot, InFlightLayer, Table};
use support::{Gate, client, read_to_end, serve_axum, serve_hyper, wait_for_table};
use tower::{ServiceExt, service_fn};

const SET: usize = 200;
const LIMIT: u16 = 16;

fn statuses(entry: &EntrySnapshot) -> Vec<&str> {
    entry
        .history
        .iter()
        .map(|change| change.status.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_keeps_the_newest_transitions_up_to_the_limit() {
    let table = Table::builder()
        .history_limit(LIMIT)
        .not_reading_after(std::time::Duration::from_secs(3600))
        .build();
    let gate = Gate::new();
    let app = Router::new()
        .route(
            "/busy",
            get(|State(gate): State<Gate>| async move {
                for step in 0..SET {
                    inflight::set_status(format!("step {step}"));
                }
                gate.wait().await;
                "done"
            }),
        )
        .with_state(gate.clone())
        .layer(InFlightLayer::with_table(table.clone()));
    let addr = serve_axum(app).await;
    let request = tokio::spawn(client().request(support::get(format!("http://{addr}/busy"))));

    let last = format!("step {}", SET - 1);
    let id = wait_for_table(&table, "the last status", |snapshot| {
        snapshot
            .entries
            .first()
            .filter(|entry| entry.status == last)
            .map(|entry| entry.id)
    })
    .await;
    let entry = table.get(id).expect("in flight");

    assert!(
        entry.history.len() <= usize::from(LIMIT),
        "{} transitions kept",
        entry.history.len()
    );
    // `in handler` and the 200 statuses were all transitions; what is not kept is counted.
    assert_eq!(
        entry.history.len() as u64 + entry.history_dropped,
        SET as u64 + 1,
        "kept {:?}, dropped {}",
        statuses(&entry),
        entry.history_dropped
    );
    let kept = statuses(&entry);
    let newest: Vec<String> = (SET - kept.len()..SET)
        .map(|step| format!("step {step}"))
        .collect();
    assert_eq!(kept, newest, "the newest statuses, oldest first");
    assert_eq!(entry.history.len(), usize::from(LIMIT));
    assert_eq!(entry.history_dropped, (SET + 1 - usize::from(LIMIT)) as u64);
    assert!(
        entry
            .history
            .windows(2)
            .all(|pair| pair[0].offset <= pair[1].offset && pair[0].at <= pair[1].at),
        "history out of order: {:?}",
        entry.history
    );

    gate.open();
    let response = request.await.expect("task").expect("response");
    assert_eq!(read_to_end(response.into_body()).await, "done");
    support::wait_until_empty(&table).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_records_statuses_waits_and_the_body() {
    let table = support::table();
    let gate = Gate::new();
    let upstream = {
        let gate = gate.clone();
        serve_hyper(service_fn(move |_req: http::Request<Incoming>| {
            let gate = gate.clone();
            async move {
                gate.wait().await;
                Ok::<_, Infallible>(Response::new("upstream".to_owned()))
            }
        }))
        .await
    };
    let (chunks, body) = support::ChannelBody::new();
    let body = support::Slot::new(body);
    let calls = support::tracked_client(&table);
    let addr = support::serve_tracked(
        &table,
        service_fn(move |_req: http::Request<Incoming>| {
            let (calls, body) = (calls.clone(), body.clone());
            async move {
                inflight::set_status("loading");
                let response = calls
                    .oneshot(support::get(format!("http://{upstream}/data")))
                    .await
                    .expect("upstream answers");
                read_to_end(response.into_body()).await;
                inflight::set_status("rendering");
                Ok::<_, Infallible>(Response::new(body.take()))
            }
        }),
    )
    .await;

    let response = tokio::spawn(client().request(support::get(format!("http://{addr}/page"))));
    let awaiting = format!("awaiting 127.0.0.1:{}", upstream.port());
    let id = wait_for_table(&table, "the upstream call", |snapshot| {
        snapshot
            .inbound()
            .find(|entry| entry.status == awaiting)
            .map(|entry| entry.id)
    })
    .await;
    assert_eq!(
        statuses(&table.get(id).expect("in flight")),
        ["in handler", "loading", awaiting.as_str()]
    );

    gate.open();
    let response = response.await.expect("task").expect("response");
    let entry = table.get(id).expect("the body is not over");
    assert_eq!(entry.status, "writing body");
    assert_eq!(
        statuses(&entry),
        [
            "in handler",
            "loading",
            awaiting.as_str(),
            "loading",
            "rendering",
            "writing body"
        ]
    );
    assert_eq!(entry.history_dropped, 0);
    assert!(entry.history[0].offset.is_zero());

    drop(chunks);
    read_to_end(response.into_body()).await;
    assert!(table.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_history_limits_count_every_dropped_transition() {
    for limit in [0u16, 1, 2] {
        let table = Table::builder().history_limit(limit).build();
        let gate = Gate::new();
        let app = Router::new()
            .route(
                "/",
                get(|State(gate): State<Gate>| async move {
                    for step in ["a", "b", "c"] {
                        inflight::set_status(step);
                    }
                    gate.wait().await;
                    "done"
                }),
            )
            .with_state(gate.clone())
            .layer(InFlightLayer::with_table(table.clone()));
        let addr = serve_axum(app).await;
        let request = tokio::spawn(client().request(support::get(format!("http://{addr}/"))));

        let entry = wait_for_table(&table, "status c", |snapshot| {
            snapshot
                .entries
                .first()
                .filter(|entry| entry.status == "c")
                .cloned()
        })
        .await;
        // A limit of 0 keeps one transition, like a limit of 1.
        let kept = statuses(&entry);
        let expected: &[&str] = match limit {
            0 | 1 => &["c"],
            _ => &["b", "c"],
        };
        assert_eq!(kept, expected, "limit {limit}");
        // `in handler`, a, b and c happened; what is not kept is counted, once.
        assert_eq!(
            kept.len() as u64 + entry.history_dropped,
            4,
            "limit {limit}: kept {kept:?}, dropped {}",
            entry.history_dropped
        );

        gate.open();
        request.await.expect("task").expect("response");
        support::wait_until_empty(&table).await;
    }
}
