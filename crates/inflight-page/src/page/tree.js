// One tree over the requests of many admin ports.
//
// An outbound call hangs under the inbound request it was made for (its `parent` id, same
// endpoint). With `across` on, an inbound request whose `parent_span_id` is the `span_id`
// of an outbound call seen at any endpoint hangs under that call: W3C Trace Context ties
// the services together. A request whose parent is nowhere to be seen is a root.

/** How deep a tree is drawn; deeper requests are shown at this depth. */
export const MAX_DEPTH = 32;

const spanKey = (req) => `${req.trace_id}/${req.span_id}`;

/**
 * The parent of every row that has one in view: a map from a row's key to its parent's.
 * `rows` are `{ ep, req, key }` with `key` = `label#id`.
 */
export function parents(rows, across) {
  const byKey = new Map(rows.map((row) => [row.key, row]));
  const calls = new Map();
  if (across) {
    for (const row of rows) {
      if (row.req.direction === 'outbound' && row.req.span_id) calls.set(spanKey(row.req), row);
    }
  }
  // Requests by span, per endpoint: an outbound call kept without its parent's id (a
  // finished one in a trace's ring) still names its parent's span.
  const local = new Map();
  for (const row of rows) {
    if (row.req.direction !== 'outbound' && row.req.span_id) local.set(`${row.ep.label}|${spanKey(row.req)}`, row);
  }
  const parentOf = new Map();
  for (const row of rows) {
    const req = row.req;
    let parent = req.parent == null ? null : byKey.get(`${row.ep.label}#${req.parent}`);
    if (!parent && req.direction === 'outbound' && req.parent_span_id) {
      parent = local.get(`${row.ep.label}|${req.trace_id}/${req.parent_span_id}`);
    }
    if (!parent && across && req.direction === 'inbound' && req.parent_span_id) {
      parent = calls.get(`${req.trace_id}/${req.parent_span_id}`);
    }
    if (parent && parent !== row) parentOf.set(row.key, parent.key);
  }
  // Ids from several processes could in theory loop; a loop is cut where it closes.
  for (const start of [...parentOf.keys()]) {
    const seen = new Set([start]);
    let at = start;
    while (parentOf.has(at)) {
      const up = parentOf.get(at);
      if (seen.has(up)) {
        parentOf.delete(at);
        break;
      }
      seen.add(up);
      at = up;
    }
  }
  return parentOf;
}

/**
 * The leaves holding chains up: for each root with requests under it, the deepest
 * request below it that has none in flight under itself (the oldest, when several are as
 * deep). Returns a map from the leaf's key to `{ root, depth }`.
 */
export function blockers(roots, childrenOf, age) {
  const found = new Map();
  for (const root of roots) {
    const kids = childrenOf.get(root.key);
    if (!kids || kids.length === 0) continue;
    let best = null;
    const visit = (row, depth) => {
      const below = depth < MAX_DEPTH ? childrenOf.get(row.key) || [] : [];
      if (below.length === 0 && depth > 0) {
        if (!best || depth > best.depth || (depth === best.depth && age(row) > age(best.row))) {
          best = { row, depth };
        }
      }
      for (const child of below) visit(child, depth + 1);
    };
    visit(root, 0);
    if (best) found.set(best.row.key, { root, depth: best.depth });
  }
  return found;
}
