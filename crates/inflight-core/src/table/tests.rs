use http::Uri;

use super::*;

fn register(table: &Table) -> Tracked {
    let uri = Uri::from_static("/a");
    table.register(Start::get(&uri, table.history_limit()))
}

fn register_in(table: &Table, direction: Direction) -> Tracked {
    let uri = Uri::from_static("/a");
    let mut start = Start::get(&uri, table.history_limit());
    start.direction = direction;
    table.register(start)
}

#[test]
fn a_request_outliving_its_table_leaves_the_next_table_alone() {
    let old = Table::builder().shards(1).build();
    let stale = register(&old);
    drop(old);
    let table = Table::builder().shards(1).build();
    let live = register(&table);
    assert_eq!(table.len(), 1);
    drop(stale);
    assert_eq!(table.len(), 1, "the stale request removed another one");
    assert_eq!(table.totals().dropped_early, 0);
    drop(live);
    assert_eq!(table.len(), 0);
    assert_eq!(table.totals().dropped_early, 1);
}

#[test]
fn a_new_table_counts_nothing_of_a_dropped_one_in_any_direction() {
    for _ in 0..8 {
        let old = Table::builder().shards(1).build();
        let held: Vec<Tracked> = Direction::ALL
            .iter()
            .map(|direction| register_in(&old, *direction))
            .collect();
        for direction in Direction::ALL {
            register_in(&old, direction).finish(Ending::Completed);
        }
        drop(old);
        let table = Table::builder().shards(1).build();
        for direction in Direction::ALL {
            assert_eq!(table.count(direction), 0, "{direction} in flight");
            assert_eq!(
                table.totals_of(direction),
                Totals::default(),
                "{direction} totals"
            );
        }
        drop(held);
        assert_eq!(table.totals(), Totals::default());
    }
}

#[test]
fn an_id_finds_its_request_and_never_a_later_one_in_the_same_slot() {
    let table = Table::new();
    let first = register(&table);
    let id = first.id();
    assert_eq!(table.get(id).map(|e| e.id), Some(id));
    drop(first);
    assert!(table.get(id).is_none());
    // Every other slot of the page is used before this one again, and then under a new
    // generation: the old id names nothing.
    let many: Vec<Tracked> = (0..3000).map(|_| register(&table)).collect();
    assert!(many.iter().all(|t| t.id() != id));
    assert!(table.get(id).is_none());
    assert!(matches!(
        table.terminate(id, None),
        Err(ControlError::NotFound(_))
    ));
    for tracked in &many {
        assert_eq!(table.get(tracked.id()).map(|e| e.id), Some(tracked.id()));
    }
    assert!(table.get(0).is_none());
    assert!(table.get(u64::MAX).is_none());
}

#[test]
fn counts_are_kept_by_direction() {
    let table = Table::new();
    let held: Vec<Tracked> = (0..10).map(|_| register(&table)).collect();
    assert_eq!(table.count(Direction::Inbound), 10);
    assert_eq!(table.count(Direction::Outbound), 0);
    assert_eq!(table.len(), 10);
    drop(held);
    assert_eq!(table.len(), 0);
    let totals = table.totals_of(Direction::Inbound);
    assert_eq!((totals.started, totals.dropped_early), (10, 10));
    assert_eq!(table.totals_of(Direction::Outbound), Totals::default());
}

#[test]
fn pages_of_a_burst_go_back_once_it_is_over() {
    let table = Table::builder().shards(8).build();
    let first_page: usize = table.slot_capacity();
    let burst: Vec<Tracked> = (0..20_000).map(|_| register(&table)).collect();
    assert_eq!(table.len(), 20_000);
    let peak = table.slot_capacity();
    assert!(peak >= 20_000);
    let first: std::collections::HashSet<u64> = burst.iter().map(Tracked::id).collect();
    drop(burst);
    assert_eq!(table.len(), 0);
    // No more than the first page of this thread's shard, or the pages there were before
    // the burst (the shards may come from a table dropped earlier in this process).
    let after = table.slot_capacity();
    assert!(
        after <= first_page.max(1024) && after < peak,
        "{first_page} {peak} {after}"
    );
    // Ids of the pages given back do not come again when the pages are made anew.
    let again: Vec<Tracked> = (0..20_000).map(|_| register(&table)).collect();
    let second: std::collections::HashSet<u64> = again.iter().map(Tracked::id).collect();
    assert_eq!(second.len(), 20_000);
    assert!(first.is_disjoint(&second), "an id came again");
}

#[test]
fn a_subscription_sees_ended_requests_and_entries_are_reused_meanwhile() {
    let table = Table::new();
    let mut ended = table.subscribe();
    for _ in 0..100 {
        register(&table).finish(Ending::Completed);
    }
    let mut seen = Vec::new();
    assert_eq!(
        ended.drain(|requests| seen.extend(requests.iter().map(|r| (r.id(), r.ending())))),
        100
    );
    assert!(seen.iter().all(|(_, ending)| *ending == Ending::Completed));
    assert_eq!(ended.drain(|_| {}), 0);
    drop(ended);
    // Without a subscriber nothing is kept.
    register(&table).finish(Ending::Completed);
    let mut again = table.subscribe();
    assert_eq!(again.drain(|_| {}), 0);
}

#[test]
fn a_request_ends_while_a_reader_holds_its_shard() {
    let table = Table::builder().shards(1).build();
    let held = register(&table);
    let ending = register(&table);
    let id = ending.id();
    let (reading, read) = std::sync::mpsc::channel();
    let (done, finish) = std::sync::mpsc::channel::<()>();
    let reader = {
        let table = table.clone();
        std::thread::spawn(move || {
            let shards = &table.inner.shards;
            let slots = shards[0].read_lock();
            reading.send(()).unwrap();
            // Holds the lock until the request has ended: were the ending to wait for
            // it, neither would go on until this gives up.
            let gave_up = finish
                .recv_timeout(std::time::Duration::from_secs(30))
                .is_err();
            drop(slots);
            gave_up
        })
    };
    read.recv().unwrap();
    ending.finish(Ending::Failed);
    let _ = done.send(());
    assert!(!reader.join().unwrap(), "the ending waited for the reader");
    assert!(table.get(id).is_none());
    assert_eq!(table.len(), 1);
    assert_eq!(table.totals().failed, 1);
    let kept = table.kept();
    assert_eq!(kept.requests.len(), 1, "a failed request is kept");
    assert_eq!(kept.requests[0].id, id);
    assert!(kept.requests[0].detail.is_some());
    drop(held);
}
