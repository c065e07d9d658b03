//! `inflight ls --tree`: the requests of every endpoint as one call tree.

use std::time::Duration;

use inflight_wire::{Request, RequestList};
use serde::Serialize;

use super::{LsError, all_answered, fetch_lists};
use crate::Failure;
use crate::client::Api;
use crate::endpoints::Endpoint;
use crate::render::{TextTable, ms};
use crate::tree::{self, Line, Listed};

/// Every request the endpoints listed, with their endpoint and service, and the errors of
/// those that failed.
pub(crate) fn listed(
    lists: &[(Endpoint, Result<RequestList, String>)],
) -> (Vec<Listed<'_>>, Vec<LsError<'_>>) {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (endpoint, list) in lists {
        match list {
            Ok(list) => items.extend(list.requests.iter().map(|request| Listed {
                endpoint: &endpoint.name,
                service: &list.origin.service,
                request,
            })),
            Err(error) => errors.push(LsError {
                endpoint: &endpoint.name,
                error,
            }),
        }
    }
    (items, errors)
}

/// One request of the JSON tree.
#[derive(Serialize)]
struct Node<'a> {
    endpoint: &'a str,
    service: &'a str,
    /// The deepest request of its chain: the one the others wait for.
    holding_up: bool,
    request: &'a Request,
    children: Vec<Node<'a>>,
}

#[derive(Serialize)]
struct TreeJson<'a> {
    trees: Vec<Node<'a>>,
    errors: Vec<LsError<'a>>,
}

/// The nested form of `lines` (each line's parent is the closest line above it that is
/// one level less deep).
fn nest<'a>(items: &[Listed<'a>], lines: &[Line]) -> Vec<Node<'a>> {
    let mut roots = Vec::new();
    // The open path from a root down to the last line.
    let mut path: Vec<Node<'a>> = Vec::new();
    let close = |path: &mut Vec<Node<'a>>, roots: &mut Vec<Node<'a>>| {
        if let Some(node) = path.pop() {
            match path.last_mut() {
                Some(parent) => parent.children.push(node),
                None => roots.push(node),
            }
        }
    };
    for line in lines {
        while path.len() > line.depth {
            close(&mut path, &mut roots);
        }
        let item = items[line.index];
        path.push(Node {
            endpoint: item.endpoint,
            service: item.service,
            holding_up: line.holding,
            request: item.request,
            children: Vec::new(),
        });
    }
    while !path.is_empty() {
        close(&mut path, &mut roots);
    }
    roots
}

/// The lines of the trees whose root is at least `min_age` old.
fn trees(items: &[Listed<'_>], min_age: Option<Duration>) -> Vec<Line> {
    let mut lines = tree::lines(items, tree::oldest_first(items));
    if let Some(age) = min_age {
        let min_ms = age.as_secs_f64() * 1000.0;
        let mut keep = false;
        lines.retain(|line| {
            if line.depth == 0 {
                keep = items[line.index].request.elapsed_ms >= min_ms;
            }
            keep
        });
    }
    lines
}

/// What the tree's text says of the request holding up its chain.
pub(crate) fn holding_mark(item: &Listed<'_>) -> String {
    format!(
        "◀ holding up the chain: {} for {}",
        item.service,
        ms(item.request.elapsed_ms)
    )
}

/// The tree as text, one request per line.
fn render(items: &[Listed<'_>], lines: &[Line]) -> String {
    let mut table = TextTable::new(
        &[
            "REQUEST", "SERVICE", "DIR", "AGE", "STATUS", "METHOD", "URL", "",
        ],
        &[3],
    );
    for line in lines {
        let item = &items[line.index];
        let request = item.request;
        table.row(vec![
            format!("{}{} #{}", line.prefix, item.endpoint, request.id),
            item.service.to_owned(),
            crate::render::direction(request).to_owned(),
            ms(request.elapsed_ms),
            crate::render::status(request),
            request.method.clone(),
            request.uri.clone(),
            if line.holding {
                holding_mark(item)
            } else {
                String::new()
            },
        ]);
    }
    table.render()
}

pub(crate) async fn ls_tree(
    api: &Api,
    endpoints: &[Endpoint],
    json: bool,
    min_age: Option<Duration>,
) -> Result<(), Failure> {
    let lists = fetch_lists(api, endpoints, "/requests").await;
    let (items, errors) = listed(&lists);
    let lines = trees(&items, min_age);
    if json {
        let out = TreeJson {
            trees: nest(&items, &lines),
            errors,
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        out!("{}", render(&items, &lines));
        for error in &errors {
            eprintln!("inflight: {}", error.error);
        }
    }
    let failed = lists.iter().filter(|(_, list)| list.is_err()).count();
    all_answered(failed, endpoints.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{aged, request};

    #[test]
    fn nests_and_draws_the_chain() {
        let requests = [
            (
                "edge:1",
                aged(request(1, "inbound", 0xa, None), 2000.0, None),
            ),
            (
                "edge:1",
                aged(request(2, "outbound", 0xb, Some(0xa)), 1900.0, Some(1)),
            ),
            (
                "api:2",
                aged(request(5, "inbound", 0xc, Some(0xb)), 1800.0, None),
            ),
            ("api:2", aged(request(8, "inbound", 0x8, None), 100.0, None)),
        ];
        let items: Vec<Listed<'_>> = requests
            .iter()
            .map(|(endpoint, request)| Listed {
                endpoint,
                service: endpoint.split(':').next().unwrap_or_default(),
                request,
            })
            .collect();
        let lines = trees(&items, None);
        let nested = nest(&items, &lines);
        assert_eq!(nested.len(), 2);
        assert_eq!(nested[0].request.id, 1);
        assert_eq!(nested[0].children[0].request.id, 2);
        let leaf = &nested[0].children[0].children[0];
        assert_eq!(
            (leaf.endpoint, leaf.request.id, leaf.holding_up),
            ("api:2", 5, true)
        );
        assert!(leaf.children.is_empty());
        assert_eq!(nested[1].request.id, 8);

        let text = render(&items, &lines);
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows[0].starts_with("REQUEST"), "{text}");
        assert!(rows[1].starts_with("edge:1 #1 "), "{text}");
        assert!(rows[2].starts_with("└─ edge:1 #2 "), "{text}");
        assert!(rows[3].starts_with("   └─ api:2 #5 "), "{text}");
        assert!(
            rows[3].ends_with("◀ holding up the chain: api for 1.80s"),
            "{text}"
        );
        assert!(rows[4].starts_with("api:2 #8 "), "{text}");

        let old = trees(&items, Some(Duration::from_secs(1)));
        assert_eq!(
            old.len(),
            3,
            "the young tree is left out, not the young children"
        );
    }
}
