// Work that is not an HTTP request on the admin port's page, in a real headless Chromium
// (tests/work_page.rs starts it): a work item held on its outbound call is a row of its
// own with direction `work`, its name and status, the call hangs under it, the summary
// counts it, and the filter finds it by direction.
// Environment: INFLIGHT_PAGE, INFLIGHT_WORK_NAME, INFLIGHT_RUN_DIR, CHROMIUM (optional).

import {
  check, inBrowser, looking, ok, problemsOf, rows, setting, waitUntil,
} from './harness.mjs';

const PAGE = setting('INFLIGHT_PAGE');
const NAME = setting('INFLIGHT_WORK_NAME');
const RUN_DIR = setting('INFLIGHT_RUN_DIR');

await inBrowser({ runDir: RUN_DIR, timeoutMs: 90_000 }, async (context) => {
  const page = await context.newPage();
  looking(page);
  const problems = problemsOf(page);
  await page.goto(PAGE);

  const [work, call] = await waitUntil('the work and its call', async () => {
    const all = await rows(page);
    const work = all.find((r) => r.dir === 'work');
    const call = all.find((r) => r.dir === 'out');
    return all.length === 2 && work && call && work.status.startsWith('awaiting') ? [work, call] : null;
  });
  check(work.method === 'WORK', `the work's method: ${work.method}`);
  check(work.target === NAME, `the work's name is its target: ${work.target}`);
  check(work.depth === 0 && work.parentKey === null, 'the work is a root');
  check(call.depth === 1 && call.parentKey === work.key, `its call hangs under it: ${JSON.stringify(call)}`);
  ok('a work item is a row of its own, with its call under it');

  const summary = await page.textContent('#summary');
  check(/2 in flight · 0 inbound · 1 outbound · 1 work/.test(summary), `the summary counts the work: ${summary}`);
  ok('the summary counts work');

  await page.fill('#filter', 'work');
  await waitUntil('the filter to keep only the work', async () => {
    const matching = (await rows(page)).filter((r) => !r.context);
    return matching.length === 1 && matching[0].dir === 'work' &&
      (await page.textContent('#summary')).includes('1 match “work”');
  });
  ok('the filter finds work by its direction');

  check(problems.length === 0, problems.join('\n'));
  ok('no page or console errors');
});
