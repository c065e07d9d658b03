//! `--http-sd URL` and `--file-sd FILE`: Prometheus' service-discovery format,
//! `[{"targets": ["host:port", ...], "labels": {"job": "api", ...}}]`.
//!
//! Files ending in `.yml` or `.yaml` are read as YAML, as Prometheus reads them; any
//! other file, and every HTTP answer, as JSON.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Endpoint, http_url};
use crate::Failure;
use crate::client::Api;

/// One group of targets sharing labels.
#[derive(Deserialize)]
struct Group {
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

const SHAPE: &str = r#"[{"targets": ["host:port", ...], "labels": {...}}]"#;

/// The targets the service-discovery URL lists (of `job`, when given).
pub(super) async fn from_http(
    api: &Api,
    url: &str,
    job: Option<&str>,
) -> Result<Vec<Endpoint>, Failure> {
    let url = http_url("--http-sd", url)?;
    let fail = |what: String| Failure::Failed(format!("--http-sd {url}: {what}"));
    let (status, body) = api.get_url(&url).await.map_err(fail)?;
    if !status.is_success() {
        return Err(fail(format!("{} {}", status.as_u16(), gist(&body))));
    }
    let groups: Vec<Group> = serde_json::from_slice(&body)
        .map_err(|error| fail(format!("not service-discovery JSON like {SHAPE} ({error})")))?;
    endpoints(groups, job).map_err(fail)
}

/// The targets a service-discovery file lists (of `job`, when given).
pub(super) fn from_file(path: &str, job: Option<&str>) -> Result<Vec<Endpoint>, Failure> {
    let fail = |what: String| Failure::Failed(format!("--file-sd {path}: {what}"));
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let yaml = path.ends_with(".yml") || path.ends_with(".yaml");
    let groups: Vec<Group> = if yaml {
        serde_yaml_ng::from_str(&text)
            .map_err(|error| fail(format!("not service-discovery YAML ({error})")))?
    } else {
        serde_json::from_str(&text).map_err(|error| {
            fail(format!(
                "not service-discovery JSON like {SHAPE} ({error}); YAML files end in .yml or .yaml"
            ))
        })?
    };
    endpoints(groups, job).map_err(fail)
}

fn endpoints(groups: Vec<Group>, job: Option<&str>) -> Result<Vec<Endpoint>, String> {
    let mut endpoints = Vec::new();
    let mut any = false;
    for (number, group) in groups.iter().enumerate() {
        any |= !group.targets.is_empty();
        let group_job = group.labels.get("job").map(String::as_str);
        if job.is_some_and(|job| group_job != Some(job)) {
            continue;
        }
        for target in &group.targets {
            let endpoint = Endpoint::parse(target)
                .map_err(|error| format!("group {}: {error}", number + 1))?;
            endpoints.push(endpoint.with_job(group_job));
        }
    }
    match (endpoints.is_empty(), any, job) {
        (false, _, _) => Ok(endpoints),
        (true, true, Some(job)) => Err(format!("no target has the label job={job:?}")),
        (true, _, _) => Err("no targets".into()),
    }
}

/// The start of an answer that was not what was asked for, to say what it was.
pub(super) fn gist(body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body)
        .trim()
        .chars()
        .take(200)
        .collect();
    if text.is_empty() {
        "(empty answer)".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(json: &str) -> Vec<Group> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn targets_of_every_group_or_of_one_job() {
        let json = r#"[{"targets":["a:1","b:2"],"labels":{"job":"api"}},
                       {"targets":["c:3"],"labels":{"job":"db","zone":"x"}},
                       {"targets":["d:4"]}]"#;
        let all = endpoints(groups(json), None).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].job.as_deref(), Some("api"));
        assert_eq!(all[3].job, None);
        let db = endpoints(groups(json), Some("db")).unwrap();
        assert_eq!(db.len(), 1);
        assert_eq!(db[0].name, "c:3");
        assert!(
            endpoints(groups(json), Some("web"))
                .unwrap_err()
                .contains("job=\"web\"")
        );
        assert_eq!(endpoints(groups("[]"), None).unwrap_err(), "no targets");
        let bad = endpoints(groups(r#"[{"targets":["a b"]}]"#), None).unwrap_err();
        assert!(bad.starts_with("group 1: "), "{bad}");
    }

    #[test]
    fn yaml_files_read_like_prometheus_reads_them() {
        let dir = std::env::temp_dir().join(format!("inflight-sd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let yaml = dir.join("fleet.yml");
        std::fs::write(
            &yaml,
            "- targets: ['a:1', 'b:2']\n  labels:\n    job: api\n- targets: [c:3]\n",
        )
        .unwrap();
        let found = from_file(yaml.to_str().unwrap(), Some("api")).ok().unwrap();
        assert_eq!(found.len(), 2);
        let json = dir.join("fleet.json");
        std::fs::write(&json, "- targets: ['a:1']\n").unwrap();
        let error = match from_file(json.to_str().unwrap(), None) {
            Err(Failure::Failed(error)) => error,
            other => panic!("{other:?}"),
        };
        assert!(error.contains("not service-discovery JSON"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
