//! The commands that print a service's reports: dump, recent, profile.

use http::Method;
use inflight_wire::{ProfileReport, RecentReport};

use super::all_answered;
use crate::Failure;
use crate::client::{Api, error_message};
use crate::endpoints::Endpoint;
use crate::render::{TextTable, ms};

pub(crate) async fn dump(api: &Api, endpoints: &[Endpoint]) -> Result<(), Failure> {
    let mut failed = 0;
    for endpoint in endpoints {
        if endpoints.len() > 1 {
            outln!("== {endpoint}");
        }
        match api.call(endpoint, Method::GET, "/dump", None).await {
            Ok((status, body)) if status.is_success() => {
                out!("{}", String::from_utf8_lossy(&body))
            }
            Ok((status, body)) => {
                failed += 1;
                eprintln!("inflight: {}", error_message(endpoint, status, &body));
            }
            Err(error) => {
                failed += 1;
                eprintln!("inflight: {error}");
            }
        }
    }
    all_answered(failed, endpoints.len())
}

pub(crate) async fn recent(api: &Api, endpoint: &Endpoint) -> Result<(), Failure> {
    let report: RecentReport = api.get(endpoint, "/recent").await?;
    if report.families.is_empty() {
        outln!("no finished requests yet on {endpoint}");
    }
    for family in &report.families {
        outln!(
            "{} {}  ({} finished)",
            family.direction,
            family.name,
            family.finished
        );
        let mut table = TextTable::new(&["BUCKET", "COUNT", "LATEST (newest first)"], &[1]);
        for bucket in &family.buckets {
            let latest: Vec<String> = bucket.samples.iter().map(|s| ms(s.duration_ms)).collect();
            table.row(vec![
                bucket.bucket.clone(),
                bucket.samples.len().to_string(),
                latest.join(" "),
            ]);
        }
        out!("{}", indent(&table.render()));
        if !family.errors.is_empty() {
            let mut errors =
                TextTable::new(&["ERROR", "ID", "TOOK", "ENDING", "STATUS", "URL"], &[1, 2]);
            for error in &family.errors {
                errors.row(vec![
                    String::new(),
                    error.request.id.to_string(),
                    ms(error.duration_ms),
                    error.ending.to_string(),
                    error
                        .request
                        .response_status
                        .map_or_else(|| "-".into(), |s| s.to_string()),
                    error.request.uri.clone(),
                ]);
            }
            out!("{}", indent(&errors.render()));
        }
        outln!();
    }
    if report.dropped > 0 {
        outln!(
            "({} finished requests were not recorded: the recorder fell behind)",
            report.dropped
        );
    }
    Ok(())
}

pub(crate) async fn profile(api: &Api, endpoint: &Endpoint) -> Result<(), Failure> {
    let report: ProfileReport = api.get(endpoint, "/profile").await?;
    outln!(
        "time spent on {endpoint} since {} ({:.0}s)",
        report.window_start,
        report.window_seconds
    );
    let mut table = TextTable::new(
        &[
            "ROUTE", "STATUS", "COUNT", "TOTAL", "MEAN", "P50", "P95", "P99", "MAX",
        ],
        &[2, 3, 4, 5, 6, 7, 8],
    );
    for route in &report.routes {
        table.row(vec![
            format!("{} {}", route.direction, route.name),
            "(all)".into(),
            route.requests.to_string(),
            ms(route.total_ms),
            ms(route.mean_ms),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        for status in &route.statuses {
            table.row(vec![
                String::new(),
                status.status.clone(),
                status.count.to_string(),
                ms(status.total_ms),
                ms(status.mean_ms),
                ms(status.p50_ms),
                ms(status.p95_ms),
                ms(status.p99_ms),
                ms(status.max_ms),
            ]);
        }
    }
    if table.is_empty() {
        outln!("no finished requests yet");
    } else {
        out!("{}", table.render());
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}
