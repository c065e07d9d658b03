// The Trace tab: one trace's hops across the endpoints on one timeline (trace.js draws
// it).

import { setTab } from './controls.js';
import { duration, el, latency, localTime, setText } from './format.js';
import { $, clock, endpoints, state } from './state.js';
import { hops, timeline } from './trace.js';

export function openTrace(id) {
  if (!id) return;
  state.trace = { id, answers: new Map(), busy: new Set(), signature: '' };
  $('tab-trace').hidden = false;
  setTab('trace');
}

export let traceTick = null;

export function renderTrace() {
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
