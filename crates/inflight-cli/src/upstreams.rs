//! `inflight upstreams`: the outbound calls in flight across all endpoints, grouped by the
//! `host:port` they wait on, so many requests stuck on one slow node read as one line.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use inflight_wire::Direction;
use serde::Serialize;

use crate::Failure;
use crate::client::Api;
use crate::commands::{LsError, all_answered, fetch_lists, listed};
use crate::endpoints::Endpoint;
use crate::render::ms;
use crate::tree::Listed;

/// The calls in flight to one target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Upstream {
    /// `host:port`.
    pub(crate) target: String,
    /// How many calls are in flight to it.
    pub(crate) calls: usize,
    /// The age of the oldest, in milliseconds.
    pub(crate) oldest_ms: f64,
    /// The services making them.
    pub(crate) services: BTreeSet<String>,
    /// The admin ports that listed them.
    pub(crate) endpoints: BTreeSet<String>,
}

impl Upstream {
    /// `14 -> slownode:8484, oldest 1m34.00s, 3 services (api, edge, store)`.
    pub(crate) fn summary(&self) -> String {
        let services: Vec<&str> = self.services.iter().map(String::as_str).collect();
        format!(
            "{} -> {}, oldest {}, {} service{} ({})",
            self.calls,
            self.target,
            ms(self.oldest_ms),
            services.len(),
            if services.len() == 1 { "" } else { "s" },
            services.join(", ")
        )
    }
}

/// The `host:port` a call goes to: the port is the scheme's when the URI has none.
pub(crate) fn target(uri: &str) -> String {
    let Ok(uri) = uri.parse::<http::Uri>() else {
        return "(unknown)".into();
    };
    let Some(host) = uri.host() else {
        return "(unknown)".into();
    };
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    format!("{host}:{port}")
}

/// How to order the groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    /// Most calls first.
    Biggest,
    /// Oldest call first.
    Oldest,
}

/// The outbound calls of `items` grouped by target, in `order` (the other key breaks
/// ties, then the target's name).
pub(crate) fn group(items: &[Listed<'_>], order: Order) -> Vec<Upstream> {
    let mut groups: BTreeMap<String, Upstream> = BTreeMap::new();
    for item in items {
        if item.request.direction != Direction::Outbound {
            continue;
        }
        let target = target(&item.request.uri);
        let group = groups.entry(target.clone()).or_insert_with(|| Upstream {
            target,
            calls: 0,
            oldest_ms: 0.0,
            services: BTreeSet::new(),
            endpoints: BTreeSet::new(),
        });
        group.calls += 1;
        group.oldest_ms = group.oldest_ms.max(item.request.elapsed_ms);
        group.services.insert(item.service.to_owned());
        group.endpoints.insert(item.endpoint.to_owned());
    }
    let mut groups: Vec<Upstream> = groups.into_values().collect();
    let by_calls = |a: &Upstream, b: &Upstream| b.calls.cmp(&a.calls);
    let by_age = |a: &Upstream, b: &Upstream| b.oldest_ms.total_cmp(&a.oldest_ms);
    groups.sort_by(|a, b| {
        let first: Ordering = match order {
            Order::Biggest => by_calls(a, b).then_with(|| by_age(a, b)),
            Order::Oldest => by_age(a, b).then_with(|| by_calls(a, b)),
        };
        first.then_with(|| a.target.cmp(&b.target))
    });
    groups
}

#[derive(Serialize)]
struct UpstreamsJson<'a> {
    upstreams: Vec<Upstream>,
    errors: Vec<LsError<'a>>,
}

pub(crate) async fn upstreams(
    api: &Api,
    endpoints: &[Endpoint],
    json: bool,
    order: Order,
) -> Result<(), Failure> {
    let lists = fetch_lists(api, endpoints, "/requests?direction=outbound").await;
    let (items, errors) = listed(&lists);
    let groups = group(&items, order);
    if json {
        let out = UpstreamsJson {
            upstreams: groups,
            errors,
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        if groups.is_empty() {
            outln!("no outbound calls in flight");
        }
        for group in &groups {
            outln!("{}", group.summary());
        }
        for error in &errors {
            eprintln!("inflight: {}", error.error);
        }
    }
    let failed = lists.iter().filter(|(_, list)| list.is_err()).count();
    all_answered(failed, endpoints.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{aged, request};

    #[test]
    fn targets_have_ports() {
        assert_eq!(target("http://slownode:8484/blob/1"), "slownode:8484");
        assert_eq!(target("http://slownode/blob/1"), "slownode:80");
        assert_eq!(target("https://[::1]/x"), "[::1]:443");
        assert_eq!(target("/relative"), "(unknown)");
        assert_eq!(target("not a uri"), "(unknown)");
    }

    #[test]
    fn groups_by_target_biggest_or_oldest_first() {
        let slow = |id, age| {
            let mut r = aged(request(id, "outbound", id, None), age, None);
            r.uri = format!("http://slownode:8484/blob/{id}");
            r
        };
        let requests = [
            ("a:1", "api", slow(1, 94_000.0)),
            ("a:1", "api", slow(2, 10.0)),
            ("b:1", "edge", slow(3, 20.0)),
            (
                "c:1",
                "store",
                aged(request(4, "outbound", 4, None), 200_000.0, None),
            ),
            (
                "c:1",
                "store",
                aged(request(5, "inbound", 5, None), 900_000.0, None),
            ),
        ];
        let items: Vec<Listed<'_>> = requests
            .iter()
            .map(|(endpoint, service, request)| Listed {
                endpoint,
                service,
                request,
            })
            .collect();
        let biggest = group(&items, Order::Biggest);
        assert_eq!(biggest.len(), 2, "{biggest:?}");
        assert_eq!(
            biggest[0].summary(),
            "3 -> slownode:8484, oldest 1m34.00s, 2 services (api, edge)"
        );
        assert_eq!(
            biggest[1].summary(),
            "1 -> store:3002, oldest 3m20.00s, 1 service (store)"
        );
        let oldest = group(&items, Order::Oldest);
        assert_eq!(oldest[0].target, "store:3002");
    }
}
