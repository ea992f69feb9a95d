// The insights page (/insights/) in Debian's headless Chromium, driven by
// playwright-core (it lives beside the kiosk scenarios to share their npm
// package). Run by tests/tests/api/insights.rs after it has driven known
// journeys through the API:
//
//   SCENARIO_CONFIG=<file.json> node tests/kiosk/insights.mjs
//
// The config holds base_url, token (ops), store_token, from, to,
// artifacts and chromium. Every chart is compared with the API's own
// answer for the same scope (read here with the same token): the page's
// bars, heat-map cells, line points and tiles must carry exactly the
// API's numbers. One screenshot per view into the artifacts directory.

import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { config, FLAGS, scenario, finish } from './harness.mjs';

const STRINGS = {
  en: JSON.parse(readFileSync(new URL('../../components/insights/assets/strings-en.json', import.meta.url), 'utf8')),
  pl: JSON.parse(readFileSync(new URL('../../components/insights/assets/strings-pl.json', import.meta.url), 'utf8')),
};

async function api(report, extra = {}) {
  const query = new URLSearchParams({ from: config.from, to: config.to, ...extra });
  const response = await fetch(`${config.base_url}/api/insights/${report}?${query}`, { headers: { authorization: `Bearer ${config.token}` } });
  assert.equal(response.status, 200, `${report}: ${response.status}`);
  return response.json();
}

/** Opens a view and waits until its figures are drawn. */
async function open(page, view) {
  await page.click(`#views button[data-view="${view}"]`);
  await page.waitForFunction((v) => {
    const target = document.getElementById('view');
    return target.dataset.view === v && target.getAttribute('aria-busy') === 'false' && target.children.length > 0;
  }, view);
}

/** Presses Show and waits for the view to be drawn again. */
async function apply(page) {
  const before = await page.evaluate(() => Number(document.getElementById('view').dataset.renders || 0));
  await page.click('#filters button[type="submit"]');
  await page.waitForFunction((b) => {
    const target = document.getElementById('view');
    return target.getAttribute('aria-busy') === 'false' && Number(target.dataset.renders || 0) > b;
  }, before);
}

const marks = (page, chart, selector) => page.$$eval(`[data-chart="${chart}"] ${selector}`, (nodes) =>
  nodes.map((n) => ({ key: n.dataset.key, row: n.dataset.row, col: n.dataset.col, value: Number(n.dataset.value) })));
const tile = (page, name) => page.$eval(`[data-tile="${name}"] .value`, (n) => n.textContent);
const tableRows = (page, chart) => page.$$eval(`[data-chart="${chart}"] tbody tr`, (rows) => rows.length);

const browser = await chromium.launch({ executablePath: config.chromium, headless: true, args: FLAGS });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  const outside = [];
  page.on('request', (request) => { if (!request.url().startsWith(config.base_url)) outside.push(request.url()); });
  await page.goto(`${config.base_url}/insights/`);

  await scenario(page, 'a-store-token-is-refused-at-sign-in', async () => {
    await page.waitForSelector('#signin:not([hidden])');
    await page.fill('#token', config.store_token);
    await page.click('#signin-form button[type="submit"]');
    await page.waitForFunction((text) => document.getElementById('signin-message').textContent === text, STRINGS.en['signin.refused']);
    return {};
  });

  await scenario(page, 'sales-by-channel-and-fulfilment', async () => {
    await page.fill('#token', config.token);
    await page.click('#signin-form button[type="submit"]');
    await page.waitForSelector('#work:not([hidden])');
    await page.fill('#from', config.from);
    await page.fill('#to', config.to);
    await apply(page);
    const { sales } = await api('sales');
    assert.equal(await tile(page, 'orders'), String(sales.orders));
    assert.equal(await tile(page, 'click_and_collect_share'), '100%');
    const bars = await marks(page, 'sales-by-channel', 'rect[data-key]');
    assert.deepEqual(bars.map((b) => [b.key, b.value]), sales.by_channel.map((s) => [s.key, s.share ?? 0]));
    const fulfilment = await marks(page, 'sales-by-fulfilment', 'rect[data-key]');
    assert.deepEqual(fulfilment.map((b) => [b.key, b.value]), sales.by_fulfilment.map((s) => [s.key, s.share ?? 0]));
    assert.equal(await tableRows(page, 'sales-by-channel'), sales.by_channel.length);
    // The revenue tile is the API's exact amount in the page's format.
    const revenue = await tile(page, 'revenue');
    assert.ok(revenue.includes(sales.revenue[0].amount.split('.')[1]), `${revenue} shows ${sales.revenue[0].amount}`);
    return { bars, revenue };
  });

  await scenario(page, 'the-store-filter-changes-the-figures', async () => {
    await page.selectOption('#store', 'WAW-02');
    await apply(page);
    const { sales } = await api('sales', { store_id: 'WAW-02' });
    assert.equal(await tile(page, 'orders'), String(sales.orders));
    assert.equal(sales.orders, 1);
    assert.equal(await tile(page, 'click_and_collect_share'), STRINGS.en.unknown);
    await page.selectOption('#store', '');
    await apply(page);
    return { orders: sales.orders };
  });

  await scenario(page, 'journeys-heat-map-of-started-and-finished-channels', async () => {
    await open(page, 'journeys');
    const { journeys } = await api('journeys');
    const cells = await marks(page, 'journeys-matrix', 'rect[data-row]');
    assert.equal(cells.length, 25, 'five channels by five');
    for (const cell of cells) {
      const api = journeys.matrix.find((c) => c.started === cell.row && c.finished === cell.col);
      assert.equal(cell.value, api ? api.carts : 0, `${cell.row} -> ${cell.col}`);
    }
    assert.equal(cells.find((c) => c.row === 'app' && c.col === 'pos').value, 3);
    const conversion = await marks(page, 'journeys-conversion', 'rect[data-key]');
    assert.deepEqual(conversion.map((b) => [b.key, b.value]), journeys.by_starting_channel.map((s) => [s.channel, s.conversion ?? 0]));
    const abandoned = await marks(page, 'journeys-abandoned', 'rect[data-key]');
    assert.deepEqual(abandoned.map((b) => [b.key, b.value]), journeys.by_starting_channel.map((s) => [s.channel, s.abandoned]));
    return { cells: cells.filter((c) => c.value) };
  });

  await scenario(page, 'stores-sla-line-and-pickup-rates', async () => {
    await open(page, 'stores');
    const { pickups } = await api('stores');
    const dots = await marks(page, 'stores-sla-line', 'circle[data-key]');
    assert.deepEqual(dots.map((d) => [d.key, d.value]), pickups.sla_by_day.filter((d) => d.sla_hit_rate !== null).map((d) => [d.date, d.sla_hit_rate]));
    assert.equal(await tableRows(page, 'stores-sla-line'), pickups.sla_by_day.length);
    const rates = await marks(page, 'stores-pickup-rate', 'rect[data-key]');
    assert.deepEqual(rates.map((b) => [b.key, b.value]), pickups.stores.map((s) => [s.store_id, s.pickup_rate ?? 0]));
    assert.equal(await tableRows(page, 'stores-table'), pickups.stores.length);
    return { dots, rates };
  });

  await scenario(page, 'returns-by-channel-of-purchase-and-of-return', async () => {
    await open(page, 'returns');
    const { returns } = await api('returns');
    const cells = await marks(page, 'returns-matrix', 'rect[data-row]');
    for (const cell of cells) {
      const api = returns.matrix.find((c) => c.purchased === cell.row && c.returned === cell.col);
      assert.equal(cell.value, api ? api.cases : 0, `${cell.row} -> ${cell.col}`);
    }
    assert.equal(cells.find((c) => c.row === 'app' && c.col === 'app').value, 1);
    assert.equal(await tile(page, 'cases'), String(returns.cases));
    return { cells: cells.filter((c) => c.value) };
  });

  await scenario(page, 'promotions-by-channel', async () => {
    await open(page, 'promotions');
    const { promotions } = await api('promotions');
    const bars = await marks(page, 'promotions-by-channel', 'rect[data-key]');
    assert.deepEqual(bars.map((b) => [b.key, b.value]), promotions.by_channel.map((c) => [c.channel, c.redemptions]));
    assert.equal(await tile(page, 'redemptions'), String(promotions.redemptions));
    assert.equal(await tableRows(page, 'promotions-by-promotion'), promotions.by_promotion.length);
    return { bars };
  });

  await scenario(page, 'in-polish-every-view-speaks-polish', async () => {
    await page.click('.lang-button[data-lang="pl"]');
    await page.waitForFunction(() => document.documentElement.lang === 'pl');
    const seen = [];
    for (const view of ['sales', 'journeys', 'stores', 'returns', 'promotions']) {
      await open(page, view);
      const text = await page.evaluate(() => document.body.innerText);
      // English words that only the English table has must not appear.
      for (const [key, english] of Object.entries(STRINGS.en)) {
        if (STRINGS.pl[key] === english || english.length < 8 || english.includes('{')) continue;
        assert.ok(!text.includes(english), `${view}: "${english}" (${key}) is English`);
      }
      assert.ok(!/\b(click_and_collect|call_center|undefined|null)\b/.test(text), `${view}: a raw value shows`);
      seen.push(view);
    }
    await open(page, 'journeys');
    assert.match(await page.evaluate(() => document.body.innerText), /Rozpoczęte w/);
    return { seen };
  });

  await scenario(page, 'nothing-was-fetched-from-outside-and-no-script-error', async () => {
    assert.deepEqual(outside, []);
    assert.deepEqual(consoleErrors.filter((e) => !/status of 4\d\d/.test(e)), []);
    return { outside, consoleErrors };
  });
} finally {
  await browser.close();
}

finish('insights page');
