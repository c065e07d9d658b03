//! W3C Trace Context: the ids that tie a request in one service to the requests it caused
//! in others.
//!
//! Every tracked request has a [`TraceContext`]: the trace it belongs to, its own span, and
//! the span that caused it. The inbound layer reads the caller's `traceparent` (and keeps
//! `tracestate`); the client layer sends a `traceparent` naming the outbound call's own
//! span, so the next service's request is that call's child. The ids are plain W3C, so
//! services instrumented with OpenTelemetry join the same traces.
//!
//! See <https://www.w3.org/TR/trace-context/>.

use std::fmt;
use std::str::FromStr;

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

/// The `traceparent` header.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The `tracestate` header.
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The most `tracestate` a request keeps and passes on, in bytes: the size the W3C
/// recommendation asks every service to propagate at least. Longer lists lose their last
/// members.
pub const MAX_TRACESTATE: usize = 512;

/// The most list members a `tracestate` has (W3C).
const MAX_TRACESTATE_MEMBERS: usize = 32;

/// The flag bit saying the caller may have recorded trace data (`sampled`).
const SAMPLED: u8 = 0x01;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A trace: 16 bytes, never all zero, written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId([u8; 16]);

/// A span (one request in one service): 8 bytes, never all zero, written as 16 lowercase
/// hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId([u8; 8]);

/// Why a trace or span id did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseIdError {
    expected: usize,
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected {} lowercase hex digits, not all zero",
            self.expected
        )
    }
}

impl std::error::Error for ParseIdError {}

macro_rules! id_type {
    ($name:ident, $len:literal) => {
        impl $name {
            /// The id from its bytes; `None` for all zeros, which W3C reserves for "no id".
            pub fn from_bytes(bytes: [u8; $len]) -> Option<$name> {
                (bytes != [0; $len]).then_some($name(bytes))
            }

            /// The id's bytes.
            pub fn to_bytes(self) -> [u8; $len] {
                self.0
            }

            /// A new random id.
            pub fn random() -> $name {
                let mut bytes = [0u8; $len];
                loop {
                    for chunk in bytes.chunks_mut(8) {
                        chunk.copy_from_slice(&fastrand::u64(..).to_le_bytes()[..chunk.len()]);
                    }
                    if bytes != [0; $len] {
                        return $name(bytes);
                    }
                }
            }

            /// Parses lowercase hex, as in `traceparent`.
            fn parse_hex(text: &[u8]) -> Option<$name> {
                let text: &[u8; 2 * $len] = text.try_into().ok()?;
                let mut bytes = [0u8; $len];
                // No branch per digit: a bad digit sets a high bit, checked once.
                let mut bad = 0u8;
                for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
                    let (high, low) = (
                        HEX_VALUE[usize::from(pair[0])],
                        HEX_VALUE[usize::from(pair[1])],
                    );
                    bad |= high | low;
                    *byte = (high << 4) | (low & 0xf);
                }
                if bad & 0xf0 != 0 {
                    return None;
                }
                $name::from_bytes(bytes)
            }

            fn write_hex(self, out: &mut [u8]) {
                for (byte, pair) in self.0.iter().zip(out.chunks_exact_mut(2)) {
                    pair[0] = HEX[usize::from(byte >> 4)];
                    pair[1] = HEX[usize::from(byte & 0xf)];
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut out = [0u8; 2 * $len];
                self.write_hex(&mut out);
                // Only ASCII hex digits were written.
                f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            /// Parses the hex form (lowercase or uppercase, as a user may paste it).
            fn from_str(text: &str) -> Result<$name, ParseIdError> {
                $name::parse_hex(text.trim().to_ascii_lowercase().as_bytes())
                    .ok_or(ParseIdError { expected: 2 * $len })
            }
        }
    };
}

id_type!(TraceId, 16);
id_type!(SpanId, 8);

/// The value of each lowercase hex digit; 0xff for every other byte.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut digit = 0;
    while digit < 16 {
        table[HEX[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};

fn hex_digit(digit: u8) -> Option<u8> {
    match HEX_VALUE[usize::from(digit)] {
        0xff => None,
        value => Some(value),
    }
}

/// Where a request sits in its trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceContext {
    /// The trace.
    pub trace_id: TraceId,
    /// This request's own span.
    pub span_id: SpanId,
    /// The span that caused this request: for an inbound request, the caller's outbound
    /// call (in another service); for an outbound call, the inbound request it was made
    /// for. `None` for the first request of a trace.
    pub parent_span_id: Option<SpanId>,
    /// The W3C trace flags (bit 0: `sampled`), passed on unchanged.
    pub flags: u8,
}

impl TraceContext {
    /// The first request of a new trace. Its `sampled` flag is off: inflight records no
    /// trace data out of band, which is what the flag speaks of.
    pub fn new_root() -> TraceContext {
        TraceContext {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            parent_span_id: None,
            flags: 0,
        }
    }

    /// A new span in the same trace, caused by this one.
    pub fn child(&self) -> TraceContext {
        TraceContext {
            trace_id: self.trace_id,
            span_id: SpanId::random(),
            parent_span_id: Some(self.span_id),
            flags: self.flags,
        }
    }

    /// Whether the caller may have recorded trace data.
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }

    /// Parses a `traceparent` value: `00-<trace id>-<span id>-<flags>`. The result names
    /// the caller's span as `span_id` and has no parent; use [`child`](Self::child) for the
    /// request it caused.
    ///
    /// Follows the W3C rules: ids in lowercase hex and not all zero, version `ff` refused,
    /// a version 00 value exactly 55 characters long, and a later version read by its
    /// version 00 prefix when what follows starts with `-`. Returns `None` for anything
    /// else; a bad header is never an error, the request just starts a new trace.
    pub fn parse_traceparent(value: &[u8]) -> Option<TraceContext> {
        if value.len() < 55 {
            return None;
        }
        let version = (hex_digit(value[0])? << 4) | hex_digit(value[1])?;
        if version == 0xff || (version == 0 && value.len() != 55) {
            return None;
        }
        if value.len() > 55 && value[55] != b'-' {
            return None;
        }
        if value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
            return None;
        }
        let trace_id = TraceId::parse_hex(&value[3..35])?;
        let span_id = SpanId::parse_hex(&value[36..52])?;
        let flags = (hex_digit(value[53])? << 4) | hex_digit(value[54])?;
        Some(TraceContext {
            trace_id,
            span_id,
            parent_span_id: None,
            // Only version 00's flags are known; a later version passes on `sampled`.
            flags: if version == 0 { flags } else { flags & SAMPLED },
        })
    }

    /// The caller's context from a request's `traceparent` header, if it has exactly one
    /// valid one.
    pub fn from_headers(headers: &HeaderMap) -> Option<TraceContext> {
        let mut values = headers.get_all(TRACEPARENT).iter();
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        TraceContext::parse_traceparent(value.as_bytes())
    }

    /// The `traceparent` naming this span: what an outbound call sends so that the
    /// request it causes is its child.
    pub fn traceparent(&self) -> HeaderValue {
        let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
        self.trace_id.write_hex(&mut out[3..35]);
        self.span_id.write_hex(&mut out[36..52]);
        out[53] = HEX[usize::from(self.flags >> 4)];
        out[54] = HEX[usize::from(self.flags & 0xf)];
        // Only ASCII hex digits and dashes: always a valid header value.
        HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The `tracestate` to keep from a request's headers: its values joined with commas, cut
/// to at most [`MAX_TRACESTATE`] bytes at a list member's edge. `None` when there is none,
/// or when it is not visible ASCII.
pub(crate) fn tracestate(headers: &HeaderMap) -> Option<Box<str>> {
    let mut kept = String::new();
    let mut members = 0;
    for value in headers.get_all(TRACESTATE) {
        let text = value.to_str().ok()?;
        for member in text.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            if members == MAX_TRACESTATE_MEMBERS {
                break;
            }
            let extra = member.len() + usize::from(!kept.is_empty());
            if kept.len() + extra > MAX_TRACESTATE {
                // W3C: drop whole members, never cut one in half.
                continue;
            }
            if !kept.is_empty() {
                kept.push(',');
            }
            kept.push_str(member);
            members += 1;
        }
    }
    (!kept.is_empty()).then(|| kept.into_boxed_str())
}

impl fmt::Display for TraceContext {
    /// The `traceparent` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id, self.span_id, self.flags
        )
    }
}

#[cfg(test)]
mod tests;
