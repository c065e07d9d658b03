//! Reading what ended requests left: their exact counts, and the kept records.

use std::collections::HashMap;
use std::sync::Arc;

use super::Table;
use crate::clock;
use crate::ended::{EndedStats, Kept, KeptRequest, Record};
use crate::table::Finished;
use crate::trace::TraceId;

impl Table {
    /// The counts and duration histograms of every request that ended in this table, by
    /// family (route, target or work's name) and series (method, response status and
    /// ending). Exact: every request is counted, by its own thread, as it ends.
    ///
    /// ```
    /// # use inflight_core as inflight;
    /// let table = inflight::Table::new();
    /// let stats = table.ended_stats();
    /// assert_eq!(stats.series.iter().map(|s| s.count).sum::<u64>(), 0);
    /// ```
    pub fn ended_stats(&self) -> EndedStats {
        self.inner.shared.recorder.stats()
    }

    /// The ended requests this table kept, oldest end first: every failed, terminated
    /// and dropped-early request, every one slower than its family's threshold, and a
    /// sample of the rest chosen from the trace id (all of them below 2,000 a second by
    /// default; see [`TableBuilder::keep_rate`](crate::TableBuilder::keep_rate)). The
    /// rings are copied a chunk at a time, so requests keep ending meanwhile.
    pub fn kept(&self) -> Kept {
        self.kept_where(|_| true)
    }

    /// Like [`kept`](Table::kept), only the requests of one trace: what `/traces/{id}`
    /// shows. Only those are decoded.
    pub fn kept_in_trace(&self, trace: TraceId) -> Kept {
        self.kept_where(|record| record.trace_id() == Some(trace))
    }

    /// Like [`kept`](Table::kept), only the requests whose id `keep` accepts.
    pub fn kept_with_ids(&self, keep: impl Fn(u64) -> bool) -> Kept {
        self.kept_where(|record| keep(record.id))
    }

    /// Like [`kept`](Table::kept) without any request: only the counts.
    pub fn kept_counts(&self) -> Kept {
        self.kept_where(|_| false)
    }

    fn kept_where(&self, keep: impl Fn(&Record) -> bool) -> Kept {
        let shared = &self.inner.shared;
        let recorder = &shared.recorder;
        let settings = &recorder.settings;
        let now = clock::now();
        let oldest =
            now.saturating_sub(u64::try_from(settings.keep_for.as_nanos()).unwrap_or(u64::MAX));
        let mut records: Vec<Record> = Vec::new();
        let mut details: Vec<(u64, Arc<Finished>)> = Vec::new();
        let mut kept = 0;
        let mut held = 0;
        let mut detail_bytes = 0;
        for shard in self.inner.shards.iter() {
            kept += shard.counts.kept.load(crate::sync::Ordering::Relaxed);
            let mut from = Some(0);
            let mut chunk = Vec::new();
            while let Some(at) = from {
                chunk.clear();
                from = match shard.read_lock().ring.as_ref() {
                    Some(ring) => {
                        if chunk.capacity() == 0 {
                            // Outside the lock next time: a chunk's room is kept.
                            chunk.reserve(ring.len().min(256));
                        }
                        ring.copy_chunk(at, &mut chunk)
                    }
                    None => None,
                };
                for record in chunk.iter().filter(|record| record.ended() >= oldest) {
                    held += 1;
                    if keep(record) {
                        records.push(*record);
                    }
                }
            }
            let details_of_shard = shard.details();
            detail_bytes += details_of_shard.bytes();
            details_of_shard.copy_into(&mut details);
        }
        records.sort_unstable_by_key(|record| (record.ended(), record.id));
        let details: HashMap<u64, Arc<Finished>> = details.into_iter().collect();
        let families = recorder.families();
        let view = self.view();
        let requests: Vec<KeptRequest> = records
            .iter()
            .map(|record| {
                let detail = record
                    .has_detail()
                    .then(|| details.get(&record.id).cloned())
                    .flatten();
                KeptRequest::of(record, &families, recorder.statuses(), &view, detail)
            })
            .collect();
        let totals = self.totals();
        Kept {
            requests,
            ended: totals.completed
                + totals.failed
                + totals.body_failed
                + totals.dropped_early
                + totals.terminated,
            kept,
            held,
            capacity: recorder.ring_capacity() * self.inner.shards.len(),
            keep_for: settings.keep_for,
            detail_bytes,
            detail_budget: settings.detail_bytes,
            sample_probability: recorder.stats_probability(),
        }
    }
}
