//! What ended requests leave, under `loom`: counts written under the shard's lock by the
//! requests that end, and the once-a-second window that one request alone moves on.

use super::*;
use crate::ended::{Rate, Sampler};

/// Two requests ending on one shard at once: each is counted in its series once, whether
/// it ended with the lock or left its removal to the other. (The stripes are plain
/// atomics under `loom`: this explores who holds the lock when, not the stripe's memory
/// order, which is that of the shard's other counts.)
#[test]
fn loom_requests_ending_together_are_each_counted() {
    explore(None, || {
        let table = table_keeping(1, 4);
        let requests: Vec<Tracked> = (0..2).map(|_| register(&table)).collect();
        let enders: Vec<_> = requests
            .into_iter()
            .map(|request| thread::spawn(move || request.finish(Ending::Completed)))
            .collect();
        for ender in enders {
            ender.join().unwrap();
        }
        let stats = table.ended_stats();
        let counted: u64 = stats.series.iter().map(|series| series.count).sum();
        assert_eq!(counted, 2, "{stats:?}");
    });
}

/// The window moves on for exactly one of the requests that find it over (with a load
/// and a store instead of the compare-and-swap, this model finds both moving it).
#[test]
fn loom_one_request_moves_the_window_on() {
    explore(None, || {
        let sampler = std::sync::Arc::new(Sampler::new(Rate::Adaptive(10)));
        let movers: Vec<_> = (0..2)
            .map(|_| {
                let sampler = sampler.clone();
                thread::spawn(move || sampler.window_over(5))
            })
            .collect();
        let moved = movers
            .into_iter()
            .map(|mover| mover.join().unwrap())
            .filter(|moved| *moved)
            .count();
        assert_eq!(moved, 1);
    });
}

/// A request that ends while a reader takes and lets go of its shard's lock is removed,
/// by itself or by whoever holds the lock next, before the table can be read without it.
/// (The interleavings `loom` explores here do not include a `try_lock` that fails while
/// the reader holds the lock, so the left removal itself is checked by the unit test
/// `a_request_ends_while_a_reader_holds_its_shard` with real threads.)
#[test]
fn loom_a_request_ending_as_a_read_ends_is_removed() {
    explore(None, || {
        let table = table_keeping(1, 4);
        let request = register(&table);
        let id = request.id();
        let reader = {
            let table = table.clone();
            thread::spawn(move || drop(table.inner.shards[0].read_lock()))
        };
        let ender = thread::spawn(move || request.finish(Ending::Completed));
        ender.join().unwrap();
        reader.join().unwrap();
        assert_eq!(table.len(), 0, "#{id} left in the table");
        assert!(table.get(id).is_none(), "#{id} still in the table");
    });
}
