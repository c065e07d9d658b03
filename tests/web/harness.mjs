// What the browser scripts share: their settings, a headless Chromium in a throwaway
// profile, numbered checks, waiting with a deadline, and the request table's rows as the
// user sees them. A script exits non-zero on its first failed check, with a screenshot of
// the page it was looking at.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

/** How long one wait may take. */
export const WAIT_MS = 20_000;

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// The machine's network is closed: without these, Chromium waits on refused connections.
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** An environment variable the Rust test sets. */
export function setting(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; the test in tests/*.rs runs this script`);
  return value;
}

let passed = 0;
const started = Date.now();

/** Counts a passed check and says so. */
export function ok(what) {
  passed += 1;
  console.log(`ok ${passed} - ${what} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Polls `probe` until it returns something truthy; fails with its last answer. */
export async function waitUntil(what, probe, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The request table's rows as the user sees them, read in one go. */
export function rows(page) {
  return page.$$eval('#requests tbody tr', (trs) => trs.map((tr) => ({
    endpoint: tr.dataset.endpoint,
    id: Number(tr.dataset.id),
    depth: Number(tr.dataset.depth),
    parent: tr.dataset.parent ? Number(tr.dataset.parent) : null,
    parentKey: tr.dataset.parentKey || null,
    key: `${tr.dataset.endpoint}#${tr.dataset.id}`,
    trace: tr.dataset.trace,
    holding: tr.classList.contains('holding'),
    holdingText: tr.querySelector('.tag.holding') ? tr.querySelector('.tag.holding').textContent : '',
    context: tr.classList.contains('context'),
    host: tr.cells[0].textContent,
    dir: tr.cells[2].textContent,
    age: tr.cells[3].textContent,
    status: tr.cells[5].textContent,
    method: tr.cells[6].textContent,
    target: tr.cells[7].textContent,
    text: tr.textContent,
  })));
}

/**
 * The page's errors, console errors and browser dialogs, collected as they happen: a
 * script checks at its end that there were none.
 */
export function problemsOf(page) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    problems.push(`unexpected browser dialog: ${dialog.message()}`);
    dialog.dismiss();
  });
  return problems;
}

/** The page under test, for a screenshot when a check fails. */
let current = null;

/** Says which page a failure's screenshot shows. */
export function looking(page) {
  current = page;
}

/**
 * Runs `steps(context)` in a fresh headless Chromium whose profile lives in `runDir`,
 * for at most `timeoutMs`; then prints the count of passed checks, or the failure and a
 * screenshot's path (exit code 1).
 */
export async function inBrowser({ runDir, timeoutMs, options = {} }, steps) {
  await mkdir(runDir, { recursive: true });
  const profile = await mkdtemp(path.join(runDir, 'chromium-'));
  let context;
  const timer = setTimeout(() => {
    console.error(`not ok - the whole test took longer than ${timeoutMs / 1000}s`);
    process.exit(1);
  }, timeoutMs);
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1600, height: 900 },
      timeout: 60_000,
      ...options,
    });
    context.setDefaultTimeout(WAIT_MS);
    await steps(context);
    console.log(`${passed} passed, 0 failed`);
  } catch (error) {
    console.error(`not ok - ${error.stack || error}`);
    process.exitCode = 1;
    if (current) {
      const shot = path.join(runDir, 'failure.png');
      await current.screenshot({ path: shot }).then(() => console.error(`# the page then: ${shot}`), () => {});
    }
  } finally {
    clearTimeout(timer);
    if (context) await context.close().catch(() => {});
    await rm(profile, { recursive: true, force: true }).catch(() => {});
  }
}
