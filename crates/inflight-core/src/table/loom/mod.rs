//! Every interleaving of the table's threads, explored by `loom`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p inflight-core --release --lib --target-dir target/loom -- loom
//! ```
//!
//! Under `loom` a page has 4 slots, readers let go of the shard lock every 2 slots and a
//! shard keeps 2 ended requests for the subscriber, so a few requests reach every path.
//! Each test explores every execution, except the register/remove one, bounded to two
//! preemptions (with `LOOM_MAX_PREEMPTIONS=3` it explores 415 161 executions in about a
//! minute; the variable bounds every test).

use std::collections::HashSet;
use std::task::{Wake, Waker};

use ::loom::sync::atomic::AtomicBool;
use ::loom::thread;
use http::Uri;

use super::*;
use crate::sync::Ordering::{Acquire, Release};

/// Explores `f`: every execution, or those with at most `preemptions` preemptions when
/// every one would take too long.
fn explore(preemptions: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let mut builder = ::loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = preemptions;
    }
    // Ending a request also counts it and may keep its record: longer paths than the
    // table alone.
    builder.max_branches = builder.max_branches.max(20_000);
    let executions = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = executions.clone();
    builder.check(move || {
        counted.fetch_add(1, Relaxed);
        f();
    });
    // Seen with `--nocapture`.
    println!("{} executions", executions.load(Relaxed));
}

/// A table whose series for the model's requests (`GET /a`, every ending) are made
/// before any thread starts: series are numbered under a lock `loom` does not see, so one
/// made by a thread of the model would reach the others unseen by it. A request is kept
/// by the sample or not at all, never as slow, so that what a model does never depends on
/// the random trace ids or the clock.
fn table(shards: usize) -> Table {
    table_keeping(shards, 0)
}

/// Like [`table`], keeping up to `records` records of ended requests (none: the models
/// of the table alone stay as small as they were).
fn table_keeping(shards: usize, records: usize) -> Table {
    let table = Table::builder()
        .shards(shards)
        .kept_records(records)
        .keep_fraction(1.0)
        .slow_at_least(std::time::Duration::MAX)
        .build();
    let entry = Entry::new(start(), 2);
    for ending in Ending::ALL {
        let _ = table.inner.shared.recorder.leaving(&entry, ending, 3);
    }
    table
}

fn start() -> Start<'static> {
    static URI: std::sync::OnceLock<Uri> = std::sync::OnceLock::new();
    Start::get(URI.get_or_init(|| Uri::from_static("/a")), 8)
}

fn register(table: &Table) -> Tracked {
    table.register(start())
}

fn entry(tracked: &Tracked) -> &Entry {
    tracked
        .entry
        .as_deref()
        .expect("a tracked request has its entry")
}

fn ended(totals: &Totals) -> u64 {
    totals.completed + totals.failed + totals.body_failed + totals.dropped_early + totals.terminated
}

#[test]
fn loom_register_and_remove_on_two_threads() {
    explore(Some(2), || {
        // Both threads start at shard 0: one of them may find it locked and go to shard 1.
        let table = table(2);
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let table = table.clone();
                thread::spawn(move || {
                    let first = register(&table);
                    let second = register(&table);
                    let (a, b) = (first.id(), second.id());
                    assert_ne!(a, b);
                    assert_eq!(table.get(a).map(|e| e.id), Some(a));
                    first.finish(Ending::Completed);
                    assert!(table.get(a).is_none(), "#{a} found after it ended");
                    assert_eq!(table.get(b).map(|e| e.id), Some(b));
                    drop(second);
                    assert!(table.get(b).is_none(), "#{b} found after it ended");
                    [a, b]
                })
            })
            .collect();
        // Counts read while requests come and go: never more ended than started.
        let totals = table.totals();
        assert!(ended(&totals) <= totals.started, "{totals:?}");
        assert!(table.len() <= 4);
        let ids: HashSet<u64> = workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect();
        assert_eq!(ids.len(), 4, "ids repeat: {ids:?}");
        assert_eq!(table.len(), 0);
        let totals = table.totals();
        assert_eq!((totals.started, totals.completed), (4, 2));
        assert_eq!(totals.dropped_early, 2);
    });
}

#[test]
fn loom_a_stale_removal_leaves_the_next_occupant_alone() {
    explore(None, || {
        let table = table(1);
        let shard = table.inner.shards[0].clone();
        // Slot 0 is the first request's; the other three slots of the page stay taken, so
        // the next request gets slot 0 again (or a new page while slot 0 is still taken).
        let first = register(&table);
        let held: Vec<Tracked> = (0..3).map(|_| register(&table)).collect();
        let stale_id = first.id();
        let ender = thread::spawn(move || {
            first.finish(Ending::Completed);
            // The same place ended a second time, as a request of a dropped table would.
            let stale = Tracked::new(shard.clone(), stale_id, Arc::new(Entry::new(start(), 2)));
            drop(stale);
        });
        let next = {
            let table = table.clone();
            thread::spawn(move || {
                let next = register(&table);
                assert_ne!(next.id(), stale_id);
                next
            })
        };
        ender.join().unwrap();
        let next = next.join().unwrap();
        assert_eq!(table.get(next.id()).map(|e| e.id), Some(next.id()));
        assert!(table.get(stale_id).is_none());
        assert_eq!(table.len(), 4);
        let totals = table.totals();
        assert_eq!((totals.started, totals.completed), (5, 1));
        assert_eq!(totals.dropped_early, 0, "the stale removal counted");
        drop((held, next));
        assert_eq!(table.len(), 0);
    });
}

/// Page 0 holds two requests that end, then two that stay (read after the holes); a
/// third one that ends waits in page 1, given back once it ends (page 0 is then half
/// free).
struct Crowd {
    table: Table,
    staying: Vec<Tracked>,
    leaving: Vec<Tracked>,
}

fn crowd() -> Crowd {
    let table = table(1);
    let mut leaving = vec![register(&table), register(&table)];
    let staying = vec![register(&table), register(&table)];
    leaving.push(register(&table));
    Crowd {
        table,
        staying,
        leaving,
    }
}

/// Ids read by a reader racing requests that leave: those that stay are there exactly
/// once, those that leave at most once, nothing else.
fn check_read(ids: &[u64], staying: &[u64], leaving: &[u64]) {
    for id in staying {
        assert_eq!(
            ids.iter().filter(|seen| *seen == id).count(),
            1,
            "#{id} in {ids:?}"
        );
    }
    for id in ids {
        assert!(
            staying.contains(id) || leaving.contains(id),
            "#{id} never was"
        );
    }
    let unique: HashSet<&u64> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "read twice: {ids:?}");
}

fn race_reader(read: impl Fn(&Table) -> Vec<u64> + Send + Sync + 'static) {
    explore(None, move || {
        let Crowd {
            table,
            staying,
            leaving,
        } = crowd();
        let staying_ids: Vec<u64> = staying.iter().map(Tracked::id).collect();
        let leaving_ids: Vec<u64> = leaving.iter().map(Tracked::id).collect();
        let requests = {
            let table = table.clone();
            thread::spawn(move || {
                let mut leaving = leaving.into_iter();
                leaving.next().unwrap().finish(Ending::Completed);
                // Page 0 half free and page 1 empty: page 1 goes back.
                drop(leaving);
                // An entry just freed is reused at once (a spare of this thread).
                register(&table).id()
            })
        };
        let ids = read(&table);
        let again = requests.join().unwrap();
        check_read(&ids, &staying_ids, &[&leaving_ids[..], &[again]].concat());
        drop(staying);
        assert_eq!(table.len(), 0);
    });
}

#[test]
fn loom_a_snapshot_racing_requests_misses_or_doubles_nothing() {
    race_reader(|table| table.snapshot().entries.iter().map(|e| e.id).collect());
}

#[test]
fn loom_a_text_dump_racing_requests_misses_or_doubles_nothing() {
    race_reader(|table| {
        let mut out = Vec::new();
        table.dump_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let ids: Vec<u64> = text
            .lines()
            .skip(1)
            .filter_map(|line| line.trim_start().strip_prefix('#'))
            .map(|line| line.split(' ').next().unwrap().parse().unwrap())
            .collect();
        let (inbound, _) = text.split_once(" inbound").unwrap();
        assert_eq!(inbound.rsplit(' ').next(), Some(&*ids.len().to_string()));
        ids
    });
}

mod control;
mod ended;
