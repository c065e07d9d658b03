//! The values of the command line's flags, parsed.

use std::time::Duration;

use clap::ValueEnum;
use inflight_wire::TraceId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DirectionArg {
    #[value(alias = "inbound")]
    In,
    #[value(alias = "outbound")]
    Out,
    Work,
}

impl DirectionArg {
    /// The value of the admin API's `direction` parameter.
    pub(crate) fn as_query(self) -> &'static str {
        match self {
            DirectionArg::In => "inbound",
            DirectionArg::Out => "outbound",
            DirectionArg::Work => "work",
        }
    }
}

pub(crate) fn trace_id(text: &str) -> Result<TraceId, String> {
    text.parse()
        .map_err(|_| format!("a trace id is 32 hex digits, not all zero; not {text:?}"))
}

pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    inflight_wire::parse_duration(text).map_err(|e| e.to_string())
}

pub(crate) fn concurrency(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("at least 1".into()),
        Ok(n) => Ok(n),
        Err(error) => Err(error.to_string()),
    }
}
