// The store kiosk page: sign a store device in, take what a scanner types
// (or what the camera reads), recognise the code and serve the customer.
// Plain browser JavaScript, no framework and no build step. Everything the
// server sends is put on the page with textContent, never as HTML, so a
// scanned value can never inject markup (the CSP forbids inline script too).
'use strict';

(() => {
  const TOKEN_KEY = 'kiosk.token';
  const LANG_KEY = 'kiosk.lang';
  const LANGS = ['pl', 'en'];

  // Payload prefixes of the signed codes (see omni_shared::auth::signed_code:
  // base64url of version 1, a 4-byte expiry, the payload and a 16-byte tag).
  // The payload is signed, not secret, so the page may read it to pick the
  // right endpoint; the server still verifies everything.
  const KINDS = [
    { kind: 'pickup', prefixes: ['ORD-'] },
    { kind: 'handoff', prefixes: ['chk_'] },
    { kind: 'identity', prefixes: ['cid:'] },
    { kind: 'return', prefixes: ['RMA-', 'rma_', 'RET-', 'ret_'] },
  ];

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    lang: null,
    strings: {},
    me: null,
    camera: null,
  };

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'text') node.textContent = value;
      else if (name === 'onclick') node.addEventListener('click', value);
      else node.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  // ---- strings -----------------------------------------------------------

  function t(key, values) {
    const template = state.strings[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (_, name) => (values && values[name] !== undefined && values[name] !== null ? String(values[name]) : ''));
  }

  function pickLanguage() {
    const saved = localStorage.getItem(LANG_KEY);
    if (LANGS.includes(saved)) return saved;
    const preferred = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en']);
    for (const tag of preferred) {
      const base = String(tag).toLowerCase().split('-')[0];
      if (LANGS.includes(base)) return base;
    }
    return 'en';
  }

  async function setLanguage(lang, remember) {
    const response = await fetch(`strings-${lang}.json`, { cache: 'no-cache' });
    state.strings = await response.json();
    state.lang = lang;
    if (remember) localStorage.setItem(LANG_KEY, lang);
    document.documentElement.lang = lang;
    document.title = t('title');
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const button of document.querySelectorAll('.lang-button')) {
      button.setAttribute('aria-pressed', String(button.dataset.lang === lang));
    }
    renderHeader();
    if (state.rerender) state.rerender();
  }

  // ---- formatting --------------------------------------------------------

  function money(value) {
    if (!value || value.amount === undefined) return '';
    const amount = Number(value.amount);
    try {
      return new Intl.NumberFormat(state.lang, { style: 'currency', currency: value.currency }).format(amount);
    } catch {
      return `${value.amount} ${value.currency}`;
    }
  }

  function when(iso) {
    if (!iso) return '';
    const zone = state.me && state.me.store && state.me.store.time_zone;
    const options = { dateStyle: 'medium', timeStyle: 'short' };
    try {
      return new Intl.DateTimeFormat(state.lang, zone ? { ...options, timeZone: zone } : options).format(new Date(iso));
    } catch {
      return iso;
    }
  }

  // ---- the API -----------------------------------------------------------

  async function api(method, path, body, headers) {
    const init = { method, headers: { accept: 'application/json', ...(headers || {}) }, cache: 'no-store' };
    if (state.token) init.headers.authorization = `Bearer ${state.token}`;
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      return { ok: false, status: 0, data: { slug: 'network' } };
    }
    let data = null;
    const text = await response.text();
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const problem = data && typeof data === 'object' ? data : {};
      const type = typeof problem.type === 'string' ? problem.type : '';
      problem.slug = type.startsWith('urn:omnichannel-edge:problem:') ? type.slice('urn:omnichannel-edge:problem:'.length) : `http-${response.status}`;
      problem.status = response.status;
      return { ok: false, status: response.status, data: problem };
    }
    return { ok: true, status: response.status, data, etag: response.headers.get('etag') };
  }

  // ---- recognising a code ------------------------------------------------

  function decodePayload(code) {
    if (!/^[A-Za-z0-9_-]{21,1024}$/.test(code)) return null;
    let binary;
    try {
      binary = atob(code.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (code.length % 4)) % 4));
    } catch {
      return null;
    }
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    if (bytes.length < 21 || bytes[0] !== 1) return null;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes.slice(5, bytes.length - 16));
    } catch {
      return null;
    }
  }

  /** The kind of code, from its payload's prefix; 'unknown' when unsure. */
  function recognise(code) {
    const payload = decodePayload(code);
    if (payload === null) return 'unknown';
    for (const { kind, prefixes } of KINDS) {
      if (prefixes.some((p) => payload.startsWith(p))) return kind;
    }
    return 'unknown';
  }

  // Refusals that only mean "not a code of this kind": when guessing, the
  // next kind is tried.
  const NOT_THIS_KIND = new Set(['pickup-code-invalid', 'handoff-code-invalid', 'identity-code-invalid', 'return-code-invalid', 'not-found', 'http-404', 'http-405', 'invalid-body', 'malformed-json']);

  const LOOKUPS = {
    pickup: (code) => api('POST', '/api/orders/pickup-lookups', { code }),
    return: (code) => api('POST', '/api/returns/scans', { code }),
    identity: (code) => api('POST', '/api/identity/scans', { code }),
    handoff: (code) => api('GET', `/api/carts/handoff/${encodeURIComponent(code)}`, undefined, { 'x-channel': 'pos' }),
  };
  const SHOW = {
    pickup: (code, data) => showPickup(code, data),
    return: (code, data) => showReturn(code, data),
    identity: (code, data) => showIdentity(data),
    handoff: (code, data) => showHandoff(code, data),
  };

  async function lookUp(code) {
    const kind = recognise(code);
    const order = kind === 'unknown' ? ['pickup', 'return', 'identity', 'handoff'] : [kind];
    let last = null;
    for (const candidate of order) {
      const reply = await LOOKUPS[candidate](code);
      if (reply.ok) return SHOW[candidate](code, reply.data);
      last = reply;
      if (kind !== 'unknown' || !NOT_THIS_KIND.has(reply.data.slug)) return showProblem(reply.data);
    }
    return showProblem(kind === 'unknown' ? { slug: 'unknown-code' } : last.data);
  }

  // ---- the result panel --------------------------------------------------

  function result(kind, stateName, ...children) {
    const panel = $('result');
    panel.dataset.kind = kind;
    panel.dataset.state = stateName;
    panel.replaceChildren(...children.flat().filter(Boolean));
    return panel;
  }

  function idle(message) {
    state.rerender = () => idle(message);
    result('idle', 'idle', el('p', { class: 'big', text: message || t('scan.idle') }));
  }

  function busy(key) {
    result($('result').dataset.kind || 'idle', 'busy', el('p', { class: 'big', text: t(key) }));
  }

  function clearButton(key) {
    return el('button', { type: 'button', 'data-action': 'clear', onclick: reset, text: t(key || 'action.cancel') });
  }

  function problemText(problem) {
    const values = {
      store: problem.store_id || problem.collected_store_id || '',
      at: when(problem.collected_at || problem.received_at || ''),
      status: problem.current || '',
      detail: problem.detail || '',
      title: problem.title || `HTTP ${problem.status || ''}`,
    };
    const key = `problem.${problem.slug}`;
    return state.strings[key] ? t(key, values) : t('problem.other', values);
  }

  function showProblem(problem) {
    state.rerender = () => showProblem(problem);
    if (problem.slug === 'unauthorized') {
      signOut(problemText(problem));
      return;
    }
    result(
      'error',
      'error',
      el('h2', { text: t('problem.heading') }),
      el('p', { class: 'big', role: 'alert', 'data-problem': problem.slug, text: problemText(problem) }),
      el('div', { class: 'actions' }, clearButton()),
    );
    focusScan();
  }

  function linesTable(lines, columns) {
    const head = el('tr', {}, columns.map((c) => el('th', { class: c.num ? 'num' : null, text: t(c.label) })));
    const rows = lines.map((line) =>
      el('tr', {}, columns.map((c) => el('td', { class: c.num ? 'num' : null }, c.cell(line)))),
    );
    return el('table', {}, el('thead', {}, head), el('tbody', {}, rows));
  }

  const itemCell = (line) => [line.name || line.sku, el('span', { class: 'sku', text: line.sku })];

  // ---- pickup ------------------------------------------------------------

  function showPickup(code, order, done) {
    state.rerender = () => showPickup(code, order, done);
    const handOver = async (event) => {
      event.target.disabled = true;
      busy('pickup.handing');
      const reply = await api('POST', '/api/orders/pickup-scans', { code, channel: 'kiosk' });
      if (!reply.ok) return showProblem(reply.data);
      showPickup(code, reply.data, true);
    };
    const facts = el('div', { class: 'facts' },
      el('span', { 'data-field': 'status', 'data-status': order.status, text: t('pickup.status', { status: order.status_label || order.status }) }),
      order.pickup_until && !done ? el('span', { text: t('pickup.until', { at: when(order.pickup_until) }) }) : null,
    );
    const table = linesTable(order.lines || [], [
      { label: 'col.item', cell: itemCell },
      { label: 'col.qty', num: true, cell: (l) => String(l.quantity) },
      { label: 'col.total', num: true, cell: (l) => money(l.paid) },
    ]);
    table.append(el('tfoot', {}, el('tr', {}, el('td', { colspan: '2', text: t('col.total') }), el('td', { class: 'num', text: money(order.total_paid) }))));
    const actions = done
      ? el('div', { class: 'actions' }, clearButton('action.next'))
      : el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'good', 'data-action': 'hand-over', onclick: handOver, text: t('pickup.hand_over') }),
        clearButton());
    result('pickup', done ? 'done' : 'ready',
      el('h2', { text: t('pickup.heading', { id: order.order_id }) }),
      done ? el('p', { class: 'big', role: 'status', text: t('pickup.done', { id: order.order_id }) }) : null,
      facts, table, actions);
    focusAction(done);
  }

  // ---- returns -----------------------------------------------------------

  function showReturn(code, rma, phase) {
    state.rerender = () => showReturn(code, rma, phase);
    const caseNumber = rma.case_number || rma.rma_id;
    const stepPath = (what) => `/api/returns/${encodeURIComponent(caseNumber)}/${what}`;
    const receive = async (event) => {
      event.target.disabled = true;
      busy('return.receiving');
      const reply = await api('POST', '/api/returns/intakes', { code });
      if (!reply.ok) return showProblem(reply.data);
      showReturn(code, reply.data, 'received');
    };
    const refund = async (event) => {
      event.target.disabled = true;
      const reply = await api('POST', stepPath('refund'), {});
      if (!reply.ok) return showProblem(reply.data);
      showReturn(code, reply.data, 'refunded');
    };
    const exchangeForm = () => {
      const inputs = (rma.lines || []).map((line, i) => {
        const id = `replacement-${i}`;
        return [el('label', { for: id, text: t('return.replacement', { sku: line.sku }) }),
          el('input', { id, type: 'text', 'data-sku': line.sku, 'data-quantity': String(line.quantity), value: line.sku, spellcheck: 'false' })];
      });
      const confirm = async (event) => {
        event.preventDefault();
        const lines = [...event.target.querySelectorAll('input[data-sku]')]
          .filter((input) => input.value.trim())
          .map((input) => ({ sku: input.dataset.sku, replacement_sku: input.value.trim(), quantity: Number(input.dataset.quantity) }));
        const reply = await api('POST', stepPath('exchange'), { lines });
        if (!reply.ok) return showProblem(reply.data);
        showReturn(code, reply.data, 'exchanged');
      };
      const form = el('form', { class: 'exchange' }, el('h3', { text: t('return.exchange_heading') }), inputs,
        el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', text: t('return.exchange_confirm') }), clearButton()));
      form.addEventListener('submit', confirm);
      $('result').querySelector('.actions').replaceWith(form);
      form.querySelector('input').focus();
    };
    const facts = el('div', { class: 'facts' },
      el('span', { 'data-field': 'status', 'data-status': rma.status, text: t('return.status', { status: rma.status }) }),
      rma.order_id ? el('span', { text: t('return.order', { id: rma.order_id }) }) : null,
    );
    const table = linesTable(rma.lines || [], [
      { label: 'col.item', cell: itemCell },
      { label: 'col.qty', num: true, cell: (l) => String(l.quantity) },
      { label: 'col.refund', num: true, cell: (l) => money(l.refund) },
    ]);
    if (rma.refund_total) {
      table.append(el('tfoot', {}, el('tr', {}, el('td', { colspan: '2', text: t('return.refund_total') }), el('td', { class: 'num', text: money(rma.refund_total) }))));
    }
    let message = null;
    let actions;
    if (!phase) {
      actions = el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'good', 'data-action': 'receive', onclick: receive, text: t('return.receive') }), clearButton());
    } else if (phase === 'received') {
      message = t('return.received');
      actions = el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'good', 'data-action': 'refund', onclick: refund, text: t('return.refund') }),
        el('button', { type: 'button', 'data-action': 'exchange', onclick: exchangeForm, text: t('return.exchange') }),
        clearButton('action.next'));
    } else {
      message = t(phase === 'refunded' ? 'return.refunded' : 'return.exchanged', { case: caseNumber });
      actions = el('div', { class: 'actions' }, clearButton('action.next'));
    }
    result('return', phase ? 'done' : 'ready',
      el('h2', { text: t('return.heading', { case: caseNumber }) }),
      message ? el('p', { class: 'big', role: 'status', 'data-phase': phase, text: message }) : null,
      facts, table, actions);
    focusAction(false);
  }

  // ---- a customer's identity code ------------------------------------------

  function showIdentity(found) {
    renderIdentity(found, found.open_returns || []);
  }

  function renderIdentity(found, openReturns) {
    state.rerender = () => renderIdentity(found, openReturns);
    const handOver = (order) => async (event) => {
      event.target.disabled = true;
      const reply = await api('POST', `/api/orders/${encodeURIComponent(order.order_id)}/transitions`,
        { status: 'picked_up', channel: 'kiosk' }, { 'if-match': `"v${order.version}"` });
      if (!reply.ok) return showProblem(reply.data);
      const orders = found.orders_ready_here.filter((o) => o.order_id !== order.order_id);
      renderIdentity({ ...found, orders_ready_here: orders, handed_over: [...(found.handed_over || []), order.order_id] }, openReturns);
    };
    const orders = found.orders_ready_here.length
      ? el('ul', { class: 'list', 'data-list': 'orders' }, found.orders_ready_here.map((order) => el('li', { 'data-order': order.order_id },
        el('span', { class: 'grow' }, el('strong', { text: order.order_id }), ' ',
          (order.lines || []).map((l) => `${l.quantity} × ${l.name || l.sku}`).join(', ')),
        el('span', { class: 'num', text: money(order.total_paid) }),
        el('button', { type: 'button', class: 'good', 'data-action': 'hand-over', onclick: handOver(order), text: t('pickup.hand_over') }))))
      : el('p', { 'data-list': 'orders', text: t('identity.no_orders') });
    const handed = (found.handed_over || []).map((id) => el('p', { class: 'big', role: 'status', 'data-handed-over': id, text: t('pickup.done', { id }) }));
    let returns;
    if (!openReturns.length) returns = el('p', { 'data-list': 'returns', text: t('identity.no_returns') });
    else {
      returns = el('ul', { class: 'list', 'data-list': 'returns' }, openReturns.map((r) => el('li', { 'data-return': r.case_number || r.rma_id },
        el('strong', { text: r.case_number || r.rma_id }), el('span', { class: 'grow', text: `${r.status} · ${(r.lines || []).map((l) => `${l.quantity} × ${l.name || l.sku}`).join(', ')}` }),
        r.refund_total ? el('span', { class: 'num', text: money(r.refund_total) }) : null)));
    }
    const coupons = found.coupons.length
      ? el('ul', { class: 'list', 'data-list': 'coupons' }, found.coupons.map((c) => el('li', { 'data-coupon': c.promotion_id },
        el('strong', { class: 'grow', text: c.name }),
        c.ends_at ? el('span', { text: t('identity.until', { at: when(c.ends_at) }) }) : null)))
      : el('p', { 'data-list': 'coupons', text: t('identity.no_coupons') });
    result('identity', 'ready',
      el('h2', { text: t('identity.heading', { id: found.customer_id }) }),
      handed,
      el('h3', { text: t('identity.orders') }), orders,
      el('h3', { text: t('identity.returns') }), returns,
      el('h3', { text: t('identity.coupons') }), coupons,
      el('div', { class: 'actions' }, clearButton('action.next')));
    focusAction(false);
  }

  // ---- a cart handed over from the app ----------------------------------------

  function showHandoff(code, checkout, done) {
    state.rerender = () => showHandoff(code, checkout, done);
    const complete = async (event) => {
      event.target.disabled = true;
      busy('handoff.completing');
      const reply = await api('POST', `/api/carts/handoff/${encodeURIComponent(code)}/complete`, undefined, { 'x-channel': 'pos' });
      if (!reply.ok) return showProblem(reply.data);
      showHandoff(code, reply.data, true);
    };
    const totals = checkout.totals || {};
    const table = linesTable(checkout.lines || [], [
      { label: 'col.item', cell: itemCell },
      { label: 'col.qty', num: true, cell: (l) => String(l.quantity) },
      { label: 'col.price', num: true, cell: (l) => money(l.unit_price) },
      { label: 'col.discount', num: true, cell: (l) => (l.discount && Number(l.discount.amount) ? `−${money(l.discount)}` : '') },
      { label: 'col.total', num: true, cell: (l) => money(l.total) },
    ]);
    table.append(el('tfoot', {},
      el('tr', {}, el('td', { colspan: '4', text: t('handoff.subtotal') }), el('td', { class: 'num', 'data-total': 'subtotal', text: money(totals.subtotal) })),
      el('tr', {}, el('td', { colspan: '4', text: t('handoff.discount') }), el('td', { class: 'num', 'data-total': 'discount', text: totals.discount && Number(totals.discount.amount) ? `−${money(totals.discount)}` : money(totals.discount) })),
      el('tr', { class: 'big' }, el('td', { colspan: '4', text: t('handoff.total') }), el('td', { class: 'num', 'data-total': 'total', 'data-amount': totals.total ? totals.total.amount : '', text: money(totals.total) }))));
    const applied = (checkout.coupons || []).filter((c) => c.applied);
    const alreadyPaid = checkout.status === 'completed';
    result('handoff', done || alreadyPaid ? 'done' : 'ready',
      el('h2', { text: t('handoff.heading') }),
      done ? el('p', { class: 'big', role: 'status', text: t('handoff.done') }) : null,
      !done && alreadyPaid ? el('p', { class: 'big', role: 'status', text: t('handoff.already', { by: checkout.completed_by || '' }) }) : null,
      el('div', { class: 'facts' },
        el('span', { 'data-field': 'status', 'data-status': checkout.status, text: checkout.checkout_id }),
        !done && checkout.expires_at ? el('span', { text: t('handoff.expires', { at: when(checkout.expires_at) }) }) : null,
        applied.length ? el('span', { text: `${t('handoff.coupons')}: ${applied.map((c) => c.code).join(', ')}` }) : null),
      table,
      el('div', { class: 'actions' },
        done || alreadyPaid ? null : el('button', { type: 'button', class: 'good', 'data-action': 'complete', onclick: complete, text: t('handoff.complete') }),
        clearButton(done || alreadyPaid ? 'action.next' : 'action.cancel')));
    focusAction(done || alreadyPaid);
  }

  // ---- focus and keyboard ----------------------------------------------------

  function focusScan() {
    const input = $('scan');
    if (!$('work').hidden) input.focus();
  }

  /** After a result: the main action has focus (Enter presses it); when the
   *  job is done, the scan field has it for the next customer. */
  function focusAction(done) {
    const primary = $('result').querySelector('button.good, button.primary');
    if (done || !primary) focusScan();
    else primary.focus();
  }

  function reset() {
    $('scan').value = '';
    idle();
    focusScan();
  }

  // A keyboard-wedge scanner types wherever focus is: printable keys pressed
  // outside a text field go to the scan field, so a scan is never lost
  // while a button has focus. Escape clears the result.
  document.addEventListener('keydown', (event) => {
    if ($('work').hidden) return;
    const target = event.target;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
    if (event.key === 'Escape') {
      event.preventDefault();
      reset();
      return;
    }
    if (!typing && event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey && event.key !== ' ') {
      const input = $('scan');
      if (input.dataset.fresh !== 'no') input.value = '';
      input.dataset.fresh = 'no';
      input.focus();
    }
  });

  async function onScan(event) {
    event.preventDefault();
    const input = $('scan');
    const code = input.value.trim();
    input.dataset.fresh = 'yes';
    if (!code) {
      idle(t('scan.empty'));
      return;
    }
    input.select();
    busy('scan.looking');
    await lookUp(code);
  }

  // ---- the camera (BarcodeDetector, where the browser has it) --------------------

  async function toggleCamera() {
    if (state.camera) return stopCamera();
    const video = $('camera-view');
    try {
      const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      state.camera = { stream, timer: null };
      $('camera').textContent = t('scan.camera_stop');
      const tick = async () => {
        if (!state.camera) return;
        try {
          const codes = await detector.detect(video);
          if (codes.length) {
            stopCamera();
            $('scan').value = codes[0].rawValue;
            $('scan-form').requestSubmit();
            return;
          }
        } catch { /* a frame that cannot be read yet */ }
        state.camera.timer = setTimeout(tick, 250);
      };
      tick();
    } catch {
      stopCamera();
      idle(t('scan.camera_failed'));
    }
  }

  function stopCamera() {
    const video = $('camera-view');
    if (state.camera) {
      clearTimeout(state.camera.timer);
      state.camera.stream.getTracks().forEach((track) => track.stop());
    }
    state.camera = null;
    video.hidden = true;
    video.srcObject = null;
    $('camera').textContent = t('scan.camera');
  }

  // ---- sign-in -------------------------------------------------------------

  function renderHeader() {
    const name = $('store-name');
    const detail = $('store-detail');
    if (!state.me) {
      name.textContent = t('title');
      detail.textContent = '';
      return;
    }
    const store = state.me.store;
    name.textContent = store ? `${store.name} · ${state.me.store_id}` : t('header.unknown_store', { id: state.me.store_id });
    detail.textContent = [store ? [store.street, store.city].filter(Boolean).join(', ') : '', t('header.device', { device: state.me.device })]
      .filter(Boolean).join(' — ');
  }

  async function signIn(token) {
    state.token = token;
    const reply = await api('GET', '/api/identity/whoami');
    if (!reply.ok) {
      state.token = null;
      return { error: reply.data.slug === 'network' ? t('problem.network') : t('signin.refused', { detail: reply.data.detail || reply.data.title || reply.status }) };
    }
    if (reply.data.role !== 'store') {
      state.token = null;
      return { error: t('signin.not_store') };
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    state.me = reply.data;
    renderHeader();
    $('signin').hidden = true;
    $('work').hidden = false;
    $('signout').hidden = false;
    reset();
    return {};
  }

  function signOut(message) {
    stopCamera();
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.me = null;
    state.rerender = null;
    renderHeader();
    $('work').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    const note = $('signin-message');
    note.textContent = message || '';
    note.className = message ? 'message bad' : 'message';
    $('token').value = '';
    $('token').focus();
  }

  async function onSignIn(event) {
    event.preventDefault();
    const token = $('token').value.trim().replace(/^Bearer\s+/i, '');
    const note = $('signin-message');
    note.className = 'message';
    note.textContent = t('signin.checking');
    const outcome = await signIn(token);
    if (outcome.error) {
      note.className = 'message bad';
      note.textContent = outcome.error;
      $('token').focus();
    } else {
      note.textContent = '';
    }
  }

  async function start() {
    $('signin-form').addEventListener('submit', onSignIn);
    $('scan-form').addEventListener('submit', onScan);
    $('signout').addEventListener('click', () => signOut(''));
    for (const button of document.querySelectorAll('.lang-button')) {
      button.addEventListener('click', () => setLanguage(button.dataset.lang, true));
    }
    if ('BarcodeDetector' in window && navigator.mediaDevices) {
      $('camera').hidden = false;
      $('camera').addEventListener('click', toggleCamera);
    }
    await setLanguage(pickLanguage(), false);
    if (state.token) {
      const outcome = await signIn(state.token);
      if (outcome.error) signOut(outcome.error);
    } else {
      signOut('');
    }
    document.body.dataset.ready = 'true';
  }

  start().catch((error) => {
    // The operator never gets a blank screen: whatever broke, say so.
    document.body.dataset.ready = 'true';
    const main = $('main');
    main.replaceChildren(el('div', { class: 'result', 'data-state': 'error', 'data-kind': 'error' },
      el('h1', { text: 'Kiosk error / Błąd kiosku' }), el('p', { class: 'big', text: String(error && error.message || error) })));
  });
})();
