//! Answers and the parsing of what clients send: JSON bodies, queries, errors.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use inflight_wire::ErrorBody;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest request body the admin server reads.
pub(crate) const MAX_BODY: usize = 64 * 1024;

pub(crate) type Reply = Response<Full<Bytes>>;

/// An answer that is an error: a status and a message for `{"error": ...}`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) allow: Option<&'static str>,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            allow: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn method_not_allowed(allow: &'static str) -> Failure {
        Failure {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: format!("method not allowed here; use {allow}"),
            allow: Some(allow),
        }
    }

    pub(crate) fn into_reply(self) -> Reply {
        let mut reply = json(self.status, &ErrorBody::new(self.message));
        if let Some(allow) = self.allow {
            reply
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        reply
    }
}

pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Reply {
    // Our own types always serialize; an empty object is a safe fallback.
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    reply
}

pub(crate) fn text(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Reply {
    let mut reply = Response::new(Full::new(body.into()));
    *reply.status_mut() = status;
    reply
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    reply
}

/// Reads a JSON body of at most [`MAX_BODY`] bytes; an empty body is `T::default()`.
pub(crate) async fn json_body<T: DeserializeOwned + Default>(body: Incoming) -> Result<T, Failure> {
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {MAX_BODY} bytes"),
            ));
        }
        Err(_) => return Err(Failure::bad_request("the body could not be read")),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // Every body of this API is an object; serde would also read a struct from an array
    // of its fields in order, which the API does not promise.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Failure::bad_request(
            "the body is not the JSON expected: it must be an object, like {\"message\": \"...\"}",
        ));
    }
    serde_json::from_slice(&bytes).map_err(|error| {
        Failure::bad_request(format!("the body is not the JSON expected: {error}"))
    })
}

/// The query's `name=value` pairs, percent-decoded; each name at most once and known.
pub(crate) fn query_pairs(
    query: Option<&str>,
    known: &[&str],
) -> Result<Vec<(String, String)>, Failure> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name)
            .ok_or_else(|| Failure::bad_request("the query is not valid UTF-8"))?;
        let value = percent_decode(value)
            .ok_or_else(|| Failure::bad_request("the query is not valid UTF-8"))?;
        if !known.contains(&name.as_str()) {
            return Err(Failure::bad_request(if known.is_empty() {
                format!("unknown query parameter {name:?}: this endpoint takes none")
            } else {
                format!(
                    "unknown query parameter {name:?}; known: {}",
                    known.join(", ")
                )
            }));
        }
        if pairs.iter().any(|(seen, _)| *seen == name) {
            return Err(Failure::bad_request(format!(
                "query parameter {name:?} given twice"
            )));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// `application/x-www-form-urlencoded` decoding; `None` if the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

pub(crate) fn parse_bool(name: &str, value: &str) -> Result<bool, Failure> {
    match value {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(Failure::bad_request(format!(
            "{name} must be true or false, not {value:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries() {
        let pairs = query_pairs(
            Some("status=awaiting%20slow+node&min_age=5s"),
            &["status", "min_age"],
        )
        .unwrap();
        assert_eq!(pairs[0], ("status".into(), "awaiting slow node".into()));
        assert_eq!(pairs[1], ("min_age".into(), "5s".into()));
        assert!(query_pairs(Some("nope=1"), &["status"]).is_err());
        assert!(query_pairs(Some("status=a&status=b"), &["status"]).is_err());
        assert!(query_pairs(Some("status=%ff"), &["status"]).is_err());
        assert_eq!(percent_decode("100%"), Some("100%".into()));
    }
}
