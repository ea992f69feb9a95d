// What every browser scenario script here shares (scenarios.mjs for the
// kiosk, insights.mjs for the insights page): the config the Rust test
// wrote (its path in SCENARIO_CONFIG), Chromium's flags, and a runner that
// times each scenario, saves a numbered screenshot whatever happened,
// prints `ok`/`FAIL`, and at the end writes results.json and exits 0 only
// when every scenario passed.

import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const config = JSON.parse(readFileSync(process.env.SCENARIO_CONFIG, 'utf8'));
mkdirSync(config.artifacts, { recursive: true });

export const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const results = [];
let failures = 0;

/** Runs one scenario on `page`; a failure is recorded, not thrown, so the
 *  next scenario still runs. */
export async function scenario(page, name, body) {
  const started = Date.now();
  let error = null;
  let seen = null;
  try {
    seen = await body();
  } catch (e) {
    error = e;
    failures += 1;
  }
  const shot = join(config.artifacts, `${String(results.length + 1).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
  results.push({ name, ok: !error, ms: Date.now() - started, screenshot: shot, seen, error: error ? String(error.stack || error) : null });
  console.log(`${error ? 'FAIL' : 'ok  '} ${name} (${Date.now() - started} ms)${error ? `\n${error.stack || error}` : ''}`);
}

/** An extra screenshot inside a scenario (a state the scenario passes
 *  through, or a language it leaves again). */
export async function shot(page, name) {
  await page.screenshot({ path: join(config.artifacts, `${String(results.length + 1).padStart(2, '0')}-${name}.png`), fullPage: true });
}

/** Writes results.json and exits: 0 only when every scenario passed. */
export function finish(what) {
  writeFileSync(join(config.artifacts, 'results.json'), JSON.stringify(results, null, 2));
  console.log(`${results.length - failures}/${results.length} ${what} scenarios passed`);
  process.exit(failures === 0 ? 0 : 1);
}
