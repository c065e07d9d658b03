//! A real tonic server behind `InFlightLayer` and a real tonic client whose `Channel` is
//! wrapped with `InFlightClientLayer`, on loopback, each side with its own table: the
//! route is the gRPC method, the call is named by its target, and a stream stays listed
//! until its trailers, or ends dropped early on both sides when the client drops it; an
//! error status fails both sides, and a caller's deadline shows on both.

#[path = "tonic/harness.rs"]
mod harness;
mod support;

use std::time::Duration;

use harness::demo::{Event, GetRequest, WatchRequest};
use harness::{Call, Serve, Setup};
use inflight::{Direction, Ending};
use support::wait_for_table;
use tokio::task::JoinHandle;
use tonic::{Code, Status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_call_is_listed_by_method_and_target_on_both_sides() {
    let mut setup = harness::start().await;
    let mut client = setup.client.clone();
    let call = tokio::spawn(async move {
        let request = GetRequest {
            key: "k".into(),
            ..GetRequest::default()
        };
        client.get(request).await
    });

    let served = wait_for_table(&setup.server, "the server's request", |s| {
        s.inbound().next().cloned()
    })
    .await;
    assert_eq!(served.route.as_deref(), Some("/demo.Demo/Get"));
    let sent = wait_for_table(&setup.client_table, "the client's call", |s| {
        s.outbound().next().cloned()
    })
    .await;
    assert_eq!(sent.direction, Direction::Outbound);
    assert_eq!(sent.uri, format!("http://{}/demo.Demo/Get", setup.addr));

    setup.gate.open();
    let reply = call.await.expect("task").expect("a reply");
    assert_eq!(reply.into_inner().value, "k");
    assert_eq!(
        setup.endings().await,
        ((Ending::Completed, None), (Ending::Completed, None))
    );
}

/// Opens a `Watch` stream.
async fn watch(setup: &mut Setup) -> tonic::Streaming<Event> {
    let request = WatchRequest::default();
    setup
        .client
        .watch(request)
        .await
        .expect("a stream")
        .into_inner()
}

/// Opens a `Watch` stream and reads its first event.
async fn watch_first_event(setup: &mut Setup) -> tonic::Streaming<Event> {
    let mut stream = watch(setup).await;
    setup
        .events
        .send(Ok(Event { seq: 0 }))
        .expect("the handler");
    assert_eq!(
        stream.message().await.expect("an event"),
        Some(Event { seq: 0 })
    );
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stream_is_in_flight_until_its_trailers() {
    let mut setup = harness::start().await;
    let mut stream = watch(&mut setup).await;

    for seq in 0..3 {
        setup.events.send(Ok(Event { seq })).expect("the handler");
        let event = stream.message().await.expect("an event");
        assert_eq!(event, Some(Event { seq }));
        // Events are flowing, the trailers have not come: both sides still list it.
        let served = wait_for_table(&setup.server, "the stream, served", |s| {
            s.inbound().next().cloned()
        })
        .await;
        assert_eq!(served.route.as_deref(), Some("/demo.Demo/Watch"));
        let sent = wait_for_table(&setup.client_table, "the stream, called", |s| {
            s.outbound().next().cloned()
        })
        .await;
        assert_eq!(sent.uri, format!("http://{}/demo.Demo/Watch", setup.addr));
    }

    // The handler's stream ends: tonic sends `grpc-status: 0` trailers.
    setup.end_events();
    assert_eq!(stream.message().await.expect("the trailers"), None);
    assert_eq!(
        setup.endings().await,
        ((Ending::Completed, None), (Ending::Completed, None))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_the_client_drops_ends_dropped_early_on_both_sides() {
    let mut setup = harness::start().await;
    let stream = watch_first_event(&mut setup).await;

    // The client's body goes away mid-stream; the server sees its stream reset.
    drop(stream);
    assert_eq!(
        setup.endings().await,
        ((Ending::DroppedEarly, None), (Ending::DroppedEarly, None))
    );
}

/// `UNAVAILABLE`, with the message both sides must keep.
fn db_down() -> Option<(u32, Option<String>)> {
    Some((Code::Unavailable as u32, Some("db down".to_owned())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unary_error_status_fails_both_sides() {
    let mut setup = harness::start().await;
    setup.gate.open();
    let request = GetRequest {
        fail_code: Code::Unavailable as i32,
        fail_message: "db down".into(),
        ..GetRequest::default()
    };
    // tonic answers an error with headers only, `grpc-status` among them.
    let status = setup
        .client
        .get(request)
        .await
        .expect_err("an error status");
    assert_eq!(
        (status.code(), status.message()),
        (Code::Unavailable, "db down")
    );
    assert_eq!(
        setup.endings().await,
        ((Ending::Failed, db_down()), (Ending::Failed, db_down()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mid_stream_error_status_fails_both_sides() {
    let mut setup = harness::start().await;
    let mut stream = watch_first_event(&mut setup).await;

    // After data, the status can only come in the trailers.
    let error = Status::unavailable("db down");
    setup.events.send(Err(error)).expect("the handler");
    let status = stream.message().await.expect_err("an error status");
    assert_eq!(
        (status.code(), status.message()),
        (Code::Unavailable, "db down")
    );
    assert_eq!(
        setup.endings().await,
        ((Ending::Failed, db_down()), (Ending::Failed, db_down()))
    );
}

/// A `Get` that the handler holds, with a caller's deadline of `timeout`.
fn get_with_deadline(setup: &Setup, timeout: Duration) -> JoinHandle<Result<String, Status>> {
    let mut client = setup.client.clone();
    tokio::spawn(async move {
        let mut request = tonic::Request::new(GetRequest::default());
        request.set_timeout(timeout);
        let reply = client.get(request).await?;
        Ok(reply.into_inner().value)
    })
}

/// Waits until both sides list the call, and checks they show its deadline.
async fn both_show_deadline(setup: &Setup, timeout: Duration) {
    let served = wait_for_table(&setup.server, "the request with its deadline", |s| {
        s.inbound().next().cloned()
    })
    .await;
    assert_eq!(served.deadline, Some(timeout));
    let sent = wait_for_table(&setup.client_table, "the call with its deadline", |s| {
        s.outbound().next().cloned()
    })
    .await;
    assert_eq!(sent.deadline, Some(timeout));
}

/// Calls with a deadline, through tonic's server or tonic's `Channel` (one of the two cuts
/// the call off); checks both sides showed the deadline and the caller got tonic's
/// `CANCELLED "Timeout expired"`; returns how each side ended.
async fn cut_off_at_the_deadline(serve: Serve, call: Call) -> (harness::Ended, harness::Ended) {
    let mut setup = harness::start_with(serve, call).await;
    // Long enough for a loaded machine to see both entries before the deadline ends them.
    let timeout = Duration::from_secs(3);
    let call = get_with_deadline(&setup, timeout);
    both_show_deadline(&setup, timeout).await;
    let status = call
        .await
        .expect("task")
        .expect_err("the deadline's status");
    assert_eq!(
        (status.code(), status.message()),
        (Code::Cancelled, "Timeout expired")
    );
    setup.endings().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tonic_channel_ends_a_call_at_its_deadline() {
    // The Channel gives up by itself: no status came over the wire, and the server sees
    // its stream reset.
    assert_eq!(
        cut_off_at_the_deadline(Serve::Hyper, Call::Channel).await,
        ((Ending::DroppedEarly, None), (Ending::Failed, None))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tonic_server_ends_a_request_at_its_deadline() {
    // The server drops the handler and answers CANCELLED in trailers-only headers.
    let cancelled = Some((Code::Cancelled as u32, Some("Timeout expired".to_owned())));
    assert_eq!(
        cut_off_at_the_deadline(Serve::Tonic, Call::Hyper).await,
        ((Ending::DroppedEarly, None), (Ending::Failed, cancelled))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_still_running_after_its_deadline_is_flagged_on_both_sides() {
    // Neither tonic's server nor its Channel: nothing cuts the call off at the deadline.
    let mut setup = harness::start_with(Serve::Hyper, Call::Hyper).await;
    let timeout = Duration::from_millis(200);
    let call = get_with_deadline(&setup, timeout);

    let served = wait_for_table(&setup.server, "the request past its deadline", |s| {
        s.inbound().find(|entry| entry.past_deadline).cloned()
    })
    .await;
    assert_eq!(served.deadline, Some(timeout));
    assert_eq!(served.route.as_deref(), Some("/demo.Demo/Get"));
    let sent = wait_for_table(&setup.client_table, "the call past its deadline", |s| {
        s.outbound().find(|entry| entry.past_deadline).cloned()
    })
    .await;
    assert_eq!(sent.deadline, Some(timeout));
    assert!(!sent.orphan, "the test still waits for the call");
    let mut dump = Vec::new();
    setup
        .server
        .snapshot()
        .write_text(&mut dump)
        .expect("a dump");
    let dump = String::from_utf8(dump).expect("UTF-8");
    assert!(dump.contains("[in handler] past deadline by "), "{dump}");

    setup.gate.open();
    assert_eq!(call.await.expect("task").expect("a late reply"), "");
    assert_eq!(
        setup.endings().await,
        ((Ending::Completed, None), (Ending::Completed, None))
    );
}
