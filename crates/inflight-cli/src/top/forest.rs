//! How the rows of `inflight top` nest: as one call tree over every endpoint (the chains'
//! leaves marked, filtered without losing the path to a match), or flat with each
//! request's calls under it.

use std::cmp::Ordering;

use super::rows::Row;
use crate::tree::{self, Listed};

/// `rows` as a tree: roots and siblings in `order`; a row shows when it or a row below
/// it matches `filter` (lowercase; empty for all).
pub(crate) fn tree_rows(
    rows: Vec<Row>,
    filter: &str,
    mut order: impl FnMut(&Row, &Row) -> Ordering,
) -> Vec<Row> {
    let items: Vec<Listed<'_>> = rows
        .iter()
        .map(|row| Listed {
            endpoint: &row.endpoint.name,
            service: &row.service,
            request: &row.request,
        })
        .collect();
    let lines = tree::lines(&items, |a, b| order(&rows[a], &rows[b]));
    let shown = tree::with_ancestors(&lines, |line| {
        filter.is_empty() || rows[line.index].text().contains(filter)
    });
    lines
        .into_iter()
        .zip(shown)
        .filter(|(_, shown)| *shown)
        .map(|(line, _)| Row {
            depth: u8::try_from(line.depth).unwrap_or(u8::MAX),
            prefix: line.prefix,
            holding: line.holding,
            ..rows[line.index].clone()
        })
        .collect()
}

/// Each request with its outbound calls under it (one level), the rest in `order`;
/// only the rows matching `filter`.
pub(crate) fn flat_rows(
    rows: Vec<Row>,
    filter: &str,
    mut order: impl FnMut(&Row, &Row) -> Ordering,
) -> Vec<Row> {
    let all: Vec<Row> = rows
        .into_iter()
        .filter(|row| filter.is_empty() || row.text().contains(filter))
        .collect();
    let is_child_shown = |row: &Row| {
        row.request.parent.is_some_and(|parent| {
            all.iter()
                .any(|other| other.endpoint == row.endpoint && other.request.id == parent)
        })
    };
    let (children, mut top): (Vec<Row>, Vec<Row>) = all.iter().cloned().partition(is_child_shown);
    top.sort_by(&mut order);
    let mut rows = Vec::with_capacity(all.len());
    for parent in top {
        let mut mine: Vec<Row> = children
            .iter()
            .filter(|c| {
                c.endpoint == parent.endpoint && c.request.parent == Some(parent.request.id)
            })
            .cloned()
            .map(|mut c| {
                c.depth = 1;
                c
            })
            .collect();
        mine.sort_by(|a, b| b.request.elapsed_ms.total_cmp(&a.request.elapsed_ms));
        rows.push(parent);
        rows.extend(mine);
    }
    rows
}
