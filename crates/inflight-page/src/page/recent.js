// The Recent tab: finished requests by route in latency buckets, and the latest errors.

import { agoText, openFinished, openSamples } from './detail.js';
import { dirShort, el, latency, setText } from './format.js';
import { reportSignature, reportsSignature, reportTickers } from './reports.js';
import { $, endpoints, state } from './state.js';

export function renderRecent() {
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
        el('td', { class: 'dir' }, el('span', { class: `chip ${dirShort(family.direction)}`, text: dirShort(family.direction) })),
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
        el('td', { class: 'dir' }, el('span', { class: `chip ${dirShort(family.direction)}`, text: dirShort(family.direction) })),
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
