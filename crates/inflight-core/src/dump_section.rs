//! Extra sections of the signal dump, written by other crates after the tables.

use std::io;
use std::sync::{Arc, Mutex};

type Section = Arc<dyn Fn(&mut dyn io::Write) -> io::Result<()> + Send + Sync>;

static SECTIONS: Mutex<Vec<Section>> = Mutex::new(Vec::new());

/// Adds a section to every dump on a signal (see `dump_on_signal`, feature `signal`),
/// written after the tables, in the order sections were added; it stays for the life of
/// the process.
///
/// The admin port adds tokio's task dump this way
/// (`inflight_admin::AdminServer::task_dump_on_signal`), so that this crate needs no
/// runtime. `write` runs on the thread that writes the dump, never on an async worker;
/// it should bound its own time, since the next dump waits for it. An error it returns
/// ends that section only.
pub fn add_dump_section(
    write: impl Fn(&mut dyn io::Write) -> io::Result<()> + Send + Sync + 'static,
) {
    SECTIONS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(Arc::new(write));
}

/// Writes every section to `out`. The list is copied first, so a section may add another
/// without deadlocking.
#[cfg_attr(not(feature = "signal"), allow(dead_code))]
pub(crate) fn write_sections(out: &mut dyn io::Write) {
    let sections = SECTIONS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    for section in sections {
        // Nothing to do if stderr is gone; the process must keep serving.
        let _ = section(out);
    }
}
