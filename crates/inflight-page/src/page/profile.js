// The Profile tab: where each endpoint's time went, by route and by status.

import { dirShort, duration, el, latency, localTime, setText } from './format.js';
import { reportSignature, reportsSignature, reportTickers } from './reports.js';
import { $, clock, endpoints, state } from './state.js';

export function renderProfile() {
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
      const chip = el('span', { class: `chip ${dirShort(route.direction)}`, text: dirShort(route.direction) });
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

function bar(fraction, of) {
  const share = Math.max(0, Math.min(1, fraction || 0));
  const fill = el('span', { class: 'fill' });
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  return el('span', { class: 'bar', title: `${(share * 100).toFixed(1)}% ${of}` },
    fill, el('span', { class: 'pct', text: `${(share * 100).toFixed(0)}%` }));
}
