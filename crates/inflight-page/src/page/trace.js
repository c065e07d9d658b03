// The trace view: every hop of one trace, from `GET /traces/{id}` of every endpoint, on
// one time axis, oldest first. Spans still in flight are marked as such with their age
// (ticking); finished ones show their duration and how they ended.

import { dirShort } from './format.js';
import { parents } from './tree.js';

/** The hops of all answers, oldest first; a parent before its child when they tie. */
export function hops(answers) {
  const out = [];
  for (const { ep, reply, receivedAt } of answers) {
    const where = { ep, service: reply.service, host: reply.host, receivedAt };
    for (const req of reply.requests || []) {
      out.push({ ...where, req, key: `${ep.label}#${req.id}`, live: true, start: Date.parse(req.started_at) });
    }
    for (const finished of reply.finished || []) {
      const req = finished.request;
      out.push({
        ...where, req, key: `${ep.label}#${req.id}`, live: false, start: Date.parse(req.started_at),
        duration: finished.duration_ms, ending: finished.ending, endedAt: finished.ended_at,
      });
    }
  }
  const parentOf = parents(out, true);
  const depth = (hop) => {
    let n = 0;
    for (let at = hop.key; parentOf.has(at) && n < 64; at = parentOf.get(at)) n += 1;
    return n;
  };
  for (const hop of out) hop.depth = depth(hop);
  out.sort((a, b) => a.start - b.start || a.depth - b.depth || a.ep.label.localeCompare(b.ep.label) || a.req.id - b.req.id);
  return out;
}

/** How long a hop has lasted at `now` (the page's clock). */
export function lasted(hop, now) {
  return hop.live ? hop.req.elapsed_ms + Math.max(0, now - hop.receivedAt) : hop.duration;
}

function authority(uri) {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(uri);
  return match ? match[1].replace(/^.*@/, '') : '';
}

/**
 * Where a hop goes: `client → service` for a request received, `service → host:port` for a
 * call, `service (work)` for work.
 */
export function route(hop) {
  const me = hop.service || hop.ep.label;
  if (hop.req.direction === 'inbound') return `${hop.req.peer || 'client'} → ${me}`;
  if (hop.req.direction === 'work') return `${me} (work)`;
  return `${me} → ${authority(hop.req.uri) || '?'}`;
}

/**
 * Builds the view's rows; returns `{ rows, tick }`, where `tick(now)` moves the live
 * spans' ages and bars on.
 */
export function timeline(list, now, { el, duration, latency, localTime }) {
  const start = Math.min(...list.map((hop) => hop.start));
  const end = (at) => Math.max(...list.map((hop) => hop.start + lasted(hop, at)), start + 1);
  const rows = [];
  const placers = [];
  for (const hop of list) {
    const req = hop.req;
    // Work runs in the service, like a request it serves.
    const here = req.direction !== 'outbound';
    const bar = el('span', { class: `span ${hop.live ? 'live' : `done ${hop.ending}`} ${here ? 'in' : 'out'}` });
    const took = el('td', { class: 'num took' });
    const place = (at) => {
      const total = end(at) - start;
      bar.style.left = `${(((hop.start - start) / total) * 100).toFixed(2)}%`;
      bar.style.width = `${Math.max(0.4, (lasted(hop, at) / total) * 100).toFixed(2)}%`;
      took.textContent = hop.live ? `in flight ${duration(lasted(hop, at))}` : latency(hop.duration);
    };
    place(now);
    placers.push(place);
    const outcome = hop.live
      ? el('span', { class: 'tag live', text: req.status })
      : el('span', { class: `ending ${hop.ending}`, text: req.response_status == null ? hop.ending : `${hop.ending} ${req.response_status}` });
    rows.push(el('tr', {
      class: hop.live ? 'hop live' : 'hop done',
      dataset: {
        endpoint: hop.ep.label, id: String(req.id), start: String(hop.start), state: hop.live ? 'live' : hop.ending,
        direction: req.direction, span: req.span_id, depth: String(hop.depth),
      },
    },
    el('td', { class: 'num at', text: `+${latency(hop.start - start)}`, title: localTime(req.started_at) }),
    el('td', { class: 'host', text: `${hop.service}@${hop.host}`, title: hop.ep.label }),
    el('td', { class: 'dir' }, el('span', { class: `chip ${dirShort(req.direction)}`, text: dirShort(req.direction) })),
    el('td', { class: 'route', text: route(hop) }),
    el('td', { class: 'target', text: `${req.method} ${req.uri}`, title: `span ${req.span_id}` }),
    took,
    el('td', { class: 'outcome' }, outcome),
    el('td', { class: 'axis' }, bar)));
  }
  return { rows, tick: (at) => placers.forEach((place) => place(at)) };
}
