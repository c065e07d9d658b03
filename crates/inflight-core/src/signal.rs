//! The dump on SIGUSR1 (everywhere on unix) and SIGINFO (^T, where the platform has it).

use std::io::{self, Write};
use std::sync::{Mutex, OnceLock};

use crate::table::Table;

/// Tables dumped on a signal.
static TABLES: Mutex<Vec<Table>> = Mutex::new(Vec::new());
/// Whether the signal thread started (or why it could not).
static STARTED: OnceLock<Result<(), String>> = OnceLock::new();

/// Dumps the [`global`](crate::global) table to stderr on `SIGUSR1`, and on `SIGINFO`
/// (^T in a terminal) on macOS and the BSDs.
///
/// The signal handler itself only records the signal; a dedicated thread named
/// `inflight-signal` takes the snapshot and writes it, so a dump never runs on an async
/// worker thread and the process keeps serving while it is written. Signals that arrive
/// during a dump are answered by one more dump, not one each. Calling this again, or for
/// another table with [`Table::dump_on_signal`], adds to the same thread.
///
/// Registering replaces the default action of `SIGUSR1`, which is to terminate.
///
/// ```no_run
/// # use inflight_core as inflight;
/// # fn main() -> std::io::Result<()> {
/// inflight::dump_on_signal()?;
/// // kill -USR1 <pid>, or ^T on macOS, prints:
/// // inflight: 1 inbound, 1 outbound in flight (pid 14765, up 3h12m)
/// // inbound:
/// //   #41 servicing GET "/fetch/all" for 1m34.00s [awaiting slownode:8484 for 1m33.98s] trace=4bf9…
/// // ...
/// # Ok(())
/// # }
/// ```
pub fn dump_on_signal() -> io::Result<()> {
    crate::global().dump_on_signal()
}

impl Table {
    /// Dumps this table to stderr on `SIGUSR1` / `SIGINFO`; see
    /// [`dump_on_signal`](crate::dump_on_signal).
    pub fn dump_on_signal(&self) -> io::Result<()> {
        {
            let mut tables = TABLES
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !tables.iter().any(|table| table.same_as(self)) {
                tables.push(self.clone());
            }
        }
        STARTED
            .get_or_init(|| start().map_err(|error| error.to_string()))
            .clone()
            .map_err(io::Error::other)
    }
}

#[cfg(unix)]
fn start() -> io::Result<()> {
    use signal_hook::iterator::Signals;

    let mut signals = Signals::new(SIGNALS)?;
    std::thread::Builder::new()
        .name("inflight-signal".into())
        .spawn(move || {
            while !signals.is_closed() {
                // `wait` returns each signal that arrived since the last call once, so a
                // burst becomes one dump.
                if signals.wait().count() > 0 {
                    dump_all();
                }
            }
        })?;
    Ok(())
}

#[cfg(not(unix))]
fn start() -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "dump on signal needs a unix platform; use Table::dump_text",
    ))
}

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
const SIGNALS: [i32; 2] = [libc::SIGUSR1, libc::SIGINFO];

#[cfg(all(
    unix,
    not(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd"
    ))
))]
const SIGNALS: [i32; 1] = [libc::SIGUSR1];

#[cfg(unix)]
fn dump_all() {
    let tables = TABLES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    // Streamed to stderr as it is written (in pieces of about 64 KiB), never held whole.
    // Nothing to do if stderr is gone; the process must keep serving.
    let mut err = io::stderr().lock();
    for table in &tables {
        let _ = table.dump_text(&mut err);
    }
    crate::dump_section::write_sections(&mut err);
    let _ = err.flush();
}
