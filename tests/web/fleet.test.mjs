// Drives the page served by `inflight web` in a real headless Chromium, over two demo
// processes that allow no other origin (tests/cli_web.rs starts them):
//   A  a demo without tokens;
//   B  a demo with a read and a kill token, which `inflight web` holds.
// The page reaches both through `inflight web`, so both are green with no CORS setting
// and no token typed; a kill through the page works with the server's kill token; and
// the links `inflight link` printed open their view.
// Exits non-zero on the first failed check. Environment:
//   INFLIGHT_WEB (the server's URL), INFLIGHT_A, INFLIGHT_B, INFLIGHT_B_READ_TOKEN,
//   INFLIGHT_LINK_VIEW (a link with --tab profile --filter INFLIGHT_FILTER),
//   INFLIGHT_LINK_TRACE (a link with --trace INFLIGHT_TRACE), INFLIGHT_RUN_DIR,
//   CHROMIUM (optional).

import {
  check, inBrowser, looking, ok, problemsOf, rows, setting, waitUntil,
} from './harness.mjs';

const WEB = setting('INFLIGHT_WEB');
const A = setting('INFLIGHT_A');
const B = setting('INFLIGHT_B');
const B_READ = setting('INFLIGHT_B_READ_TOKEN');
const LINK_VIEW = setting('INFLIGHT_LINK_VIEW');
const FILTER = setting('INFLIGHT_FILTER');
const LINK_TRACE = setting('INFLIGHT_LINK_TRACE');
const TRACE = setting('INFLIGHT_TRACE');
const RUN_DIR = setting('INFLIGHT_RUN_DIR');

async function run(context) {
  const page = context.pages()[0] || await context.newPage();
  looking(page);
  const problems = problemsOf(page);

  const response = await page.goto(`${WEB}/`);
  check(response.ok(), `GET ${WEB}/ answered ${response.status()}`);
  check(page.url().includes(`/e/${A}/`) && page.url().includes(`/e/${B}/`),
    `/ leads to the page over both endpoints: ${page.url()}`);
  ok('inflight web leads / to the page over both endpoints');

  const badge = (ep) => page.locator(`.badge[data-endpoint="${ep}"]`);
  await waitUntil('both badges green', async () =>
    await badge(A).getAttribute('data-state') === 'ok' && await badge(B).getAttribute('data-state') === 'ok');
  check(!(await page.locator('#ask').isVisible()), 'no token asked for: the server holds B\'s');
  ok('both endpoints ok with no --allow-origin and no token typed');

  await waitUntil('requests of both endpoints', async () => {
    const all = await rows(page);
    const count = (ep) => all.filter((r) => r.endpoint === ep).length;
    return count(A) >= 12 && count(B) >= 12;
  });
  ok('lists the requests of both endpoints in one table');

  {
    const row = (await rows(page)).find((r) => r.endpoint === B && r.depth === 0 && r.target.startsWith('/fetch/'));
    check(row, 'an inbound request of B');
    const selector = `#requests tbody tr[data-endpoint="${B}"][data-id="${row.id}"]`;
    await page.click(`${selector} button.kill`);
    const dialog = page.locator('#ask');
    await dialog.waitFor({ state: 'visible' });
    check((await page.textContent('#ask-title')).startsWith(`Terminate #${row.id} on ${B}`), 'asks to confirm');
    await page.fill('#ask input[name=message]', 'killed through inflight web');
    await page.click('#ask-ok');
    await dialog.waitFor({ state: 'hidden' });
    await waitUntil('the row to go', async () => (await page.locator(selector).count()) === 0);
    const one = await fetch(`http://${B}/requests/${row.id}`, { headers: { authorization: `Bearer ${B_READ}` } });
    check(one.status === 404, `B still has #${row.id}: ${one.status}`);
    const recent = await (await fetch(`http://${B}/recent`, { headers: { authorization: `Bearer ${B_READ}` } })).json();
    const ended = recent.families.flatMap((f) => f.errors).find((e) => e.request.id === row.id);
    check(ended && ended.ending === 'terminated' && ended.request.control_message === 'killed through inflight web',
      `B recorded the terminate: ${JSON.stringify(ended)}`);
    ok('a kill through the page ends the request, with the server\'s kill token');
  }

  await page.goto(LINK_VIEW);
  await waitUntil('the profile tab', async () => await page.getAttribute('#tab-profile', 'aria-selected') === 'true');
  check(await page.isVisible('#view-profile'), 'the profile view shows');
  check(await page.inputValue('#filter') === FILTER, `the filter is ${JSON.stringify(FILTER)}`);
  await waitUntil('both badges green', async () =>
    await badge(A).getAttribute('data-state') === 'ok' && await badge(B).getAttribute('data-state') === 'ok');
  ok('a link opens its tab and filter');

  await page.goto(LINK_TRACE);
  await waitUntil('the trace tab', async () => await page.getAttribute('#tab-trace', 'aria-selected') === 'true');
  check((await page.textContent('#trace-title')) === `Trace ${TRACE}`, 'the trace view names the trace');
  await waitUntil('both endpoints to answer for the trace', async () =>
    (await page.textContent('#trace-summary')).includes('2 of 2 endpoints answered') &&
    await page.locator('#trace tbody tr').count() > 0);
  ok('a link opens its trace');

  check(problems.length === 0, problems.join('\n'));
  ok('no page errors, console errors or browser dialogs');
}

await inBrowser({ runDir: RUN_DIR, timeoutMs: 120_000 }, run);
