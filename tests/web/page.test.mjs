// Drives the admin port's web page in a real headless Chromium, against real demo
// processes that tests/web_page.rs starts:
//   A     a demo without tokens, whose admin port serves the page;
//   B     a demo with a read and a kill token that allows A's origin;
//   DOWN  an address where nothing listens;
//   CHAIN three services, front → middle → back, chained with real traceparent headers:
//         a finished call and a held one in TRACE, a held one in a trace of its own.
// Exits non-zero on the first failed check. Environment:
//   INFLIGHT_PAGE, INFLIGHT_A, INFLIGHT_B, INFLIGHT_DOWN, INFLIGHT_B_READ_TOKEN,
//   INFLIGHT_B_KILL_TOKEN, INFLIGHT_RUN_DIR (screenshot and browser profile),
//   INFLIGHT_CHAIN_PAGE, INFLIGHT_CHAIN (front,middle,back admin ports), INFLIGHT_TRACE,
//   INFLIGHT_SCREENSHOT_DIR (optional: also write web.png there), CHROMIUM (optional).

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  WAIT_MS, check, inBrowser, looking, ok, problemsOf, rows, setting, waitUntil,
} from './harness.mjs';

const PAGE = setting('INFLIGHT_PAGE');
const A = setting('INFLIGHT_A');
const B = setting('INFLIGHT_B');
const DOWN = setting('INFLIGHT_DOWN');
const B_READ = setting('INFLIGHT_B_READ_TOKEN');
const B_KILL = setting('INFLIGHT_B_KILL_TOKEN');
const RUN_DIR = setting('INFLIGHT_RUN_DIR');
const CHAIN_PAGE = setting('INFLIGHT_CHAIN_PAGE');
const [FRONT, MIDDLE, BACK] = setting('INFLIGHT_CHAIN').split(',');
const TRACE = setting('INFLIGHT_TRACE');
const SCREENSHOT_DIR = process.env.INFLIGHT_SCREENSHOT_DIR || '';
/** `1.23s`, `1m02.00s`, `2h03m04.00s` in milliseconds. */
function parseDuration(text) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(\d+(?:\.\d+)?)s$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return ((Number(m[1] || 0) * 60 + Number(m[2] || 0)) * 60 + Number(m[3])) * 1000;
}

/** What the admin port at `label` says, straight over HTTP (no browser, no CORS). */
async function api(label, pathname, token) {
  const response = await fetch(`http://${label}${pathname}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, body: await response.json() };
}

async function run(context) {
  const page = context.pages()[0] || await context.newPage();
  looking(page);
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // The unreachable endpoint's refused connections are logged by the browser itself.
    if (message.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|net::ERR_/.test(message.text())) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  page.on('dialog', (dialog) => {
    problems.push(`unexpected browser dialog: ${dialog.message()}`);
    dialog.dismiss();
  });

  const response = await page.goto(PAGE);
  check(response.ok(), `GET ${PAGE} answered ${response.status()}`);
  check(/text\/html/.test(response.headers()['content-type']), 'the page is text/html');
  ok('the admin port serves the page');

  // B answers 401 without its read token: the page asks for it.
  const dialog = page.locator('#ask');
  await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
  check((await page.textContent('#ask-title')).includes(`Read token for ${B}`), 'the dialog asks for B\'s read token');
  await page.fill('#ask input[name=token]', B_READ);
  await page.click('#ask-ok');
  await dialog.waitFor({ state: 'hidden' });
  ok('asks for the read token of the endpoint that answers 401');

  // Each demo keeps 6 /fetch requests in flight, each with an outbound call to slownode.
  await waitUntil('requests of both endpoints', async () => {
    const all = await rows(page);
    const count = (ep) => all.filter((r) => r.endpoint === ep).length;
    return count(A) >= 12 && count(B) >= 12;
  });
  ok('lists the requests of both endpoints in one table');

  const badge = (ep) => page.locator(`.badge[data-endpoint="${ep}"]`);
  check(await badge(A).getAttribute('data-state') === 'ok', 'A is ok');
  check(await badge(B).getAttribute('data-state') === 'ok', 'B is ok');
  await waitUntil('the unreachable badge', async () => await badge(DOWN).getAttribute('data-state') === 'unreachable');
  check((await badge(DOWN).textContent()).includes('unreachable'), 'the badge says unreachable');
  ok('badges: A and B ok, the third endpoint unreachable without stopping the others');

  {
    const all = await rows(page);
    let lastRoot = null;
    let children = 0;
    for (const row of all) {
      if (row.depth === 0) {
        lastRoot = row;
        continue;
      }
      children += 1;
      check(lastRoot && lastRoot.endpoint === row.endpoint && lastRoot.id === row.parent,
        `child #${row.id} of ${row.endpoint} is not under its parent #${row.parent}`);
      check(row.dir === 'out' && row.target.includes('/blob/'), `child #${row.id} is the outbound call`);
    }
    check(children >= 12, `${children} outbound calls shown as children`);
  }
  ok('outbound calls are shown under the request that made them');

  {
    const ageCell = page.locator('#requests tbody tr[data-depth="0"] td.age').first();
    const first = parseDuration(await ageCell.textContent());
    await page.waitForTimeout(350);
    const second = parseDuration(await ageCell.textContent());
    check(second > first, `the age ticks: ${first}ms then ${second}ms`);
  }
  ok('ages tick between polls');

  // Sorting: click a header, click it again.
  const roots = async () => (await rows(page)).filter((r) => r.depth === 0);
  const sortBy = async (key, expect) => {
    await page.click(`#requests th[data-sort="${key}"]`);
    check(await page.getAttribute(`#requests th[data-sort="${key}"]`, 'aria-sort') === expect, `${key} sorted ${expect}`);
  };
  const ordered = (values, compare) => values.every((v, i) => i === 0 || compare(values[i - 1], v) <= 0);
  const byHost = (a, b) => a.localeCompare(b, undefined, { numeric: true });
  await sortBy('id', 'ascending');
  check(ordered((await roots()).map((r) => r.id), (a, b) => a - b), 'ids ascending');
  await sortBy('id', 'descending');
  check(ordered((await roots()).map((r) => r.id), (a, b) => b - a), 'ids descending');
  await sortBy('host', 'ascending');
  check(ordered((await roots()).map((r) => r.host), byHost), 'hosts ascending');
  await sortBy('host', 'descending');
  check(ordered((await roots()).map((r) => r.host), (a, b) => byHost(b, a)), 'hosts descending');
  await sortBy('age', 'descending');
  check(ordered((await roots()).map((r) => parseDuration(r.age)), (a, b) => b - a), 'oldest first');
  ok('sorts on a column by clicking its header, both ways');

  // Filtering: substring over all columns; parents stay as context for matching children.
  await page.fill('#filter', B);
  await waitUntil('only B', async () => {
    const all = await rows(page);
    return all.length >= 12 && all.every((r) => r.endpoint === B);
  });
  await page.fill('#filter', 'no-such-request-anywhere');
  await waitUntil('no rows', async () => (await rows(page)).length === 0);
  check(await page.isVisible('#requests-empty'), 'says that nothing matches');
  await page.fill('#filter', '/blob/');
  await waitUntil('the outbound calls with their parents', async () => {
    const all = await rows(page);
    const matching = all.filter((r) => !r.context);
    return matching.length >= 12 &&
      matching.every((r) => r.target.includes('/blob/')) &&
      all.filter((r) => r.context).every((r) => r.depth === 0);
  });
  await page.fill('#filter', '');
  await waitUntil('both endpoints again', async () => new Set((await rows(page)).map((r) => r.endpoint)).size === 2);
  ok('the filter matches text in any column');

  // The history of one request.
  {
    const row = (await roots()).find((r) => r.endpoint === A && r.target.startsWith('/fetch/'));
    check(row, 'an inbound request of A');
    await page.click(`#requests tbody tr[data-endpoint="${A}"][data-id="${row.id}"] td.status`);
    await page.locator('#detail').waitFor({ state: 'visible' });
    check((await page.textContent('#detail-title')) === `#${row.id} on ${A}`, 'the pane shows the request clicked');
    const history = await waitUntil('its history', async () => {
      const statuses = await page.$$eval('#detail .history tbody td.status', (tds) => tds.map((td) => td.textContent));
      return statuses.length >= 2 ? statuses : null;
    });
    check(history[0] === 'in handler' && history.includes('fetching blob'), `history: ${history}`);
    await page.click('#detail-close');
    await page.locator('#detail').waitFor({ state: 'hidden' });
  }
  ok('clicking a row shows its history');

  // Terminate a request of B: confirm, then the kill token is asked for (the read token
  // is not enough: 403) and the call retried.
  {
    const row = (await roots()).find((r) => r.endpoint === B && r.target.startsWith('/fetch/'));
    check(row, 'an inbound request of B');
    const selector = `#requests tbody tr[data-endpoint="${B}"][data-id="${row.id}"]`;
    await page.click(`${selector} button.kill`);
    await dialog.waitFor({ state: 'visible' });
    check((await page.textContent('#ask-title')).startsWith(`Terminate #${row.id} on ${B}`), 'asks to confirm the terminate');
    await page.fill('#ask input[name=message]', 'stuck on slownode (web test)');
    await page.click('#ask-ok');
    await waitUntil('the kill token dialog', async () => (await page.textContent('#ask-title')).startsWith(`Kill token for ${B}`) && await dialog.isVisible());
    check((await page.textContent('#ask-error')).includes('kill token'), 'says why');
    await page.fill('#ask input[name=token]', B_KILL);
    await page.click('#ask-ok');
    await dialog.waitFor({ state: 'hidden' });
    await waitUntil('the row to go', async () => (await page.locator(selector).count()) === 0);
    const one = await api(B, `/requests/${row.id}`, B_READ);
    check(one.status === 404, `B still has #${row.id}: ${JSON.stringify(one)}`);
    const list = await api(B, '/requests', B_READ);
    check(!list.body.requests.some((r) => r.id === row.id), `B still lists #${row.id}`);
    const recent = await api(B, '/recent', B_READ);
    const ended = recent.body.families.flatMap((f) => f.errors).find((e) => e.request.id === row.id);
    check(ended && ended.ending === 'terminated' && ended.request.control_message === 'stuck on slownode (web test)',
      `B recorded the terminate: ${JSON.stringify(ended)}`);
    ok('terminate: confirmed, kill token asked for, the request ends and leaves the demo\'s table');
  }

  // Cancel a request of A with a short grace: it is terminated when the grace runs out.
  {
    const row = (await roots()).find((r) => r.endpoint === A && r.target.startsWith('/fetch/'));
    const selector = `#requests tbody tr[data-endpoint="${A}"][data-id="${row.id}"]`;
    await page.click(`${selector} button.cancel`);
    await dialog.waitFor({ state: 'visible' });
    check((await page.textContent('#ask-title')).startsWith(`Cancel #${row.id} on ${A}`), 'asks to confirm the cancel');
    await page.fill('#ask input[name=message]', 'web test');
    await page.fill('#ask input[name=grace]', '1s');
    await page.click('#ask-ok');
    await dialog.waitFor({ state: 'hidden' });
    await waitUntil('the row to go', async () => (await page.locator(selector).count()) === 0);
    const one = await api(A, `/requests/${row.id}`);
    check(one.status === 404, `A still has #${row.id}`);
    const recent = await api(A, '/recent');
    const ended = recent.body.families.flatMap((f) => f.errors).find((e) => e.request.id === row.id);
    check(ended && ended.ending === 'terminated' && ended.request.cancel_requested,
      `A recorded the cancel: ${JSON.stringify(ended)}`);
    ok('cancel: the request is asked to stop and ends after its grace');
  }

  // Recent and profile tabs.
  await page.click('#tab-recent');
  await waitUntil('the errors of both endpoints', async () => {
    const errors = await page.$$eval('#errors tbody tr', (trs) => trs.map((tr) => [tr.dataset.endpoint, tr.textContent]));
    return [A, B].every((ep) => errors.some(([e, text]) => e === ep && text.includes('terminated')));
  });
  check(await page.locator('#recent tbody tr').count() >= 2, 'latency buckets per route');
  await page.click('#recent tbody button.count >> nth=0');
  await waitUntil('the samples of a bucket', async () => (await page.locator('#detail .samples tbody tr').count()) > 0);
  await page.click('#detail .samples tbody tr >> nth=0');
  await waitUntil('a finished request', async () => (await page.locator('#detail .history tbody tr').count()) > 0);
  await page.click('#detail-close');
  ok('the Recent tab shows latency buckets and errors of every endpoint');

  await page.click('#tab-profile');
  await waitUntil('the profiles of both endpoints', async () => {
    const statuses = await page.$$eval('#profile tbody tr.status-row', (trs) => trs.map((tr) => [tr.dataset.endpoint, tr.cells[6].textContent]));
    return [A, B].every((ep) => statuses.some(([e]) => e === ep)) &&
      statuses.every(([, p50]) => /\d(ms|s)$/.test(p50));
  });
  ok('the Profile tab shows time per route and status with percentiles');

  await page.click('#tab-requests');
  await page.selectOption('#interval', '0');
  check(new URL(page.url()).searchParams.get('interval') === '0', 'the interval is kept in the URL');
  {
    const ageCell = page.locator('#requests tbody tr[data-depth="0"] td.age').first();
    const first = await ageCell.textContent();
    await page.waitForTimeout(350);
    check(await ageCell.textContent() === first, 'paused: ages stand still');
    check((await page.textContent('#clock')) === 'paused', 'says paused');
  }
  await page.selectOption('#interval', '1000');
  ok('the refresh interval can be paused and resumed');

  // The screenshot: the table sorted oldest first, one request's history open.
  {
    await waitUntil('a fresh poll', async () => (await rows(page)).length >= 20);
    if (SCREENSHOT_DIR) {
      // For the README, requests of every age: stuck (30s and more), slow (5s and more)
      // and fresh ones, which the demo starts when two of its requests are terminated.
      const oldest = async () => Math.max(...(await roots()).map((r) => parseDuration(r.age)));
      await waitUntil('requests in flight for 27s', async () => await oldest() >= 27_000, 60_000);
      const list = await api(A, '/requests?direction=inbound');
      for (const request of list.body.requests.slice(-2)) {
        await fetch(`http://${A}/requests/${request.id}`, { method: 'DELETE' });
      }
      await waitUntil('requests in flight for 31s', async () => await oldest() >= 31_000, 60_000);
    }
    const row = (await roots()).find((r) => r.endpoint === A && r.target.startsWith('/fetch/'));
    await page.click(`#requests tbody tr[data-endpoint="${A}"][data-id="${row.id}"] td.status`);
    await waitUntil('its history', async () => (await page.locator('#detail .history tbody tr').count()) >= 3);
    await waitUntil('the notes to fade', async () => (await page.locator('.toast').count()) === 0, 10_000);
    await page.mouse.move(0, 0);
    const shot = path.join(RUN_DIR, 'web.png');
    await page.screenshot({ path: shot });
    console.log(`# screenshot: ${shot}`);
    if (SCREENSHOT_DIR) {
      await mkdir(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'web.png') });
      console.log(`# screenshot: ${path.join(SCREENSHOT_DIR, 'web.png')}`);
    }
  }
  ok('saves a screenshot');

  check(problems.length === 0, `the page reported problems:\n${problems.join('\n')}`);
  ok('no script errors, no blocked loads');
}

/** The tree and the trace view over the chain of three services. */
async function chained(context) {
  const page = await context.newPage();
  looking(page);
  const problems = problemsOf(page);
  await page.goto(CHAIN_PAGE);
  // Each held call is in flight at every hop: front in and out, middle in and out, back in.
  const chains = await waitUntil('both chains at all three services', async () => {
    const all = await rows(page);
    const chainsOf = [TRACE, ...new Set(all.map((r) => r.trace).filter((t) => t !== TRACE))]
      .map((trace) => all.filter((r) => r.trace === trace));
    return chainsOf.length === 2 && chainsOf.every((c) => c.length === 5) ? chainsOf : null;
  });
  check(await page.isChecked('#show-tree'), 'the tree is on by default');
  for (const chain of chains) {
    const where = chain.map((r) => `${r.endpoint}:${r.dir}:${r.depth}`).join(' ');
    check(where === `${FRONT}:in:0 ${FRONT}:out:1 ${MIDDLE}:in:2 ${MIDDLE}:out:3 ${BACK}:in:4`,
      `one tree across the services, each hop under the one that caused it: ${where}`);
    chain.slice(1).forEach((row, i) => check(row.parentKey === chain[i].key,
      `${row.key} hangs under ${row.parentKey}, not ${chain[i].key}`));
    check(chain[0].parentKey === null, 'the first request is a root: its parent span is nowhere');
    const held = chain.filter((r) => r.holding);
    check(held.length === 1 && held[0].key === chain[4].key, `the back request holds its chain up: ${where}`);
    check(/holding up the chain · back · \d/.test(held[0].holdingText), `marked with its service and age: ${held[0].holdingText}`);
  }
  ok('one tree across three services, joined by trace context; the leaf holding each chain up is marked');

  await page.click('#show-tree');
  await waitUntil('each service on its own', async () => {
    const all = await rows(page);
    const back = all.filter((r) => r.endpoint === BACK);
    return back.length === 2 && back.every((r) => r.depth === 0) && all.every((r) => !r.holding) &&
      all.filter((r) => r.endpoint === FRONT && r.dir === 'out').every((r) => r.depth === 1);
  });
  check(new URL(page.url()).searchParams.get('tree') === 'off', 'the choice is kept in the URL');
  await page.keyboard.press('t');
  await waitUntil('the tree again', async () => (await rows(page)).some((r) => r.endpoint === BACK && r.depth === 4));
  ok('the tree can be turned off and on (click, or the t key)');

  // The trace view: every hop of the known trace, from the three admin ports, on one axis.
  await page.click(`#requests tbody tr[data-endpoint="${FRONT}"][data-depth="0"][data-trace="${TRACE}"] button.trace-id`);
  await page.locator('#view-trace').waitFor({ state: 'visible' });
  check((await page.textContent('#trace-title')) === `Trace ${TRACE}`, 'the view names the trace');
  const hopRows = () => page.$$eval('#trace tbody tr', (trs) => trs.map((tr) => ({
    endpoint: tr.dataset.endpoint,
    state: tr.dataset.state,
    direction: tr.dataset.direction,
    start: Number(tr.dataset.start),
    took: tr.querySelector('td.took').textContent,
    host: tr.querySelector('td.host').textContent,
    route: tr.querySelector('td.route').textContent,
    target: tr.querySelector('td.target').textContent,
    left: tr.querySelector('.span').style.left,
    width: tr.querySelector('.span').style.width,
  })));
  const timeline = await waitUntil('ten hops', async () => {
    const list = await hopRows();
    return list.length === 10 ? list : null;
  });
  const live = timeline.filter((h) => h.state === 'live');
  const done = timeline.filter((h) => h.state !== 'live');
  check(live.length === 5 && done.length === 5, `5 in flight and 5 finished: ${JSON.stringify(timeline)}`);
  check(timeline.every((h, i) => i === 0 || timeline[i - 1].start <= h.start), 'oldest first');
  check(new Set(timeline.map((h) => h.endpoint)).size === 3, 'hops of all three services');
  check(timeline[0].endpoint === FRONT && timeline[0].direction === 'inbound' && timeline[0].target === 'GET /fetch/quick',
    `the first hop is the front's quick request: ${JSON.stringify(timeline[0])}`);
  check(done.every((h) => h.state === 'completed' && /^\d+(\.\d+)?(ms|s)$/.test(h.took)), `finished hops with their duration: ${JSON.stringify(done)}`);
  check(live.every((h) => /^in flight \d/.test(h.took)), `in-flight hops marked, with their age: ${JSON.stringify(live)}`);
  check(timeline.every((h) => /^(front|middle|back)@chainhost$/.test(h.host)), 'service@host');
  check(timeline.filter((h) => h.direction === 'outbound').every((h) => /^(front|middle) → 127\.0\.0\.1:\d+$/.test(h.route)),
    'calls go from their service to host:port');
  check(timeline.every((h) => h.left.endsWith('%') && h.width.endsWith('%')), 'every hop sits on the time axis');
  {
    const age = async () => parseDuration((await page.textContent('#trace tbody tr.live td.took')).replace('in flight ', ''));
    const first = await age();
    await page.waitForTimeout(350);
    check(await age() > first, 'in-flight hops age while the page looks');
  }
  ok('the trace view shows every hop of the trace from every endpoint on a time axis, oldest first');

  const unknown = '0af7651916cd43dd8448eb211c80319c';
  await page.goto(`${CHAIN_PAGE}`);
  await waitUntil('rows', async () => (await rows(page)).length === 10);
  await page.click(`#requests tbody tr[data-endpoint="${BACK}"] button.trace-id >> nth=0`);
  await page.locator('#view-trace').waitFor({ state: 'visible' });
  await waitUntil('the back request\'s trace', async () => (await hopRows()).length >= 5);
  check(unknown.length === 32, 'a trace id nobody has');
  {
    const answer = await api(FRONT, `/traces/${unknown}`);
    check(answer.status === 200 && answer.body.requests.length === 0 && answer.body.finished.length === 0,
      `an unknown trace is an empty answer: ${JSON.stringify(answer)}`);
  }
  ok('clicking any hop\'s trace id opens its trace');

  const shot = path.join(RUN_DIR, 'trace.png');
  await page.screenshot({ path: shot });
  console.log(`# screenshot: ${shot}`);
  if (SCREENSHOT_DIR) {
    await page.click('#tab-requests');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'web-tree.png') });
    await page.click('#tab-trace');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'web-trace.png') });
  }
  check(problems.length === 0, `the page reported problems:\n${problems.join('\n')}`);
  ok('no script errors on the chain\'s page');
}

await inBrowser({ runDir: RUN_DIR, timeoutMs: 150_000, options: { colorScheme: 'dark' } }, async (context) => {
  await run(context);
  await chained(context);
});
