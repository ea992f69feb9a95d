// End-to-end scenarios of the store kiosk page in Debian's headless Chromium,
// driven by playwright-core. Run by tests/tests/api/kiosk.rs, which starts a
// seeded edge host, prepares orders, carts and codes over the API, runs this
// script with them, and then checks the server's state over the API.
//
//   KIOSK_CONFIG=<file.json> node tests/kiosk/scenarios.mjs
//
// The config holds base_url, artifacts (a directory), chromium (the
// executable), store_token, customer_token, store_id, store_name and one
// entry per scenario (see the Rust test). Each scenario types its code into
// the scan field with the keyboard, presses Enter, checks what the page
// shows, and saves a screenshot into the artifacts directory. The exit
// status is 0 only when every scenario passed; results.json in the
// artifacts directory records what each one saw.

import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const config = JSON.parse(readFileSync(process.env.KIOSK_CONFIG, 'utf8'));
mkdirSync(config.artifacts, { recursive: true });

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const results = [];
let failures = 0;

async function scenario(page, name, body) {
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

/** Types a code as a keyboard-wedge scanner does (the code, then Enter)
 *  and waits for the result panel to leave its busy state. */
async function scan(page, code) {
  // Escape clears the previous answer (the page's "next customer" key), so
  // each screenshot shows the answer its scenario checked.
  await page.keyboard.press('Escape');
  await page.keyboard.type(code, { delay: 2 });
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => {
    const panel = document.getElementById('result');
    return panel && panel.dataset.state !== 'busy' && panel.dataset.state !== 'idle';
  });
  return page.locator('#result');
}

async function panelState(page) {
  return page.evaluate(() => {
    const panel = document.getElementById('result');
    const problem = panel.querySelector('[data-problem]');
    return {
      kind: panel.dataset.kind,
      state: panel.dataset.state,
      problem: problem ? problem.dataset.problem : null,
      text: panel.innerText,
      focused: document.activeElement ? (document.activeElement.id || document.activeElement.dataset.action || document.activeElement.tagName) : null,
    };
  });
}

async function expectProblem(page, code, slug, mention) {
  await scan(page, code);
  const seen = await panelState(page);
  assert.equal(seen.kind, 'error', JSON.stringify(seen));
  assert.equal(seen.problem, slug, JSON.stringify(seen));
  if (mention) assert.ok(seen.text.includes(mention), `the answer names ${mention}: ${seen.text}`);
  assert.ok(!/undefined|null|\[object|Error:|at \w+ \(/.test(seen.text), `no raw values or stack traces: ${seen.text}`);
  return seen;
}

async function press(page, action) {
  // Keyboard only: the page gives its main action the focus, Enter presses it.
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.dataset.action);
  assert.equal(focused, action, `the ${action} button has the focus`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('result').dataset.state === 'done', null, { timeout: 15000 });
}

const browser = await chromium.launch({ executablePath: config.chromium, headless: true, args: FLAGS });
try {
  const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  // Nothing may be fetched from outside the app.
  const outside = [];
  page.on('request', (request) => { if (!request.url().startsWith(config.base_url)) outside.push(request.url()); });

  await page.goto(`${config.base_url}/kiosk`);
  await page.waitForSelector('body[data-ready="true"]');

  await scenario(page, 'sign-in-refuses-a-customer-token', async () => {
    await page.focus('#token');
    await page.keyboard.type(config.customer_token, { delay: 0 });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('signin-message').classList.contains('bad'));
    const message = await page.textContent('#signin-message');
    assert.match(message, /not belong to a store device/);
    assert.equal(await page.isVisible('#work'), false);
    return { message };
  });

  await scenario(page, 'sign-in-shows-the-store', async () => {
    await page.fill('#token', '');
    await page.focus('#token');
    await page.keyboard.type(config.store_token, { delay: 0 });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#work:not([hidden])');
    const header = await page.textContent('#store');
    assert.ok(header.includes(config.store_id), header);
    assert.ok(header.includes(config.store_name), header);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'scan', 'the scan field has the focus');
    const policy = (await page.request.get(`${config.base_url}/kiosk/`)).headers()['content-security-policy'];
    assert.match(policy, /default-src 'self'/);
    return { header };
  });

  await scenario(page, 'pickup-code-shows-the-order-and-hands-it-over', async () => {
    await scan(page, config.pickup.code);
    let seen = await panelState(page);
    assert.equal(seen.kind, 'pickup', JSON.stringify(seen));
    assert.equal(seen.state, 'ready');
    assert.ok(seen.text.includes(config.pickup.order_id), seen.text);
    for (const name of config.pickup.line_names) assert.ok(seen.text.includes(name), `line ${name}: ${seen.text}`);
    await press(page, 'hand-over');
    seen = await panelState(page);
    assert.ok(seen.text.includes(config.pickup.order_id));
    assert.equal(seen.focused, 'scan', 'done: the scan field is ready for the next customer');
    return seen;
  });

  await scenario(page, 'a-second-scan-says-already-collected', async () => {
    return expectProblem(page, config.pickup.code, 'already-collected', config.store_id);
  });

  await scenario(page, 'a-code-for-another-store-is-refused', async () => {
    return expectProblem(page, config.other_store.code, 'wrong-store', config.other_store.store_id);
  });

  await scenario(page, 'an-expired-pickup-code-is-refused', async () => {
    return expectProblem(page, config.expired.code, 'pickup-code-expired');
  });

  await scenario(page, 'a-forged-pickup-code-is-refused', async () => {
    return expectProblem(page, config.forged.code, 'pickup-code-invalid');
  });

  await scenario(page, 'an-unknown-code-is-refused', async () => {
    return expectProblem(page, config.unknown.code, 'unknown-code');
  });

  await scenario(page, 'an-order-not-ready-yet-is-refused', async () => {
    return expectProblem(page, config.not_ready.code, 'not-ready-for-pickup');
  });

  await scenario(page, 'identity-code-shows-ready-orders-and-coupons', async () => {
    await scan(page, config.identity.code);
    const seen = await panelState(page);
    assert.equal(seen.kind, 'identity', JSON.stringify(seen));
    assert.ok(seen.text.includes(config.identity.customer_id), seen.text);
    const orders = await page.$$eval('[data-order]', (nodes) => nodes.map((n) => n.dataset.order));
    assert.deepEqual(orders, [config.identity.order_id]);
    const coupons = await page.$$eval('[data-coupon]', (nodes) => nodes.map((n) => n.dataset.coupon));
    assert.ok(coupons.includes(config.identity.coupon_id), `coupons ${coupons}`);
    const returns = await page.$$eval('[data-return]', (nodes) => nodes.map((n) => n.dataset.return));
    if (config.identity.return_case) assert.deepEqual(returns, [config.identity.return_case]);
    return { ...seen, orders, coupons, returns };
  });

  await scenario(page, 'identity-code-in-polish', async () => {
    await page.click('.lang-button[data-lang="pl"]');
    await page.waitForFunction(() => document.documentElement.lang === 'pl');
    const seen = await panelState(page);
    assert.ok(seen.text.includes('Zamówienia gotowe w tym sklepie'), seen.text);
    assert.equal(await page.evaluate(() => localStorage.getItem('kiosk.lang')), 'pl');
    await page.click('.lang-button[data-lang="en"]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    return seen;
  });

  await scenario(page, 'an-expired-identity-code-is-refused', async () => {
    return expectProblem(page, config.identity.expired_code, 'identity-code-expired');
  });

  await scenario(page, 'cart-handoff-shows-the-app-totals-and-completes', async () => {
    await scan(page, config.handoff.code);
    let seen = await panelState(page);
    assert.equal(seen.kind, 'handoff', JSON.stringify(seen));
    const total = await page.getAttribute('[data-total="total"]', 'data-amount');
    assert.equal(total, config.handoff.total.amount, 'the till shows the total the app showed');
    const skus = await page.$$eval('#result tbody .sku', (nodes) => nodes.map((n) => n.textContent));
    assert.deepEqual(skus.sort(), [...config.handoff.skus].sort());
    await press(page, 'complete');
    seen = await panelState(page);
    return { ...seen, total, skus };
  });

  if (config.return) {
    await scenario(page, 'return-qr-shows-the-rma-and-receives-it', async () => {
      await scan(page, config.return.code);
      let seen = await panelState(page);
      assert.equal(seen.kind, 'return', JSON.stringify(seen));
      assert.ok(seen.text.includes(config.return.case_number), seen.text);
      await press(page, 'receive');
      seen = await panelState(page);
      assert.equal(await page.getAttribute('[data-field="status"]', 'data-status'), 'received');
      return seen;
    });

    await scenario(page, 'a-received-return-is-refunded-from-the-kiosk', async () => {
      await press(page, 'refund');
      // The panel was already done (received): wait for the refund's answer.
      await page.waitForSelector('[data-field="status"][data-status="refunded"]', { timeout: 15000 });
      const seen = await panelState(page);
      assert.equal(seen.kind, 'return', JSON.stringify(seen));
      assert.equal(await page.getAttribute('[data-field="status"]', 'data-status'), 'refunded');
      assert.ok(seen.text.includes(config.return.case_number), seen.text);
      return seen;
    });
  }

  await scenario(page, 'sign-out-returns-to-sign-in', async () => {
    await page.click('#signout');
    await page.waitForSelector('#signin:not([hidden])');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('kiosk.token')), null);
    return {};
  });

  await scenario(page, 'nothing-was-fetched-from-outside-and-no-script-error', async () => {
    assert.deepEqual(outside, []);
    assert.deepEqual(consoleErrors.filter((e) => !/status of (4\d\d)/.test(e)), []);
    return { outside, consoleErrors };
  });
} finally {
  await browser.close();
  writeFileSync(join(config.artifacts, 'results.json'), JSON.stringify(results, null, 2));
}

console.log(`${results.length - failures}/${results.length} kiosk scenarios passed`);
process.exit(failures === 0 ? 0 : 1);
