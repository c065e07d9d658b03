//! `inflight top` in a real terminal: tmux runs it at 80x24 over two demos and an
//! unreachable endpoint, keys are typed into it, and the screen is read back after each:
//! rows of both endpoints, the unreachable one flagged, sorting by id, a filter, the
//! history pane, a terminate with a message, and the shell back as it was after `q`. Then
//! over three chained services: one call tree with the leaf holding it up highlighted,
//! the flat view on `t`, and the upstreams on `u`.

mod support;

use std::time::Duration;

use support::chain::Chain;
use support::cli::{
    HELD, PROMPT, Terminal, endpoint, hold_request, inflight_binary, listed, start_demo,
    wait_for_traffic,
};
use support::{eventually, free_port};

/// The rows of the table: the lines between the header and the rule under the table.
fn rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip(2)
        .take_while(|line| !line.starts_with('─'))
        .filter(|line| !line.trim().is_empty())
        .collect()
}

/// The id column of the rows that are not calls shown under their parent.
fn parent_ids(screen: &str) -> Vec<u64> {
    rows(screen)
        .iter()
        .filter_map(|row| {
            let mut cells = row.split_whitespace();
            cells.next()?;
            cells.next()?.parse().ok()
        })
        .collect()
}

/// The status bar: the line under the rule.
fn status_bar(screen: &str) -> &str {
    screen
        .lines()
        .skip_while(|line| !line.starts_with('─'))
        .nth(1)
        .unwrap_or_default()
}

/// The footer with the keys: the last line.
fn footer(screen: &str) -> &str {
    screen
        .lines()
        .rfind(|line| !line.trim().is_empty())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn top_sorts_filters_shows_history_and_terminates_in_a_real_terminal() {
    // The terminal first: installing tmux may take longer than the demos hold requests.
    let terminal = Terminal::start(80, 24);
    let (a, b) = (start_demo(HELD), start_demo(HELD));
    wait_for_traffic(&a).await;
    wait_for_traffic(&b).await;
    let held = hold_request(&a, 4242).await;
    let (name_a, name_b) = (endpoint(&a), endpoint(&b));
    let dead = format!("127.0.0.1:{}", free_port());
    let binary = inflight_binary().display().to_string();

    terminal.type_line(&format!(
        "{binary} top --refresh 250ms --endpoints {name_a},{name_b},{dead}; echo \"top exited\" \"$?\""
    ));

    // Both endpoints' rows, the unreachable one flagged in the status bar, the keys below.
    // All endpoints are on 127.0.0.1, so at 80 columns the HOST column shows `:port`.
    let port_label =
        |name: &str| format!(":{}", name.rsplit_once(':').map_or("", |(_, port)| port));
    let (label_a, label_b) = (port_label(&name_a), port_label(&name_b));
    let screen = terminal.wait_for("both endpoints' rows and the dead one flagged", |s| {
        let rows = rows(s);
        s.starts_with("inflight top  3 endpoints")
            && rows
                .iter()
                .any(|row| row.starts_with(&format!("{label_a} ")))
            && rows
                .iter()
                .any(|row| row.starts_with(&format!("{label_b} ")))
            && status_bar(s).starts_with(&format!("{dead} ✗ unreachable · "))
            && status_bar(s).contains(&format!("{name_a} ok ("))
    });
    // The bar is cut at 80 columns; the failing endpoint comes first so it stays in sight.
    assert!(
        status_bar(&screen).contains(&format!(" · {name_b} ok")),
        "{screen}"
    );
    for key in [
        "1-8 sort",
        "r reverse",
        "/ filter",
        "⏎ history",
        "k kill",
        "c cancel",
        "t flat",
        "u upstreams",
        "q quit",
    ] {
        assert!(
            footer(&screen).contains(key),
            "{key:?} in the footer:\n{screen}"
        );
    }
    let header = screen.lines().nth(1).unwrap_or_default();
    assert!(
        header.starts_with("HOST") && header.contains("AGE↓") && header.contains("STATUS"),
        "{screen}"
    );
    assert!(
        rows(&screen)
            .iter()
            .any(|row| row.contains(" in ") && row.contains("/fetch/"))
            && rows(&screen)
                .iter()
                .any(|row| row.contains("└─ ") && row.contains(" out ")),
        "requests with their calls under them, as a tree:\n{screen}"
    );

    // 2 sorts by id, lowest first; 2 again reverses.
    terminal.keys(&["2"]);
    let screen = terminal.wait_for("sorted by id", |s| {
        s.contains("sort: ID ↑") && s.lines().nth(1).is_some_and(|h| h.contains("ID↑"))
    });
    let ids = parent_ids(&screen);
    assert!(ids.len() >= 5, "{screen}");
    assert!(ids.windows(2).all(|w| w[0] <= w[1]), "{ids:?}\n{screen}");
    terminal.keys(&["2"]);
    let screen = terminal.wait_for("sorted by id, highest first", |s| {
        s.contains("sort: ID ↓") && s.lines().nth(1).is_some_and(|h| h.contains("ID↓"))
    });
    let ids = parent_ids(&screen);
    assert!(ids.windows(2).all(|w| w[0] >= w[1]), "{ids:?}\n{screen}");

    // / filters as you type; enter keeps the filter.
    terminal.keys(&["/"]);
    terminal.wait_for("the filter prompt", |s| footer(s).contains("enter keep"));
    terminal.type_text("fetch/4242");
    let screen = terminal.wait_for("only our request", |s| {
        s.contains("filter: fetch/4242") && rows(s).len() == 1
    });
    let cells: Vec<&str> = rows(&screen)[0].split_whitespace().collect();
    assert_eq!(
        cells[..3],
        [label_a.as_str(), &held.id.to_string(), "in"],
        "our request on {name_a}:\n{screen}"
    );
    assert!(screen.contains("1 requests (1 in, 0 out)"), "{screen}");
    terminal.keys(&["Enter"]);
    terminal.wait_for("the filter kept", |s| {
        s.contains("filter: fetch/4242") && footer(s).contains("q quit") && rows(s).len() == 1
    });

    // Enter opens the history pane of the selected request.
    terminal.keys(&["Enter"]);
    let screen = terminal.wait_for("the history pane", |s| {
        s.contains(&format!("#{} on {name_a} — esc to close", held.id))
            && s.contains("history:")
            && s.contains("awaiting slownode:")
    });
    for line in [
        format!("#{} inbound GET \"/fetch/4242\" on {name_a}", held.id),
        "attributes  blob=4242".to_owned(),
        format!("children    #{}", held.child),
        "in handler".to_owned(),
        "fetching blob".to_owned(),
    ] {
        assert!(screen.contains(&line), "{line:?} in the pane:\n{screen}");
    }
    assert!(footer(&screen).contains("esc close"), "{screen}");
    terminal.keys(&["Escape"]);
    terminal.wait_for("the pane closed", |s| {
        !s.contains("esc to close") && footer(s).contains("q quit")
    });

    // k asks first, takes a message, and terminates on enter.
    terminal.keys(&["k"]);
    terminal.wait_for("the confirmation", |s| {
        s.contains(&format!("Terminate #{} on {name_a}?", held.id))
            && s.contains("GET /fetch/4242")
            && footer(s).contains("enter yes")
    });
    terminal.type_text("stuck in the test");
    terminal.wait_for("the message typed", |s| {
        s.contains("message: stuck in the test")
    });
    terminal.keys(&["Enter"]);
    terminal.wait_for("the request gone", |s| {
        status_bar(s).contains(&format!("terminated #{} on {name_a}", held.id))
            && s.contains("no request matches the filter")
    });
    let answer = tokio::time::timeout(Duration::from_secs(10), held.answer)
        .await
        .expect("the caller got an answer at once")
        .expect("the request task");
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(
        answer.header(inflight::TERMINATED_HEADER),
        Some("stuck in the test"),
        "{answer:?}"
    );
    let admin = a.admin_client();
    eventually("the demo to no longer list it", || async {
        let requests = listed(&admin).await;
        (!requests.iter().any(|r| r["id"] == held.id)
            && requests.iter().any(|r| r["uri"] == "/fetch/0"))
        .then_some(())
    })
    .await;

    // Esc in the filter prompt clears it: everything is back.
    terminal.keys(&["/", "Escape"]);
    terminal.wait_for("the filter cleared", |s| {
        !s.contains("filter:")
            && rows(s)
                .iter()
                .any(|row| row.starts_with(&format!("{label_a} ")))
            && rows(s)
                .iter()
                .any(|row| row.starts_with(&format!("{label_b} ")))
    });

    // q: the shell is back, the screen as it was before top, the terminal cooked again.
    terminal.keys(&["q"]);
    let screen = terminal.wait_for("the shell again", |s| {
        s.lines().any(|line| line.starts_with("top exited "))
    });
    assert!(
        screen.lines().any(|line| line == "top exited 0"),
        "{screen}"
    );
    assert!(
        !screen.lines().any(|line| line.starts_with("inflight top")
            || line.contains("q quit")
            || line.starts_with('─')),
        "left the alternate screen:\n{screen}"
    );
    assert!(
        screen
            .lines()
            .next()
            .is_some_and(|line| line.starts_with(PROMPT)),
        "the command line as typed:\n{screen}"
    );
    terminal.type_line(
        "if stty -a | tr -s ' ;' '\\n\\n' | grep -q -x -e -icanon -e -echo; \
         then echo terminal: raw; else echo terminal: cooked; fi",
    );
    let screen = terminal.wait_for("the terminal modes", |s| {
        s.lines()
            .any(|line| line == "terminal: raw" || line == "terminal: cooked")
    });
    assert!(
        screen.lines().any(|line| line == "terminal: cooked"),
        "line mode and echo are back:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_shows_one_tree_across_services_the_upstreams_and_a_flat_view() {
    let terminal = Terminal::start(120, 24);
    let chain = Chain::start().await;
    let _held = chain.hold(1, "4bf92f3577b34da6a3ce929d0e0e4736").await;
    let binary = inflight_binary().display().to_string();
    terminal.type_line(&format!(
        "{binary} top --refresh 250ms --endpoints {}; echo \"top exited\" \"$?\"",
        chain.endpoints()
    ));

    // One chain over the three services, the store's request marked as holding it up.
    let expected = [
        (&chain.edge, "", "in"),
        (&chain.edge, "└─ ", "out"),
        (&chain.api, "   └─ ", "in"),
        (&chain.api, "      └─ ", "out"),
        (&chain.store, "         └─ ", "in"),
    ];
    let screen = terminal.wait_for("the chain as one tree", |s| {
        s.contains("  tree") && rows(s).len() == expected.len()
    });
    // Each row names its service, then its endpoint; the ids are drawn as a tree.
    let id_column = screen
        .lines()
        .nth(1)
        .and_then(|header| header.find("ID"))
        .expect("the header row");
    for (row, (service, prefix, direction)) in rows(&screen).iter().zip(expected) {
        let host = format!("{} {}", service.name, service.endpoint());
        assert!(row.starts_with(&host), "{host:?} starts {row:?}:\n{screen}");
        let id = &row[id_column..];
        assert!(
            id.starts_with(prefix),
            "{prefix:?} starts {id:?}:\n{screen}"
        );
        let cells: Vec<&str> = id[prefix.len()..].split_whitespace().collect();
        assert!(cells[0].parse::<u64>().is_ok(), "an id: {row:?}");
        assert!(row.contains(&format!(" {direction} ")), "{row:?}");
    }
    let marked: Vec<&str> = rows(&screen)
        .into_iter()
        .filter(|row| row.contains('◀'))
        .collect();
    assert_eq!(marked.len(), 1, "{screen}");
    assert!(
        marked[0].starts_with(&format!("store {}", chain.store.endpoint())),
        "{screen}"
    );
    assert!(marked[0].contains("reading blob"), "{screen}");
    // Highlighted: black on yellow.
    let colored = terminal.screen_with_colors();
    let line = colored
        .lines()
        .find(|line| line.contains('◀'))
        .unwrap_or_default();
    assert!(
        line.contains("[48;5;3m") || line.contains("[43m"),
        "a yellow background: {line:?}"
    );
    assert!(footer(&screen).contains("t flat"), "{screen}");

    // t: each request with its calls under it, per endpoint.
    terminal.keys(&["t"]);
    let screen = terminal.wait_for("the flat view", |s| {
        s.contains("  flat") && footer(s).contains("t tree")
    });
    let flat = rows(&screen);
    assert_eq!(flat.len(), 5, "{screen}");
    assert_eq!(
        flat.iter().filter(|row| row.contains("└ ")).count(),
        2,
        "the two calls under their requests:\n{screen}"
    );
    assert!(!screen.contains('◀'), "{screen}");

    // u: the calls in flight by target.
    terminal.keys(&["u"]);
    let screen = terminal.wait_for("the upstreams", |s| {
        s.lines().nth(1).is_some_and(|h| h.starts_with("CALLS"))
    });
    for (target, caller) in [(chain.api.api, "edge"), (chain.store.api, "api")] {
        assert!(
            screen.lines().any(|line| {
                let cells: Vec<&str> = line.split_whitespace().collect();
                cells.len() >= 4
                    && cells[0] == "1"
                    && cells[1] == target.to_string()
                    && cells[3] == caller
            }),
            "1 call to {target} from {caller}:\n{screen}"
        );
    }
    assert!(footer(&screen).contains("u requests"), "{screen}");
    terminal.keys(&["u"]);
    terminal.wait_for("the requests again", |s| {
        s.lines().nth(1).is_some_and(|h| h.starts_with("HOST")) && rows(s).len() == 5
    });
    terminal.keys(&["q"]);
    let screen = terminal.wait_for("the shell again", |s| {
        s.lines().any(|line| line.starts_with("top exited "))
    });
    assert!(
        screen.lines().any(|line| line == "top exited 0"),
        "{screen}"
    );
    chain.gate.open();
}
