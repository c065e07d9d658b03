use super::*;

const KNOWN: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn reads_a_known_traceparent() {
    let context = TraceContext::parse_traceparent(KNOWN.as_bytes()).unwrap();
    assert_eq!(
        context.trace_id.to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(context.span_id.to_string(), "00f067aa0ba902b7");
    assert!(context.sampled());
    assert_eq!(context.parent_span_id, None);
    assert_eq!(context.to_string(), KNOWN);
    assert_eq!(context.traceparent(), KNOWN);
}

#[test]
fn child_keeps_the_trace_and_points_at_its_parent() {
    let parent = TraceContext::parse_traceparent(KNOWN.as_bytes()).unwrap();
    let child = parent.child();
    assert_eq!(child.trace_id, parent.trace_id);
    assert_eq!(child.parent_span_id, Some(parent.span_id));
    assert_ne!(child.span_id, parent.span_id);
    assert_eq!(child.flags, parent.flags);
}

#[test]
fn refuses_what_w3c_refuses() {
    let bad = [
        "",
        "00",
        // Uppercase hex.
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        // All-zero trace and span ids.
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        // Version ff, and version 00 with anything after it.
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        // Wrong separators and lengths.
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        // A later version must continue with a dash.
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    ];
    for value in bad {
        assert_eq!(
            TraceContext::parse_traceparent(value.as_bytes()),
            None,
            "{value:?}"
        );
    }
    let oversized = format!("{KNOWN}{}", "-x".repeat(10_000));
    assert_eq!(TraceContext::parse_traceparent(oversized.as_bytes()), None);
    assert_eq!(
        TraceContext::parse_traceparent("\u{e9}".repeat(60).as_bytes()),
        None
    );
}

#[test]
fn reads_a_later_version_by_its_prefix() {
    let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-comes-next";
    let context = TraceContext::parse_traceparent(later.as_bytes()).unwrap();
    assert_eq!(context.span_id.to_string(), "00f067aa0ba902b7");
    // Flags a later version defines are not passed on as version 00 flags.
    assert_eq!(context.flags, 0x01);
}

#[test]
fn two_traceparents_are_none() {
    let mut headers = HeaderMap::new();
    headers.append(TRACEPARENT, HeaderValue::from_static(KNOWN));
    assert!(TraceContext::from_headers(&headers).is_some());
    headers.append(TRACEPARENT, HeaderValue::from_static(KNOWN));
    assert_eq!(TraceContext::from_headers(&headers), None);
}

#[test]
fn random_ids_are_valid_and_differ() {
    let a = TraceContext::new_root();
    let b = TraceContext::new_root();
    assert_ne!(a.trace_id, b.trace_id);
    assert!(!a.sampled());
    let parsed = TraceContext::parse_traceparent(a.traceparent().as_bytes()).unwrap();
    assert_eq!(parsed.trace_id, a.trace_id);
    assert_eq!(parsed.span_id, a.span_id);
}

#[test]
fn ids_parse_from_user_text() {
    let id: TraceId = " 4BF92F3577B34DA6A3CE929D0E0E4736 ".parse().unwrap();
    assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!("4bf9".parse::<TraceId>().is_err());
    assert!("0000000000000000".parse::<SpanId>().is_err());
    assert!("zz".repeat(8).parse::<SpanId>().is_err());
}

#[test]
fn tracestate_is_joined_and_bounded() {
    let mut headers = HeaderMap::new();
    assert_eq!(tracestate(&headers), None);
    headers.append(TRACESTATE, HeaderValue::from_static("congo=t61rcWkgMzE"));
    headers.append(
        TRACESTATE,
        HeaderValue::from_static(" rojo=00f067aa0ba902b7 ,"),
    );
    assert_eq!(
        tracestate(&headers).as_deref(),
        Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
    );

    let long = (0..100)
        .map(|i| format!("k{i}=v{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut headers = HeaderMap::new();
    headers.insert(TRACESTATE, HeaderValue::from_str(&long).unwrap());
    let kept = tracestate(&headers).unwrap();
    assert_eq!(kept.split(',').count(), 32);
    assert!(kept.starts_with("k0=v0,k1=v1"));

    let mut headers = HeaderMap::new();
    let huge = format!("a={},b=1", "x".repeat(600));
    headers.insert(TRACESTATE, HeaderValue::from_str(&huge).unwrap());
    assert_eq!(tracestate(&headers).as_deref(), Some("b=1"));
    assert!(tracestate(&headers).unwrap().len() <= MAX_TRACESTATE);

    let mut headers = HeaderMap::new();
    headers.insert(TRACESTATE, HeaderValue::from_bytes(b"a=\xff").unwrap());
    assert_eq!(tracestate(&headers), None);
}
