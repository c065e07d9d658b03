//! Answers, errors, and the JSON bodies clients send.

use axum::body::Body;
use axum::response::{IntoResponse, Response as AxumResponse};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
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

impl IntoResponse for Failure {
    fn into_response(self) -> AxumResponse {
        self.into_reply().into_response()
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
pub(crate) async fn json_body<T: DeserializeOwned + Default>(body: Body) -> Result<T, Failure> {
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
