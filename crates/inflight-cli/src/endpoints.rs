//! Which admin ports to ask: `--endpoints`, `--endpoints-file` or `INFLIGHT_ENDPOINTS`.

use std::fmt;

/// One admin port, as the user wrote it (`api3:9084`) and as a URL base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// What tables and messages call it.
    pub(crate) name: String,
    /// `http://api3:9084`, no trailing slash.
    pub(crate) base: String,
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
        })
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

/// All endpoints given, without duplicates, in order.
pub(crate) fn gather(list: Option<&str>, file: Option<&str>) -> Result<Vec<Endpoint>, String> {
    let mut endpoints = Vec::new();
    if let Some(list) = list {
        endpoints.extend(from_list(list)?);
    }
    if let Some(file) = file {
        endpoints.extend(from_file(file)?);
    }
    let mut unique: Vec<Endpoint> = Vec::new();
    for endpoint in endpoints {
        if !unique.contains(&endpoint) {
            unique.push(endpoint);
        }
    }
    if unique.is_empty() {
        return Err("no endpoints: give --endpoints host:9084,..., --endpoints-file FILE or INFLIGHT_ENDPOINTS".into());
    }
    Ok(unique)
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

    #[test]
    fn reads_files_with_comments() {
        let dir = std::env::temp_dir().join(format!("inflight-endpoints-{}", std::process::id()));
        std::fs::write(
            &dir,
            "# fleet\napi1:9084\napi2:9084 # second\n\napi1:9084\n",
        )
        .unwrap();
        let endpoints = gather(None, dir.to_str()).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(
            endpoints
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
            ["api1:9084", "api2:9084"]
        );
        assert!(gather(None, None).is_err());
    }
}
