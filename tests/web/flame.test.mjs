// Opens a flame graph from the admin port's /debug/pprof/profile?format=svg in a real
// headless Chromium, as a file, and checks it rendered with the expected frame.
// tests/admin_pprof.rs runs this script. Environment:
//   INFLIGHT_SVG (the file), INFLIGHT_FRAME (a function name the graph must show),
//   INFLIGHT_RUN_DIR (flame.png goes there), INFLIGHT_SCREENSHOT_DIR (optional: also
//   write flame.png there), CHROMIUM (optional).

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { check, inBrowser, looking, ok, setting } from './harness.mjs';

const SVG = setting('INFLIGHT_SVG');
const FRAME = setting('INFLIGHT_FRAME');
const RUN_DIR = setting('INFLIGHT_RUN_DIR');
const SCREENSHOT_DIR = process.env.INFLIGHT_SCREENSHOT_DIR || '';

await inBrowser({ runDir: RUN_DIR, timeoutMs: 50_000, options: { viewport: { width: 1200, height: 700 } } }, async (context) => {
  const page = await context.newPage();
  looking(page);
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(pathToFileURL(SVG).href);
  // Chromium shows a file that is not well-formed XML as an error page, not as <svg>.
  const root = await page.evaluate(() => document.documentElement.localName);
  check(root === 'svg', `the document's root is <${root}>, not <svg>`);
  ok('the file is an SVG document');
  const frames = await page.evaluate(
    (name) =>
      [...document.querySelectorAll('g text, g title')]
        .map((node) => node.textContent)
        .filter((text) => text.includes(name)).length,
    FRAME,
  );
  check(frames > 0, `no frame names ${FRAME}`);
  const box = await page.evaluate(() => {
    const { width, height } = document.documentElement.getBoundingClientRect();
    return { width, height };
  });
  check(box.width > 0 && box.height > 0, `the graph has no size: ${JSON.stringify(box)}`);
  // The graph's own script (search, zoom) ran without errors.
  check(errors.length === 0, `script errors: ${errors.join('; ')}`);
  ok(`the flame graph renders, ${frames} frame(s) name ${FRAME}`);

  // Chromium's screenshots of a bare SVG document never finish; an <img> of it is the
  // same drawing in a page.
  const html = path.join(RUN_DIR, 'flame.html');
  await writeFile(html, `<!doctype html><body style="margin:0"><img src="${pathToFileURL(SVG).href}"></body>`);
  await page.goto(pathToFileURL(html).href);
  await page.waitForFunction(() => document.images[0].complete && document.images[0].naturalWidth > 0);
  await page.screenshot({ path: path.join(RUN_DIR, 'flame.png'), fullPage: true });
  if (SCREENSHOT_DIR) {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'flame.png'), fullPage: true });
    console.log(`# screenshot: ${path.join(SCREENSHOT_DIR, 'flame.png')}`);
  }
  ok('saves a screenshot');
});
