//! Which admin ports to ask: `--endpoints`, `--endpoints-file` or `INFLIGHT_ENDPOINTS`,
//! and what Prometheus knows (`--prometheus`, `--http-sd`, `--file-sd`, with `--job`).

mod prometheus;
mod sd;

use std::fmt;

use crate::Failure;
use crate::client::Api;

/// One admin port, as the user wrote it (`api3:9084`) and as a URL base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// What tables and messages call it.
    pub(crate) name: String,
    /// `http://api3:9084`, no trailing slash.
    pub(crate) base: String,
    /// The Prometheus job it was found under, when it was discovered.
    pub(crate) job: Option<String>,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Endpoint {
    pub(crate) fn parse(text: &str) -> Result<Endpoint, String> {
        let text = text.trim().trim_end_matches('/');
        if text.is_empty() {
            return Err("an endpoint is empty".into());
        }
        if text.starts_with("https://") {
            return Err(format!(
                "{text}: https is not supported; reach the admin port over http (it binds loopback by default)"
            ));
        }
        let name = text.strip_prefix("http://").unwrap_or(text);
        if name.is_empty() || name.contains(['/', ' ', '?', '#']) {
            return Err(format!("{text:?} is not an endpoint like host:9084"));
        }
        let uri: http::Uri = format!("http://{name}/")
            .parse()
            .map_err(|_| format!("{text:?} is not an endpoint like host:9084"))?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("{text:?} has no host"));
        }
        Ok(Endpoint {
            name: name.to_owned(),
            base: format!("http://{name}"),
            job: None,
        })
    }

    /// The endpoint with the job it was discovered under.
    fn with_job(mut self, job: Option<&str>) -> Endpoint {
        self.job = job.filter(|job| !job.is_empty()).map(str::to_owned);
        self
    }
}

/// Endpoints from a comma-separated list.
pub(crate) fn from_list(list: &str) -> Result<Vec<Endpoint>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(Endpoint::parse)
        .collect()
}

/// Endpoints from a file: one per line (or comma-separated), `#` starts a comment.
pub(crate) fn from_file(path: &str) -> Result<Vec<Endpoint>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut endpoints = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        endpoints.extend(from_list(line).map_err(|e| format!("{path}:{}: {e}", number + 1))?);
    }
    Ok(endpoints)
}

/// Where the endpoints come from: the flags every command takes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sources {
    /// `--endpoints` / `INFLIGHT_ENDPOINTS`.
    pub(crate) list: Option<String>,
    /// `--endpoints-file`.
    pub(crate) file: Option<String>,
    /// `--prometheus`: a Prometheus server whose targets API lists the fleet.
    pub(crate) prometheus: Option<String>,
    /// `--http-sd`: a URL answering Prometheus' HTTP service-discovery JSON.
    pub(crate) http_sd: Option<String>,
    /// `--file-sd`: a file in Prometheus' file service-discovery format.
    pub(crate) file_sd: Option<String>,
    /// `--job`: only discovered targets of this job.
    pub(crate) job: Option<String>,
}

impl Sources {
    /// Whether any source was given.
    pub(crate) fn given(&self) -> bool {
        self.list.is_some() || self.file.is_some() || self.discovers()
    }

    /// Whether a source can change while a command runs (and is worth asking again).
    pub(crate) fn discovers(&self) -> bool {
        self.prometheus.is_some() || self.http_sd.is_some() || self.file_sd.is_some()
    }

    /// All endpoints of all sources, without duplicates, in order: the list, the file,
    /// then what Prometheus, the HTTP and the file service discovery found.
    ///
    /// A source that cannot be read, or that finds nothing, fails the whole: a fleet
    /// silently missing its discovered part would look healthy.
    pub(crate) async fn resolve(&self, api: &Api) -> Result<Vec<Endpoint>, Failure> {
        if self.job.is_some() && !self.discovers() {
            return Err(Failure::Usage(
                "--job picks targets found by --prometheus, --http-sd or --file-sd; give one of them".into(),
            ));
        }
        let mut endpoints = Vec::new();
        if let Some(list) = &self.list {
            endpoints.extend(from_list(list).map_err(Failure::Usage)?);
        }
        if let Some(file) = &self.file {
            endpoints.extend(from_file(file).map_err(Failure::Usage)?);
        }
        let job = self.job.as_deref();
        let (prometheus, http_sd) = tokio::join!(
            async {
                match &self.prometheus {
                    Some(url) => prometheus::targets(api, url, job).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                match &self.http_sd {
                    Some(url) => sd::from_http(api, url, job).await.map(Some),
                    None => Ok(None),
                }
            },
        );
        endpoints.extend(prometheus?.unwrap_or_default());
        endpoints.extend(http_sd?.unwrap_or_default());
        if let Some(path) = &self.file_sd {
            endpoints.extend(sd::from_file(path, job)?);
        }
        let unique = dedup(endpoints);
        if unique.is_empty() {
            return Err(Failure::Usage(
                "no endpoints: give --endpoints host:9084,..., --endpoints-file FILE, \
                 INFLIGHT_ENDPOINTS, --prometheus URL, --http-sd URL or --file-sd FILE"
                    .into(),
            ));
        }
        Ok(unique)
    }
}

/// The endpoints without the ones whose address came earlier.
fn dedup(endpoints: Vec<Endpoint>) -> Vec<Endpoint> {
    let mut seen = std::collections::HashSet::new();
    endpoints
        .into_iter()
        .filter(|endpoint| seen.insert(endpoint.base.clone()))
        .collect()
}

/// A URL given to `flag`, as `http://host:port/prefix` without a trailing slash;
/// `host:port` alone means http.
pub(crate) fn http_url(flag: &str, text: &str) -> Result<String, Failure> {
    let text = text.trim();
    if text.starts_with("https://") {
        return Err(Failure::Usage(format!(
            "{flag} {text}: https is not supported; give an http:// URL"
        )));
    }
    let rest = text.strip_prefix("http://").unwrap_or(text);
    let url = format!("http://{}", rest.trim_end_matches('/'));
    let bad = || {
        Failure::Usage(format!(
            "{flag} {text:?} is not a URL like http://host:9090"
        ))
    };
    let uri: http::Uri = url.parse().map_err(|_| bad())?;
    if rest.contains("://") || uri.host().is_none_or(str::is_empty) || uri.query().is_some() {
        return Err(bad());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints() {
        let e = Endpoint::parse("api3:9084").unwrap();
        assert_eq!(e.base, "http://api3:9084");
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:9084/").unwrap().name,
            "127.0.0.1:9084"
        );
        assert!(Endpoint::parse("https://x:1").is_err());
        assert!(Endpoint::parse("a b").is_err());
        assert!(Endpoint::parse("host/path").is_err());
        assert_eq!(from_list("a:1, b:2,,").unwrap().len(), 2);
    }

    fn resolve(sources: &Sources) -> Result<Vec<Endpoint>, Failure> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(sources.resolve(&Api::new(None, std::time::Duration::from_secs(1))))
    }

    #[test]
    fn urls_are_http() {
        assert_eq!(
            http_url("--prometheus", "prom:9090/").ok().unwrap(),
            "http://prom:9090"
        );
        assert_eq!(
            http_url("--prometheus", "http://ops/prometheus")
                .ok()
                .unwrap(),
            "http://ops/prometheus"
        );
        for bad in [
            "https://prom:9090",
            "ftp://x",
            "http://",
            "a b",
            "http://x/?q=1",
        ] {
            assert!(
                matches!(http_url("--prometheus", bad), Err(Failure::Usage(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_files_with_comments() {
        let dir = std::env::temp_dir().join(format!("inflight-endpoints-{}", std::process::id()));
        std::fs::write(
            &dir,
            "# fleet\napi1:9084\napi2:9084 # second\n\napi1:9084\n",
        )
        .unwrap();
        let sources = Sources {
            file: dir.to_str().map(str::to_owned),
            ..Sources::default()
        };
        let endpoints = resolve(&sources).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(
            endpoints
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
            ["api1:9084", "api2:9084"]
        );
        assert!(matches!(
            resolve(&Sources::default()),
            Err(Failure::Usage(_))
        ));
        let job_alone = Sources {
            list: Some("a:1".into()),
            job: Some("api".into()),
            ..Sources::default()
        };
        assert!(matches!(resolve(&job_alone), Err(Failure::Usage(_))));
    }
}
