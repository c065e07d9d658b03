//! The request target and method, stored compactly.

use http::{Method, Uri};

use super::start::Target;

/// A standard method in one byte.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum MethodCode {
    Get,
    Post,
    Put,
    Delete,
    Head,
    Options,
    Patch,
    Trace,
    Connect,
    Other,
}

/// The method of a [`MethodCode`] number: the standard ones by name, `WORK` for work,
/// `_OTHER` for any other method (OpenTelemetry's name for methods outside the standard
/// set), which keeps the methods an outsider can make up to one.
pub(crate) fn method_of_code(code: u8, direction: crate::snapshot::Direction) -> Method {
    if direction == crate::snapshot::Direction::Work {
        return super::view::work_method();
    }
    let known = [
        MethodCode::Get,
        MethodCode::Post,
        MethodCode::Put,
        MethodCode::Delete,
        MethodCode::Head,
        MethodCode::Options,
        MethodCode::Patch,
        MethodCode::Trace,
        MethodCode::Connect,
    ];
    known
        .iter()
        .find(|method| **method as u8 == code)
        .and_then(|method| method.standard())
        .unwrap_or_else(|| Method::from_bytes(b"_OTHER").unwrap_or(Method::GET))
}

impl MethodCode {
    #[inline]
    pub(super) fn of(method: &Method) -> MethodCode {
        // Most requests are GETs; the rest by name (a table of `Method` constants would be
        // built on the stack at every call).
        if *method == Method::GET {
            return MethodCode::Get;
        }
        match method.as_str() {
            "POST" => MethodCode::Post,
            "PUT" => MethodCode::Put,
            "DELETE" => MethodCode::Delete,
            "HEAD" => MethodCode::Head,
            "OPTIONS" => MethodCode::Options,
            "PATCH" => MethodCode::Patch,
            "TRACE" => MethodCode::Trace,
            "CONNECT" => MethodCode::Connect,
            _ => MethodCode::Other,
        }
    }

    pub(super) fn standard(self) -> Option<Method> {
        Some(match self {
            MethodCode::Get => Method::GET,
            MethodCode::Post => Method::POST,
            MethodCode::Put => Method::PUT,
            MethodCode::Delete => Method::DELETE,
            MethodCode::Head => Method::HEAD,
            MethodCode::Options => Method::OPTIONS,
            MethodCode::Patch => Method::PATCH,
            MethodCode::Trace => Method::TRACE,
            MethodCode::Connect => Method::CONNECT,
            MethodCode::Other => return None,
        })
    }
}

const INLINE_URI: usize = 62;

/// The request target as received (inbound) or sent (outbound), unredacted: redaction
/// happens when a snapshot is taken, off the request path.
pub(super) enum UriText {
    Inline { len: u8, bytes: [u8; INLINE_URI] },
    Heap(Box<str>),
}

impl UriText {
    #[inline]
    pub(super) fn of_target(target: Target<'_>) -> UriText {
        match target {
            Target::Uri(uri) => UriText::of(uri),
            Target::Name(name) => UriText::from_str(name),
        }
    }

    #[inline]
    pub(super) fn of(uri: &Uri) -> UriText {
        let tail = uri
            .path_and_query()
            .map_or_else(|| uri.path(), |pq| pq.as_str());
        if uri.authority().is_none() {
            // Origin-form, what a server sees: one copy, no joining.
            return UriText::from_str(tail);
        }
        match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => {
                UriText::from_parts(&[scheme, "://", authority.as_str(), tail])
            }
            // CONNECT's authority-form.
            (None, Some(authority)) if uri.path_and_query().is_none() => {
                UriText::from_parts(&[authority.as_str()])
            }
            _ => UriText::from_parts(&[tail]),
        }
    }

    #[inline]
    pub(super) fn from_str(text: &str) -> UriText {
        if text.len() <= INLINE_URI {
            let mut bytes = [0u8; INLINE_URI];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            UriText::Inline {
                len: text.len() as u8,
                bytes,
            }
        } else {
            UriText::Heap(text.into())
        }
    }

    pub(super) fn from_parts(parts: &[&str]) -> UriText {
        let len: usize = parts.iter().map(|part| part.len()).sum();
        if len <= INLINE_URI {
            let mut bytes = [0u8; INLINE_URI];
            let mut at = 0;
            for part in parts {
                bytes[at..at + part.len()].copy_from_slice(part.as_bytes());
                at += part.len();
            }
            UriText::Inline {
                len: len as u8,
                bytes,
            }
        } else {
            UriText::Heap(parts.concat().into_boxed_str())
        }
    }

    pub(super) fn as_str(&self) -> &str {
        match self {
            // Whole `&str`s were copied in, so this is valid UTF-8.
            UriText::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or("")
            }
            UriText::Heap(text) => text,
        }
    }
}

/// What the table reads of an entry's target and outcome.
impl super::Entry {
    /// The method as a number (see [`method_of_code`](super::method_of_code)) and the
    /// response status (0 before the response head): what a series of ended requests
    /// is named by.
    #[inline]
    pub(crate) fn method_and_status_codes(&self) -> (u8, u16) {
        (
            self.method as u8,
            self.response_status.load(crate::sync::Ordering::Relaxed),
        )
    }

    /// The path of the target, without its query (which may hold secrets).
    pub(crate) fn path(&self) -> &str {
        let raw = self.raw_uri();
        // Origin form, what servers see: no scheme or authority to skip.
        let after_authority = if raw.starts_with('/') {
            raw
        } else {
            match raw.split_once("://") {
                Some((_, rest)) => rest.find('/').map_or("", |at| &rest[at..]),
                None => raw,
            }
        };
        // A byte search: `?` and `#` are ASCII, so the cut is a character boundary.
        match after_authority
            .bytes()
            .position(|byte| byte == b'?' || byte == b'#')
        {
            Some(at) => &after_authority[..at],
            None => after_authority,
        }
    }

    /// `host:port` of an outbound call's target (without any userinfo), if it has one.
    pub(crate) fn authority(&self) -> Option<&str> {
        let raw = self.raw_uri();
        let rest = raw.split_once("://").map_or(raw, |(_, rest)| rest);
        let authority = rest.split(['/', '?', '#']).next()?;
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        (!host.is_empty()).then_some(host)
    }

    /// The target as received or sent, not redacted.
    pub(crate) fn raw_uri(&self) -> &str {
        self.uri.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_text_round_trips() {
        for raw in [
            "/",
            "/fetch/1?x=2",
            "http://slownode:8484/blob/x",
            "http://example.com/a/very/long/path/that/does/not/fit/inline/at/all/because/it/is/long",
        ] {
            let uri: Uri = raw.parse().unwrap();
            assert_eq!(UriText::of(&uri).as_str(), raw);
        }
        let connect = Uri::from_static("example.com:443");
        assert_eq!(UriText::of(&connect).as_str(), "example.com:443");
    }

    #[test]
    fn method_codes_round_trip() {
        for method in [
            Method::GET,
            Method::POST,
            Method::HEAD,
            Method::CONNECT,
            Method::PATCH,
        ] {
            assert_eq!(MethodCode::of(&method).standard(), Some(method));
        }
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(MethodCode::of(&custom), MethodCode::Other);
    }
}
