// The Requests tab: every request in flight at every endpoint in one table, children
// under their parents, sorted and filtered; ages tick between polls.

import { control } from './actions.js';
import { openDetail } from './detail.js';
import { attributesText, dirShort, duration, el, setText } from './format.js';
import { $, clock, endpoints, SLOW_MS, state, STUCK_MS } from './state.js';
import { openTrace } from './trace-tab.js';
import { blockers, MAX_DEPTH, parents } from './tree.js';

// Requests: one row view per request, kept between renders and updated in place, so
// rows do not flicker and clicks land on the element they were aimed at.
export const rowViews = new Map();

const rowAge = (row, now) => row.req.elapsed_ms + Math.max(0, now - row.ep.receivedAt);

const rowInStatus = (row, now) => row.req.status_elapsed_ms + Math.max(0, now - row.ep.receivedAt);

const target = (req) => (state.showRoute ? req.route || req.uri : req.uri);

const SORT_KEYS = {
  host: (row) => row.ep.label,
  id: (row) => row.req.id,
  direction: (row) => row.req.direction,
  age: (row, now) => rowAge(row, now),
  in_status: (row, now) => rowInStatus(row, now),
  status: (row) => row.req.status,
  method: (row) => row.req.method,
  target: (row) => target(row.req),
  attributes: (row) => attributesText(row.req),
};

function compareRows(now) {
  const key = SORT_KEYS[state.sort.key] || SORT_KEYS.age;
  const sign = state.sort.desc ? -1 : 1;
  const compare = (a, b) => (typeof a === 'number' && typeof b === 'number'
    ? a - b
    : String(a).localeCompare(String(b), undefined, { numeric: true }));
  return (a, b) => sign * compare(key(a, now), key(b, now)) ||
    rowAge(b, now) - rowAge(a, now) ||
    a.ep.label.localeCompare(b.ep.label) ||
    a.req.id - b.req.id;
}

function searchText(row, now) {
  const req = row.req;
  return [
    row.ep.label, `#${req.id}`, req.direction, dirShort(req.direction),
    duration(rowAge(row, now)), duration(rowInStatus(row, now)), req.status, req.method,
    req.uri, req.route || '', attributesText(req), req.response_status || '',
    req.cancel_requested ? 'cancelling' : '', req.control_message || '', req.trace_id || '',
    row.holding ? 'holding up the chain' : '',
  ].join('\n').toLowerCase();
}

/** The rows to show, in order, each with its depth: children right under their parent. */
function orderedRows(now) {
  const rows = [];
  for (const ep of endpoints) {
    if (ep.state !== 'ok' || !ep.list) continue;
    for (const req of ep.list.requests) rows.push({ ep, req, key: `${ep.label}#${req.id}` });
  }
  const byKey = new Map(rows.map((row) => [row.key, row]));
  const parentOf = parents(rows, state.tree);
  const children = new Map();
  const roots = [];
  for (const row of rows) {
    const parent = parentOf.get(row.key);
    if (parent) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(byKey.get(row.key));
    } else {
      roots.push(row);
    }
  }
  const held = state.tree ? blockers(roots, children, (row) => rowAge(row, now)) : new Map();
  for (const row of rows) {
    row.holding = held.get(row.key) || null;
    row.parentKey = parentOf.get(row.key) || null;
  }
  const needle = state.filter.trim().toLowerCase();
  const shown = new Map();
  const visit = (row, depth) => {
    row.match = !needle || searchText(row, now).includes(needle);
    let keep = row.match;
    for (const child of depth < MAX_DEPTH ? children.get(row.key) || [] : []) {
      if (visit(child, depth + 1)) keep = true;
    }
    shown.set(row.key, keep);
    return keep;
  };
  for (const row of roots) visit(row, 0);
  const compare = compareRows(now);
  const out = [];
  const emit = (list, depth) => {
    for (const row of list.filter((r) => shown.get(r.key)).sort(compare)) {
      out.push({ row, depth });
      if (depth < MAX_DEPTH) emit(children.get(row.key) || [], depth + 1);
    }
  };
  emit(roots, 0);
  return { out, total: rows };
}

function rowView(key) {
  const cells = {};
  const td = (name, cls) => (cells[name] = el('td', { class: cls }));
  const tr = el('tr', {}, td('host', 'host'), td('id', 'num id'), td('dir', 'dir'), td('age', 'num age'),
    td('inStatus', 'num in-status'), td('status', 'status'), td('method', 'method'),
    td('target', 'target'), td('attrs', 'attrs'), td('trace', 'trace'), td('actions', 'actions'));
  const view = { key, tr, cells, row: null, sig: {} };
  cells.dirChip = el('span', { class: 'chip' });
  cells.dir.append(cells.dirChip);
  cells.statusText = el('span', { class: 'status-text' });
  cells.statusTags = el('span', { class: 'tags' });
  cells.holding = el('span', { class: 'tag holding', hidden: true });
  cells.status.append(cells.statusText, cells.statusTags, cells.holding);
  cells.traceButton = el('button', {
    type: 'button',
    class: 'link trace-id',
    onclick: (event) => {
      event.stopPropagation();
      openTrace(view.row.req.trace_id);
    },
  });
  cells.trace.append(cells.traceButton);
  cells.tree = el('span', { class: 'tree', 'aria-hidden': 'true' });
  cells.targetText = el('span', { class: 'target-text' });
  cells.target.append(cells.tree, cells.targetText);
  const button = (cls, text, action) => el('button', {
    type: 'button',
    class: `act ${cls}`,
    text,
    onclick: (event) => {
      event.stopPropagation();
      control(view.row.ep, view.row.req, action, rowAge(view.row, clock()));
    },
  });
  cells.cancel = button('cancel', 'cancel', 'cancel');
  cells.kill = button('kill', 'terminate', 'terminate');
  cells.actions.append(cells.cancel, cells.kill);
  tr.addEventListener('click', () => openDetail(view.row.ep, view.row.req.id));
  return view;
}

function updateRowView(view, row, depth, now) {
  view.row = row;
  const { req, ep } = row;
  const { tr, cells } = view;
  tr.dataset.endpoint = ep.label;
  tr.dataset.id = String(req.id);
  tr.dataset.depth = String(depth);
  if (req.parent != null && depth > 0) tr.dataset.parent = String(req.parent);
  else delete tr.dataset.parent;
  if (row.parentKey && depth > 0) tr.dataset.parentKey = row.parentKey;
  else delete tr.dataset.parentKey;
  tr.dataset.trace = req.trace_id || '';
  tr.classList.toggle('holding', Boolean(row.holding));
  cells.holding.hidden = !row.holding;
  setText(cells.traceButton, (req.trace_id || '').slice(0, 8));
  cells.traceButton.title = req.trace_id ? `trace ${req.trace_id}: click for its timeline` : '';
  tr.classList.toggle('child', depth > 0);
  tr.classList.toggle('context', !row.match);
  tr.classList.toggle('cancelling', Boolean(req.cancel_requested));
  tr.classList.toggle('selected', Boolean(state.detail && state.detail.key === row.key));
  setText(cells.host, ep.label);
  const list = ep.list;
  cells.host.title = `${list.service} on ${list.host}, pid ${list.pid}`;
  setText(cells.id, `#${req.id}`);
  const short = dirShort(req.direction);
  setText(cells.dirChip, short);
  cells.dirChip.className = `chip ${short}`;
  setText(cells.statusText, req.status);
  cells.status.classList.toggle('warn', /not reading/i.test(req.status));
  const tags = [];
  if (req.response_status != null) tags.push([`${req.response_status}`, req.response_status >= 500 ? 'code bad' : 'code']);
  if (req.cancel_requested) tags.push(['cancelling', 'cancel']);
  if (req.past_deadline) tags.push(['past deadline', 'code bad']);
  if (req.orphan) tags.push(['orphan', 'code bad']);
  const tagSig = JSON.stringify(tags);
  if (view.sig.tags !== tagSig) {
    view.sig.tags = tagSig;
    cells.statusTags.replaceChildren(...tags.map(([text, cls]) => el('span', { class: `tag ${cls}`, text })));
  }
  setText(cells.method, req.method);
  setText(cells.tree, depth > 0 ? `${'  '.repeat(depth - 1)}└ ` : '');
  setText(cells.targetText, target(req));
  cells.target.title = [req.uri, req.route ? `route ${req.route}` : '', req.version, req.peer ? `from ${req.peer}` : '']
    .filter(Boolean).join('\n');
  const attrs = attributesText(req);
  if (view.sig.attrs !== attrs) {
    view.sig.attrs = attrs;
    cells.attrs.replaceChildren(...Object.entries(req.attributes || {})
      .map(([k, v]) => el('span', { class: 'attr' }, el('span', { class: 'k', text: k }), '=', v)));
  }
  const forbidden = Boolean(req.cancel_forbidden);
  for (const button of [cells.cancel, cells.kill]) {
    button.disabled = forbidden;
    button.title = forbidden ? 'this request forbids cancelling and terminating' : '';
  }
  cells.cancel.title = forbidden ? cells.cancel.title : 'ask it to stop; terminated after a grace period';
  cells.kill.title = forbidden ? cells.kill.title : 'drop it now';
  tick(view, now);
}

export function tick(view, now) {
  const age = rowAge(view.row, now);
  if (view.row.holding) {
    // The leaf everyone above it waits for: which service, and for how long.
    setText(view.cells.holding, `holding up the chain · ${view.row.ep.list.service} · ${duration(age)}`);
  }
  setText(view.cells.age, duration(age));
  setText(view.cells.inStatus, duration(rowInStatus(view.row, now)));
  view.tr.classList.toggle('slow', age >= SLOW_MS && age < STUCK_MS);
  view.tr.classList.toggle('stuck', age >= STUCK_MS);
}

export function renderRequests() {
  const now = clock();
  const { out, total } = orderedRows(now);
  const tbody = $('requests').tBodies[0];
  const seen = new Set();
  let cursor = tbody.firstChild;
  for (const { row, depth } of out) {
    let view = rowViews.get(row.key);
    if (!view) {
      view = rowView(row.key);
      rowViews.set(row.key, view);
    }
    updateRowView(view, row, depth, now);
    seen.add(row.key);
    if (view.tr === cursor) cursor = cursor.nextSibling;
    else tbody.insertBefore(view.tr, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
  for (const key of [...rowViews.keys()]) if (!seen.has(key)) rowViews.delete(key);

  for (const th of $('requests').tHead.rows[0].cells) {
    const key = th.dataset.sort;
    if (!key) continue;
    const active = key === state.sort.key;
    th.classList.toggle('sorted', active);
    th.dataset.dir = active ? (state.sort.desc ? 'desc' : 'asc') : '';
    th.setAttribute('aria-sort', active ? (state.sort.desc ? 'descending' : 'ascending') : 'none');
  }
  setText($('target-header'), state.showRoute ? 'route' : 'URL');

  const inbound = total.filter((r) => r.req.direction === 'inbound');
  const oldest = inbound.reduce((max, r) => Math.max(max, rowAge(r, now)), 0);
  const matching = out.filter((o) => o.row.match).length;
  const ok = endpoints.filter((ep) => ep.state === 'ok').length;
  const work = total.filter((r) => r.req.direction === 'work').length;
  const parts = [
    `${total.length} in flight`,
    `${inbound.length} inbound`,
    `${total.length - inbound.length - work} outbound`,
  ];
  if (work) parts.push(`${work} work`);
  if (inbound.length) parts.push(`oldest inbound ${duration(oldest)}`);
  parts.push(`${ok} of ${endpoints.length} endpoint${endpoints.length === 1 ? '' : 's'} answering`);
  if (state.filter.trim()) parts.push(`${matching} match “${state.filter.trim()}”`);
  setText($('summary'), parts.join(' · '));
  setText($('count-requests'), String(total.length));

  const empty = $('requests-empty');
  empty.hidden = out.length > 0;
  if (!out.length) {
    setText(empty, total.length
      ? 'No request matches the filter.'
      : ok ? 'Nothing in flight.' : 'No endpoint answers yet.');
  }
}
