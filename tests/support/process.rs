//! The test process itself: its resident memory, signals it sends itself, its stderr sent
//! to a file for a while, and panics it expects.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Bytes resident in memory (RSS): resident pages from `/proc/self/statm` times the page
/// size. `None` where there is no `/proc` (not Linux).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page_size).ok()?)
}

/// Sends `signal` to this process `times` times, back to back, with the real `kill(2)`.
pub fn signal_self(signal: libc::c_int, times: usize) {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    for sent in 0..times {
        // SAFETY: kill with our own pid and a signal whose handler is installed.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {signal}) failed after {sent} signals: {}",
            io::Error::last_os_error()
        );
        // Give the other threads a chance to take some of the signals one by one instead of
        // the kernel merging them all into one pending signal.
        std::thread::yield_now();
    }
}

/// While alive, file descriptor 2 (stderr) writes to a file; dropping it puts the old
/// stderr back and copies there what was written meanwhile, but for the lines `keep_out`
/// matches.
#[derive(Debug)]
pub struct StderrToFile {
    saved: Option<OwnedFd>,
    path: PathBuf,
    keep_out: fn(&str) -> bool,
}

impl StderrToFile {
    /// Sends stderr to a new file at `path` (replaced if it exists).
    pub fn new(path: &Path, keep_out: fn(&str) -> bool) -> io::Result<StderrToFile> {
        let file = File::create(path)?;
        let saved = io::stderr().as_fd().try_clone_to_owned()?;
        // SAFETY: both descriptors are open; dup2 atomically replaces descriptor 2.
        if unsafe { libc::dup2(file.as_raw_fd(), 2) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(StderrToFile {
            saved: Some(saved),
            path: path.to_owned(),
            keep_out,
        })
    }

    /// What was written to stderr since [`new`](StderrToFile::new).
    pub fn written(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.path) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for StderrToFile {
    fn drop(&mut self) {
        let Some(saved) = self.saved.take() else {
            return;
        };
        // SAFETY: `saved` is an open descriptor; dup2 atomically replaces descriptor 2.
        unsafe { libc::dup2(saved.as_raw_fd(), 2) };
        let written = self.written();
        let mut stderr = io::stderr().lock();
        for line in written.lines().filter(|line| !(self.keep_out)(line)) {
            let _ = writeln!(stderr, "{line}");
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The payload of a panic a test causes on purpose (`std::panic::panic_any(ExpectedPanic)`).
#[derive(Debug)]
pub struct ExpectedPanic;

/// Panics with [`ExpectedPanic`].
pub fn expected_panic() -> ! {
    std::panic::panic_any(ExpectedPanic)
}

/// Keeps panics with an [`ExpectedPanic`] payload quiet; others are reported as before.
/// Thousands of expected panics would otherwise each print a message (and a test run
/// captures them all in memory).
pub fn quiet_expected_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<ExpectedPanic>() {
            report(info);
        }
    }));
}
