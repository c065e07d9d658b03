//! The text dump: one line per request, oldest first, children under their parent.
//!
//! ```text
//! inflight: 2 inbound, 6 outbound in flight (pid 14765, up 3h12m)
//! inbound:
//!   #41 servicing GET "/fetch/all" for 1m34.00s [awaiting slownode:8484 for 1m33.98s]
//!     #42 servicing GET "http://slownode:8484/blob/a1" for 1m33.98s [awaiting headers]
//! outbound:
//!   #42 servicing GET "http://slownode:8484/blob/a1" for 1m33.98s [awaiting headers]
//! ```

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io;
use std::time::Duration;

use crate::snapshot::{Direction, EntrySnapshot, Snapshot};
use crate::table::Table;

/// Output is handed to the writer in pieces of about this size.
const CHUNK: usize = 64 * 1024;

impl Table {
    /// Writes the text dump of the table to `out`: the same text
    /// [`dump_on_signal`](crate::dump_on_signal) writes to stderr.
    ///
    /// ```
    /// # use inflight_core as inflight;
    /// let table = inflight::Table::new();
    /// let mut out = Vec::new();
    /// table.dump_text(&mut out).unwrap();
    /// assert!(String::from_utf8(out).unwrap().starts_with("inflight: 0 inbound, 0 outbound in flight"));
    /// ```
    pub fn dump_text(&self, out: &mut impl io::Write) -> io::Result<()> {
        self.snapshot_with(false).write_text(out)
    }
}

impl Snapshot {
    /// Writes this snapshot as the text dump.
    pub fn write_text(&self, out: &mut impl io::Write) -> io::Result<()> {
        let mut buf = String::with_capacity(CHUNK.min(128 + self.entries.len() * 128));
        let inbound = self.inbound().count();
        let outbound = self.entries.len() - inbound;
        // Writing to a String cannot fail.
        let _ = writeln!(
            buf,
            "inflight: {inbound} inbound, {outbound} outbound in flight (pid {}, up {})",
            self.pid,
            Uptime(self.uptime)
        );
        let children: HashMap<u64, &EntrySnapshot> = self
            .outbound()
            .filter(|entry| entry.parent.is_some())
            .map(|entry| (entry.id, entry))
            .collect();
        for direction in [Direction::Inbound, Direction::Outbound] {
            let mut entries = self
                .entries
                .iter()
                .filter(|e| e.direction == direction)
                .peekable();
            if entries.peek().is_none() {
                continue;
            }
            let _ = writeln!(buf, "{direction}:");
            for entry in entries {
                let _ = writeln!(buf, "  {}", Line(entry));
                for child in entry.children.iter().filter_map(|id| children.get(id)) {
                    let _ = writeln!(buf, "    {}", Line(child));
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

/// `#41 servicing GET "/fetch/all" for 1m34.00s [awaiting slownode:8484 for 1m33.98s]`
struct Line<'a>(&'a EntrySnapshot);

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entry = self.0;
        write!(
            f,
            "#{} servicing {} \"{}\" for {} [{}",
            entry.id,
            entry.method,
            entry.uri,
            Elapsed(entry.age),
            entry.status
        )?;
        // A status as old as the request says nothing more; `for` only when they differ
        // as printed (in hundredths).
        if Elapsed(entry.status_age).hundredths() != Elapsed(entry.age).hundredths() {
            write!(f, " for {}", Elapsed(entry.status_age))?;
        }
        f.write_str("]")?;
        for (i, (key, value)) in entry.attributes.iter().enumerate() {
            f.write_str(if i == 0 { " {" } else { ", " })?;
            write!(f, "{key}={value}")?;
            if i + 1 == entry.attributes.len() {
                f.write_str("}")?;
            }
        }
        Ok(())
    }
}

/// A request's age: `0.35s`, `47.26s`, `1m34.00s`, `2h03m04.00s`.
#[derive(Clone, Copy, Debug)]
pub struct Elapsed(pub Duration);

impl Elapsed {
    /// Rounded to hundredths once, so 59.999s prints as 1m00.00s, not 60.00s. In `u64`
    /// (enough for 5,000 years), which a dump of a million lines feels.
    fn hundredths(self) -> u64 {
        let nanos = u64::try_from(self.0.as_nanos()).unwrap_or(u64::MAX);
        nanos.saturating_add(5_000_000) / 10_000_000
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hundredths = self.hundredths();
        let (seconds, hundredths) = (hundredths / 100, hundredths % 100);
        let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        if hours > 0 {
            write!(f, "{hours}h{minutes:02}m{seconds:02}.{hundredths:02}s")
        } else if minutes > 0 {
            write!(f, "{minutes}m{seconds:02}.{hundredths:02}s")
        } else {
            write!(f, "{seconds}.{hundredths:02}s")
        }
    }
}

/// Process uptime: `42s`, `12m05s`, `3h12m`, `2d03h`.
struct Uptime(Duration);

impl fmt::Display for Uptime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.as_secs();
        let (days, hours, minutes, seconds) = (
            seconds / 86_400,
            seconds / 3600 % 24,
            seconds / 60 % 60,
            seconds % 60,
        );
        if days > 0 {
            write!(f, "{days}d{hours:02}h")
        } else if hours > 0 {
            write!(f, "{hours}h{minutes:02}m")
        } else if minutes > 0 {
            write!(f, "{minutes}m{seconds:02}s")
        } else {
            write!(f, "{seconds}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elapsed(ms: u64) -> String {
        Elapsed(Duration::from_millis(ms)).to_string()
    }

    #[test]
    fn durations_read_like_the_cbfs_dump() {
        assert_eq!(elapsed(350), "0.35s");
        assert_eq!(elapsed(47_260), "47.26s");
        assert_eq!(elapsed(94_000), "1m34.00s");
        assert_eq!(elapsed(7_384_000), "2h03m04.00s");
        assert_eq!(elapsed(59_999), "1m00.00s");
        assert_eq!(elapsed(0), "0.00s");
    }

    #[test]
    fn uptimes() {
        let up = |s| Uptime(Duration::from_secs(s)).to_string();
        assert_eq!(up(42), "42s");
        assert_eq!(up(725), "12m05s");
        assert_eq!(up(11_520), "3h12m");
        assert_eq!(up(183_600), "2d03h");
    }
}
