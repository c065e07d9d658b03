//! Request durations and in-flight counts through the `metrics` facade, named after the
//! OpenTelemetry HTTP semantic conventions. No exporter is bundled: install the one you
//! use (the demo installs `metrics-exporter-prometheus` and serves `/metrics`).

use inflight_core::{Direction, Ending, Finished, Table};

/// Records one finished request in `http.server.request.duration` or
/// `http.client.request.duration` (seconds).
pub(crate) fn finished(request: &Finished) {
    let entry = &request.entry;
    let method = entry.method.to_string();
    let status = entry
        .response_status
        .map_or_else(String::new, |status| status.as_u16().to_string());
    let error = match request.ending {
        Ending::Completed => String::new(),
        other => other.as_str().to_owned(),
    };
    let seconds = request.duration.as_secs_f64();
    match entry.direction {
        Direction::Inbound => {
            let route = entry.route.clone().unwrap_or_default();
            metrics::histogram!(
                "http.server.request.duration",
                "http.request.method" => method,
                "http.route" => route,
                "http.response.status_code" => status,
                "error.type" => error,
            )
            .record(seconds);
        }
        Direction::Outbound => {
            let address = crate::recent::family_name(entry);
            metrics::histogram!(
                "http.client.request.duration",
                "http.request.method" => method,
                "server.address" => address,
                "http.response.status_code" => status,
                "error.type" => error,
            )
            .record(seconds);
        }
    }
}

/// Sets `http.server.active_requests` and `http.client.active_requests`.
pub(crate) fn gauges(table: &Table) {
    metrics::gauge!("http.server.active_requests").set(table.count(Direction::Inbound) as f64);
    metrics::gauge!("http.client.active_requests").set(table.count(Direction::Outbound) as f64);
}
