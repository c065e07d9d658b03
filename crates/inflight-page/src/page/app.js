// The web page of the inflight admin port.
//
// It polls the admin ports named in `?endpoints=host:port,...` (default: the one that
// served it), shows every request in flight of all of them in one table, and terminates
// or cancels them. Ages tick between polls from each list's own numbers (elapsed_ms at
// server_time, plus the local time since the answer came), so no clock skew shows.
//
// Everything a server sends goes into the page as text (textContent, never markup).
//
// The page is native ES modules, one per view (requests, detail and history, recent,
// profile, trace-tab) and a few shared ones (state, endpoints, poll, render, format,
// dialog, actions, controls); this one starts it.

import { setFilter, setTab, wire } from './controls.js';
import { cycle } from './poll.js';
import { render } from './render.js';
import { openTrace } from './trace-tab.js';

wire();

// A shared link's view (`inflight link`): ?filter=TEXT, ?tab=recent|profile, ?trace=ID.
const view = new URLSearchParams(location.search);
if (view.get('filter')) setFilter(view.get('filter'));
if (['recent', 'profile'].includes(view.get('tab'))) setTab(view.get('tab'));
if (/^[0-9a-f]{32}$/i.test(view.get('trace') || '')) openTrace(view.get('trace').toLowerCase());

render();

cycle();
