//! The end of the summary: oversubscribed latencies, the admin thread's cost, and each
//! target beside what this run measured. Printed, never asserted: a bench on a shared
//! machine informs, it does not fail.

use std::fmt::Write as _;

use crate::admin::AdminCost;
use crate::support::latency::Quantiles;
use crate::support::paired::Line;

/// What the summary measured, kept for the lines that compare variants.
#[derive(Default)]
pub struct Results {
    /// (scenario, variant, line)
    pub lines: Vec<(&'static str, &'static str, Line)>,
    /// Oversubscribed per-request latencies per variant.
    pub latencies: Vec<(&'static str, Quantiles)>,
    /// The admin thread's cost per scenario, when its thread and CPU clock were found.
    pub admin: Vec<(&'static str, Option<AdminCost>)>,
    /// (scenario, variant, total) of the variants with an admin port.
    pub totals: Vec<(&'static str, &'static str, Option<Total>)>,
}

/// What a request costs with the admin port on, counted whole: the request path's added ns
/// plus the admin thread's CPU over the rounds divided by every request served in them
/// (not only those it aggregated). Where the bench's threads keep every core busy (two
/// threads, oversubscribed), the admin thread's CPU also slows them, so it is in the
/// request path's figure too and the total counts it twice: an upper bound there.
#[derive(Clone, Copy, Debug)]
pub struct Total {
    /// The request path's line with the admin thread's share added to each figure.
    pub line: Line,
    /// The request path alone: median added ns.
    pub path: f64,
    /// Admin thread CPU ns per request served.
    pub admin: f64,
}

impl Total {
    /// From the request path's line, and the admin thread's CPU (ns) over the rounds in
    /// which `served` requests went through the variant.
    pub fn new(path: &Line, admin_cpu: u64, served: u64) -> Total {
        let admin = admin_cpu as f64 / served.max(1) as f64;
        Total {
            line: Line {
                ns: path.ns + admin,
                added: path.added + admin,
                added_p25: path.added_p25 + admin,
                added_p75: path.added_p75 + admin,
            },
            path: path.added,
            admin,
        }
    }
}

/// The total's line, under the scenario's variants.
pub fn print_total(scenario: &str, variant: &str, total: Option<&Total>) {
    let name = format!("{variant} total");
    match total {
        Some(total) => println!(
            "{:<16} {:<30} {:>10.1} {:>10.1} {:>7.1} .. {:>6.1}   (request path {:+.1}, \
             admin thread {:+.1} over every request served)",
            scenario,
            name,
            total.line.ns,
            total.line.added,
            total.line.added_p25,
            total.line.added_p75,
            total.path,
            total.admin
        ),
        None => println!(
            "{scenario:<16} {name:<30} not measured: no single new thread named \
             inflight-admin, or no /proc/self/task/*/schedstat"
        ),
    }
}

/// `inflight_admin` added / `tower_http_trace` added, at most this, per scenario.
const TRACE_RATIO: [(&str, f64); 5] = [
    ("one_thread", 0.30),
    ("two_threads", 0.40),
    ("100k_in_flight", 0.40),
    ("oversubscribed", 0.40),
    ("traced_caller", 0.30),
];
/// `inflight_admin` total (request path + admin thread) / `tower_http_trace` added.
const TOTAL_TRACE_RATIO: [(&str, f64); 4] = [
    ("one_thread", 0.40),
    ("two_threads", 0.40),
    ("100k_in_flight", 0.40),
    ("oversubscribed", 0.40),
];
const ONE_THREAD_ADDED_NS: f64 = 100.0;
const P999_RATIO: f64 = 1.5;
const ADMIN_NS: f64 = 150.0;
/// Work's start and end cost no more than tracking an inbound request.
const WORK_RATIO: f64 = 1.0;

impl Results {
    fn added(&self, scenario: &str, variant: &str) -> Option<f64> {
        self.lines
            .iter()
            .find(|(s, v, _)| *s == scenario && *v == variant)
            .map(|(_, _, line)| line.added)
    }

    fn total(&self, scenario: &str, variant: &str) -> Option<Total> {
        self.totals
            .iter()
            .find(|(s, v, _)| *s == scenario && *v == variant)
            .and_then(|(_, _, total)| *total)
    }

    fn p999(&self, variant: &str) -> Option<u64> {
        self.latencies
            .iter()
            .find(|(v, _)| *v == variant)
            .map(|(_, q)| q.p999)
    }

    pub fn print(&self) {
        if !self.latencies.is_empty() {
            println!();
            println!("oversubscribed: per-request latency in ns, each request timed on its own");
            println!(
                "{:<30} {:>11} {:>8} {:>8} {:>8} {:>12}",
                "variant", "requests", "p50", "p99", "p99.9", "max"
            );
            for (variant, q) in &self.latencies {
                println!(
                    "{:<30} {:>11} {:>8} {:>8} {:>8} {:>12}",
                    variant, q.count, q.p50, q.p99, q.p999, q.max
                );
            }
        }
        println!();
        for (scenario, cost) in &self.admin {
            match cost {
                Some(cost) => println!(
                    "admin thread: {:.0} ns CPU per finished request it aggregated ({scenario}: \
                     {} requests, {} aggregated, the rest counted as dropped; idle, it uses \
                     {:.0} µs CPU per second; the recorder's upkeep adds {:.0} ns per request \
                     on the thread that runs it)",
                    cost.admin_ns,
                    cost.requests,
                    cost.aggregated,
                    cost.idle_ns_per_s / 1e3,
                    cost.upkeep_ns
                ),
                None => println!(
                    "admin thread: not measured ({scenario}): no single new thread named \
                     inflight-admin, or no /proc/self/task/*/schedstat"
                ),
            }
        }
        self.print_targets();
    }

    fn print_targets(&self) {
        println!();
        println!("targets, measured in this run");
        println!("{:<64} {:>10} {:>10}  verdict", "", "measured", "target");
        for (scenario, limit) in TRACE_RATIO {
            let what = format!("{scenario}: inflight_admin added / tower_http_trace added");
            let ratio = match (
                self.added(scenario, "inflight_admin"),
                self.added(scenario, "tower_http_trace"),
            ) {
                (Some(admin), Some(trace)) if trace > 0.0 => Some(admin / trace),
                _ => None,
            };
            row(&what, ratio, "x", limit);
        }
        for (scenario, limit) in TOTAL_TRACE_RATIO {
            let what = format!("{scenario}: inflight_admin total / tower_http_trace added");
            let ratio = match (
                self.total(scenario, "inflight_admin"),
                self.added(scenario, "tower_http_trace"),
            ) {
                (Some(total), Some(trace)) if trace > 0.0 => Some(total.line.added / trace),
                _ => None,
            };
            row(&what, ratio, "x", limit);
        }
        row(
            "one_thread: inflight_admin added (quiet machine)",
            self.added("one_thread", "inflight_admin"),
            " ns",
            ONE_THREAD_ADDED_NS,
        );
        let work = match (
            self.added("work", "work_admin"),
            self.added("one_thread", "inflight_admin"),
        ) {
            (Some(work), Some(request)) if request > 0.0 => Some(work / request),
            _ => None,
        };
        row(
            "work: work_admin added / one_thread inflight_admin added",
            work,
            "x",
            WORK_RATIO,
        );
        for variant in ["inflight_admin", "inflight"] {
            let ratio = match (self.p999(variant), self.p999("bare")) {
                (Some(v), Some(bare)) if bare > 0 => Some(v as f64 / bare as f64),
                _ => None,
            };
            row(
                &format!("oversubscribed: {variant} p99.9 / bare p99.9"),
                ratio,
                "x",
                P999_RATIO,
            );
        }
        for (scenario, cost) in &self.admin {
            row(
                &format!("admin thread CPU per finished request ({scenario})"),
                cost.map(|cost| cost.admin_ns),
                " ns",
                ADMIN_NS,
            );
        }
        self.print_against_baseline();
    }

    /// `inflight` alone no worse than in the baseline's run, compared as a fraction of what
    /// `TraceLayer` adds in the same run (absolute ns move with the machine's load).
    fn print_against_baseline(&self) {
        let path = std::env::var("INFLIGHT_BENCH_BASELINE").ok();
        let baseline = path.as_deref().map(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_else(|error| {
                println!("INFLIGHT_BENCH_BASELINE: cannot read {path}: {error}");
                String::new()
            });
            let lines: Vec<(String, String, f64)> = text
                .lines()
                .filter_map(|line| {
                    let mut fields = line.split('\t');
                    let (scenario, variant) = (fields.next()?, fields.next()?);
                    Some((
                        scenario.into(),
                        variant.into(),
                        fields.next()?.parse().ok()?,
                    ))
                })
                .collect();
            lines
        });
        let before = |scenario: &str, variant: &str| {
            baseline
                .as_ref()?
                .iter()
                .find_map(|(s, v, added)| (s == scenario && v == variant).then_some(*added))
        };
        let scenarios = self
            .lines
            .iter()
            .filter(|(_, variant, _)| *variant == "inflight")
            .map(|(scenario, _, _)| *scenario);
        for scenario in scenarios {
            let ratio = |inflight: Option<f64>, trace: Option<f64>| match (inflight, trace) {
                (Some(inflight), Some(trace)) if trace > 0.0 => Some(inflight / trace),
                _ => None,
            };
            let now = ratio(
                self.added(scenario, "inflight"),
                self.added(scenario, "tower_http_trace"),
            );
            let what = format!("{scenario}: inflight / tower_http_trace, no worse than baseline");
            match ratio(
                before(scenario, "inflight"),
                before(scenario, "tower_http_trace"),
            ) {
                // Rounded as printed, so the verdict agrees with what is shown.
                Some(then) => row(&what, now, "x", (then * 100.0).round() / 100.0),
                None => println!(
                    "{what:<64} {:>10} {:>10}  no baseline (INFLIGHT_BENCH_BASELINE=FILE, \
                     saved by INFLIGHT_BENCH_SAVE=FILE before the change)",
                    now.map_or("-".into(), |now| format!("{now:.2}x")),
                    "as before"
                ),
            }
        }
    }

    /// With `INFLIGHT_BENCH_SAVE=FILE`, writes each variant's added ns, one
    /// `scenario<TAB>variant<TAB>added` line each, for a later run's baseline.
    pub fn save(&self) {
        let Ok(path) = std::env::var("INFLIGHT_BENCH_SAVE") else {
            return;
        };
        let mut text = String::new();
        for (scenario, variant, line) in &self.lines {
            let _ = writeln!(text, "{scenario}\t{variant}\t{:.1}", line.added);
        }
        match std::fs::write(&path, text) {
            Ok(()) => println!("\nadded ns per variant saved in {path}"),
            Err(error) => println!("\nINFLIGHT_BENCH_SAVE: cannot write {path}: {error}"),
        }
    }
}

fn row(what: &str, measured: Option<f64>, unit: &str, limit: f64) {
    match measured {
        Some(value) => println!(
            "{what:<64} {:>10} {:>10}  {}",
            format!("{value:.2}{unit}"),
            format!("<= {limit}{unit}"),
            if value <= limit { "met" } else { "not met" }
        ),
        None => println!(
            "{what:<64} {:>10} {:>10}  not measured",
            "-",
            format!("<= {limit}{unit}")
        ),
    }
}
