//! The end of the summary: oversubscribed latencies, the admin thread's cost, and each
//! target beside what this run measured. Printed, never asserted: a bench on a shared
//! machine informs, it does not fail.

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
}

/// `inflight_admin` added / `tower_http_trace` added, at most this, per scenario.
const TRACE_RATIO: [(&str, f64); 5] = [
    ("one_thread", 0.30),
    ("two_threads", 0.40),
    ("100k_in_flight", 0.40),
    ("oversubscribed", 0.40),
    ("traced_caller", 0.30),
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
