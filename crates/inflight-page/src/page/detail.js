// The detail pane: one request, live or finished, or a list of finished ones (a bucket
// or the errors of a route on the Recent tab).

import { control } from './actions.js';
import { attributesText, bytes, duration, el, latency, localTime, setText } from './format.js';
import { historyTable } from './history.js';
import { pollDetail } from './poll.js';
import { renderRequests } from './requests.js';
import { $, clock, state } from './state.js';
import { openTrace } from './trace-tab.js';

export function openDetail(ep, id) {
  state.detail = { kind: 'live', ep, id, key: `${ep.label}#${id}`, request: null, receivedAt: 0, gone: false, busy: false };
  $('detail').hidden = false;
  renderDetail();
  renderRequests();
  pollDetail();
}

export function openFinished(ep, finished, receivedAt, serverTime) {
  state.detail = {
    kind: 'finished', ep, id: finished.request.id, key: null, finished, request: finished.request,
    receivedAt, serverTime,
  };
  $('detail').hidden = false;
  renderDetail();
  renderRequests();
}

export function openSamples(ep, title, samples, receivedAt, serverTime) {
  state.detail = { kind: 'samples', ep, title, samples, receivedAt, serverTime, key: null };
  $('detail').hidden = false;
  renderDetail();
}

export function closeDetail() {
  state.detail = null;
  $('detail').hidden = true;
  $('detail-body').replaceChildren();
  renderRequests();
}

export const detailTickers = [];

export function renderDetail() {
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
  parts.push(historyTable(detail, since, detailTickers));
  if (req.history_dropped) {
    parts.push(el('p', { class: 'muted', text: `${req.history_dropped} earlier transition${req.history_dropped === 1 ? '' : 's'} dropped` }));
  }
  body.replaceChildren(...parts);
}

export function agoText(endedAt, serverTime, receivedAt) {
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
