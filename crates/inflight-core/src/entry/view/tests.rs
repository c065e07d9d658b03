use http::{StatusCode, Uri};

use super::*;
use crate::entry::Start;

fn entry(start: Nanos) -> Entry {
    let uri = Uri::from_static("/a");
    Entry::new(Start::get(&uri, 64), start)
}

fn statuses(entry: &Entry, now: Nanos) -> Vec<(String, Nanos)> {
    let mut seen = Vec::new();
    entry.for_each_status(now, u64::MAX, |status, stay| {
        seen.push((status.to_string(), stay));
    });
    seen
}

#[test]
fn statuses_without_history_match_the_full_walk() {
    // Handler, then body: the cheap path, then the same request with a detail (and
    // so the full walk) must agree.
    let plain = entry(1_000);
    plain.response_head(StatusCode::OK, 5_000);
    let fast = statuses(&plain, 9_000);
    assert_eq!(
        fast,
        vec![("in handler".into(), 4_000), ("writing body".into(), 4_000)]
    );
    let detailed = entry(1_000);
    detailed.response_head(StatusCode::OK, 5_000);
    detailed.set_attribute("k".into(), "v".into());
    assert_eq!(statuses(&detailed, 9_000), fast);

    // Ended in the handler.
    let short = entry(1_000);
    assert_eq!(statuses(&short, 3_000), vec![("in handler".into(), 2_000)]);
}
