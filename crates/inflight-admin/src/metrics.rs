//! Request durations and in-flight counts through the `metrics` facade, named after the
//! OpenTelemetry HTTP semantic conventions. No exporter is bundled: install the one you
//! use (the demo installs `metrics-exporter-prometheus` and serves `/metrics`). Work that
//! is not an HTTP request has `inflight.work.duration` and `inflight.work.active`.

use foldhash::HashMap;

use http::Method;
use inflight_core::{Direction, Ending, FinishedRequest, Table};

use crate::families::Families;

/// Label sets whose histogram handle is kept; beyond this the recorder is asked each time.
const MAX_HANDLES: usize = 4096;

/// `http.server.request.duration` and `http.client.request.duration` (seconds), with the
/// handle of each label set kept so a finished request costs a lookup, not a key.
#[derive(Default)]
pub(crate) struct Durations {
    handles: HashMap<(usize, Method, u16, Ending), metrics::Histogram>,
}

impl Durations {
    pub(crate) fn record(
        &mut self,
        requests: &[FinishedRequest<'_>],
        families: &[usize],
        names: &Families,
    ) {
        for (request, family) in requests.iter().zip(families) {
            let status = request.response_status().map_or(0, |s| s.as_u16());
            let key = (*family, request.method(), status, request.ending());
            let seconds = request.duration().as_secs_f64();
            match self.handles.get(&key) {
                Some(histogram) => histogram.record(seconds),
                None => {
                    let histogram = histogram(request, names.get(*family), status);
                    histogram.record(seconds);
                    if self.handles.len() < MAX_HANDLES {
                        self.handles.insert(key, histogram);
                    }
                }
            }
        }
    }
}

fn histogram(
    request: &FinishedRequest<'_>,
    family: Option<&(Direction, String)>,
    status: u16,
) -> metrics::Histogram {
    let method = request.method().to_string();
    let status = if status == 0 {
        String::new()
    } else {
        status.to_string()
    };
    let error = match request.ending() {
        Ending::Completed => String::new(),
        other => other.as_str().to_owned(),
    };
    match request.direction() {
        Direction::Inbound => {
            let route = request.with_route(|route| route.unwrap_or("").to_owned());
            metrics::histogram!(
                "http.server.request.duration",
                "http.request.method" => method,
                "http.route" => route,
                "http.response.status_code" => status,
                "error.type" => error,
            )
        }
        Direction::Work => {
            let name = family.map_or_else(String::new, |(_, name)| name.clone());
            metrics::histogram!(
                "inflight.work.duration",
                "inflight.work.name" => name,
                "error.type" => error,
            )
        }
        Direction::Outbound => {
            let address = family.map_or_else(String::new, |(_, name)| name.clone());
            metrics::histogram!(
                "http.client.request.duration",
                "http.request.method" => method,
                "server.address" => address,
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
