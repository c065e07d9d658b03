// The web page of the inflight admin port.
//
// It polls the admin ports named in `?endpoints=host:port,...` (default: the one that
// served it), shows every request in flight of all of them in one table, and terminates
// or cancels them. Ages tick between polls from each list's own numbers (elapsed_ms at
// server_time, plus the local time since the answer came), so no clock skew shows.
//
// Everything a server sends goes into the page as text (textContent, never markup).

import { closeDetail, detailTickers, renderDetail } from './detail.js';
import { ask, toast } from './dialog.js';
import { call, CallError } from './endpoints.js';
import { duration, el, latency, localTime, setText } from './format.js';
import { renderProfile } from './profile.js';
import { renderRecent } from './recent.js';
import { reportSignature, reportTickers } from './reports.js';
import { renderRequests, rowViews, tick } from './requests.js';
import { $, clock, endpoints, killToken, readToken, state, TICK_MS, tokens } from './state.js';
import { hops, timeline } from './trace.js';

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

export async function pollDetail() {
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

export function openTrace(id) {
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
export async function control(ep, request, action, ageMs) {
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
