// The page's controls: filter, tabs, tree, refresh, sorting and keys, and the tick that
// moves ages between polls.

import { closeDetail, detailTickers } from './detail.js';
import { pollTab, reschedule } from './poll.js';
import { changed, renderFooter } from './render.js';
import { reportSignature, reportTickers } from './reports.js';
import { renderRequests, rowViews, tick } from './requests.js';
import { $, clock, state, TICK_MS } from './state.js';
import { traceTick } from './trace-tab.js';

export function setFilter(text) {
  state.filter = text;
  if ($('filter').value !== text) $('filter').value = text;
  changed();
}

export function setTab(tab) {
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
  reschedule(was);
  renderFooter();
}

export function wire() {
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
