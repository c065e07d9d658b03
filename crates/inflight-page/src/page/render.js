// Redrawing: at most once a frame however many answers came, the tab shown, the
// endpoint badges and the footer.

import { askReadToken } from './actions.js';
import { setFilter } from './controls.js';
import { el, setText } from './format.js';
import { renderProfile } from './profile.js';
import { renderRecent } from './recent.js';
import { renderRequests } from './requests.js';
import { $, endpoints, state } from './state.js';
import { renderTrace } from './trace-tab.js';

let renderQueued = false;

export function changed() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => {
    renderQueued = false;
    render();
  }, 16);
}

export function render() {
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
      const work = list.requests.filter((r) => r.direction === 'work').length;
      const counts = `${inbound} in / ${list.requests.length - inbound - work} out${work ? ` / ${work} work` : ''}`;
      detail = `${list.service} · pid ${list.pid} · ${counts} · ${Math.round(ep.took)}ms`;
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

export function renderFooter() {
  setText($('clock'), state.interval ? `polling every ${state.interval / 1000}s` : 'paused');
  $('clock').classList.toggle('paused', !state.interval);
}
