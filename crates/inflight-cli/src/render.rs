//! Plain-text tables and durations for the terminal.

use std::fmt;
use std::io::{self, Write};
use std::time::Duration;

use inflight_wire::{Direction, Elapsed, Request};

/// Writes to stdout (through the `out!` and `outln!` macros). A reader that went away,
/// as `head` does, ends the program quietly with 0 instead of the panic of `print!`;
/// other write errors end it with 1.
pub(crate) fn write_stdout(text: fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    if let Err(error) = stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        if error.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("inflight: cannot write the output: {error}");
        std::process::exit(1);
    }
}

/// `1m34.00s` from milliseconds.
pub(crate) fn ms(milliseconds: f64) -> String {
    Elapsed(Duration::from_secs_f64(milliseconds.max(0.0) / 1000.0)).to_string()
}

/// A request's status with what its caller's wait adds, as the dump writes it:
/// `awaiting headers, past deadline by 0.20s, orphan`.
pub(crate) fn status(request: &Request) -> String {
    let mut text = request.status.clone();
    if let Some(deadline) = request.deadline_ms {
        let gap = (deadline - request.elapsed_ms).abs();
        if request.past_deadline || deadline < request.elapsed_ms {
            text.push_str(&format!(", past deadline by {}", ms(gap)));
        } else {
            text.push_str(&format!(", deadline in {}", ms(gap)));
        }
    }
    if request.orphan {
        text.push_str(", orphan");
    }
    text
}

/// Whether nobody waits for a request any more: past its deadline, or an orphan.
pub(crate) fn unwaited(request: &Request) -> bool {
    request.past_deadline || request.orphan
}

/// A table printed with aligned columns.
pub(crate) struct TextTable {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    /// Columns aligned right (numbers, durations).
    right: Vec<usize>,
}

impl TextTable {
    pub(crate) fn new(headers: &[&'static str], right: &[usize]) -> TextTable {
        TextTable {
            headers: headers.to_vec(),
            rows: Vec::new(),
            right: right.to_vec(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(crate) fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                let pad = widths[i].saturating_sub(cell.chars().count());
                let last = i + 1 == columns;
                if self.right.contains(&i) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if !last {
                        line.push_str(&" ".repeat(pad));
                    }
                }
                if !last {
                    line.push_str("  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `in`, `out`, `work`, or `unknown` for a direction a newer admin port added.
pub(crate) fn direction(request: &Request) -> &str {
    match request.direction {
        Direction::Inbound => "in",
        Direction::Outbound => "out",
        other => other.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut table = TextTable::new(&["HOST", "ID", "URL"], &[1]);
        table.row(vec!["a:1".into(), "7".into(), "/x".into()]);
        table.row(vec!["bb:22".into(), "1234".into(), "/yy".into()]);
        assert_eq!(
            table.render(),
            "HOST     ID  URL\na:1       7  /x\nbb:22  1234  /yy\n"
        );
        assert_eq!(ms(94_000.0), "1m34.00s");
    }

    #[test]
    fn statuses_say_what_the_callers_wait_adds() {
        let mut call = crate::fixtures::request(1, "outbound", 1, None);
        call.status = "awaiting headers".into();
        assert_eq!(status(&call), "awaiting headers");
        call.deadline_ms = Some(1500.0);
        assert_eq!(status(&call), "awaiting headers, deadline in 0.50s");
        assert!(!unwaited(&call));
        call.elapsed_ms = 1700.0;
        call.past_deadline = true;
        call.orphan = true;
        assert_eq!(
            status(&call),
            "awaiting headers, past deadline by 0.20s, orphan"
        );
        assert!(unwaited(&call));
    }

    #[test]
    fn directions_are_short_and_a_newer_one_says_unknown() {
        let mut request = crate::fixtures::request(1, "inbound", 1, None);
        assert_eq!(direction(&request), "in");
        request.direction = Direction::Outbound;
        assert_eq!(direction(&request), "out");
        request.direction = Direction::Work;
        assert_eq!(direction(&request), "work");
        request.direction = serde_json::from_str("\"batch\"").unwrap();
        assert_eq!(direction(&request), "unknown");
    }
}
