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
use std::fmt::{self, Write as _};
use std::io;
use std::time::Duration;

mod elapsed;

pub use elapsed::Elapsed;
use elapsed::{Uptime, write_u64};

use crate::entry::{Entry, Line};
use crate::snapshot::{Direction, Snapshot};
use crate::sync::Arc;
use crate::table::Table;
use crate::trace::TraceId;

/// The dump's sections in order: the outbound calls of requests and work come last, as
/// each entry is let go once its line is out and must still be there under its parent.
const SECTIONS: [Direction; 3] = [Direction::Inbound, Direction::Work, Direction::Outbound];

/// Output is handed to the writer in pieces of about this size.
const CHUNK: usize = 64 * 1024;

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
        let mut counts = [0usize; 3];
        for entry in entries.iter().flatten() {
            counts[entry.direction as usize] += 1;
        }
        let mut buf = String::with_capacity(CHUNK + 4096);
        header(&mut buf, counts, std::process::id(), crate::clock::uptime());
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
            if counts[direction as usize] == 0 {
                continue;
            }
            buf.push_str(direction.as_str());
            buf.push_str(":\n");
            for index in 0..entries.len() {
                let Some(entry) = entries[index].as_ref().filter(|e| e.direction == direction)
                else {
                    continue;
                };
                buf.push_str("  ");
                mine.clear();
                let orphaned = orphan(entry);
                entry.with_line(&view, |line| {
                    write_entry_line(&mut buf, &line, orphaned);
                    if direction.has_children() {
                        mine.extend(line.children.iter().map(|call| call.child));
                    }
                });
                for child in mine.iter().filter_map(|id| children.get(id)) {
                    if let Some(child) = &entries[*child] {
                        buf.push_str("    ");
                        child.with_line(&view, |line| write_entry_line(&mut buf, &line, false));
                    }
                }
                // Each entry is let go as soon as its own line is written, so the entries
                // whose requests ended meanwhile are freed a few at a time, not all at once
                // at the end (a burst of frees that made the allocator hand memory back to
                // the system and stall requests for tens of milliseconds).
                entries[index] = None;
                if buf.len() >= CHUNK {
                    out.write_all(buf.as_bytes())?;
                    buf.clear();
                }
            }
        }
        out.write_all(buf.as_bytes())?;
        out.flush()
    }
}

fn write_entry_line(buf: &mut String, line: &Line<'_>, orphan: bool) {
    write_line(
        buf,
        line.id,
        line.method,
        line.uri,
        line.age,
        |out| {
            line.status.write_to(out)?;
            if line.cancel_requested {
                out.push_str(" (cancel requested)");
            }
            Ok(())
        },
        line.status_age,
        Waiting {
            deadline: line.deadline,
            orphan,
        },
        line.attributes
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref())),
        line.trace_id,
    );
}

/// Whether anyone still waits for a request, as its dump line says after the status.
struct Waiting {
    /// Time to the caller's deadline, or past it (`true`).
    deadline: Option<(bool, Duration)>,
    /// An outbound call whose request has ended.
    orphan: bool,
}

impl Waiting {
    /// ` deadline in 0.40s`, ` past deadline by 0.10s`, ` orphan`.
    fn write_to(&self, buf: &mut String) {
        match self.deadline {
            Some((false, left)) => {
                buf.push_str(" deadline in ");
                let _ = Elapsed(left).write_to(buf);
            }
            Some((true, over)) => {
                buf.push_str(" past deadline by ");
                let _ = Elapsed(over).write_to(buf);
            }
            None => {}
        }
        if self.orphan {
            buf.push_str(" orphan");
        }
    }
}

/// `inflight: 2 inbound, 6 outbound in flight (pid 14765, up 3h12m)`, with `, 1 work`
/// after the outbound count when work is in flight.
fn header(buf: &mut String, counts: [usize; 3], pid: u32, uptime: Duration) {
    let [inbound, outbound, work] = counts;
    // Writing to a String cannot fail.
    let _ = write!(buf, "inflight: {inbound} inbound, {outbound} outbound");
    if work > 0 {
        let _ = write!(buf, ", {work} work");
    }
    let _ = writeln!(buf, " in flight (pid {pid}, up {})", Uptime(uptime));
}

impl Snapshot {
    /// Writes this snapshot as the text dump.
    pub fn write_text(&self, out: &mut impl io::Write) -> io::Result<()> {
        let mut buf = String::with_capacity(CHUNK.min(128 + self.entries.len() * 128));
        let mut counts = [0usize; 3];
        for entry in &self.entries {
            counts[entry.direction as usize] += 1;
        }
        header(&mut buf, counts, self.pid, self.uptime);
        let children: HashMap<u64, _> = self
            .outbound()
            .filter(|entry| entry.parent.is_some())
            .map(|entry| (entry.id, entry))
            .collect();
        let line = |buf: &mut String, entry: &crate::EntrySnapshot| {
            write_line(
                buf,
                entry.id,
                entry.method.as_str(),
                &entry.uri,
                entry.age,
                |out| out.write_str(&entry.status),
                entry.status_age,
                Waiting {
                    deadline: entry.deadline.map(|deadline| {
                        if entry.past_deadline {
                            (true, entry.age.saturating_sub(deadline))
                        } else {
                            (false, deadline.saturating_sub(entry.age))
                        }
                    }),
                    orphan: entry.orphan,
                },
                entry
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
                entry.trace_id,
            );
        };
        for direction in SECTIONS {
            let mut entries = self
                .entries
                .iter()
                .filter(|e| e.direction == direction)
                .peekable();
            if entries.peek().is_none() {
                continue;
            }
            buf.push_str(direction.as_str());
            buf.push_str(":\n");
            for entry in entries {
                buf.push_str("  ");
                line(&mut buf, entry);
                for child in entry.children.iter().filter_map(|id| children.get(id)) {
                    buf.push_str("    ");
                    line(&mut buf, child);
                }
                if buf.len() >= CHUNK {
                    out.write_all(buf.as_bytes())?;
                    buf.clear();
                }
            }
        }
        out.write_all(buf.as_bytes())?;
        out.flush()
    }
}

/// `#41 servicing GET "/fetch/all" for 1m34.00s [awaiting slownode:8484 for 1m33.98s] {user=42}`,
/// then ` trace=…` and a newline, with plain string writes.
#[allow(clippy::too_many_arguments)]
fn write_line<'a>(
    buf: &mut String,
    id: u64,
    method: &str,
    uri: &str,
    age: Duration,
    status: impl FnOnce(&mut String) -> fmt::Result,
    status_age: Duration,
    waiting: Waiting,
    attributes: impl Iterator<Item = (&'a str, &'a str)>,
    trace: TraceId,
) {
    buf.push('#');
    let _ = write_u64(buf, id);
    buf.push_str(" servicing ");
    buf.push_str(method);
    buf.push_str(" \"");
    buf.push_str(uri);
    buf.push_str("\" for ");
    let _ = Elapsed(age).write_to(buf);
    buf.push_str(" [");
    let _ = status(buf);
    // A status as old as the request says nothing more; `for` only when they differ as
    // printed (in hundredths).
    if Elapsed(status_age).hundredths() != Elapsed(age).hundredths() {
        buf.push_str(" for ");
        let _ = Elapsed(status_age).write_to(buf);
    }
    buf.push(']');
    waiting.write_to(buf);
    let mut attributes = attributes.peekable();
    if attributes.peek().is_some() {
        buf.push_str(" {");
        for (i, (key, value)) in attributes.enumerate() {
            if i > 0 {
                buf.push_str(", ");
            }
            buf.push_str(key);
            buf.push('=');
            buf.push_str(value);
        }
        buf.push('}');
    }
    buf.push_str(" trace=");
    let _ = write!(buf, "{trace}");
    buf.push('\n');
}
