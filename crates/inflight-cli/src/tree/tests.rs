use inflight_wire::Request;

use super::*;
use crate::fixtures::{aged, request};

fn listed<'a>(requests: &'a [(&'a str, Request)]) -> Vec<Listed<'a>> {
    requests
        .iter()
        .map(|(endpoint, request)| Listed {
            endpoint,
            service: endpoint,
            request,
        })
        .collect()
}

/// `(endpoint, id, depth, prefix, holding)` of each line.
fn drawn<'a>(items: &[Listed<'a>], lines: &[Line]) -> Vec<(&'a str, u64, usize, String, bool)> {
    lines
        .iter()
        .map(|line| {
            let item = items[line.index];
            (
                item.endpoint,
                item.request.id,
                line.depth,
                line.prefix.clone(),
                line.holding,
            )
        })
        .collect()
}

/// edge -> api -> store: in, out, in, out, in.
fn chain() -> Vec<(&'static str, Request)> {
    vec![
        (
            "store",
            aged(request(9, "inbound", 0xe, Some(0xd)), 800.0, None),
        ),
        ("edge", aged(request(1, "inbound", 0xa, None), 1000.0, None)),
        (
            "api",
            aged(request(6, "outbound", 0xd, Some(0xc)), 850.0, Some(5)),
        ),
        (
            "edge",
            aged(request(2, "outbound", 0xb, Some(0xa)), 990.0, Some(1)),
        ),
        (
            "api",
            aged(request(5, "inbound", 0xc, Some(0xb)), 900.0, None),
        ),
    ]
}

#[test]
fn a_chain_across_endpoints_is_one_tree_with_its_leaf_marked() {
    let requests = chain();
    let items = listed(&requests);
    let lines = lines(&items, oldest_first(&items));
    assert_eq!(
        drawn(&items, &lines),
        [
            ("edge", 1, 0, "".into(), false),
            ("edge", 2, 1, "└─ ".into(), false),
            ("api", 5, 2, "   └─ ".into(), false),
            ("api", 6, 3, "      └─ ".into(), false),
            ("store", 9, 4, "         └─ ".into(), true),
        ]
    );
}

#[test]
fn siblings_are_drawn_with_branches_and_the_oldest_deepest_holds_up() {
    let mut requests = chain();
    // A second call of the edge request, to an untracked upstream, younger.
    requests.push((
        "edge",
        aged(request(3, "outbound", 0xf, Some(0xa)), 500.0, Some(1)),
    ));
    // A second request at the store for the api's call: the oldest of the deepest.
    requests.push((
        "store",
        aged(request(10, "inbound", 0x10, Some(0xd)), 840.0, None),
    ));
    let items = listed(&requests);
    let lines = lines(&items, oldest_first(&items));
    assert_eq!(
        drawn(&items, &lines),
        [
            ("edge", 1, 0, "".into(), false),
            ("edge", 2, 1, "├─ ".into(), false),
            ("api", 5, 2, "│  └─ ".into(), false),
            ("api", 6, 3, "│     └─ ".into(), false),
            ("store", 10, 4, "│        ├─ ".into(), true),
            ("store", 9, 4, "│        └─ ".into(), false),
            ("edge", 3, 1, "└─ ".into(), false),
        ]
    );
}

#[test]
fn a_request_whose_parent_is_nowhere_is_a_root_and_alone_is_not_marked() {
    let requests = vec![
        // Its caller is not among the endpoints asked.
        ("api", request(5, "inbound", 0xc, Some(0xb))),
        // Its parent request ended (or is filtered out).
        (
            "api",
            aged(request(6, "outbound", 0xd, Some(0x99)), 10.0, Some(77)),
        ),
        ("edge", request(1, "inbound", 0xa, None)),
    ];
    let items = listed(&requests);
    let lines = lines(&items, oldest_first(&items));
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|line| line.depth == 0 && !line.holding));
}

#[test]
fn an_outbound_call_without_parent_id_is_joined_by_span_at_its_own_endpoint() {
    let requests = vec![
        ("edge", request(1, "inbound", 0xa, None)),
        ("other", request(1, "inbound", 0xa, None)),
        ("edge", request(2, "outbound", 0xb, Some(0xa))),
    ];
    let items = listed(&requests);
    let lines = lines(&items, oldest_first(&items));
    let drawn = drawn(&items, &lines);
    assert_eq!(drawn[0].0, "edge");
    assert_eq!(drawn[1], ("edge", 2, 1, "└─ ".into(), true));
}

#[test]
fn cycles_and_self_parents_never_loop() {
    // a:out#2 -> a:in#1 -> b:out#4 -> b:in#3 -> a:out#2 ...
    let requests = vec![
        ("a", aged(request(2, "outbound", 0x2, None), 1.0, Some(1))),
        ("a", request(1, "inbound", 0x1, Some(0x4))),
        ("b", aged(request(4, "outbound", 0x4, None), 1.0, Some(3))),
        ("b", request(3, "inbound", 0x3, Some(0x2))),
        // Its own parent, by id and by span.
        (
            "c",
            aged(request(7, "outbound", 0x7, Some(0x7)), 1.0, Some(7)),
        ),
        ("c", request(8, "inbound", 0x8, Some(0x8))),
    ];
    let items = listed(&requests);
    let parents = parents(&items);
    assert_eq!(parents[4], None);
    assert_eq!(parents[5], None);
    assert_eq!(
        parents[..4].iter().filter(|p| p.is_none()).count(),
        1,
        "the cycle has one root: {parents:?}"
    );
    let lines = lines(&items, oldest_first(&items));
    let mut indexes: Vec<usize> = lines.iter().map(|line| line.index).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, [0, 1, 2, 3, 4, 5], "each request drawn once");
    assert_eq!(lines.iter().map(|line| line.depth).max(), Some(3));
}

#[test]
fn duplicate_span_ids_draw_each_request_once() {
    // The same admin port asked under two names lists everything twice.
    let mut requests = chain();
    let copies: Vec<_> = requests
        .iter()
        .map(|(endpoint, request)| {
            let name: &'static str = match *endpoint {
                "edge" => "edge-again",
                "api" => "api-again",
                _ => "store-again",
            };
            (name, request.clone())
        })
        .collect();
    requests.extend(copies);
    let items = listed(&requests);
    let lines = lines(&items, oldest_first(&items));
    let mut indexes: Vec<usize> = lines.iter().map(|line| line.index).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..10).collect::<Vec<_>>());
    assert!(lines.iter().all(|line| line.depth <= 4));
}

#[test]
fn chains_deeper_than_the_bound_are_cut() {
    let length = 3 * MAX_DEPTH as u64;
    let requests: Vec<(&str, Request)> = (1..=length)
        .map(|n| {
            let direction = if n % 2 == 1 { "inbound" } else { "outbound" };
            let parent_span = (n > 1).then(|| n - 1);
            let parent = (n % 2 == 0).then(|| n - 1);
            // An inbound request and its call at one endpoint, the next pair at the other.
            let endpoint = if n.div_ceil(2) % 2 == 0 { "a" } else { "b" };
            (
                endpoint,
                aged(request(n, direction, n, parent_span), 1.0, parent),
            )
        })
        .collect();
    let items = listed(&requests);
    let lines = lines(&items, oldest_first(&items));
    assert_eq!(lines.len(), requests.len());
    let deepest = lines.iter().map(|line| line.depth).max().unwrap_or(0);
    assert_eq!(deepest, MAX_DEPTH);
}

#[test]
fn a_match_shows_with_the_path_down_to_it() {
    let mut requests = chain();
    requests.push(("lone", request(20, "inbound", 0x20, None)));
    let items = listed(&requests);
    let lines = lines(&items, oldest_first(&items));
    let ids = |shown: &[bool]| -> Vec<u64> {
        lines
            .iter()
            .zip(shown)
            .filter(|(_, shown)| **shown)
            .map(|(line, _)| items[line.index].request.id)
            .collect()
    };
    let api_in = with_ancestors(&lines, |line| items[line.index].request.id == 5);
    assert_eq!(ids(&api_in), [1, 2, 5]);
    let none = with_ancestors(&lines, |_| false);
    assert!(ids(&none).is_empty());
    let roots = with_ancestors(&lines, |line| line.depth == 0);
    assert_eq!(ids(&roots), [1, 20]);
}
