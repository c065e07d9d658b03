use http::Uri;

use super::*;

fn register(table: &Table) -> Tracked {
    let uri = Uri::from_static("/a");
    table.register(Start::get(&uri, table.history_limit()))
}

/// A one-shard table on `shard`, which a dropped table gave back to the pool. Another test
/// of this process may have taken it meanwhile: tables are built (and kept, so the pool
/// does not hand the same ones back) until that test's table is dropped and it returns.
fn table_on(shard: *const Shard) -> Table {
    let mut others = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let table = Table::builder().shards(1).build();
        if std::ptr::eq(table.inner.shards[0], shard) {
            return table;
        }
        others.push(table);
        assert!(
            std::time::Instant::now() < deadline,
            "the dropped table's shard never came back to the pool"
        );
        if others.len() % 64 == 0 {
            // Let the other tables go back, and wait for the shard to do the same.
            others.clear();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

#[test]
fn a_request_outliving_its_table_leaves_the_next_table_alone() {
    let old = Table::builder().shards(1).build();
    let shard: *const Shard = old.inner.shards[0];
    let stale = register(&old);
    drop(old);
    let table = table_on(shard);
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
