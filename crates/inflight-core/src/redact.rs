//! Redaction of URIs before anyone sees them: userinfo goes, and so do the values of
//! query parameters whose names look secret.

use std::borrow::Cow;

/// Query parameter names (or `_`/`-`/`.`-separated parts of names) whose values are
/// replaced by `REDACTED`.
pub const DEFAULT_SENSITIVE_PARAMS: &[&str] = &[
    "token",
    "key",
    "apikey",
    "secret",
    "password",
    "passwd",
    "pwd",
    "pass",
    "sig",
    "signature",
    "auth",
    "authorization",
    "session",
    "sessionid",
    "sid",
    "code",
    "credential",
    "credentials",
    "jwt",
    "otp",
    "accesstoken",
    "refreshtoken",
];

const REDACTED: &str = "REDACTED";

/// The redaction rules of a table.
#[derive(Clone, Debug)]
pub(crate) struct Redaction {
    sensitive: Vec<String>,
}

impl Default for Redaction {
    fn default() -> Self {
        Redaction {
            sensitive: DEFAULT_SENSITIVE_PARAMS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

impl Redaction {
    pub(crate) fn add(&mut self, name: &str) {
        let name = name.to_ascii_lowercase();
        if !self.sensitive.contains(&name) {
            self.sensitive.push(name);
        }
    }

    fn is_sensitive(&self, raw_name: &str) -> bool {
        if raw_name.bytes().any(|b| b == b'%' || b == b'+') {
            let name = percent_decode_lower(raw_name);
            let matches = |part: &str| self.sensitive.iter().any(|s| s == part);
            return matches(&name)
                || matches(&name.replace(['_', '-', '.'], ""))
                || name.split(['_', '-', '.', '[', ']']).any(matches);
        }
        // The same three checks on the name as it is, without allocating: a dump redacts
        // every URI in the table. The sensitive names are lowercase, so comparing them
        // with ASCII case ignored is comparing them with the lowercased name.
        let name = raw_name.as_bytes();
        let matches = |part: &[u8]| {
            self.sensitive
                .iter()
                .any(|s| s.as_bytes().eq_ignore_ascii_case(part))
        };
        let separator = |b: &u8| matches!(b, b'_' | b'-' | b'.' | b'[' | b']');
        // Without separators the other two checks are the first one again.
        matches(name)
            || name.iter().any(separator)
                && (self
                    .sensitive
                    .iter()
                    .any(|s| eq_without_separators(name, s.as_bytes()))
                    || name.split(separator).any(matches))
    }

    /// The URI with userinfo removed and sensitive query values replaced.
    pub(crate) fn uri<'a>(&self, raw: &'a str) -> Cow<'a, str> {
        let (without_fragment, fragment) = match raw.find('#') {
            Some(at) => (&raw[..at], Some(&raw[at..])),
            None => (raw, None),
        };
        let (before_query, query) = match without_fragment.find('?') {
            Some(at) => (&without_fragment[..at], Some(&without_fragment[at + 1..])),
            None => (without_fragment, None),
        };
        let head = strip_userinfo(before_query);
        let query = query.map(|q| self.query(q));
        let changed = matches!(head, Cow::Owned(_)) || matches!(query, Some(Cow::Owned(_)));
        if !changed {
            return Cow::Borrowed(raw);
        }
        let mut out = String::with_capacity(raw.len());
        out.push_str(&head);
        if let Some(query) = query {
            out.push('?');
            out.push_str(&query);
        }
        if let Some(fragment) = fragment {
            out.push_str(fragment);
        }
        Cow::Owned(out)
    }

    fn query<'a>(&self, query: &'a str) -> Cow<'a, str> {
        let needs = query.split('&').any(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            !value.is_empty() && self.is_sensitive(name)
        });
        if !needs {
            return Cow::Borrowed(query);
        }
        let mut out = String::with_capacity(query.len());
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, value)) if !value.is_empty() && self.is_sensitive(name) => {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                _ => out.push_str(pair),
            }
        }
        Cow::Owned(out)
    }
}

/// `scheme://user:pass@host/…` → `scheme://host/…`.
fn strip_userinfo(head: &str) -> Cow<'_, str> {
    let Some(scheme_end) = head.find("://") else {
        return Cow::Borrowed(head);
    };
    let authority_start = scheme_end + 3;
    let authority_end = head[authority_start..]
        .find('/')
        .map_or(head.len(), |at| authority_start + at);
    match head[authority_start..authority_end].rfind('@') {
        Some(at) => {
            let mut out = String::with_capacity(head.len());
            out.push_str(&head[..authority_start]);
            out.push_str(&head[authority_start + at + 1..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(head),
    }
}

/// Whether `name` without its `_`, `-` and `.` is `word`, ASCII case ignored.
fn eq_without_separators(name: &[u8], word: &[u8]) -> bool {
    let mut rest = word.iter();
    name.iter()
        .filter(|b| !matches!(b, b'_' | b'-' | b'.'))
        .all(|b| rest.next().is_some_and(|w| w.eq_ignore_ascii_case(b)))
        && rest.next().is_none()
}

fn percent_decode_lower(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(if byte == b'+' { b' ' } else { byte });
        i += 1;
    }
    String::from_utf8_lossy(&out).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(raw: &str) -> String {
        Redaction::default().uri(raw).into_owned()
    }

    #[test]
    fn userinfo_goes() {
        assert_eq!(
            redact("http://bob:hunter2@db:5432/x?y=1"),
            "http://db:5432/x?y=1"
        );
        assert_eq!(redact("https://token@host/"), "https://host/");
        assert_eq!(redact("http://host/a@b"), "http://host/a@b");
    }

    #[test]
    fn sensitive_values_go() {
        assert_eq!(
            redact("/cb?code=abc&state=xyz&access_token=t0k&api-key=k&X-Amz-Signature=s"),
            "/cb?code=REDACTED&state=xyz&access_token=REDACTED&api-key=REDACTED&X-Amz-Signature=REDACTED"
        );
        assert_eq!(
            redact("/p?Password=x&%74oken=y"),
            "/p?Password=REDACTED&%74oken=REDACTED"
        );
        assert_eq!(
            redact("/p?monkey=1&keyboard=2&sessionid=3"),
            "/p?monkey=1&keyboard=2&sessionid=REDACTED"
        );
        assert_eq!(redact("/p?token=&flag"), "/p?token=&flag");
        assert_eq!(redact("/p?a=1#token=x"), "/p?a=1#token=x");
    }

    #[test]
    fn untouched_uris_are_borrowed() {
        assert!(matches!(
            Redaction::default().uri("/fetch/1?n=2"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn plain_names_match_like_decoded_ones() {
        let redaction = Redaction::default();
        // What the decoding path checks, for any name.
        let decoded = |raw: &str| {
            let name = percent_decode_lower(raw);
            let matches = |part: &str| redaction.sensitive.iter().any(|s| s == part);
            matches(&name)
                || matches(&name.replace(['_', '-', '.'], ""))
                || name.split(['_', '-', '.', '[', ']']).any(matches)
        };
        for name in [
            "TOKEN",
            "Access_Token",
            "api-key",
            "x.sig",
            "a[auth]",
            "acc.ess-tok_en",
            "Session.ID",
            "monkey",
            "keys",
            "tokens",
            "_",
            "",
            "тoken",
        ] {
            assert_eq!(redaction.is_sensitive(name), decoded(name), "{name}");
        }
    }

    #[test]
    fn custom_names() {
        let mut redaction = Redaction::default();
        redaction.add("Tenant");
        assert_eq!(
            redaction.uri("/x?tenant=acme").as_ref(),
            "/x?tenant=REDACTED"
        );
    }
}
