// The web page of the inflight admin port.
//
// It polls the admin ports named in `?endpoints=host:port,...` (default: the one that
// served it), shows every request in flight of all of them in one table, and terminates
// or cancels them. Ages tick between polls from each list's own numbers (elapsed_ms at
// server_time, plus the local time since the answer came), so no clock skew shows.
//
// Everything a server sends goes into the page as text (textContent, never markup).

import { ask, toast } from './dialog.js';
import { call, CallError } from './endpoints.js';
import { attributesText, bytes, duration, el, latency, localTime, setText } from './format.js';
import { $, clock, endpoints, killToken, readToken, SLOW_MS, state, STUCK_MS, TICK_MS, tokens } from './state.js';
import { hops, timeline } from './trace.js';
import { blockers, MAX_DEPTH, parents } from './tree.js';

function failure(ep, error) {
  ep.hint = error.hint || '';
  if (error.kind === 'unreachable') {
    ep.state = 'unreachable';
    ep.reason = error.message;
  } else if (error.status === 401) {
    ep.state = 'auth';
    ep.reason = error.message;
  } else {
    ep.state = 'error';
    ep.reason = error.status ? `HTTP ${error.status}: ${error.message}` : error.message;
  }
}

async function pollList(ep) {
  if (!ep.base || ep.busy) return;
  ep.busy = true;
  const started = performance.now();
  try {
    const list = await call(ep, 'GET', 'requests', { token: readToken(ep) });
    if (!Array.isArray(list.requests)) throw new CallError('http', 'the answer has no list of requests');
    ep.list = list;
    ep.receivedAt = performance.now();
    ep.took = ep.receivedAt - started;
    ep.state = 'ok';
    ep.reason = '';
    ep.hint = '';
    if (!state.interval) state.pausedAt = Math.max(state.pausedAt, ep.receivedAt);
  } catch (error) {
    ep.list = null;
    failure(ep, error);
    if (error.status === 401) askReadToken(ep, false);
  } finally {
    ep.busy = false;
    changed();
  }
}

async function pollReport(ep, kind) {
  if (!ep.base || ep[`${kind}Busy`]) return;
  ep[`${kind}Busy`] = true;
  try {
    const report = await call(ep, 'GET', kind, { token: readToken(ep) });
    ep[kind] = { report, receivedAt: performance.now(), error: null };
  } catch (error) {
    ep[kind] = { report: null, receivedAt: performance.now(), error };
  } finally {
    ep[`${kind}Busy`] = false;
    changed();
  }
}

async function pollDetail() {
  const detail = state.detail;
  if (!detail || detail.finished || detail.gone || detail.busy) return;
  detail.busy = true;
  try {
    const reply = await call(detail.ep, 'GET', `requests/${detail.id}`, { token: readToken(detail.ep) });
    detail.request = reply.request;
    detail.receivedAt = performance.now();
    detail.error = null;
  } catch (error) {
    if (error.status === 404) detail.gone = true;
    else detail.error = error.message;
  } finally {
    detail.busy = false;
    if (state.detail === detail) renderDetail();
  }
}

let timer = null;

function cycle() {
  clearTimeout(timer);
  for (const ep of endpoints) pollList(ep);
  pollTab();
  pollDetail();
  if (state.interval) timer = setTimeout(cycle, state.interval);
}

function pollTab() {
  if (state.tab === 'recent' || state.tab === 'profile') {
    for (const ep of endpoints) pollReport(ep, state.tab);
  }
  if (state.tab === 'trace') for (const ep of endpoints) pollTrace(ep);
}

/** `GET /traces/{id}` of one endpoint, for the trace shown. */
async function pollTrace(ep) {
  const trace = state.trace;
  if (!trace || !ep.base || trace.busy.has(ep.label)) return;
  trace.busy.add(ep.label);
  try {
    const reply = await call(ep, 'GET', `traces/${encodeURIComponent(trace.id)}`, { token: readToken(ep) });
    trace.answers.set(ep.label, { ep, reply, receivedAt: performance.now(), error: null });
  } catch (error) {
    trace.answers.set(ep.label, { ep, reply: null, receivedAt: performance.now(), error });
  } finally {
    trace.busy.delete(ep.label);
    if (state.trace === trace) changed();
  }
}

function openTrace(id) {
  if (!id) return;
  state.trace = { id, answers: new Map(), busy: new Set(), signature: '' };
  $('tab-trace').hidden = false;
  setTab('trace');
}

async function askReadToken(ep, force) {
  if (ep.askedRead && !force) return;
  ep.askedRead = true;
  const values = await ask({
    title: `Read token for ${ep.label}`,
    text: 'This admin port needs a bearer token to show its requests. It is kept for this browser tab only.',
    error: ep.reason,
    fields: [{ name: 'token', label: 'read token', type: 'password' }],
    check: endpoints.length > 1 ? { name: 'all', label: 'use it for every endpoint' } : null,
    ok: 'Use token',
  });
  if (!values || !values.token) return;
  for (const target of values.all ? endpoints : [ep]) {
    tokens.set(target, 'read', values.token);
    // A wrong token brings the question back once more.
    target.askedRead = false;
    pollList(target);
  }
}

/** Terminate (`DELETE`) or cancel (`POST .../cancel`) one request, asking first. */
async function control(ep, request, action, ageMs) {
  const cancel = action === 'cancel';
  const fields = [{
    name: 'message',
    label: cancel ? 'message (optional, kept with the request)' : 'message (optional, kept with the request and told to its client)',
    placeholder: 'why',
    maxlength: 1024,
  }];
  if (cancel) fields.push({ name: 'grace', label: 'terminate it if still running after (default 5s)', placeholder: '5s' });
  const values = await ask({
    title: `${cancel ? 'Cancel' : 'Terminate'} #${request.id} on ${ep.label}?`,
    text: `${request.method} ${request.uri} — ${request.status}, ${duration(ageMs ?? request.elapsed_ms)} in flight` +
      (cancel ? '. The handler is asked to stop; it is terminated after the grace period.' : '. Its work is dropped now.'),
    fields,
    ok: cancel ? 'Cancel request' : 'Terminate',
    danger: !cancel,
  });
  if (!values) return;
  const body = {};
  if (values.message) body.message = values.message;
  if (cancel && values.grace) body.grace = values.grace;
  const path = cancel ? `requests/${request.id}/cancel` : `requests/${request.id}`;
  let token = killToken(ep);
  for (;;) {
    try {
      await call(ep, cancel ? 'POST' : 'DELETE', path, { token, body });
      toast(cancel ? `asked #${request.id} on ${ep.label} to cancel` : `terminated #${request.id} on ${ep.label}`, 'ok');
      if (ep.list) {
        if (cancel) {
          ep.list.requests = ep.list.requests.map((r) => (r.id === request.id ? { ...r, cancel_requested: true } : r));
        } else {
          // Its outbound calls end with it.
          ep.list.requests = ep.list.requests.filter((r) => r.id !== request.id && r.parent !== request.id);
        }
      }
      changed();
      pollList(ep);
      return;
    } catch (error) {
      const tokenTrouble = error.status === 401 || (error.status === 403 && !request.cancel_forbidden);
      if (!tokenTrouble) {
        const text = error.status === 404
          ? `#${request.id} on ${ep.label} is no longer in flight`
          : `${action} #${request.id} on ${ep.label} failed: ${error.message}`;
        toast(text, error.status === 404 ? '' : 'error');
        pollList(ep);
        return;
      }
      const entered = await ask({
        title: `Kill token for ${ep.label}`,
        text: `Terminating and cancelling on this admin port needs its kill token. It is kept for this browser tab only.`,
        error: error.message,
        fields: [{ name: 'token', label: 'kill token', type: 'password' }],
        check: endpoints.length > 1 ? { name: 'all', label: 'use it for every endpoint' } : null,
        ok: 'Retry',
      });
      if (!entered || !entered.token) {
        toast(`not done: ${error.message}`, 'error');
        return;
      }
      for (const target of entered.all ? endpoints : [ep]) tokens.set(target, 'kill', entered.token);
      token = entered.token;
    }
  }
}

let renderQueued = false;

function changed() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => {
    renderQueued = false;
    render();
  }, 16);
}

function render() {
  renderEndpoints();
  renderRequests();
  if (state.tab === 'recent') renderRecent();
  if (state.tab === 'profile') renderProfile();
  if (state.tab === 'trace') renderTrace();
  renderFooter();
}

const STATE_TEXT = { ok: 'ok', pending: 'connecting', unreachable: 'unreachable', error: 'error', auth: 'token needed' };

function renderEndpoints() {
  const box = $('endpoints');
  const badges = endpoints.map((ep) => {
    const list = ep.list;
    let detail = ep.reason;
    let title = ep.hint || ep.reason;
    if (ep.state === 'ok' && list) {
      const inbound = list.requests.filter((r) => r.direction === 'inbound').length;
      detail = `${list.service} · pid ${list.pid} · ${inbound} in / ${list.requests.length - inbound} out · ${Math.round(ep.took)}ms`;
      title = `${list.service} on ${list.host}, pid ${list.pid}; answered in ${Math.round(ep.took)}ms`;
    }
    const badge = el('button', {
      type: 'button',
      class: `badge ${ep.state}`,
      dataset: { endpoint: ep.label, state: ep.state },
      title: title || undefined,
      onclick: () => {
        if (ep.state === 'auth') askReadToken(ep, true);
        else if (ep.state === 'ok') setFilter(state.filter === ep.label ? '' : ep.label);
      },
    },
    el('span', { class: 'dot', 'aria-hidden': 'true' }),
    el('span', { class: 'name', text: ep.label }),
    el('span', { class: 'state', text: STATE_TEXT[ep.state] || ep.state }),
    detail ? el('span', { class: 'why', text: detail }) : null);
    return badge;
  });
  // Rebuilt only when it reads differently, so a click on a badge is never lost.
  const signature = badges.map((b) => b.dataset.state + b.textContent + b.title).join('\n');
  if (box.dataset.signature !== signature) {
    box.dataset.signature = signature;
    box.replaceChildren(...badges);
  }
}

// Requests: one row view per request, kept between renders and updated in place, so
// rows do not flicker and clicks land on the element they were aimed at.
const rowViews = new Map();

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
    row.ep.label, `#${req.id}`, req.direction, req.direction === 'inbound' ? 'in' : 'out',
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
  const inbound = req.direction === 'inbound';
  setText(cells.dirChip, inbound ? 'in' : 'out');
  cells.dirChip.className = `chip ${inbound ? 'in' : 'out'}`;
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

function tick(view, now) {
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

function renderRequests() {
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
  const parts = [
    `${total.length} in flight`,
    `${inbound.length} inbound`,
    `${total.length - inbound.length} outbound`,
  ];
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

function openDetail(ep, id) {
  state.detail = { kind: 'live', ep, id, key: `${ep.label}#${id}`, request: null, receivedAt: 0, gone: false, busy: false };
  $('detail').hidden = false;
  renderDetail();
  renderRequests();
  pollDetail();
}

function openFinished(ep, finished, receivedAt, serverTime) {
  state.detail = {
    kind: 'finished', ep, id: finished.request.id, key: null, finished, request: finished.request,
    receivedAt, serverTime,
  };
  $('detail').hidden = false;
  renderDetail();
  renderRequests();
}

function openSamples(ep, title, samples, receivedAt, serverTime) {
  state.detail = { kind: 'samples', ep, title, samples, receivedAt, serverTime, key: null };
  $('detail').hidden = false;
  renderDetail();
}

function closeDetail() {
  state.detail = null;
  $('detail').hidden = true;
  $('detail-body').replaceChildren();
  renderRequests();
}

const detailTickers = [];

function renderDetail() {
  const detail = state.detail;
  if (!detail) return;
  // Rebuilt only when something but the ticking times changed, so clicks on its
  // buttons are never lost to a poll.
  const req0 = detail.request;
  const signature = JSON.stringify([detail.kind, detail.id, detail.ep.label, detail.gone, detail.error, detail.title,
    req0 && { ...req0, elapsed_ms: 0, status_elapsed_ms: 0, idle_ms: 0 }]);
  if (detail.kind !== 'samples' && detail.signature === signature) return;
  detail.signature = signature;
  detailTickers.length = 0;
  const body = $('detail-body');
  if (detail.kind === 'samples') {
    setText($('detail-title'), detail.title);
    body.replaceChildren(samplesTable(detail.ep, detail.samples, detail.receivedAt, detail.serverTime));
    return;
  }
  setText($('detail-title'), `#${detail.id} on ${detail.ep.label}`);
  const req = detail.request;
  if (!req) {
    const text = detail.gone ? 'No longer in flight: it finished or was terminated.' : detail.error || 'loading…';
    body.replaceChildren(el('p', { class: 'muted', text }));
    return;
  }
  const live = detail.kind === 'live';
  // The latest answer's times, plus the time since it came.
  const since = (field) => (live && !detail.gone ? Math.max(0, clock() - detail.receivedAt) : 0) + detail.request[field];
  const parts = [];
  if (live && detail.gone) parts.push(el('p', { class: 'banner', text: 'No longer in flight: it finished or was terminated. Its last known state:' }));
  if (live && detail.error) parts.push(el('p', { class: 'banner error', text: detail.error }));
  if (detail.finished) {
    const f = detail.finished;
    const grpc = f.grpc_status == null ? '' : `, grpc-status ${f.grpc_status}${f.grpc_message ? `: ${f.grpc_message}` : ''}`;
    parts.push(el('p', { class: `banner ${f.ending === 'completed' ? '' : 'error'}`, text: `${f.ending}${grpc} at ${localTime(f.ended_at)} after ${duration(f.duration_ms)}` }));
  }
  if (live && !detail.gone) {
    const ep = detail.ep;
    const forbidden = req.cancel_forbidden;
    parts.push(el('div', { class: 'detail-actions' },
      el('button', { type: 'button', class: 'act cancel', text: 'cancel', disabled: forbidden, onclick: () => control(ep, req, 'cancel', since('elapsed_ms')) }),
      el('button', { type: 'button', class: 'act kill', text: 'terminate', disabled: forbidden, onclick: () => control(ep, req, 'terminate', since('elapsed_ms')) })));
  }
  const ageNode = el('span', { text: duration(since('elapsed_ms')) });
  const inStatusNode = el('span', { text: duration(since('status_elapsed_ms')) });
  const idleNode = el('span', { text: duration(since('idle_ms')) });
  if (live && !detail.gone) {
    detailTickers.push(() => setText(ageNode, duration(since('elapsed_ms'))));
    detailTickers.push(() => setText(inStatusNode, duration(since('status_elapsed_ms'))));
    detailTickers.push(() => setText(idleNode, duration(since('idle_ms'))));
  }
  const link = (id) => el('button', { type: 'button', class: 'link', text: `#${id}`, onclick: () => openDetail(detail.ep, id) });
  const fields = [
    ['direction', req.direction],
    ['method', req.method],
    ['URL', req.uri],
    ['route', req.route],
    ['version', req.version],
    ['peer', req.peer],
    ['started', localTime(req.started_at)],
    [detail.finished ? 'took' : 'age', detail.finished ? duration(detail.finished.duration_ms) : ageNode],
    ['status', req.status],
    ['in status', detail.finished ? null : inStatusNode],
    ['response', req.response_status],
    ['deadline', req.deadline_ms == null ? null : `${duration(req.deadline_ms)} after start${req.past_deadline ? ', passed' : ''}`],
    ['orphan', req.orphan ? 'its request has ended; nobody waits for it' : null],
    ['bytes', `${bytes(req.bytes_in)} in · ${bytes(req.bytes_out)} out`],
    ['idle', detail.finished ? null : idleNode],
    ['trace', req.trace_id ? el('button', { type: 'button', class: 'link trace-id', text: req.trace_id, title: 'its timeline across the endpoints', onclick: () => openTrace(req.trace_id) }) : null],
    ['span', req.span_id],
    ['parent span', req.parent_span_id],
    ['parent', req.parent != null ? link(req.parent) : null],
    ['children', req.children && req.children.length ? el('span', {}, ...req.children.flatMap((id, i) => (i ? [' ', link(id)] : [link(id)]))) : null],
    ['cancel', req.cancel_forbidden ? 'forbidden by the handler' : req.cancel_requested ? 'requested' : null],
    ['message', req.control_message],
    ['attributes', attributesText(req) || null],
  ];
  const dl = el('dl', { class: 'fields' });
  for (const [name, value] of fields) {
    if (value === null || value === undefined || value === '') continue;
    dl.append(el('dt', { text: name }), el('dd', {}, value instanceof Node ? value : String(value)));
  }
  parts.push(dl);
  parts.push(el('h3', { text: 'History' }));
  parts.push(historyTable(detail, since));
  if (req.history_dropped) {
    parts.push(el('p', { class: 'muted', text: `${req.history_dropped} earlier transition${req.history_dropped === 1 ? '' : 's'} dropped` }));
  }
  body.replaceChildren(...parts);
}

function historyTable(detail, since) {
  const req = detail.request;
  const history = req.history || [];
  const tbody = el('tbody');
  history.forEach((change, i) => {
    const next = history[i + 1];
    let stay;
    if (next) stay = el('span', { text: duration(next.offset_ms - change.offset_ms) });
    else if (detail.finished) stay = el('span', { text: duration(detail.finished.duration_ms - change.offset_ms) });
    else {
      stay = el('span', { class: 'current', text: duration(since('elapsed_ms') - change.offset_ms) });
      detailTickers.push(() => setText(stay, duration(since('elapsed_ms') - change.offset_ms)));
    }
    tbody.append(el('tr', { class: next ? '' : 'last' },
      el('td', { class: 'num', text: `+${duration(change.offset_ms)}` }),
      el('td', { class: 'status', text: change.status }),
      el('td', { class: 'num' }, stay),
      el('td', { class: 'num muted', text: localTime(change.at) })));
  });
  return el('table', { class: 'grid history' },
    el('thead', {}, el('tr', {},
      el('th', { class: 'num', text: 'at' }), el('th', { text: 'status' }),
      el('th', { class: 'num', text: 'for' }), el('th', { class: 'num', text: 'time' }))),
    tbody);
}

function agoText(endedAt, serverTime, receivedAt) {
  const ms = Date.parse(serverTime) - Date.parse(endedAt) + Math.max(0, clock() - receivedAt);
  return Number.isFinite(ms) ? `${duration(ms)} ago` : localTime(endedAt);
}

function samplesTable(ep, samples, receivedAt, serverTime) {
  if (!samples.length) return el('p', { class: 'muted', text: 'No requests here.' });
  const tbody = el('tbody');
  for (const finished of samples) {
    const req = finished.request;
    const ago = el('td', { class: 'num', text: agoText(finished.ended_at, serverTime, receivedAt) });
    detailTickers.push(() => setText(ago, agoText(finished.ended_at, serverTime, receivedAt)));
    tbody.append(el('tr', { class: 'clickable', onclick: () => openFinished(ep, finished, receivedAt, serverTime) },
      ago,
      el('td', { class: 'num', text: latency(finished.duration_ms) }),
      el('td', { class: `ending ${finished.ending}`, text: finished.ending }),
      el('td', { class: 'num', text: req.response_status == null ? '' : String(req.response_status) }),
      el('td', { class: 'target', text: `${req.method} ${req.uri}` })));
  }
  return el('table', { class: 'grid samples' },
    el('thead', {}, el('tr', {},
      el('th', { class: 'num', text: 'ended' }), el('th', { class: 'num', text: 'took' }),
      el('th', { text: 'ending' }), el('th', { class: 'num', text: 'code' }), el('th', { text: 'request' }))),
    tbody);
}

const reportSignature = { recent: '', profile: '' };

function reportsSignature(kind, part) {
  return JSON.stringify([state.filter, endpoints.map((ep) => {
    const got = ep[kind];
    if (!got) return [ep.label, 'pending'];
    if (got.error) return [ep.label, got.error.message];
    return [ep.label, got.report.pid, got.report[part]];
  })]);
}

const reportTickers = [];

function renderRecent() {
  const signature = reportsSignature('recent', 'families');
  if (signature === reportSignature.recent) return;
  reportSignature.recent = signature;
  reportTickers.length = 0;
  const needle = state.filter.trim().toLowerCase();
  const buckets = new Map();
  for (const ep of endpoints) {
    for (const family of (ep.recent && ep.recent.report && ep.recent.report.families) || []) {
      for (const bucket of family.buckets) buckets.set(bucket.bucket, bucket.min_ms);
    }
  }
  const columns = [...buckets.entries()].sort((a, b) => a[1] - b[1]).map(([name]) => name);
  $('recent').tHead.replaceChildren(el('tr', {},
    el('th', { text: 'host' }), el('th', { text: 'dir' }), el('th', { text: 'route' }),
    el('th', { class: 'num', text: 'finished' }),
    ...columns.map((name) => el('th', { class: 'num bucket', text: name })),
    el('th', { class: 'num', text: 'errors' })));
  const rows = [];
  const errors = [];
  for (const ep of endpoints) {
    const got = ep.recent;
    if (!got) continue;
    if (got.error) {
      rows.push(el('tr', { class: 'failed' }, el('td', { text: ep.label }),
        el('td', { colspan: String(columns.length + 4), text: got.error.message })));
      continue;
    }
    const { report, receivedAt } = got;
    for (const family of report.families) {
      const text = [ep.label, family.direction, family.name].join('\n').toLowerCase();
      for (const error of family.errors) errors.push({ ep, family, error, report, receivedAt });
      if (needle && !text.includes(needle)) continue;
      const byName = new Map(family.buckets.map((b) => [b.bucket, b]));
      rows.push(el('tr', { dataset: { endpoint: ep.label } },
        el('td', { class: 'host', text: ep.label }),
        el('td', { class: 'dir' }, el('span', { class: `chip ${family.direction === 'inbound' ? 'in' : 'out'}`, text: family.direction === 'inbound' ? 'in' : 'out' })),
        el('td', { class: 'target', text: family.name }),
        el('td', { class: 'num', text: String(family.finished) }),
        ...columns.map((name, index) => {
          const bucket = byName.get(name);
          const count = bucket ? bucket.samples.length : 0;
          if (!count) return el('td', { class: 'num bucket empty', text: '·' });
          return el('td', { class: `num bucket heat${Math.min(index, 7)}` }, el('button', {
            type: 'button',
            class: 'count',
            text: String(count),
            title: `the ${count} latest ${name}: click for them`,
            onclick: () => openSamples(ep, `${family.name} ${name} on ${ep.label}`, bucket.samples, receivedAt, report.server_time),
          }));
        }),
        el('td', { class: `num ${family.errors.length ? 'bad' : 'muted'}` }, family.errors.length
          ? el('button', {
            type: 'button',
            class: 'count',
            text: String(family.errors.length),
            onclick: () => openSamples(ep, `${family.name} errors on ${ep.label}`, family.errors, receivedAt, report.server_time),
          })
          : '·')));
    }
  }
  $('recent').tBodies[0].replaceChildren(...rows);
  const empty = $('recent-empty');
  empty.hidden = rows.length > 0;
  setText(empty, endpoints.some((ep) => ep.recent) ? 'No finished requests yet.' : 'loading…');

  errors.sort((a, b) => String(b.error.ended_at).localeCompare(String(a.error.ended_at)));
  const errorRows = errors
    .filter(({ ep, family, error }) => !needle || [ep.label, family.name, error.ending, error.request.uri, error.request.status, error.request.control_message || '']
      .join('\n').toLowerCase().includes(needle))
    .slice(0, 100)
    .map(({ ep, family, error, report, receivedAt }) => {
      const req = error.request;
      const ago = el('td', { class: 'num', text: agoText(error.ended_at, report.server_time, receivedAt) });
      reportTickers.push(() => setText(ago, agoText(error.ended_at, report.server_time, receivedAt)));
      return el('tr', { class: 'clickable', dataset: { endpoint: ep.label }, onclick: () => openFinished(ep, error, receivedAt, report.server_time) },
        el('td', { class: 'host', text: ep.label }),
        el('td', { class: 'dir' }, el('span', { class: `chip ${family.direction === 'inbound' ? 'in' : 'out'}`, text: family.direction === 'inbound' ? 'in' : 'out' })),
        el('td', { class: 'target', text: family.name }),
        ago,
        el('td', { class: 'num', text: latency(error.duration_ms) }),
        el('td', { class: `ending ${error.ending}`, text: error.ending }),
        el('td', { class: 'num', text: req.response_status == null ? '' : String(req.response_status) }),
        el('td', { class: 'method', text: req.method }),
        el('td', { class: 'target', text: req.uri }),
        el('td', { class: 'status', text: req.status }),
        el('td', { class: 'message', text: error.grpc_status == null ? req.control_message || '' : `grpc-status ${error.grpc_status}${error.grpc_message ? `: ${error.grpc_message}` : ''}` }));
    });
  $('errors').tBodies[0].replaceChildren(...errorRows);
  $('errors-empty').hidden = errorRows.length > 0;
  setText($('errors-empty'), 'No errors.');
}

function renderProfile() {
  const signature = reportsSignature('profile', 'routes');
  if (signature === reportSignature.profile) return;
  reportSignature.profile = signature;
  reportTickers.length = 0;
  const needle = state.filter.trim().toLowerCase();
  const rows = [];
  for (const ep of endpoints) {
    const got = ep.profile;
    if (!got) continue;
    if (got.error) {
      rows.push(el('tr', { class: 'failed' }, el('td', { text: ep.label }), el('td', { colspan: '10', text: got.error.message })));
      continue;
    }
    const { report, receivedAt } = got;
    const windowText = () => `${report.service} · pid ${report.pid} · window ${duration(report.window_seconds * 1000 + Math.max(0, clock() - receivedAt))} since ${localTime(report.window_start)}`;
    const caption = el('td', { colspan: '10', class: 'muted', text: windowText() });
    reportTickers.push(() => setText(caption, windowText()));
    rows.push(el('tr', { class: 'group' }, el('td', { class: 'host', text: ep.label }), caption));
    const grand = report.routes.reduce((sum, route) => sum + route.total_ms, 0) || 1;
    for (const route of report.routes) {
      const routeText = [ep.label, route.direction, route.name].join('\n').toLowerCase();
      const statuses = route.statuses.filter((s) => !needle || routeText.includes(needle) || s.status.toLowerCase().includes(needle));
      if (needle && !routeText.includes(needle) && !statuses.length) continue;
      const chip = el('span', { class: `chip ${route.direction === 'inbound' ? 'in' : 'out'}`, text: route.direction === 'inbound' ? 'in' : 'out' });
      rows.push(el('tr', { class: 'route', dataset: { endpoint: ep.label } },
        el('td', { class: 'host', text: ep.label }),
        el('td', { class: 'dir' }, chip),
        el('td', { class: 'target', text: route.name }),
        el('td', { class: 'num', text: String(route.requests) }),
        el('td', { class: 'num', text: latency(route.total_ms) }),
        el('td', { class: 'num', text: latency(route.mean_ms) }),
        el('td', { colspan: '4' }),
        el('td', { class: 'share' }, bar(route.total_ms / grand, 'of the endpoint'))));
      const total = route.total_ms || 1;
      for (const s of statuses) {
        rows.push(el('tr', { class: 'status-row', dataset: { endpoint: ep.label } },
          el('td'), el('td'),
          el('td', { class: 'status' }, el('span', { class: 'tree', text: '└ ' }), s.status),
          el('td', { class: 'num', text: String(s.count) }),
          el('td', { class: 'num', text: latency(s.total_ms) }),
          el('td', { class: 'num', text: latency(s.mean_ms) }),
          el('td', { class: 'num', text: latency(s.p50_ms) }),
          el('td', { class: 'num', text: latency(s.p95_ms) }),
          el('td', { class: 'num', text: latency(s.p99_ms) }),
          el('td', { class: 'num', text: latency(s.max_ms) }),
          el('td', { class: 'share' }, bar(s.total_ms / total, 'of the route'))));
      }
    }
  }
  $('profile').tBodies[0].replaceChildren(...rows);
  const empty = $('profile-empty');
  empty.hidden = rows.length > 0;
  setText(empty, endpoints.some((ep) => ep.profile) ? 'No finished requests in the window yet.' : 'loading…');
}

let traceTick = null;

function renderTrace() {
  const trace = state.trace;
  if (!trace) return;
  const answers = [...trace.answers.values()];
  // Rebuilt when an answer changed; the live spans tick in between.
  const signature = JSON.stringify(answers.map((a) => [a.ep.label, a.error ? a.error.message : a.reply && [a.reply.requests, a.reply.finished]]));
  if (signature === trace.signature) return;
  trace.signature = signature;
  setText($('trace-title'), `Trace ${trace.id}`);
  const good = answers.filter((a) => a.reply);
  const notes = answers.filter((a) => a.error).map((a) => `${a.ep.label}: ${a.error.message}`);
  const list = hops(good);
  const windows = good.map((a) => a.reply.finished_window)
    .map((w) => `${w.held}/${w.capacity} kept for ${duration(w.max_age_seconds * 1000)}`);
  setText($('trace-summary'), [
    `${list.length} hop${list.length === 1 ? '' : 's'}`,
    `${list.filter((h) => h.live).length} in flight`,
    `${good.length} of ${endpoints.length} endpoints answered`,
    windows.length ? `finished requests: ${[...new Set(windows)].join(', ')}` : '',
    ...notes,
  ].filter(Boolean).join(' · '));
  const tbody = $('trace').tBodies[0];
  if (!list.length) {
    traceTick = null;
    tbody.replaceChildren();
    const empty = $('trace-empty');
    empty.hidden = false;
    setText(empty, answers.length ? 'No endpoint has this trace in flight or among its recently finished requests.' : 'loading…');
    return;
  }
  $('trace-empty').hidden = true;
  const view = timeline(list, clock(), { el, duration, latency, localTime });
  traceTick = view.tick;
  tbody.replaceChildren(...view.rows);
}

function bar(fraction, of) {
  const share = Math.max(0, Math.min(1, fraction || 0));
  const fill = el('span', { class: 'fill' });
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  return el('span', { class: 'bar', title: `${(share * 100).toFixed(1)}% ${of}` },
    fill, el('span', { class: 'pct', text: `${(share * 100).toFixed(0)}%` }));
}

function renderFooter() {
  setText($('clock'), state.interval ? `polling every ${state.interval / 1000}s` : 'paused');
  $('clock').classList.toggle('paused', !state.interval);
}

function setFilter(text) {
  state.filter = text;
  if ($('filter').value !== text) $('filter').value = text;
  changed();
}

function setTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll('[role=tab]')) {
    button.setAttribute('aria-selected', String(button.dataset.tab === tab));
  }
  for (const name of ['requests', 'recent', 'profile', 'trace']) $(`view-${name}`).hidden = name !== tab;
  reportSignature.recent = '';
  reportSignature.profile = '';
  pollTab();
  changed();
}

function setTree(on) {
  state.tree = on;
  $('show-tree').checked = on;
  const url = new URL(location.href);
  if (on) url.searchParams.delete('tree');
  else url.searchParams.set('tree', 'off');
  history.replaceState(null, '', url);
  renderRequests();
}

function setRefresh(ms) {
  const was = state.interval;
  state.interval = ms;
  if (!ms) state.pausedAt = performance.now();
  $('interval').value = String(ms);
  const url = new URL(location.href);
  if (ms === 1000) url.searchParams.delete('interval');
  else url.searchParams.set('interval', String(ms));
  history.replaceState(null, '', url);
  clearTimeout(timer);
  if (ms && !was) cycle();
  else if (ms) timer = setTimeout(cycle, ms);
  renderFooter();
}

function wire() {
  $('filter').addEventListener('input', (event) => setFilter(event.target.value));
  $('show-route').addEventListener('change', (event) => {
    state.showRoute = event.target.checked;
    changed();
  });
  $('show-tree').checked = state.tree;
  $('show-tree').addEventListener('change', (event) => setTree(event.target.checked));
  $('interval').value = String(state.interval);
  $('interval').addEventListener('change', (event) => setRefresh(Number(event.target.value)));
  for (const button of document.querySelectorAll('[role=tab]')) {
    button.addEventListener('click', () => setTab(button.dataset.tab));
  }
  for (const th of $('requests').tHead.rows[0].cells) {
    const key = th.dataset.sort;
    if (!key) continue;
    th.tabIndex = 0;
    const sortBy = () => {
      if (state.sort.key === key) state.sort.desc = !state.sort.desc;
      else state.sort = { key, desc: key === 'age' || key === 'in_status' };
      renderRequests();
    };
    th.addEventListener('click', sortBy);
    th.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        sortBy();
      }
    });
  }
  $('detail-close').addEventListener('click', closeDetail);
  $('ask-cancel').addEventListener('click', () => $('ask').close('cancel'));
  document.addEventListener('keydown', (event) => {
    if ($('ask').open || event.ctrlKey || event.metaKey || event.altKey) return;
    // A checkbox takes no text: keys pressed after clicking one still work.
    const typing = (event.target instanceof HTMLInputElement && event.target.type !== 'checkbox') ||
      event.target instanceof HTMLSelectElement;
    if (event.key === 'Escape') {
      if (typing && event.target.id === 'filter' && state.filter) setFilter('');
      else if (state.detail) closeDetail();
      else if (typing) event.target.blur();
      return;
    }
    if (typing) return;
    if (event.key === '/') {
      event.preventDefault();
      $('filter').focus();
    } else if (event.key === 'p') {
      setRefresh(state.interval ? 0 : 1000);
    } else if (['1', '2', '3'].includes(event.key) || (event.key === '4' && state.trace)) {
      setTab(['requests', 'recent', 'profile', 'trace'][Number(event.key) - 1]);
    } else if (event.key === 't') {
      setTree(!state.tree);
    }
  });

  window.setInterval(() => {
    if (!state.interval) return;
    const now = clock();
    for (const view of rowViews.values()) tick(view, now);
    for (const update of detailTickers) update();
    for (const update of reportTickers) update();
    if (traceTick) traceTick(now);
  }, TICK_MS);
}

wire();

render();

cycle();
