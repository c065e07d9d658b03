//! `GET /debug/pprof/profile`: a CPU profile of the whole process, sampled for a few
//! seconds with the `pprof` crate. Nothing samples until a profile is asked for, and
//! then only for its window.

use std::sync::Arc;

use axum::extract::State;
use http::StatusCode;
use serde::Deserialize;
use serde::de::Deserializer;

use crate::access::Reader;
use crate::query::Params;
use crate::reply::{Failure, Reply};
use crate::state::State as Admin;

/// The sampling window when the query does not say.
const DEFAULT_SECONDS: u64 = 10;
/// The longest sampling window.
const MAX_SECONDS: u64 = 60;
/// Samples per second when [`AdminServer::profile_frequency`](crate::AdminServer::profile_frequency)
/// is not called.
pub(crate) const DEFAULT_FREQUENCY: u32 = 99;
/// The highest sampling frequency: each sample interrupts a thread and walks its stack.
pub(crate) const MAX_FREQUENCY: u32 = 1000;

/// What the profile is written as.
// Without the feature the query is still read, so both builds answer bad input alike.
#[cfg_attr(not(all(feature = "pprof", unix)), allow(dead_code))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Format {
    /// pprof's protobuf, for `go tool pprof` and `pprof`.
    #[default]
    Pb,
    /// A flame graph.
    Svg,
    /// Folded stacks: `a;b;c 42`, one line per stack.
    Folded,
}

/// The query of `GET /debug/pprof/profile`.
#[cfg_attr(not(all(feature = "pprof", unix)), allow(dead_code))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileQuery {
    #[serde(default = "default_seconds", deserialize_with = "seconds")]
    pub(crate) seconds: u64,
    #[serde(default, deserialize_with = "format")]
    pub(crate) format: Format,
}

fn default_seconds() -> u64 {
    DEFAULT_SECONDS
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let text = String::deserialize(d)?;
    text.parse()
        .ok()
        .filter(|n| (1..=MAX_SECONDS).contains(n))
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "seconds is a whole number from 1 to {MAX_SECONDS}, not {text:?}"
            ))
        })
}

fn format<'de, D: Deserializer<'de>>(d: D) -> Result<Format, D::Error> {
    let text = String::deserialize(d)?;
    match text.as_str() {
        "pb" => Ok(Format::Pb),
        "svg" => Ok(Format::Svg),
        "folded" => Ok(Format::Folded),
        _ => Err(serde::de::Error::custom(format!(
            "format is pb, svg or folded, not {text:?}"
        ))),
    }
}

/// Bounds a configured frequency to what the sampler can do.
pub(crate) fn bounded_frequency(hz: u32) -> u32 {
    hz.clamp(1, MAX_FREQUENCY)
}

pub(crate) async fn profile(
    _: Reader,
    State(state): State<Arc<Admin>>,
    Params(query): Params<ProfileQuery>,
) -> Result<Reply, Failure> {
    run(&state, query).await
}

#[cfg(not(all(feature = "pprof", unix)))]
async fn run(_: &Admin, _: ProfileQuery) -> Result<Reply, Failure> {
    Err(Failure::new(
        StatusCode::NOT_IMPLEMENTED,
        if cfg!(unix) {
            "CPU profiles are not built in: enable the `pprof` feature of `inflight` \
             (or of `inflight-admin`)"
        } else {
            "CPU profiles need a Unix platform (the sampler uses SIGPROF)"
        },
    ))
}

#[cfg(all(feature = "pprof", unix))]
async fn run(state: &Admin, query: ProfileQuery) -> Result<Reply, Failure> {
    use std::time::Duration;

    let running = sampler::Running::take()?;
    let guard = sampler::start(state.config.profile_frequency)?;
    // The admin runtime keeps serving while the window runs; a client that goes away
    // drops this future and the guard with it, which stops the sampling.
    tokio::time::sleep(Duration::from_secs(query.seconds)).await;
    let title = format!(
        "{}: CPU, {} s at {} Hz",
        state.config.build.service, query.seconds, state.config.profile_frequency
    );
    // Resolving symbols and drawing take a while: not on the admin thread.
    tokio::task::spawn_blocking(move || {
        let reply = sampler::render(&guard, query.format, title);
        drop(guard);
        drop(running);
        reply
    })
    .await
    .map_err(|_| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "the profile failed"))?
}

#[cfg(all(feature = "pprof", unix))]
mod sampler;

#[cfg(all(test, not(feature = "pprof"), unix))]
mod tests {
    use tower::ServiceExt;

    use crate::AdminServer;

    /// Without the feature the route is there, and says what to enable.
    #[tokio::test]
    async fn without_the_feature_the_route_names_it() {
        let config = AdminServer::new(inflight_core::Table::builder().build());
        let router = crate::routes::router(std::sync::Arc::new(crate::state::State::new(config)));
        let request = http::Request::get("/debug/pprof/profile?seconds=1")
            .body(axum::body::Body::empty())
            .unwrap();
        let reply = router.oneshot(request).await.unwrap();
        assert_eq!(reply.status(), http::StatusCode::NOT_IMPLEMENTED);
        let body = http_body_util::BodyExt::collect(reply.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["error"],
            "CPU profiles are not built in: enable the `pprof` feature of `inflight` \
             (or of `inflight-admin`)"
        );
    }
}

#[cfg(test)]
mod query_tests {
    use super::*;
    use crate::query::parse;

    #[test]
    fn seconds_and_format_are_checked() {
        let query: ProfileQuery = parse(None).unwrap();
        assert_eq!((query.seconds, query.format), (10, Format::Pb));
        let query: ProfileQuery = parse(Some("seconds=60&format=folded")).unwrap();
        assert_eq!((query.seconds, query.format), (60, Format::Folded));
        for bad in ["seconds=0", "seconds=61", "seconds=abc", "seconds=-1"] {
            let error = parse::<ProfileQuery>(Some(bad)).unwrap_err();
            assert!(error.message.contains("seconds is a whole number"), "{bad}");
        }
        let error = parse::<ProfileQuery>(Some("format=png")).unwrap_err();
        assert_eq!(error.message, "format is pb, svg or folded, not \"png\"");
    }
}
