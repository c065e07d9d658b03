//! The dump's text, written in one place whether it comes from the table or from a
//! snapshot: the header, the section titles and one line per request.

use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use super::elapsed::{Elapsed, Uptime, write_u64};
use crate::snapshot::Direction;
use crate::status::StatusText;
use crate::trace::TraceId;

/// Output is handed to the writer in pieces of about this size.
pub(super) const CHUNK: usize = 64 * 1024;

/// Writes a dump to `out`, through a buffer handed over a chunk at a time.
pub(super) struct TextWriter<'o, W> {
    out: &'o mut W,
    buf: String,
    /// Entries per direction, indexed by `Direction as usize`.
    counts: [usize; 3],
}

impl<'o, W: io::Write> TextWriter<'o, W> {
    /// Starts the dump with its header:
    /// `inflight: 2 inbound, 6 outbound in flight (pid 14765, up 3h12m)`, with `, 1 work`
    /// after the outbound count when work is in flight. `directions` are the entries'.
    pub(super) fn new(
        out: &'o mut W,
        capacity: usize,
        directions: impl Iterator<Item = Direction>,
        pid: u32,
        uptime: Duration,
    ) -> Self {
        let mut counts = [0usize; 3];
        for direction in directions {
            counts[direction as usize] += 1;
        }
        let mut buf = String::with_capacity(capacity);
        let [inbound, outbound, work] = counts;
        // Writing to a String cannot fail.
        let _ = write!(buf, "inflight: {inbound} inbound, {outbound} outbound");
        if work > 0 {
            let _ = write!(buf, ", {work} work");
        }
        let _ = writeln!(buf, " in flight (pid {pid}, up {})", Uptime(uptime));
        TextWriter { out, buf, counts }
    }

    /// Starts the section of `direction` (`inbound:`); false, with nothing written, if no
    /// entry is in it.
    pub(super) fn section(&mut self, direction: Direction) -> bool {
        if self.counts[direction as usize] == 0 {
            return false;
        }
        self.buf.push_str(direction.as_str());
        self.buf.push_str(":\n");
        true
    }

    /// Writes one request's line, indented under its parent's if it is a `child`.
    pub(super) fn line<'a>(
        &mut self,
        child: bool,
        line: DumpLine<'a, impl Iterator<Item = (&'a str, &'a str)>>,
    ) {
        self.buf.push_str(if child { "    " } else { "  " });
        line.write_to(&mut self.buf);
    }

    /// Hands the text so far to `out` once it is a chunk. Called after a request's lines
    /// and its children's.
    pub(super) fn flush_chunk(&mut self) -> io::Result<()> {
        if self.buf.len() >= CHUNK {
            self.out.write_all(self.buf.as_bytes())?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Hands the rest to `out`, and flushes it.
    pub(super) fn finish(self) -> io::Result<()> {
        self.out.write_all(self.buf.as_bytes())?;
        self.out.flush()
    }
}

/// What one line of the dump says about a request:
/// `#41 servicing GET "/fetch/all" for 1m34.00s [awaiting slownode:8484 for 1m33.98s] {user=42} trace=…`.
pub(super) struct DumpLine<'a, A> {
    pub(super) id: u64,
    pub(super) method: &'a str,
    pub(super) uri: &'a str,
    pub(super) age: Duration,
    pub(super) status: Status<'a>,
    pub(super) status_age: Duration,
    pub(super) waiting: Waiting,
    pub(super) attributes: A,
    pub(super) trace: TraceId,
}

/// A request's status as its line shows it.
pub(super) enum Status<'a> {
    /// A live entry's, and whether an operator asked it to cancel:
    /// `in handler (cancel requested)`.
    Live(&'a StatusText, bool),
    /// A snapshot's, already in words.
    Text(&'a str),
}

/// Whether anyone still waits for a request, as its dump line says after the status.
pub(super) struct Waiting {
    /// Time to the caller's deadline, or past it (`true`).
    pub(super) deadline: Option<(bool, Duration)>,
    /// An outbound call whose request has ended.
    pub(super) orphan: bool,
}

impl<'a, A: Iterator<Item = (&'a str, &'a str)>> DumpLine<'a, A> {
    /// The line and its newline, with plain string writes.
    fn write_to(self, buf: &mut String) {
        buf.push('#');
        let _ = write_u64(buf, self.id);
        buf.push_str(" servicing ");
        buf.push_str(self.method);
        buf.push_str(" \"");
        buf.push_str(self.uri);
        buf.push_str("\" for ");
        let _ = Elapsed(self.age).write_to(buf);
        buf.push_str(" [");
        match self.status {
            Status::Live(status, cancel_requested) => {
                let _ = status.write_to(buf);
                if cancel_requested {
                    buf.push_str(" (cancel requested)");
                }
            }
            Status::Text(status) => buf.push_str(status),
        }
        // A status as old as the request says nothing more; `for` only when they differ as
        // printed (in hundredths).
        if Elapsed(self.status_age).hundredths() != Elapsed(self.age).hundredths() {
            buf.push_str(" for ");
            let _ = Elapsed(self.status_age).write_to(buf);
        }
        buf.push(']');
        self.waiting.write_to(buf);
        let mut attributes = self.attributes.peekable();
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
        let _ = write!(buf, "{}", self.trace);
        buf.push('\n');
    }
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
