//! One call tree over many endpoints, joined by trace context.
//!
//! An outbound call sits under the inbound request it was made for (its `parent` id at the
//! same endpoint); an inbound request whose `parent_span_id` is the `span_id` of an
//! outbound call sits under that call, wherever it was listed. A request whose parent is
//! nowhere to be seen is a root. Each chain's deepest request still in flight is the one
//! holding the others up, and is marked.
//!
//! Everything here is a pure function of what the endpoints listed, so bad data (cycles,
//! duplicate span ids, absurd depths) is tested directly: it never loops or panics.

use std::cmp::Ordering;
use std::collections::HashMap;

use inflight_wire::{Direction, Request};

/// Chains deeper than this are cut: the request below starts a tree of its own. Real call
/// chains are a handful of hops; the bound keeps bad data from making a tree whose
/// drawing or JSON nests without end.
pub(crate) const MAX_DEPTH: usize = 64;

/// One request as one endpoint listed it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Listed<'a> {
    /// The admin port that listed it.
    pub(crate) endpoint: &'a str,
    /// The service behind that port (the list's `service`).
    pub(crate) service: &'a str,
    pub(crate) request: &'a Request,
}

/// One line of the tree, in drawing order (each request before its children).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// Which of the listed requests.
    pub(crate) index: usize,
    /// 0 for a root.
    pub(crate) depth: usize,
    /// What to draw before the request: `│  ├─ `, `└─ `, ...; empty for a root.
    pub(crate) prefix: String,
    /// The deepest request still in flight of a chain of two or more: the one the others
    /// wait for.
    pub(crate) holding: bool,
}

/// The tree of `items` as lines: roots ordered by `order` (of two indexes into `items`),
/// and the children of each request by `order` too.
pub(crate) fn lines(
    items: &[Listed<'_>],
    mut order: impl FnMut(usize, usize) -> Ordering,
) -> Vec<Line> {
    let parents = parents(items);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    let mut roots = Vec::new();
    for (index, parent) in parents.iter().enumerate() {
        match parent {
            Some(parent) => children[*parent].push(index),
            None => roots.push(index),
        }
    }
    let mut by = |a: &usize, b: &usize| order(*a, *b);
    roots.sort_by(&mut by);
    for list in &mut children {
        list.sort_by(&mut by);
    }
    let mut lines = Vec::with_capacity(items.len());
    for root in roots {
        let first = lines.len();
        // Each entry: the request, its depth, its prefix, the prefix of its children.
        let mut stack = vec![(root, 0, String::new(), String::new())];
        while let Some((index, depth, prefix, inner)) = stack.pop() {
            lines.push(Line {
                index,
                depth,
                prefix,
                holding: false,
            });
            let count = children[index].len();
            // Pushed last child first, so the first child is drawn first.
            for (position, &child) in children[index].iter().enumerate().rev() {
                let last = position + 1 == count;
                stack.push((
                    child,
                    depth + 1,
                    format!("{inner}{}", if last { "└─ " } else { "├─ " }),
                    format!("{inner}{}", if last { "   " } else { "│  " }),
                ));
            }
        }
        mark_holding(items, &mut lines[first..]);
    }
    lines
}

/// Marks the deepest request of one tree (the oldest of the deepest, if several), when
/// the tree is a chain of two or more.
fn mark_holding(items: &[Listed<'_>], tree: &mut [Line]) {
    if tree.len() < 2 {
        return;
    }
    let deepest = tree
        .iter()
        .enumerate()
        .max_by(|(_, a), (_, b)| {
            a.depth.cmp(&b.depth).then_with(|| {
                let (a, b) = (items[a.index].request, items[b.index].request);
                a.elapsed_ms.total_cmp(&b.elapsed_ms)
            })
        })
        .map(|(position, _)| position);
    if let Some(position) = deepest {
        tree[position].holding = true;
    }
}

/// The parent of each item, if it is listed: no cycles, no chain deeper than
/// [`MAX_DEPTH`].
pub(crate) fn parents(items: &[Listed<'_>]) -> Vec<Option<usize>> {
    // The first of duplicates wins: bad data then makes a wrong tree, never a loop.
    let mut by_id: HashMap<(&str, u64), usize> = HashMap::new();
    let mut outbound_spans: HashMap<(&str, &str), usize> = HashMap::new();
    let mut inbound_spans: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let request = item.request;
        by_id.entry((item.endpoint, request.id)).or_insert(index);
        if request.span_id.is_empty() {
            continue;
        }
        if is_outbound(request) {
            outbound_spans
                .entry((&request.trace_id, &request.span_id))
                .or_insert(index);
        } else {
            inbound_spans
                .entry((item.endpoint, &request.trace_id, &request.span_id))
                .or_insert(index);
        }
    }
    let mut parents: Vec<Option<usize>> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let request = item.request;
            let span = request.parent_span_id.as_deref().filter(|s| !s.is_empty());
            let found = if is_outbound(request) {
                request
                    .parent
                    .and_then(|id| by_id.get(&(item.endpoint, id)))
                    .or_else(|| inbound_spans.get(&(item.endpoint, &request.trace_id, span?)))
            } else {
                span.and_then(|span| outbound_spans.get(&(&request.trace_id, span)))
            };
            found.copied().filter(|parent| *parent != index)
        })
        .collect();
    cut_cycles(&mut parents);
    cut_deep(&mut parents);
    parents
}

fn is_outbound(request: &Request) -> bool {
    request.direction == Direction::Outbound
}

/// Breaks every cycle of parent links by making one of its requests a root.
fn cut_cycles(parents: &mut [Option<usize>]) {
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        No,
        OnPath,
        Done,
    }
    let mut seen = vec![Seen::No; parents.len()];
    let mut path = Vec::new();
    for start in 0..parents.len() {
        let mut current = start;
        while seen[current] == Seen::No {
            seen[current] = Seen::OnPath;
            path.push(current);
            match parents[current] {
                Some(parent) if seen[parent] == Seen::OnPath => {
                    // Back on this walk's own path: a cycle; `current` becomes its root.
                    parents[current] = None;
                    break;
                }
                Some(parent) => current = parent,
                None => break,
            }
        }
        for index in path.drain(..) {
            seen[index] = Seen::Done;
        }
    }
}

/// Cuts chains deeper than [`MAX_DEPTH`]; needs a forest without cycles.
fn cut_deep(parents: &mut [Option<usize>]) {
    let mut depths: Vec<Option<usize>> = vec![None; parents.len()];
    let mut path = Vec::new();
    for start in 0..parents.len() {
        let mut current = start;
        // Up to a request whose depth is known, or a root.
        let mut depth = loop {
            if let Some(depth) = depths[current] {
                break depth;
            }
            match parents[current] {
                Some(parent) => {
                    path.push(current);
                    current = parent;
                }
                None => {
                    depths[current] = Some(0);
                    break 0;
                }
            }
        };
        // Then down again, giving each its depth.
        while let Some(index) = path.pop() {
            depth += 1;
            if depth > MAX_DEPTH {
                parents[index] = None;
                depth = 0;
            }
            depths[index] = Some(depth);
        }
    }
}

/// Oldest first, the order of `ls --tree`.
pub(crate) fn oldest_first<'a>(items: &'a [Listed<'_>]) -> impl Fn(usize, usize) -> Ordering + 'a {
    |a, b| {
        let (a, b) = (items[a].request, items[b].request);
        b.elapsed_ms.total_cmp(&a.elapsed_ms)
    }
}

/// Which lines to show so that every line matching `keep` shows, with the path from its
/// root down to it: a line shows when it or one of the lines below it matches.
pub(crate) fn with_ancestors(lines: &[Line], mut keep: impl FnMut(&Line) -> bool) -> Vec<bool> {
    let mut shown = vec![false; lines.len()];
    // below[d]: a line at depth d + 1 or deeper under the current line at depth d shows.
    let mut below = [false; MAX_DEPTH + 2];
    for (position, line) in lines.iter().enumerate().rev() {
        let depth = line.depth.min(MAX_DEPTH);
        let show = keep(line) || below[depth];
        below[depth] = false;
        shown[position] = show;
        if show && depth > 0 {
            below[depth - 1] = true;
        }
    }
    shown
}

#[cfg(test)]
mod tests;
