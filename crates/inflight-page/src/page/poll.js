// Asking the endpoints, on the refresh interval: each one's list of requests, the
// report of the tab shown, the request in the detail pane and the trace shown.

import { askReadToken } from './actions.js';
import { renderDetail } from './detail.js';
import { call, CallError } from './endpoints.js';
import { changed } from './render.js';
import { endpoints, readToken, state } from './state.js';

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

export async function pollList(ep) {
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

export function cycle() {
  clearTimeout(timer);
  for (const ep of endpoints) pollList(ep);
  pollTab();
  pollDetail();
  if (state.interval) timer = setTimeout(cycle, state.interval);
}

/** After the refresh interval changed: poll now if polling was off, else at the new pace. */
export function reschedule(wasPolling) {
  clearTimeout(timer);
  if (state.interval && !wasPolling) cycle();
  else if (state.interval) timer = setTimeout(cycle, state.interval);
}

export function pollTab() {
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
