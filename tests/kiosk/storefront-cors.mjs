// A browser storefront on another origin using guest carts through CORS, in
// Debian's headless Chromium (issue 14). Run by tests/tests/api/storefront.rs:
//
//   STOREFRONT_CONFIG=<file.json> node tests/kiosk/storefront-cors.mjs
//
// The config holds api (the app's base URL), chromium (the executable),
// allowed_port and foreign_port (two free ports), sku and artifacts. The
// script serves an empty page on http://localhost:<allowed_port> (an origin
// the app allows) and on http://localhost:<foreign_port> (one it does not),
// and from each runs the storefront's calls with fetch(): create a guest
// cart, add a line with X-Cart-Secret and Prefer, read it, check it out with
// If-Match and Idempotency-Key. It prints one JSON line with what each
// origin saw; the Rust test asserts on it and on the server's state.

import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const config = JSON.parse(readFileSync(process.env.STOREFRONT_CONFIG, 'utf8'));
mkdirSync(config.artifacts, { recursive: true });

function serve(port) {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Storefront</title><h1>Storefront</h1><pre id="log"></pre>');
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** The storefront's journey, run inside the page with the page's origin. */
async function journey({ api, sku }) {
  const seen = {};
  try {
    let r = await fetch(`${api}/api/carts`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'web' }),
    });
    seen.create = r.status;
    const cart = await r.json();
    seen.location = r.headers.get('location');
    const secret = cart.secret;
    r = await fetch(`${api}/api/carts/${cart.cart_id}/lines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cart-secret': secret, 'x-channel': 'web', prefer: 'return=minimal' },
      body: JSON.stringify({ sku, quantity: 2 }),
    });
    seen.add = r.status;
    seen.etag = r.headers.get('etag');
    r = await fetch(`${api}/api/carts/${cart.cart_id}`, { headers: { 'x-cart-secret': secret, 'if-none-match': '"v0"' } });
    seen.read = r.status;
    const read = await r.json();
    seen.lines = read.lines.map((l) => [l.sku, l.quantity]);
    r = await fetch(`${api}/api/carts/${cart.cart_id}/checkouts`, {
      method: 'POST',
      headers: { 'x-cart-secret': secret, 'if-match': seen.etag, 'idempotency-key': `sf-${cart.cart_id}` },
    });
    seen.checkout = r.status;
    const checkout = await r.json();
    seen.checkout_id = checkout.checkout_id;
    seen.total = checkout.totals && checkout.totals.total.amount;
    seen.cart_id = cart.cart_id;
  } catch (e) {
    seen.error = String(e);
  }
  return seen;
}

const servers = [await serve(config.allowed_port), await serve(config.foreign_port)];
const browser = await chromium.launch({
  executablePath: config.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = {};
try {
  for (const [name, port] of [['allowed', config.allowed_port], ['foreign', config.foreign_port]]) {
    const page = await browser.newPage();
    await page.goto(`http://localhost:${port}/`);
    out[name] = await page.evaluate(journey, { api: config.api, sku: config.sku }).catch((e) => ({ error: String(e) }));
    await page.screenshot({ path: join(config.artifacts, `storefront-${name}.png`) }).catch(() => {});
    await page.close();
  }
} finally {
  await browser.close();
  servers.forEach((s) => s.close());
}
console.log(JSON.stringify(out));
