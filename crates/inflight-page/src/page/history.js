// The status history table of the detail pane.

import { duration, el, localTime, setText } from './format.js';

/** The statuses a request went through, and for how long; the current one ticks. */
export function historyTable(detail, since, tickers) {
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
      tickers.push(() => setText(stay, duration(since('elapsed_ms') - change.offset_ms)));
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
