//! Request durations and in-flight counts through the `metrics` facade, named after the
//! OpenTelemetry HTTP semantic conventions. No exporter is bundled: install the one you
//! use (the demo installs `metrics-exporter-prometheus` and serves `/metrics`). Work that
//! is not an HTTP request has `inflight.work.duration` and `inflight.work.active`.
//!
//! Durations are not recorded request by request: once a second the admin thread reads
//! the table's histograms and hands the recorder what each series gained, a bucket at a
//! time (`record_many` with the bucket's middle). Series are the table's, so they are
//! bounded as the table bounds them: routes only from real routes, methods outside the
//! standard set as `_OTHER`, at most 1,024 series.

use std::collections::HashMap;
use std::time::Duration;

use inflight_core::{
    DURATION_BUCKETS, Direction, EndedStats, Ending, SeriesStats, Table, bucket_lower_bound,
};

/// What has been handed to the recorder so far, per series.
#[derive(Default)]
pub(crate) struct Exported {
    series: HashMap<usize, (SeriesStats, metrics::Histogram)>,
}

impl Exported {
    /// Hands the recorder what every series gained since the last call.
    pub(crate) fn export(&mut self, table: &Table) {
        let stats = table.ended_stats();
        for series in &stats.series {
            let (before, histogram) = self
                .series
                .entry(series.id)
                .or_insert_with(|| (empty(series), histogram(&stats, series)));
            let gained = series.since(before);
            if gained.count > 0 {
                for (bucket, count) in gained.buckets.iter().enumerate() {
                    if *count > 0 {
                        histogram.record_many(middle(bucket).as_secs_f64(), *count as usize);
                    }
                }
            }
            *before = series.clone();
        }
    }
}

/// A series' reading before anything was counted.
fn empty(series: &SeriesStats) -> SeriesStats {
    series.since(series)
}

/// The middle of a duration bucket (each bucket doubles the one before).
fn middle(bucket: usize) -> Duration {
    match bucket {
        0 => Duration::from_nanos(512),
        _ if bucket + 1 >= DURATION_BUCKETS => bucket_lower_bound(bucket),
        _ => bucket_lower_bound(bucket).mul_f64(1.5),
    }
}

fn histogram(stats: &EndedStats, series: &SeriesStats) -> metrics::Histogram {
    let method = series
        .method
        .as_ref()
        .map_or_else(|| "_OTHER".to_owned(), |method| method.to_string());
    let status = series
        .response_status
        .map_or_else(String::new, |status| status.as_u16().to_string());
    let error = match series.ending {
        Ending::Completed => String::new(),
        other => other.as_str().to_owned(),
    };
    let (direction, name, routed) = stats
        .families
        .get(series.family)
        .map_or((Direction::Inbound, String::new(), false), |family| {
            (family.direction, family.name.to_string(), family.routed)
        });
    match direction {
        Direction::Outbound => metrics::histogram!(
            "http.client.request.duration",
            "http.request.method" => method,
            "server.address" => name,
            "http.response.status_code" => status,
            "error.type" => error,
        ),
        Direction::Work => metrics::histogram!(
            "inflight.work.duration",
            "inflight.work.name" => name,
            "error.type" => error,
        ),
        Direction::Inbound => {
            // Only a real route names the series: a path is the client's to choose.
            let route = if routed { name } else { String::new() };
            metrics::histogram!(
                "http.server.request.duration",
                "http.request.method" => method,
                "http.route" => route,
                "http.response.status_code" => status,
                "error.type" => error,
            )
        }
    }
}

/// Sets `http.server.active_requests` and `http.client.active_requests`.
pub(crate) fn gauges(table: &Table) {
    metrics::gauge!("http.server.active_requests").set(table.count(Direction::Inbound) as f64);
    metrics::gauge!("http.client.active_requests").set(table.count(Direction::Outbound) as f64);
    metrics::gauge!("inflight.work.active").set(table.count(Direction::Work) as f64);
}
