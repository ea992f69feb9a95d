// End-to-end scenarios of the store kiosk page in Debian's headless Chromium,
// driven by playwright-core. Run by tests/tests/api/kiosk.rs, which starts a
// seeded edge host, prepares orders, carts, returns and codes over the API,
// runs this script with them, and then checks the server's state over the
// API. Every action is taken with the keyboard, as a clerk with a scanner
// and a keyboard would: the page gives the next action the focus.
//
//   SCENARIO_CONFIG=<file.json> node tests/kiosk/scenarios.mjs
//
// The config holds base_url, artifacts (a directory), chromium (the
// executable), store_token, customer_token, store_id, store_name and one
// entry per scenario (see the Rust test). Each scenario types its code into
// the scan field with the keyboard, presses Enter, checks what the page
// shows, and saves a screenshot into the artifacts directory. The exit
// status is 0 only when every scenario passed; results.json in the
// artifacts directory records what each one saw.

import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { config, FLAGS, scenario, shot, finish } from './harness.mjs';

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

/** Presses Enter on the focused action (which must be `action`) and waits
 *  for the panel to reach `until`. */
async function press(page, action, until = 'done') {
  // Keyboard only: the page gives its main action the focus, Enter presses it.
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.dataset.action);
  assert.equal(focused, action, `the ${action} button has the focus`);
  await page.keyboard.press('Enter');
  await page.waitForFunction((state) => document.getElementById('result').dataset.state === state, until, { timeout: 15000 });
}

// ---- one language per screen ---------------------------------------------------

const TABLES = {
  en: JSON.parse(readFileSync(config.strings.en, 'utf8')),
  pl: JSON.parse(readFileSync(config.strings.pl, 'utf8')),
};

/** The literal parts (6+ characters) of `lang`'s strings that no string of
 *  the other language contains: text that can only come from `lang`. */
function ownFragments(lang) {
  const other = Object.values(TABLES[lang === 'en' ? 'pl' : 'en']).join('\n');
  const out = new Set();
  for (const [key, value] of Object.entries(TABLES[lang])) {
    if (key === 'lang.name') continue;
    for (const part of value.split(/\{\w+\}/)) {
      const literal = part.trim();
      if (literal.length >= 6 && !other.includes(literal)) out.add(literal);
    }
  }
  return [...out];
}

/** Nothing of the other language's string table is visible on the page. */
async function assertOneLanguage(page, lang) {
  const other = lang === 'en' ? 'pl' : 'en';
  const text = await page.evaluate(() => document.body.innerText);
  const leaks = ownFragments(other).filter((fragment) => text.includes(fragment));
  assert.deepEqual(leaks, [], `a ${lang} page shows ${other} text: ${leaks.join(' | ')}\n${text}`);
  assert.ok(!/\b(ready_for_pickup|picked_up|on_track|at_risk|original_payment)\b/.test(text), `no raw status values: ${text}`);
  return text;
}

async function switchLanguage(page, lang) {
  await page.click(`.lang-button[data-lang="${lang}"]`);
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

async function signInWith(page, token) {
  if (await page.isVisible('#signout')) {
    await page.click('#signout');
    await page.waitForSelector('#signin:not([hidden])');
  }
  await page.fill('#token', '');
  await page.focus('#token');
  await page.keyboard.type(token, { delay: 0 });
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#work:not([hidden])');
}

const browser = await chromium.launch({ executablePath: config.chromium, headless: true, args: FLAGS });
try {
  const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  // Nothing may be fetched from outside the app; every API call is logged.
  const outside = [];
  const calls = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(config.base_url)) outside.push(request.url());
    else if (request.url().includes('/api/')) calls.push({ method: request.method(), path: new URL(request.url()).pathname, body: request.postData() });
  });

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
    await signInWith(page, config.store_token);
    const header = await page.textContent('#store');
    assert.ok(header.includes(config.store_id), header);
    assert.ok(header.includes(config.store_name), header);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'scan', 'the scan field has the focus');
    const policy = (await page.request.get(`${config.base_url}/kiosk/`)).headers()['content-security-policy'];
    assert.match(policy, /default-src 'self'/);
    return { header };
  });

  await scenario(page, 'pickup-code-hands-over-after-a-confirmation-showing-the-amount', async () => {
    await scan(page, config.pickup.code);
    let seen = await panelState(page);
    assert.equal(seen.kind, 'pickup', JSON.stringify(seen));
    assert.equal(seen.state, 'ready');
    assert.ok(seen.text.includes(config.pickup.order_id), seen.text);
    for (const name of config.pickup.line_names) assert.ok(seen.text.includes(name), `line ${name}: ${seen.text}`);
    assert.match(seen.text, /Status: ready for pickup/);
    await press(page, 'hand-over', 'confirm');
    seen = await panelState(page);
    assert.match(seen.text, /Hand over order .*, paid .*\d.*\? Press Enter again/, seen.text);
    await shot(page, 'confirm-hand-over');
    await press(page, 'confirm-hand-over');
    seen = await panelState(page);
    assert.ok(seen.text.includes(config.pickup.order_id));
    assert.equal(seen.focused, 'scan', 'done: the scan field is ready for the next customer');
    const handOver = calls.filter((c) => c.path === '/api/orders/pickup-handovers');
    assert.equal(handOver.length, 1, 'one hand-over call');
    assert.equal(JSON.parse(handOver[0].body).channel, 'kiosk');
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

  await scenario(page, 'an-order-not-ready-yet-is-refused-with-its-status-in-words', async () => {
    const seen = await expectProblem(page, config.not_ready.code, 'not-ready-for-pickup');
    assert.match(seen.text, /the order is accepted/, seen.text);
    return seen;
  });

  await scenario(page, 'a-typed-order-number-finds-the-order-and-hands-it-over', async () => {
    await scan(page, config.typed_order.order_id.toLowerCase());
    let seen = await panelState(page);
    assert.equal(seen.kind, 'pickup', JSON.stringify(seen));
    assert.ok(seen.text.includes(config.typed_order.order_id), seen.text);
    await press(page, 'hand-over', 'confirm');
    await press(page, 'confirm-hand-over');
    seen = await panelState(page);
    assert.match(seen.text, /Handed over/);
    return seen;
  });

  await scenario(page, 'identity-code-shows-ready-orders-coupons-and-returns', async () => {
    await scan(page, config.identity.code);
    const seen = await panelState(page);
    assert.equal(seen.kind, 'identity', JSON.stringify(seen));
    assert.ok(seen.text.includes(config.identity.customer_id), seen.text);
    const orders = await page.$$eval('[data-order]', (nodes) => nodes.map((n) => n.dataset.order));
    assert.deepEqual(orders, [config.identity.order_id]);
    const coupons = await page.$$eval('[data-coupon]', (nodes) => nodes.map((n) => n.dataset.coupon));
    assert.ok(coupons.includes(config.identity.coupon_id), `coupons ${coupons}`);
    const returns = await page.$$eval('[data-return]', (nodes) => nodes.map((n) => n.dataset.return));
    assert.deepEqual(returns, [config.identity.return_case]);
    assert.match(seen.text, /opened, goods not received yet/);
    // One press only asks; Escape steps back and nothing is handed over.
    assert.equal(seen.focused, 'hand-over');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement.dataset.action === 'confirm-hand-over');
    const question = await page.textContent(`[data-order="${config.identity.order_id}"]`);
    assert.match(question, /Hand over order .*, paid .*\d/, question);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.activeElement.dataset.action === 'hand-over');
    assert.equal(calls.filter((c) => c.path === `/api/orders/${config.identity.order_id}/transitions`).length, 0, 'nothing was handed over');
    return { ...seen, orders, coupons, returns };
  });

  await scenario(page, 'identity-code-in-polish-shows-no-english', async () => {
    await switchLanguage(page, 'pl');
    const seen = await panelState(page);
    assert.ok(seen.text.includes('Zamówienia gotowe w tym sklepie'), seen.text);
    assert.ok(seen.text.includes('otwarty, towar nieprzyjęty'), seen.text);
    await assertOneLanguage(page, 'pl');
    await shot(page, 'in-polish');
    assert.equal(await page.evaluate(() => localStorage.getItem('kiosk.lang')), 'pl');
    await switchLanguage(page, 'en');
    await assertOneLanguage(page, 'en');
    return seen;
  });

  await scenario(page, 'an-expired-identity-code-is-refused', async () => {
    return expectProblem(page, config.identity.expired_code, 'identity-code-expired');
  });

  await scenario(page, 'cart-handoff-shows-the-promotion-and-the-refused-code-and-completes-as-paid', async () => {
    await scan(page, config.handoff.code);
    let seen = await panelState(page);
    assert.equal(seen.kind, 'handoff', JSON.stringify(seen));
    const total = await page.getAttribute('[data-total="total"]', 'data-amount');
    assert.equal(total, config.handoff.total.amount, 'the kiosk shows the total the app showed');
    const skus = await page.$$eval('#result tbody .sku', (nodes) => nodes.map((n) => n.textContent));
    assert.deepEqual(skus.sort(), [...config.handoff.skus].sort());
    const promotions = await page.$$eval('[data-promotion]', (nodes) => nodes.map((n) => n.dataset.promotion));
    assert.ok(promotions.includes(config.handoff.promotion_id), `promotions ${promotions}`);
    const refused = await page.$eval(`[data-refused-code="${config.handoff.refused_code}"] [data-reason]`, (n) => ({ reason: n.dataset.reason, text: n.textContent }));
    assert.equal(refused.reason, config.handoff.refused_reason);
    assert.equal(refused.text, TABLES.en[`refusal.${config.handoff.refused_reason}`]);
    assert.equal(await page.getAttribute('[data-total-label]', 'data-total-label'), 'to-pay');
    await press(page, 'complete');
    seen = await panelState(page);
    assert.equal(await page.getAttribute('[data-total-label]', 'data-total-label'), 'paid');
    assert.ok(!seen.text.includes('To pay'), seen.text);
    const completion = calls.find((c) => c.path.endsWith('/complete'));
    assert.ok(completion, 'the completion was sent');
    return { ...seen, total, skus, promotions, refused };
  });

  await scenario(page, 'return-qr-is-received-with-one-unit-damaged', async () => {
    await scan(page, config.return.code);
    let seen = await panelState(page);
    assert.equal(seen.kind, 'return', JSON.stringify(seen));
    assert.equal(seen.state, 'ready', JSON.stringify(seen));
    assert.ok(seen.text.includes(config.return.case_number), seen.text);
    assert.equal(seen.focused, 'receive');
    // Shift+Tab reaches the line's damaged count; type 1; Tab back; Enter.
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.damagedSku), config.return.sku);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('1');
    await page.keyboard.press('Tab');
    await press(page, 'receive');
    seen = await panelState(page);
    assert.match(seen.text, /1 sellable, 1 damaged/, seen.text);
    const intake = JSON.parse(calls.find((c) => c.path === '/api/returns/intakes').body);
    assert.equal(intake.channel, 'kiosk');
    assert.deepEqual(intake.lines, [
      { sku: config.return.sku, quantity: 1, condition: 'sellable' },
      { sku: config.return.sku, quantity: 1, condition: 'damaged' },
    ]);
    return seen;
  });

  await scenario(page, 'a-received-return-is-refunded-after-a-confirmation-showing-the-amount', async () => {
    await press(page, 'refund', 'confirm');
    let seen = await panelState(page);
    assert.match(seen.text, /Refund .*\d.* to the original payment\? Press Enter again/, seen.text);
    await shot(page, 'confirm-refund');
    await press(page, 'confirm-refund');
    await page.waitForSelector('[data-field="status"][data-status="refunded"]', { timeout: 15000 });
    seen = await panelState(page);
    assert.equal(seen.kind, 'return', JSON.stringify(seen));
    assert.ok(seen.text.includes(config.return.case_number), seen.text);
    return seen;
  });

  await scenario(page, 'a-used-return-code-says-so-and-offers-no-receive', async () => {
    await scan(page, config.return.code);
    const seen = await panelState(page);
    assert.equal(seen.kind, 'return', JSON.stringify(seen));
    assert.equal(seen.state, 'used', JSON.stringify(seen));
    assert.equal(await page.$('[data-action="receive"]'), null, 'no Receive for a used code');
    assert.match(seen.text, /Already used: this return is refunded/, seen.text);
    assert.ok(!/\d{4}-\d{2}-\d{2}T/.test(seen.text), `times in words, not ISO: ${seen.text}`);
    assert.equal(seen.focused, 'scan');
    return seen;
  });

  await scenario(page, 'a-typed-case-number-with-a-typo-is-caught-in-the-page', async () => {
    const before = calls.length;
    const seen = await expectProblem(page, config.exchange.typo, 'case-number-typo');
    assert.equal(calls.slice(before).filter((c) => c.path.startsWith('/api/returns')).length, 0, 'no call for a typo');
    return seen;
  });

  await scenario(page, 'a-typed-case-number-is-received-and-offered-its-next-step-when-typed-again', async () => {
    await scan(page, config.exchange.case_number);
    let seen = await panelState(page);
    assert.equal(seen.kind, 'return', JSON.stringify(seen));
    assert.equal(seen.state, 'ready');
    await press(page, 'receive');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.getElementById('result').dataset.state === 'idle');
    await scan(page, config.exchange.case_number.replace(/-/g, ' '));
    seen = await panelState(page);
    assert.equal(seen.state, 'ready', JSON.stringify(seen));
    assert.match(seen.text, /Already received at this store on .*\. Refund or exchange\?/, seen.text);
    assert.equal(seen.focused, 'refund');
    assert.ok(await page.$('[data-action="exchange"]'));
    return seen;
  });

  await scenario(page, 'an-exchange-for-another-size-in-two-key-presses', async () => {
    await page.keyboard.press('Tab');
    await press(page, 'exchange', 'exchange');
    await page.waitForSelector('form.exchange[data-loaded="true"]', { timeout: 15000 });
    const options = await page.$$eval('input[type="radio"]', (nodes) => nodes.map((n) => ({ sku: n.value, disabled: n.disabled, available: Number(n.dataset.available) })));
    assert.ok(options.length >= 3, JSON.stringify(options));
    assert.ok(options.every((o) => o.sku !== config.exchange.sku), 'the returned variant is not offered');
    assert.ok(options.some((o) => o.disabled && o.available === 0), `a size out of stock here is shown, not offered: ${JSON.stringify(options)}`);
    const enabled = options.filter((o) => !o.disabled);
    assert.equal(await page.evaluate(() => document.activeElement.value), enabled[0].sku, 'the first size in stock has the focus');
    await shot(page, 'sizes-in-stock-here');
    // Key press 1: pick the next size in stock. Key press 2: confirm.
    await page.keyboard.press('ArrowDown');
    const picked = await page.evaluate(() => document.activeElement.value);
    assert.equal(picked, enabled[1].sku);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-phase="exchanged"]', { timeout: 15000 });
    const seen = await panelState(page);
    assert.equal(await page.getAttribute('[data-replacement]', 'data-replacement'), picked);
    assert.equal(await page.getAttribute('[data-settlement]', 'data-settlement'), 'none');
    assert.match(seen.text, /Same price: nothing to pay, nothing to refund/);
    assert.match(seen.text, /Reserved at WAW-01 until/);
    const exchange = JSON.parse(calls.find((c) => c.path.endsWith('/exchange')).body);
    assert.equal(exchange.channel, 'kiosk');
    return { ...seen, options, picked };
  });

  await scenario(page, 'the-exchange-in-polish-shows-no-english', async () => {
    await switchLanguage(page, 'pl');
    const text = await assertOneLanguage(page, 'pl');
    assert.match(text, /Ta sama cena/);
    await shot(page, 'in-polish');
    await switchLanguage(page, 'en');
    await assertOneLanguage(page, 'en');
    return { text };
  });

  await scenario(page, 'the-store-queue-sorts-by-promise-and-marks-late-and-at-risk-orders', async () => {
    await signInWith(page, config.queue.store_token);
    await page.keyboard.press('F2');
    await page.waitForFunction(() => document.getElementById('result').dataset.kind === 'queue' && document.getElementById('result').dataset.state === 'ready');
    const rows = await page.$$eval('[data-list="queue-prepare"] [data-queue-order]', (nodes) => nodes.map((n) => ({
      id: n.dataset.queueOrder, sla: n.dataset.sla, due: n.querySelector('[data-field="due"]').textContent, mark: n.querySelector('[data-mark]').textContent,
    })));
    const ours = rows.filter((r) => [config.queue.late, config.queue.at_risk, config.queue.on_track].includes(r.id));
    assert.deepEqual(ours.map((r) => r.id), [config.queue.late, config.queue.at_risk, config.queue.on_track], 'soonest promise first');
    assert.deepEqual(ours.map((r) => r.sla), ['breached', 'at_risk', 'on_track']);
    assert.deepEqual(ours.map((r) => r.mark), ['Late', 'At risk', 'On time']);
    assert.match(ours[0].due, /ago/, ours[0].due);
    assert.match(ours[1].due, /in \d+ minutes?/, ours[1].due);
    assert.match(ours[2].due, /in (\d+ minutes|1 hour)/, ours[2].due);
    const ready = await page.$$eval('[data-list="queue-ready"] [data-queue-order]', (nodes) => nodes.map((n) => n.dataset.queueOrder));
    assert.ok(ready.includes(config.queue.ready), `ready ${ready}`);
    assert.equal(await page.textContent('[data-count="breached"]'), '1 late');
    assert.equal(await page.textContent('[data-count="at-risk"]'), '1 at risk');
    return { rows, ready };
  });

  await scenario(page, 'the-queue-moves-an-order-from-placed-to-ready-by-keyboard', async () => {
    const order = config.queue.on_track;
    // The first order's first move has the focus; the arrows move between orders.
    const rowOfFocus = () => page.evaluate(() => document.activeElement.closest('[data-queue-order]')?.dataset.queueOrder);
    for (let i = 0; i < 5 && (await rowOfFocus()) !== order; i += 1) await page.keyboard.press('ArrowDown');
    assert.equal(await rowOfFocus(), order);
    for (const [action, status] of [['move-accepted', 'accepted'], ['move-picking', 'picking'], ['move-ready_for_pickup', 'ready_for_pickup']]) {
      assert.equal(await page.evaluate(() => document.activeElement.dataset.action), action);
      await page.keyboard.press('Enter');
      await page.waitForFunction(([id, s]) => document.querySelector(`#result[data-kind="queue"][data-state="ready"] [data-queue-order="${id}"]`)?.dataset.status === s, [order, status], { timeout: 15000 });
    }
    const inReady = await page.$$eval('[data-list="queue-ready"] [data-queue-order]', (nodes) => nodes.map((n) => n.dataset.queueOrder));
    assert.ok(inReady.includes(order), `now waiting for the customer: ${inReady}`);
    assert.equal(await rowOfFocus(), order, 'the moved order keeps the focus');
    const moves = calls.filter((c) => c.path === `/api/orders/${order}/transitions`).map((c) => JSON.parse(c.body));
    assert.deepEqual(moves, [
      { status: 'accepted', channel: 'kiosk' }, { status: 'picking', channel: 'kiosk' }, { status: 'ready_for_pickup', channel: 'kiosk' },
    ]);
    return { inReady };
  });

  await scenario(page, 'the-queue-in-polish-shows-no-english', async () => {
    await switchLanguage(page, 'pl');
    const text = await assertOneLanguage(page, 'pl');
    assert.match(text, /Spóźnione/);
    assert.match(text, /za \d+ minut/);
    await shot(page, 'in-polish');
    await switchLanguage(page, 'en');
    await assertOneLanguage(page, 'en');
    return { text };
  });

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
}

finish('kiosk');
