//! `--prometheus URL`: the admin ports a Prometheus server scrapes, from its targets API
//! (`GET /api/v1/targets?state=active`).
//!
//! The admin port serves `/metrics`, so a fleet Prometheus already scrapes is found with
//! no list to keep. Targets that are down stay in: they are exactly the endpoints to see
//! failing.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{Endpoint, http_url};
use crate::Failure;
use crate::client::Api;

/// The targets API's answer; only what finding the endpoints needs.
#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "activeTargets")]
    active_targets: Vec<Target>,
}

#[derive(Deserialize)]
struct Target {
    #[serde(rename = "scrapeUrl", default)]
    scrape_url: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(rename = "discoveredLabels", default)]
    discovered_labels: BTreeMap<String, String>,
    #[serde(rename = "scrapePool", default)]
    scrape_pool: Option<String>,
}

impl Target {
    /// The job label; the scrape pool, which is the job unless relabelled, otherwise.
    fn job(&self) -> Option<&str> {
        self.labels
            .get("job")
            .or(self.scrape_pool.as_ref())
            .map(String::as_str)
    }

    /// `host:port` of what Prometheus scrapes: the scrape URL's authority, or the
    /// address it was discovered at.
    fn address(&self) -> Option<String> {
        let from_url = self
            .scrape_url
            .as_deref()
            .and_then(|url| url.parse::<http::Uri>().ok())
            .and_then(|uri| {
                let host = uri.host()?;
                let port = uri.port_u16().or(match uri.scheme_str() {
                    Some("https") => Some(443),
                    _ => Some(80),
                })?;
                Some(format!("{}:{port}", host))
            });
        from_url.or_else(|| self.discovered_labels.get("__address__").cloned())
    }
}

/// The active targets of the Prometheus server at `url` (of `job`, when given).
pub(super) async fn targets(
    api: &Api,
    url: &str,
    job: Option<&str>,
) -> Result<Vec<Endpoint>, Failure> {
    let base = http_url("--prometheus", url)?;
    let fail = |what: String| Failure::Failed(format!("--prometheus {base}: {what}"));
    let (status, body) = api
        .get_url(&format!("{base}/api/v1/targets?state=active"))
        .await
        .map_err(fail)?;
    let answer: Answer = serde_json::from_slice(&body).map_err(|error| {
        if status.is_success() {
            fail(format!(
                "not an answer of Prometheus' targets API ({error}); is this a Prometheus server?"
            ))
        } else {
            fail(format!(
                "{} {}; is this a Prometheus server?",
                status.as_u16(),
                super::sd::gist(&body)
            ))
        }
    })?;
    if answer.status != "success" || !status.is_success() {
        return Err(fail(format!(
            "{} {}",
            status.as_u16(),
            answer.error.as_deref().unwrap_or("error without a message")
        )));
    }
    let Some(data) = answer.data else {
        return Err(fail(
            "the answer has no data.activeTargets; is this a Prometheus server?".into(),
        ));
    };
    parse(data.active_targets, job).map_err(fail)
}

fn parse(targets: Vec<Target>, job: Option<&str>) -> Result<Vec<Endpoint>, String> {
    if targets.is_empty() {
        return Err("no active targets; does it scrape the admin ports?".into());
    }
    let jobs: BTreeSet<&str> = targets.iter().filter_map(Target::job).collect();
    let mut endpoints = Vec::new();
    for target in &targets {
        if job.is_some_and(|job| target.job() != Some(job)) {
            continue;
        }
        let address = target
            .address()
            .ok_or("a target has neither a scrapeUrl nor an __address__")?;
        let endpoint =
            Endpoint::parse(&address).map_err(|error| format!("target {address:?}: {error}"))?;
        endpoints.push(endpoint.with_job(target.job()));
    }
    if endpoints.is_empty() {
        let jobs: Vec<&str> = jobs.into_iter().collect();
        return Err(format!(
            "no active target of job {:?} (its jobs: {})",
            job.unwrap_or_default(),
            jobs.join(", ")
        ));
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(json: &str) -> Vec<Target> {
        serde_json::from_str::<Answer>(json)
            .unwrap()
            .data
            .unwrap()
            .active_targets
    }

    const TWO_JOBS: &str = r#"{"status":"success","data":{"activeTargets":[
        {"discoveredLabels":{"__address__":"10.0.0.1:9084","job":"api"},
         "labels":{"instance":"10.0.0.1:9084","job":"api"},"scrapePool":"api",
         "scrapeUrl":"http://10.0.0.1:9084/metrics","health":"up"},
        {"discoveredLabels":{"__address__":"db:9100"},
         "labels":{"instance":"db:9100","job":"node"},"scrapePool":"node",
         "scrapeUrl":"https://db:9100/metrics","health":"down"},
        {"discoveredLabels":{"__address__":"api2"},"labels":{"job":"api"},"scrapePool":"api",
         "scrapeUrl":"http://api2/metrics"}
    ],"droppedTargets":[]}}"#;

    #[test]
    fn every_active_target_or_those_of_one_job() {
        let all = parse(targets(TWO_JOBS), None).unwrap();
        let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["10.0.0.1:9084", "db:9100", "api2:80"]);
        assert_eq!(all[1].job.as_deref(), Some("node"));
        let api = parse(targets(TWO_JOBS), Some("api")).unwrap();
        assert_eq!(api.len(), 2);
        let error = parse(targets(TWO_JOBS), Some("web")).unwrap_err();
        assert!(
            error.contains("\"web\"") && error.contains("api, node"),
            "{error}"
        );
    }

    #[test]
    fn empty_and_addressless_targets_are_errors() {
        assert!(
            parse(Vec::new(), None)
                .unwrap_err()
                .contains("no active targets")
        );
        let error = parse(
            targets(r#"{"status":"success","data":{"activeTargets":[{}]}}"#),
            None,
        )
        .unwrap_err();
        assert!(error.contains("scrapeUrl"), "{error}");
    }
}
