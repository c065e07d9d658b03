//! The text dump: one line per request, oldest first, children under their parent.
//!
//! ```text
//! inflight: 2 inbound, 6 outbound in flight (pid 14765, up 3h12m)
//! inbound:
//!   #41 servicing GET "/fetch/all" for 1m34.00s [awaiting slownode:8484 for 1m33.98s] trace=4bf92f3577b34da6a3ce929d0e0e4736
//!     #42 servicing GET "http://slownode:8484/blob/a1" for 1m33.98s [awaiting headers] trace=4bf92f3577b34da6a3ce929d0e0e4736
//! outbound:
//!   #42 servicing GET "http://slownode:8484/blob/a1" for 1m33.98s [awaiting headers] trace=4bf92f3577b34da6a3ce929d0e0e4736
//! ```
//!
//! Work ([`work`](crate::work())) has a section of its own, `work:` (before `outbound:`), its lines reading
//! `#7 servicing WORK "consume orders/3" for 2.10s [working]`, its outbound calls under
//! it; the header then counts it too (`…, 6 outbound, 1 work in flight`).
//!
//! After the status, a request with a caller's deadline (gRPC's `grpc-timeout`) shows
//! `deadline in 0.40s` or `past deadline by 0.10s`, and an outbound call whose request has
//! ended shows `orphan`.
//!
//! Each line ends with the request's W3C trace id, so the dumps of the services a request
//! went through can be read side by side, and their logs searched.

use std::collections::{HashMap, HashSet};
use std::io;

mod elapsed;
mod text;

pub use elapsed::Elapsed;
use text::{CHUNK, DumpLine, Status, TextWriter, Waiting};

use crate::entry::{Entry, Line};
use crate::snapshot::{Direction, EntrySnapshot, Snapshot};
use crate::sync::Arc;
use crate::table::Table;

/// The dump's sections in order: the outbound calls of requests and work come last, as
/// each entry is let go once its line is out and must still be there under its parent.
const SECTIONS: [Direction; 3] = [Direction::Inbound, Direction::Work, Direction::Outbound];

impl Table {
    /// Writes the text dump of the table to `out`: the same text
    /// [`dump_on_signal`](crate::dump_on_signal) writes to stderr.
    ///
    /// Lines are written straight from the table, without an owned snapshot in between:
    /// a dump of a million requests stays well under a second.
    ///
    /// ```
    /// # use inflight_core as inflight;
    /// let table = inflight::Table::new();
    /// let mut out = Vec::new();
    /// table.dump_text(&mut out).unwrap();
    /// assert!(String::from_utf8(out).unwrap().starts_with("inflight: 0 inbound, 0 outbound in flight"));
    /// ```
    pub fn dump_text(&self, out: &mut impl io::Write) -> io::Result<()> {
        // One vector of entries for the whole dump; each is let go once its line is out.
        let mut entries: Vec<Option<Arc<Entry>>> =
            self.entries_where(|_| true).into_iter().map(Some).collect();
        let view = self.view();
        let mut text = TextWriter::new(
            out,
            CHUNK + 4096,
            entries.iter().flatten().map(|entry| entry.direction),
            std::process::id(),
            crate::clock::uptime(),
        );
        // Outbound calls of inbound requests and work, by id, to print under their parent.
        let children: HashMap<u64, usize> = entries
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| entry.as_ref().map(|entry| (index, entry)))
            .filter(|(_, entry)| entry.direction == Direction::Outbound && entry.parent != 0)
            .map(|(index, entry)| (entry.id(), index))
            .collect();
        // Requests and work in flight: a call whose parent is not among them is an orphan.
        let requests: HashSet<u64> = entries
            .iter()
            .flatten()
            .filter(|entry| entry.direction.has_children())
            .map(|entry| entry.id())
            .collect();
        let orphan = |entry: &Entry| {
            entry.direction == Direction::Outbound
                && entry.parent != 0
                && !requests.contains(&entry.parent)
        };
        let mut mine = Vec::new();
        for direction in SECTIONS {
            if !text.section(direction) {
                continue;
            }
            for index in 0..entries.len() {
                let Some(entry) = entries[index].as_ref().filter(|e| e.direction == direction)
                else {
                    continue;
                };
                mine.clear();
                let orphaned = orphan(entry);
                entry.with_line(&view, |line| {
                    text.line(false, live_line(&line, orphaned));
                    if direction.has_children() {
                        mine.extend(line.children.iter().map(|call| call.child));
                    }
                });
                for child in mine.iter().filter_map(|id| children.get(id)) {
                    if let Some(child) = &entries[*child] {
                        child.with_line(&view, |line| text.line(true, live_line(&line, false)));
                    }
                }
                // Each entry is let go as soon as its own line is written, so the entries
                // whose requests ended meanwhile are freed a few at a time, not all at once
                // at the end (a burst of frees that made the allocator hand memory back to
                // the system and stall requests for tens of milliseconds).
                entries[index] = None;
                text.flush_chunk()?;
            }
        }
        text.finish()
    }
}

/// The dump line of a live entry.
fn live_line<'a>(
    line: &'a Line<'_>,
    orphan: bool,
) -> DumpLine<'a, impl Iterator<Item = (&'a str, &'a str)>> {
    DumpLine {
        id: line.id,
        method: line.method,
        uri: line.uri,
        age: line.age,
        status: Status::Live(line.status, line.cancel_requested),
        status_age: line.status_age,
        waiting: Waiting {
            deadline: line.deadline,
            orphan,
        },
        attributes: line
            .attributes
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref())),
        trace: line.trace_id,
    }
}

impl Snapshot {
    /// Writes this snapshot as the text dump.
    pub fn write_text(&self, out: &mut impl io::Write) -> io::Result<()> {
        let mut text = TextWriter::new(
            out,
            CHUNK.min(128 + self.entries.len() * 128),
            self.entries.iter().map(|entry| entry.direction),
            self.pid,
            self.uptime,
        );
        let children: HashMap<u64, _> = self
            .outbound()
            .filter(|entry| entry.parent.is_some())
            .map(|entry| (entry.id, entry))
            .collect();
        for direction in SECTIONS {
            if !text.section(direction) {
                continue;
            }
            for entry in self.entries.iter().filter(|e| e.direction == direction) {
                text.line(false, snapshot_line(entry));
                for child in entry.children.iter().filter_map(|id| children.get(id)) {
                    text.line(true, snapshot_line(child));
                }
                text.flush_chunk()?;
            }
        }
        text.finish()
    }
}

/// The dump line of a snapshot's entry.
fn snapshot_line(entry: &EntrySnapshot) -> DumpLine<'_, impl Iterator<Item = (&str, &str)>> {
    DumpLine {
        id: entry.id,
        method: entry.method.as_str(),
        uri: &entry.uri,
        age: entry.age,
        status: Status::Text(&entry.status),
        status_age: entry.status_age,
        waiting: Waiting {
            deadline: entry.deadline.map(|deadline| {
                if entry.past_deadline {
                    (true, entry.age.saturating_sub(deadline))
                } else {
                    (false, deadline.saturating_sub(entry.age))
                }
            }),
            orphan: entry.orphan,
        },
        attributes: entry
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
        trace: entry.trace_id,
    }
}
