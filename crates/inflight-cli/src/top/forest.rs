//! How the rows of `inflight top` nest: as one call tree over every endpoint (the chains'
//! leaves marked, filtered without losing the path to a match), or flat with each
//! request's calls under it.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use super::rows::Row;
use crate::tree::{self, Listed};

/// `rows` as a tree: roots and siblings in `order`; a row shows when it or a row below
/// it matches `filter` (lowercase; empty for all).
pub(crate) fn tree_rows(
    rows: Vec<Row>,
    filter: &str,
    mut order: impl FnMut(&Row, &Row) -> Ordering,
) -> Vec<Row> {
    let (lines, shown) = {
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
        (lines, shown)
    };
    // Each row is moved to its place, not copied: a fleet brings tens of thousands.
    let mut rows: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    lines
        .into_iter()
        .zip(shown)
        .filter(|(_, shown)| *shown)
        .filter_map(|(line, _)| {
            let row = rows.get_mut(line.index)?.take()?;
            Some(Row {
                depth: u8::try_from(line.depth).unwrap_or(u8::MAX),
                prefix: line.prefix,
                holding: line.holding,
                ..row
            })
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
    // Children found through maps, not by scanning every row for each: a fleet of a
    // thousand endpoints brings tens of thousands of rows.
    let is_child: Vec<bool> = {
        let shown: HashSet<(&str, u64)> = all
            .iter()
            .map(|row| (row.endpoint.base.as_str(), row.request.id))
            .collect();
        all.iter()
            .map(|row| {
                row.request
                    .parent
                    .is_some_and(|parent| shown.contains(&(row.endpoint.base.as_str(), parent)))
            })
            .collect()
    };
    let mut top = Vec::with_capacity(all.len());
    let mut children: HashMap<(String, u64), Vec<Row>> = HashMap::new();
    for (mut row, child) in all.into_iter().zip(is_child) {
        match row.request.parent {
            Some(parent) if child => {
                row.depth = 1;
                children
                    .entry((row.endpoint.base.clone(), parent))
                    .or_default()
                    .push(row);
            }
            _ => top.push(row),
        }
    }
    top.sort_by(&mut order);
    let mut rows = Vec::with_capacity(top.len() + children.len());
    for parent in top {
        let mine = children.remove(&(parent.endpoint.base.clone(), parent.request.id));
        rows.push(parent);
        if let Some(mut mine) = mine {
            mine.sort_by(|a, b| b.request.elapsed_ms.total_cmp(&a.request.elapsed_ms));
            rows.extend(mine);
        }
    }
    rows
}
