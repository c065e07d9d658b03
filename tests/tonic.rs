//! A real tonic server behind `InFlightLayer` and a real tonic client whose `Channel` is
//! wrapped with `InFlightClientLayer`, on loopback, each side with its own table: the
//! route is the gRPC method, the call is named by its target, and a stream stays listed
//! until its trailers, or ends dropped early on both sides when the client drops it.

#[path = "tonic/harness.rs"]
mod harness;
mod support;

use harness::demo::{Event, GetRequest, WatchRequest};
use inflight::{Direction, Ending};
use support::wait_for_table;

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
        (Ending::Completed, Ending::Completed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stream_is_in_flight_until_its_trailers() {
    let mut setup = harness::start().await;
    let request = WatchRequest::default();
    let mut stream = setup
        .client
        .watch(request)
        .await
        .expect("a stream")
        .into_inner();

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
        (Ending::Completed, Ending::Completed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_the_client_drops_ends_dropped_early_on_both_sides() {
    let mut setup = harness::start().await;
    let request = WatchRequest::default();
    let mut stream = setup
        .client
        .watch(request)
        .await
        .expect("a stream")
        .into_inner();
    setup
        .events
        .send(Ok(Event { seq: 0 }))
        .expect("the handler");
    assert_eq!(
        stream.message().await.expect("an event"),
        Some(Event { seq: 0 })
    );

    // The client's body goes away mid-stream; the server sees its stream reset.
    drop(stream);
    assert_eq!(
        setup.endings().await,
        (Ending::DroppedEarly, Ending::DroppedEarly)
    );
}
