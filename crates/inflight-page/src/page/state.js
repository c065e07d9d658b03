// What the page shows and how: the chosen tab, filter, sort and refresh, the watched
// endpoints and the tokens the user gave for them.

import { parseEndpoints } from './endpoints.js';

/** Ages from here on are highlighted as slow. */
export const SLOW_MS = 5_000;

/** Ages from here on are highlighted as stuck (the admin server's default stuck_after). */
export const STUCK_MS = 30_000;

/** How often ages and times in status are redrawn between polls. */
export const TICK_MS = 100;

const INTERVALS = [1000, 2000, 5000, 0];

export const $ = (id) => document.getElementById(id);

const params = new URLSearchParams(location.search);

export const state = {
  tab: 'requests',
  filter: '',
  showRoute: false,
  sort: { key: 'age', desc: true },
  interval: params.has('interval') && INTERVALS.includes(Number(params.get('interval')))
    ? Number(params.get('interval'))
    : 1000,
  pausedAt: 0,
  detail: null,
  // One tree across the endpoints, joined by trace context; off: each endpoint alone.
  tree: params.get('tree') !== 'off',
  /** The trace shown in the Trace tab: `{ id, answers: Map(label -> answer) }`. */
  trace: null,
};

export const endpoints = parseEndpoints(params);

export function clock() {
  return state.interval ? performance.now() : state.pausedAt;
}

export const tokens = {
  key: (ep, kind) => `inflight:${kind}-token:${ep.base.href}`,
  get(ep, kind) {
    try {
      return ep.base ? sessionStorage.getItem(this.key(ep, kind)) : null;
    } catch {
      return null;
    }
  },
  set(ep, kind, value) {
    try {
      if (ep.base) sessionStorage.setItem(this.key(ep, kind), value);
    } catch {
      // Storage may be off: the token then lasts until the page is left.
    }
    ep.memory = ep.memory || {};
    ep.memory[kind] = value;
  },
};

const tokenFor = (ep, kind) => tokens.get(ep, kind) || (ep.memory && ep.memory[kind]) || null;

// The kill token may read too; a read token is tried for kills when it is all there is.
export const readToken = (ep) => tokenFor(ep, 'read') || tokenFor(ep, 'kill');

export const killToken = (ep) => tokenFor(ep, 'kill') || tokenFor(ep, 'read');
