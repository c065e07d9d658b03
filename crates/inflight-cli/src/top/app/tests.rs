use inflight_wire::{Origin, RequestList};

use super::*;

/// The fixtures' request, in a trace of its own, with what these tests vary.
fn request(
    id: u64,
    direction: &str,
    elapsed_ms: f64,
    status: &str,
    uri: &str,
    parent: Option<u64>,
) -> Request {
    let mut request = crate::fixtures::aged(
        crate::fixtures::request(id, direction, id, None),
        elapsed_ms,
        parent,
    );
    request.trace_id = format!("{id:032x}");
    request.uri = uri.into();
    request.status = status.into();
    request
}

fn list(requests: Vec<Request>) -> RequestList {
    let mut origin = Origin::default();
    origin.pid = 1;
    origin.host = "h".into();
    origin.service = "s".into();
    RequestList::new(origin, requests)
}

fn app() -> App {
    let a = Endpoint::parse("a:1").unwrap();
    let b = Endpoint::parse("b:2").unwrap();
    let mut app = App::new(&[a.clone(), b.clone()]);
    app.update(
        vec![
            (
                a,
                Ok(list(vec![
                    request(
                        1,
                        "inbound",
                        5_000.0,
                        "awaiting slownode:8484",
                        "/fetch/1",
                        None,
                    ),
                    request(
                        2,
                        "outbound",
                        4_900.0,
                        "awaiting headers",
                        "http://slownode:8484/blob/1",
                        Some(1),
                    ),
                    request(3, "inbound", 100.0, "writing body", "/stream", None),
                ])),
            ),
            (
                b,
                Ok(list(vec![request(
                    7,
                    "inbound",
                    9_000.0,
                    "in handler",
                    "/slow",
                    None,
                )])),
            ),
        ],
        Instant::now(),
    );
    app
}

fn ids(app: &App) -> Vec<(String, u64, u8)> {
    app.rows
        .iter()
        .map(|r| (r.endpoint.name.clone(), r.request.id, r.depth))
        .collect()
}

#[test]
fn oldest_first_with_children_under_parents() {
    let app = app();
    assert_eq!(
        ids(&app),
        [
            ("b:2".into(), 7, 0),
            ("a:1".into(), 1, 0),
            ("a:1".into(), 2, 1),
            ("a:1".into(), 3, 0)
        ]
    );
}

#[test]
fn sorts_by_keys_and_reverses() {
    let mut app = app();
    app.key(Key::Char('2')); // ID ascending
    assert_eq!(
        ids(&app).iter().map(|r| r.1).collect::<Vec<_>>(),
        [1, 2, 3, 7]
    );
    app.key(Key::Char('2')); // again: descending
    assert_eq!(
        ids(&app).iter().map(|r| r.1).collect::<Vec<_>>(),
        [7, 3, 1, 2]
    );
    app.key(Key::Char('r'));
    assert_eq!(
        ids(&app).iter().map(|r| r.1).collect::<Vec<_>>(),
        [1, 2, 3, 7]
    );
}

#[test]
fn filters_and_keeps_selection() {
    let mut app = app();
    app.key(Key::Down); // #1
    assert_eq!(app.selected_row().unwrap().request.id, 1);
    app.key(Key::Char('/'));
    for c in "stream".chars() {
        app.key(Key::Char(c));
    }
    app.key(Key::Enter);
    assert_eq!(ids(&app), [("a:1".into(), 3, 0)]);
    app.key(Key::Char('/'));
    app.key(Key::Esc);
    assert_eq!(app.rows.len(), 4);
}

#[test]
fn kill_asks_first_and_carries_the_message() {
    let mut app = app();
    assert_eq!(app.key(Key::Char('k')), Effect::None);
    assert!(matches!(app.mode, Mode::Confirm { id: 7, .. }));
    for c in "stuck".chars() {
        app.key(Key::Char(c));
    }
    let effect = app.key(Key::Enter);
    assert_eq!(
        effect,
        Effect::Control {
            action: Action::Terminate,
            endpoint: Endpoint::parse("b:2").unwrap(),
            id: 7,
            message: Some("stuck".into()),
        }
    );
    app.key(Key::Char('c'));
    assert_eq!(app.key(Key::Esc), Effect::None);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn unreachable_endpoints_keep_the_others() {
    let mut app = app();
    app.update(
        vec![(
            Endpoint::parse("b:2").unwrap(),
            Err("b:2: unreachable".into()),
        )],
        Instant::now(),
    );
    assert_eq!(app.rows.len(), 3);
    assert!(app.endpoints[1].result.is_err());
}

/// `edge -> api -> store`, each at an endpoint of its own, joined by span ids.
fn chain_app() -> App {
    use crate::fixtures::{aged, request};
    let names = ["edge:1", "api:2", "store:3"];
    let endpoints: Vec<Endpoint> = names.iter().map(|n| Endpoint::parse(n).unwrap()).collect();
    let mut app = App::new(&endpoints);
    let calls = |requests: Vec<Request>| list(requests);
    let mut slow = aged(request(3, "outbound", 0x30, Some(0x10)), 400.0, Some(1));
    slow.uri = "http://slownode:8484/blob/1".into();
    let answers = vec![
        (
            endpoints[0].clone(),
            Ok(calls(vec![
                aged(request(1, "inbound", 0x10, None), 900.0, None),
                aged(request(2, "outbound", 0x20, Some(0x10)), 890.0, Some(1)),
                slow,
            ])),
        ),
        (
            endpoints[1].clone(),
            Ok(calls(vec![
                aged(request(5, "inbound", 0x50, Some(0x20)), 880.0, None),
                aged(request(6, "outbound", 0x60, Some(0x50)), 870.0, Some(5)),
            ])),
        ),
        (
            endpoints[2].clone(),
            Ok(calls(vec![aged(
                request(9, "inbound", 0x90, Some(0x60)),
                860.0,
                None,
            )])),
        ),
    ];
    app.update(answers, Instant::now());
    app
}

fn tree(app: &App) -> Vec<(String, u64, String, bool)> {
    app.rows
        .iter()
        .map(|r| {
            (
                r.endpoint.name.clone(),
                r.request.id,
                r.prefix.clone(),
                r.holding,
            )
        })
        .collect()
}

#[test]
fn the_tree_joins_endpoints_and_t_flattens_it() {
    let mut app = chain_app();
    assert!(app.tree, "the tree is the default");
    assert_eq!(
        tree(&app),
        [
            ("edge:1".into(), 1, "".into(), false),
            ("edge:1".into(), 2, "├─ ".into(), false),
            ("api:2".into(), 5, "│  └─ ".into(), false),
            ("api:2".into(), 6, "│     └─ ".into(), false),
            ("store:3".into(), 9, "│        └─ ".into(), true),
            ("edge:1".into(), 3, "└─ ".into(), false),
        ]
    );
    // A filter keeps the path down to what matches.
    app.key(Key::Char('/'));
    for c in "store:3".chars() {
        app.key(Key::Char(c));
    }
    app.key(Key::Enter);
    assert_eq!(
        tree(&app).iter().map(|r| r.1).collect::<Vec<_>>(),
        [1, 2, 5, 6, 9]
    );
    app.key(Key::Char('/'));
    app.key(Key::Esc);
    app.key(Key::Char('t'));
    assert!(!app.tree);
    assert_eq!(
        ids(&app),
        [
            ("edge:1".into(), 1, 0),
            ("edge:1".into(), 2, 1),
            ("edge:1".into(), 3, 1),
            ("api:2".into(), 5, 0),
            ("api:2".into(), 6, 1),
            ("store:3".into(), 9, 0),
        ]
    );
    app.key(Key::Char('t'));
    assert_eq!(tree(&app).len(), 6);
    assert!(tree(&app)[4].3);
}

#[test]
fn u_shows_the_upstreams_and_any_key_goes_back() {
    let mut app = chain_app();
    assert_eq!(app.key(Key::Char('u')), Effect::None);
    assert_eq!(app.view, View::Upstreams);
    let groups: Vec<String> = app.upstreams().iter().map(|g| g.summary()).collect();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(
        groups[0].starts_with("2 -> store:3002, oldest 0.89s, 1 service"),
        "{groups:?}"
    );
    assert!(groups[1].starts_with("1 -> slownode:8484"), "{groups:?}");
    // No kill from there.
    assert_eq!(app.key(Key::Char('k')), Effect::None);
    assert_eq!((app.view, &app.mode), (View::Requests, &Mode::Normal));
    app.key(Key::Char('u'));
    assert_eq!(app.key(Key::Char('q')), Effect::Quit);
}

#[test]
fn late_endpoints_fail_until_they_answer_and_rediscovery_keeps_known_ones() {
    let mut app = app();
    let b = Endpoint::parse("b:2").unwrap();
    let asked = Instant::now();
    app.late(&b, asked);
    let now = asked + std::time::Duration::from_millis(2_500);
    assert_eq!(
        app.endpoints[1].failing(now).as_deref(),
        Some("b:2: no answer for 2.50s")
    );
    // Its last rows stay while it is late.
    assert_eq!(app.rows.len(), 4);
    app.record(&b, Ok(list(Vec::new())), now);
    app.rebuild();
    assert_eq!(app.endpoints[1].failing(now), None);
    assert_eq!(app.rows.len(), 3);

    // Found again: a stays with its rows, b leaves, c waits for its first answer.
    let c = Endpoint::parse("c:3").unwrap();
    app.set_endpoints(&[c, Endpoint::parse("a:1").unwrap()]);
    assert_eq!(app.endpoints.len(), 2);
    assert_eq!(app.endpoints[0].endpoint.name, "c:3");
    assert!(app.endpoints[0].failing(now).is_some());
    assert_eq!(app.rows.len(), 3);
}
