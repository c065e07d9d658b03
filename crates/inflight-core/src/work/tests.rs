//! The work future's state machine, polled by hand.

use std::future::{Future, pending, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::snapshot::Direction;
use crate::table::{Ending, Subscription, Table};
use crate::{Work, cancelled, set_status};

fn poll<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

fn ended(finished: &mut Subscription) -> Vec<(String, Ending)> {
    let mut out = Vec::new();
    finished.drain(|requests| {
        out.extend(
            requests
                .iter()
                .map(|request| (request.route().unwrap_or_default(), request.ending())),
        );
    });
    out
}

#[test]
fn starts_at_first_poll_and_completes() {
    let table = Table::new();
    let mut finished = table.subscribe();
    let work = Work::builder("consume orders/3")
        .table(table.clone())
        .attr("partition", "3")
        .run(async {
            set_status("writing");
            pending::<()>().await
        });
    let mut work = Box::pin(work);
    assert_eq!(table.len(), 0, "not started before the first poll");
    assert!(poll(work.as_mut()).is_pending());
    let snapshot = table.snapshot();
    let entry = &snapshot.entries[0];
    assert_eq!(entry.direction, Direction::Work);
    assert_eq!(entry.uri, "consume orders/3");
    assert_eq!(entry.route.as_deref(), Some("consume orders/3"));
    assert_eq!(entry.method.as_str(), "WORK");
    assert_eq!(entry.status, "writing");
    assert_eq!(entry.attributes, [("partition".into(), "3".into())]);
    assert_eq!(work.id(), Some(entry.id));
    assert_eq!(table.count(Direction::Work), 1);
    drop(work);
    assert_eq!(table.len(), 0);
    assert_eq!(
        ended(&mut finished),
        [("consume orders/3".into(), Ending::DroppedEarly)]
    );
    assert_eq!(table.totals_of(Direction::Work).dropped_early, 1);
}

#[test]
fn output_is_passed_on_and_err_fails_only_when_asked() {
    let table = Table::new();
    let mut finished = table.subscribe();
    let plain = Work::builder("a")
        .table(table.clone())
        .run(ready(Err::<(), _>(7)));
    assert_eq!(poll(pin!(plain)), Poll::Ready(Ok(Err(7))));
    let strict = Work::builder("b")
        .table(table.clone())
        .run(ready(Err::<(), _>(8)))
        .fail_on_err();
    assert_eq!(poll(pin!(strict)), Poll::Ready(Ok(Err(8))));
    let fine = Work::builder("c")
        .table(table.clone())
        .run(ready(Ok::<_, ()>(9)))
        .fail_on_err();
    assert_eq!(poll(pin!(fine)), Poll::Ready(Ok(Ok(9))));
    assert_eq!(
        ended(&mut finished),
        [
            ("a".into(), Ending::Completed),
            ("b".into(), Ending::Failed),
            ("c".into(), Ending::Completed)
        ]
    );
}

#[test]
fn a_panic_ends_the_work_as_failed_and_goes_on() {
    let table = Table::new();
    let mut finished = table.subscribe();
    let work = Work::builder("explodes")
        .table(table.clone())
        .run(async { panic!("boom") });
    let mut work = Box::pin(work);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll(work.as_mut())));
    let payload = caught.expect_err("the panic reaches the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(table.len(), 0);
    drop(work);
    assert_eq!(ended(&mut finished), [("explodes".into(), Ending::Failed)]);
    assert_eq!(table.totals_of(Direction::Work).failed, 1);
}

#[test]
fn terminate_drops_the_inner_future_and_resolves_err() {
    let table = Table::new();
    let mut finished = table.subscribe();
    let dropped = std::sync::Arc::new(());
    let held = dropped.clone();
    let work = Work::builder("stuck").table(table.clone()).run(async move {
        let _held = held;
        pending::<()>().await
    });
    let mut work = pin!(work);
    assert!(poll(work.as_mut()).is_pending());
    let id = work.id().expect("started");
    table
        .terminate(id, Some("drain".into()))
        .expect("terminate");
    let Poll::Ready(Err(terminated)) = poll(work.as_mut()) else {
        panic!("terminated work resolves Err");
    };
    assert_eq!(terminated.id, id);
    assert_eq!(terminated.message.as_deref(), Some("drain"));
    assert_eq!(
        std::sync::Arc::strong_count(&dropped),
        1,
        "inner future dropped"
    );
    assert_eq!(ended(&mut finished), [("stuck".into(), Ending::Terminated)]);
    // Polled again after the end: stays pending, no second ending.
    assert!(poll(work.as_mut()).is_pending());
    assert_eq!(table.totals_of(Direction::Work).terminated, 1);
}

#[test]
fn cancel_reaches_cancelled_inside_the_work() {
    let table = Table::new();
    let work = Work::builder("cancellable")
        .table(table.clone())
        .run(async {
            cancelled().await;
            "saw the cancel"
        });
    let mut work = pin!(work);
    assert!(poll(work.as_mut()).is_pending());
    table
        .cancel(work.id().expect("started"), None)
        .expect("cancel");
    assert_eq!(poll(work.as_mut()), Poll::Ready(Ok("saw the cancel")));
}

#[test]
fn work_inside_a_request_is_its_child_in_the_trace() {
    let table = Table::new();
    let uri = http::Uri::from_static("/jobs");
    let mut request = table.register(crate::entry::Start::get(&uri, 8));
    let request_entry = request.entry.clone().expect("tracked");
    let work = {
        let _current = crate::current::enter(&mut request.entry);
        Work::builder("nested")
            .table(table.clone())
            .run(pending::<()>())
    };
    let mut work = pin!(work);
    // The current request counts at the first poll, not when the future is made.
    {
        let _current = crate::current::enter(&mut request.entry);
        assert!(poll(work.as_mut()).is_pending());
    }
    let snapshot = table.get(work.id().expect("started")).expect("in flight");
    assert_eq!(snapshot.parent, Some(request_entry.id()));
    assert_eq!(snapshot.trace_id, request_entry.trace.trace_id);
    assert_eq!(snapshot.parent_span_id, Some(request_entry.trace.span_id));
    assert!(!snapshot.orphan);
}

#[test]
fn the_dump_lists_work_in_its_own_section() {
    let table = Table::new();
    let work = Work::builder("consume orders/1")
        .table(table.clone())
        .run(pending::<()>());
    let mut work = pin!(work);
    assert!(poll(work.as_mut()).is_pending());
    let mut out = Vec::new();
    table.dump_text(&mut out).expect("dump");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(
        text.starts_with("inflight: 0 inbound, 0 outbound, 1 work in flight"),
        "{text}"
    );
    assert!(text.contains("\nwork:\n  #"), "{text}");
    assert!(
        text.contains(" servicing WORK \"consume orders/1\" for "),
        "{text}"
    );
    assert!(text.contains("[working]"), "{text}");
}

#[test]
fn a_given_trace_is_continued() {
    let table = Table::new();
    let caller = crate::TraceContext::new_root();
    let work = Work::builder("from a message")
        .table(table.clone())
        .trace(caller)
        .run(pending::<()>());
    let mut work = pin!(work);
    assert!(poll(work.as_mut()).is_pending());
    let snapshot = table.get(work.id().expect("started")).expect("in flight");
    assert_eq!(snapshot.trace_id, caller.trace_id);
    assert_eq!(snapshot.parent_span_id, Some(caller.span_id));
    assert_ne!(snapshot.span_id, caller.span_id);
    assert_eq!(snapshot.parent, None);
}

#[test]
fn a_guard_ends_its_work_when_dropped() {
    let table = Table::new();
    let mut finished = table.subscribe();
    let guard = crate::WorkBuilder::new("guarded")
        .table(table.clone())
        .start();
    let scoped = guard.scope(async {
        set_status("merging");
        cancelled().await;
        "cancelled"
    });
    let mut scoped = pin!(scoped);
    assert!(poll(scoped.as_mut()).is_pending());
    let listed = table.get(guard.id()).expect("in flight");
    assert_eq!(listed.direction, Direction::Work);
    assert_eq!(listed.status, "merging");
    table.cancel(guard.id(), None).expect("cancel");
    assert_eq!(poll(scoped.as_mut()), Poll::Ready("cancelled"));
    drop(guard);
    let failing = crate::WorkBuilder::new("guarded")
        .table(table.clone())
        .start();
    failing.fail();
    let terminated = crate::WorkBuilder::new("guarded")
        .table(table.clone())
        .start();
    table.terminate(terminated.id(), None).expect("terminate");
    assert!(table.get(terminated.id()).is_some(), "listed until dropped");
    drop(terminated);
    let panicked = std::panic::catch_unwind(|| {
        let _guard = crate::WorkBuilder::new("guarded")
            .table(table.clone())
            .start();
        panic!("in the guard's scope");
    });
    assert!(panicked.is_err());
    assert!(table.is_empty());
    let endings: Vec<Ending> = ended(&mut finished).into_iter().map(|(_, e)| e).collect();
    assert_eq!(
        endings,
        [
            Ending::Completed,
            Ending::Failed,
            Ending::Terminated,
            Ending::Failed
        ]
    );
}
