//! The sampler itself, with the `pprof` feature: one profile at a time in the process.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use http::StatusCode;
use pprof::protos::Message;
use pprof::{ProfilerGuard, ProfilerGuardBuilder, Report};

use super::Format;
use crate::reply::{self, Failure, Reply};

/// pprof's sampler is one per process, whichever admin server asks.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// The one profile running; dropping it lets the next one start.
#[derive(Debug)]
pub(super) struct Running(());

impl Running {
    pub(super) fn take() -> Result<Running, Failure> {
        RUNNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Running(()))
            .map_err(|_| busy())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Release);
    }
}

fn busy() -> Failure {
    Failure::new(
        StatusCode::CONFLICT,
        "a CPU profile is already running in this process; try again when it ends",
    )
}

fn failed(error: impl std::fmt::Display) -> Failure {
    Failure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the CPU profile failed: {error}"),
    )
}

pub(super) fn start(frequency: u32) -> Result<ProfilerGuard<'static>, Failure> {
    ProfilerGuardBuilder::default()
        .frequency(i32::try_from(frequency).unwrap_or(super::DEFAULT_FREQUENCY as i32))
        // Unwinding through these from a signal handler can deadlock (pprof's advice).
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
        .map_err(|error| match error {
            // The service runs a pprof profile of its own.
            pprof::Error::Running => busy(),
            error => failed(error),
        })
}

pub(super) fn render(
    guard: &ProfilerGuard<'static>,
    format: Format,
    title: String,
) -> Result<Reply, Failure> {
    let report = guard.report().build().map_err(failed)?;
    match format {
        Format::Pb => {
            let profile = report.pprof().map_err(failed)?;
            Ok(reply::text(
                StatusCode::OK,
                "application/octet-stream",
                profile.encode_to_vec(),
            ))
        }
        Format::Folded => Ok(reply::text(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            folded(&report).join("\n") + "\n",
        )),
        Format::Svg => Ok(reply::text(
            StatusCode::OK,
            "image/svg+xml",
            flame_graph(&folded(&report), title)?,
        )),
    }
}

/// One `thread;outermost;...;innermost count` line per stack, most samples first.
fn folded(report: &Report) -> Vec<String> {
    let mut stacks: Vec<(&pprof::Frames, isize)> =
        report.data.iter().map(|(frames, &n)| (frames, n)).collect();
    stacks.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
    stacks
        .into_iter()
        .map(|(frames, count)| {
            let mut line = frames.thread_name_or_id().replace([';', ' '], "_");
            for symbol in frames.frames.iter().rev().flat_map(|f| f.iter().rev()) {
                // `;` separates frames; a name like `[u8; 4]` must not split one.
                let _ = write!(line, ";{}", symbol.to_string().replace(';', ","));
            }
            let _ = write!(line, " {count}");
            line
        })
        .collect()
}

fn flame_graph(lines: &[String], title: String) -> Result<String, Failure> {
    if lines.is_empty() {
        // inferno draws nothing without samples; an idle process has none.
        return Ok(format!(
            "<?xml version=\"1.0\" standalone=\"no\"?>\n<svg version=\"1.1\" width=\"1200\" \
             height=\"60\" xmlns=\"http://www.w3.org/2000/svg\"><text x=\"600\" y=\"30\" \
             text-anchor=\"middle\">{}: no CPU samples (the process was idle)</text></svg>\n",
            escape(&title)
        ));
    }
    let mut options = pprof::flamegraph::Options::default();
    options.title = title;
    let mut svg = Vec::new();
    pprof::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)
        .map_err(failed)?;
    String::from_utf8(svg).map_err(failed)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
