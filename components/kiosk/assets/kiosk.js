// The store kiosk page: sign a store device in, take what a scanner types
// (or what the camera reads, or a number the clerk types), recognise it and
// serve the customer; and the store's queue of click & collect orders.
// Plain browser JavaScript, no framework and no build step. Everything the
// server sends is put on the page with textContent, never as HTML, so a
// scanned value can never inject markup (the CSP forbids inline script too).
//
// One language per screen: every status, reason and refusal is shown from
// this page's string tables (strings-pl.json, strings-en.json), keyed by the
// server's stable values (status enums, problem `type`s, refusal reasons).
// The server's English `detail` texts are never shown; times are shown in
// the store's time zone.
'use strict';

(() => {
  const TOKEN_KEY = 'kiosk.token';
  const LANG_KEY = 'kiosk.lang';
  const LANGS = ['pl', 'en'];
  /** Every kiosk action is recorded in this channel (cross-channel figures
   *  count what the store's kiosk did, not the till's). */
  const CHANNEL = 'kiosk';

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

  // What a clerk types instead of scanning: an order number, or a return's
  // case number (RMA-1234-5678-9: eight digits and a Damm check digit).
  const ORDER_NUMBER = /^ORD-[0-9A-F]{16}$/i;
  const CASE_NUMBER = /^(?:RMA)?[\s-]*(\d{4})[\s-]*(\d{4})[\s-]*(\d)$/i;

  /** The order moves a store makes from its queue, in the order they come. */
  const QUEUE_MOVES = ['accepted', 'picking', 'ready_for_pickup'];
  const QUEUE_REFRESH_MS = 15000;

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    lang: null,
    strings: {},
    me: null,
    camera: null,
    view: 'scan',
    /** Server time minus this device's time (from the `Date` header), so
     *  an SLA countdown is right on a kiosk whose clock drifts. */
    clockOffset: 0,
    queueTimer: null,
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
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  // ---- strings -----------------------------------------------------------

  function t(key, values) {
    const template = state.strings[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (_, name) => (values && values[name] !== undefined && values[name] !== null ? String(values[name]) : ''));
  }

  /** A string keyed by a server value (`order.status.picking`), or the
   *  table's word for "other" when the server grew a value the page does
   *  not know yet: never the raw value in the other language. */
  function tValue(prefix, value) {
    const key = `${prefix}.${value}`;
    return state.strings[key] ? t(key) : t(`${prefix}._other`, { value });
  }

  const orderStatus = (status) => tValue('order.status', status);
  const returnStatus = (status) => tValue('return.status', status);

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
    renderViewSwitch();
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

  const storeZone = () => state.me && state.me.store && state.me.store.time_zone;

  function when(iso) {
    if (!iso) return '';
    const zone = storeZone();
    const options = { dateStyle: 'medium', timeStyle: 'short' };
    try {
      return new Intl.DateTimeFormat(state.lang, zone ? { ...options, timeZone: zone } : options).format(new Date(iso));
    } catch {
      return iso;
    }
  }

  function clockTime(iso) {
    const zone = storeZone();
    const options = { hour: '2-digit', minute: '2-digit' };
    try {
      return new Intl.DateTimeFormat(state.lang, zone ? { ...options, timeZone: zone } : options).format(new Date(iso));
    } catch {
      return iso;
    }
  }

  const serverNow = () => Date.now() + state.clockOffset;

  /** "in 42 min" / "5 min ago", in the page's language. */
  function fromNow(iso) {
    const minutes = Math.round((Date.parse(iso) - serverNow()) / 60000);
    const format = new Intl.RelativeTimeFormat(state.lang, { numeric: 'always' });
    if (Math.abs(minutes) >= 120) return format.format(Math.round(minutes / 60), 'hour');
    return format.format(minutes, 'minute');
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
    const date = Date.parse(response.headers.get('date') || '');
    if (!Number.isNaN(date)) state.clockOffset = date - Date.now();
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

  // The Damm quasigroup (as omni_shared::returns::case_number): a typed
  // case number with a wrong check digit is a typo, caught before a call.
  const DAMM = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2], [7, 0, 9, 2, 1, 5, 4, 8, 6, 3], [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6], [6, 1, 2, 3, 0, 4, 5, 9, 7, 8], [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4], [8, 9, 4, 5, 3, 6, 2, 0, 1, 7], [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
  ];

  /** `RMA-dddd-dddd-d` for a typed case number whose check digit is right;
   *  `false` for nine digits with a wrong one; `null` when not a number. */
  function typedCaseNumber(text) {
    const match = CASE_NUMBER.exec(text);
    if (!match) return null;
    const digits = (match[1] + match[2] + match[3]).split('').map(Number);
    if (digits.reduce((interim, d) => DAMM[interim][d], 0) !== 0) return false;
    return `RMA-${match[1]}-${match[2]}-${match[3]}`;
  }

  // Refusals that only mean "not a code of this kind": when guessing, the
  // next kind is tried.
  const NOT_THIS_KIND = new Set(['pickup-code-invalid', 'handoff-code-invalid', 'identity-code-invalid', 'return-code-invalid', 'not-found', 'http-404', 'http-405', 'invalid-body', 'malformed-json']);

  const LOOKUPS = {
    pickup: (code) => api('POST', '/api/orders/pickup-lookups', { code }),
    return: (code) => api('POST', '/api/returns/lookups', { code }),
    identity: (code) => api('POST', '/api/identity/lookups', { code }),
    handoff: (code) => api('GET', `/api/carts/handoff/${encodeURIComponent(code)}`, undefined, { 'x-channel': CHANNEL }),
  };
  const SHOW = {
    pickup: (code, data) => showPickup({ code }, data),
    return: (code, data) => showReturn({ code }, data),
    identity: (code, data) => showIdentity(data),
    handoff: (code, data) => showHandoff(code, data),
  };

  async function lookUp(code) {
    if (ORDER_NUMBER.test(code)) return lookUpOrder(code.toUpperCase());
    const caseNumber = typedCaseNumber(code);
    if (caseNumber === false) return showProblem({ slug: 'case-number-typo' });
    if (caseNumber) {
      const reply = await api('POST', '/api/returns/lookups', { case_number: caseNumber });
      return reply.ok ? showReturn({ case_number: caseNumber }, reply.data) : showProblem(reply.data);
    }
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

  /** A typed order number: the order, if it is this store's and ready,
   *  with the same screen as its pickup code; else why not. */
  async function lookUpOrder(orderId) {
    const reply = await api('GET', `/api/orders/${encodeURIComponent(orderId)}`);
    if (!reply.ok) return showProblem(reply.data);
    return showOrderAtCounter(reply.data);
  }

  function showOrderAtCounter(order) {
    const here = state.me && state.me.store_id;
    if (order.store && order.store.store_id !== here) return showProblem({ slug: 'wrong-store', store_id: order.store.store_id });
    if (order.status === 'picked_up' && order.collected) {
      return showProblem({ slug: 'already-collected', collected_store_id: order.collected.store_id, collected_at: order.collected.at });
    }
    if (order.status !== 'ready_for_pickup') return showProblem({ slug: 'not-ready-for-pickup', current: order.status });
    return showPickup({ order_id: order.order_id, version: order.version }, order);
  }

  // ---- the result panel --------------------------------------------------

  function result(kind, stateName, ...children) {
    const panel = $('result');
    panel.dataset.kind = kind;
    panel.dataset.state = stateName;
    panel.replaceChildren(...children.flat().filter(Boolean));
    return panel;
  }

  function idle(messageKey) {
    state.rerender = () => idle(messageKey);
    result('idle', 'idle', el('p', { class: 'big', text: t(messageKey || 'scan.idle') }));
  }

  function busy(key) {
    result($('result').dataset.kind || 'idle', 'busy', el('p', { class: 'big', text: t(key) }));
  }

  function clearButton(key) {
    return el('button', { type: 'button', 'data-action': 'clear', onclick: reset, text: t(key || 'action.cancel') });
  }

  function problemText(problem) {
    const fields = Array.isArray(problem.errors) ? problem.errors.map((e) => e && e.field).filter(Boolean) : [];
    const values = {
      store: problem.store_id || problem.collected_store_id || problem.received_store_id || '',
      at: when(problem.collected_at || problem.received_at || ''),
      status: problem.current ? orderOrReturnStatus(problem.current) : '',
      fields: fields.join(', '),
      http: problem.status || '',
    };
    const key = `problem.${problem.slug}`;
    if (problem.slug === 'invalid-body' && !fields.length) return t('problem.other', values);
    return state.strings[key] ? t(key, values) : t('problem.other', values);
  }

  /** A `current` status in a problem belongs to an order or a return. */
  function orderOrReturnStatus(status) {
    return state.strings[`order.status.${status}`] ? orderStatus(status) : returnStatus(status);
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

  /** A button that asks before it acts: the first press shows what will
   *  happen (the amount) and moves the focus to the confirmation, the
   *  second press (Enter again) does it. Escape or Back steps back. */
  function confirmStep(question, action, confirmKey, onConfirm, onBack) {
    return el('div', { class: 'confirm', role: 'group', 'data-confirm': action },
      el('p', { class: 'big', role: 'status', text: question }),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'good', 'data-action': `confirm-${action}`, onclick: onConfirm, text: t(confirmKey) }),
        el('button', { type: 'button', 'data-action': 'back', onclick: onBack, text: t('action.back') })));
  }

  // ---- pickup ------------------------------------------------------------

  /** `ref` is `{code}` (a scanned pickup code, single use) or
   *  `{order_id, version}` (a typed number or the queue: a guarded move). */
  function showPickup(ref, order, phase) {
    state.rerender = () => showPickup(ref, order, phase);
    const done = phase === 'done';
    const handOver = async (event) => {
      event.target.disabled = true;
      busy('pickup.handing');
      const reply = ref.code
        ? await api('POST', '/api/orders/pickup-handovers', { code: ref.code, channel: CHANNEL })
        : await api('POST', `/api/orders/${encodeURIComponent(ref.order_id)}/transitions`,
          { status: 'picked_up', channel: CHANNEL }, { 'if-match': `"v${ref.version}"` });
      if (!reply.ok) return showProblem(reply.data);
      showPickup(ref, reply.data, 'done');
    };
    const facts = el('div', { class: 'facts' },
      el('span', { 'data-field': 'status', 'data-status': order.status, text: t('pickup.status', { status: orderStatus(order.status) }) }),
      order.pickup_until && !done ? el('span', { text: t('pickup.until', { at: when(order.pickup_until) }) }) : null,
    );
    const table = linesTable(order.lines || [], [
      { label: 'col.item', cell: itemCell },
      { label: 'col.qty', num: true, cell: (l) => String(l.quantity) },
      { label: 'col.total', num: true, cell: (l) => money(l.paid) },
    ]);
    table.append(el('tfoot', {}, el('tr', {}, el('td', { colspan: '2', text: t('pickup.paid') }), el('td', { class: 'num', text: money(order.total_paid) }))));
    let actions;
    if (done) actions = el('div', { class: 'actions' }, clearButton('action.next'));
    else if (phase === 'confirm') {
      actions = confirmStep(t('pickup.confirm', { id: order.order_id, amount: money(order.total_paid) }), 'hand-over', 'pickup.confirm_button',
        handOver, () => showPickup(ref, order));
    } else {
      actions = el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'good', 'data-action': 'hand-over', onclick: () => showPickup(ref, order, 'confirm'), text: t('pickup.hand_over') }),
        clearButton());
    }
    result('pickup', done ? 'done' : phase === 'confirm' ? 'confirm' : 'ready',
      el('h2', { text: t('pickup.heading', { id: order.order_id }) }),
      done ? el('p', { class: 'big', role: 'status', text: t('pickup.done', { id: order.order_id }) }) : null,
      facts, table, actions);
    focusAction(done);
  }

  // ---- returns -----------------------------------------------------------

  const units = (rma, field) => (rma.lines || []).reduce((sum, line) => sum + (Number(line[field]) || 0), 0);

  /** `ref` is `{code}` (the customer's return code) or `{case_number}`
   *  (typed). `phase`: undefined (as scanned), 'received', 'confirm-refund',
   *  'exchange', 'refunded', 'exchanged'. */
  function showReturn(ref, rma, phase, extra) {
    state.rerender = () => showReturn(ref, rma, phase, extra);
    const caseNumber = rma.case_number || rma.rma_id;
    const stepPath = (what) => `/api/returns/${encodeURIComponent(caseNumber)}/${what}`;
    const here = state.me && state.me.store_id;
    const receivedHere = rma.received && rma.received.store_id === here;
    const receive = async (event) => {
      event.target.disabled = true;
      const lines = [];
      for (const input of $('result').querySelectorAll('input[data-damaged-sku]')) {
        const quantity = Number(input.dataset.quantity);
        const damaged = Math.max(0, Math.min(quantity, Number.parseInt(input.value, 10) || 0));
        if (quantity - damaged > 0) lines.push({ sku: input.dataset.damagedSku, quantity: quantity - damaged, condition: 'sellable' });
        if (damaged > 0) lines.push({ sku: input.dataset.damagedSku, quantity: damaged, condition: 'damaged' });
      }
      busy('return.receiving');
      const reply = await api('POST', '/api/returns/intakes', { ...ref, lines, channel: CHANNEL });
      if (!reply.ok) return showProblem(reply.data);
      showReturn(ref, reply.data, 'received');
    };
    const refund = async (event) => {
      event.target.disabled = true;
      busy('return.refunding');
      const reply = await api('POST', stepPath('refund'), { channel: CHANNEL }, rma.version ? { 'if-match': `"v${rma.version}"` } : {});
      if (!reply.ok) return showProblem(reply.data);
      showReturn(ref, reply.data, 'refunded');
    };

    const facts = el('div', { class: 'facts' },
      el('span', { 'data-field': 'status', 'data-status': rma.status, text: t('return.status', { status: returnStatus(rma.status) }) }),
      rma.order_id ? el('span', { text: t('return.order', { id: rma.order_id }) }) : null,
      rma.received ? el('span', { 'data-field': 'received', text: t('return.received_at', { store: rma.received.store_id, at: when(rma.received.at) }) }) : null,
    );
    const opened = rma.status === 'opened' && !rma.received && phase === undefined;
    const columns = [
      { label: 'col.item', cell: itemCell },
      { label: 'col.qty', num: true, cell: (l) => String(l.quantity) },
    ];
    if (opened) {
      columns.push({
        label: 'col.damaged', num: true,
        cell: (l) => el('input', {
          type: 'number', min: '0', max: String(l.quantity), value: '0', inputmode: 'numeric', class: 'count',
          'data-damaged-sku': l.sku, 'data-quantity': String(l.quantity), 'aria-label': t('return.damaged_label', { sku: l.sku }),
        }),
      });
    } else if (rma.received) {
      columns.push({ label: 'col.condition', cell: (l) => t('return.condition', { sellable: l.received_sellable || 0, damaged: l.received_damaged || 0 }) });
    }
    // An exchange settles by the price difference, not by a refund: its
    // lines show no refund, so nobody pays one out by mistake.
    const exchanging = rma.status === 'exchanged' || phase === 'exchanged';
    if (!exchanging) columns.push({ label: 'col.refund', num: true, cell: (l) => money(l.refund) });
    const table = linesTable(rma.lines || [], columns);
    if (rma.refund_total && !exchanging) {
      table.append(el('tfoot', {}, el('tr', {}, el('td', { colspan: String(columns.length - 1), text: t('return.refund_total') }), el('td', { class: 'num', text: money(rma.refund_total) }))));
    }

    let message = null;
    let actions;
    let stateName = 'ready';
    const refundOrExchange = () => el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'good', 'data-action': 'refund', onclick: () => showReturn(ref, rma, 'confirm-refund'), text: t('return.refund') }),
      el('button', { type: 'button', 'data-action': 'exchange', onclick: () => showReturn(ref, rma, 'exchange'), text: t('return.exchange') }),
      clearButton('action.next'));
    if (opened) {
      message = t('return.receive_help');
      actions = el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'good', 'data-action': 'receive', onclick: receive, text: t('return.receive') }), clearButton());
    } else if (phase === 'received') {
      stateName = 'done';
      message = t('return.received', { sellable: units(rma, 'received_sellable'), damaged: units(rma, 'received_damaged') });
      actions = refundOrExchange();
    } else if (phase === 'confirm-refund') {
      stateName = 'confirm';
      actions = confirmStep(t('return.confirm_refund', { amount: money(rma.refund_total), method: tValue('refund_method', rma.refund_method) }),
        'refund', 'return.confirm_refund_button', refund, () => showReturn(ref, rma, receivedHere ? 'received' : undefined));
    } else if (phase === 'exchange') {
      stateName = 'exchange';
      actions = exchangeForm(ref, rma, extra);
    } else if (phase === 'refunded' || phase === 'exchanged') {
      stateName = 'done';
      message = t(phase === 'refunded' ? 'return.refunded' : 'return.exchanged', { case: caseNumber, amount: money(rma.refunded ? rma.refunded.amount : rma.refund_total) });
      actions = el('div', { class: 'actions' }, clearButton('action.next'));
    } else if (receivedHere && (rma.status === 'received' || rma.status === 'inspected')) {
      // Scanned (or typed) again after the panel was cleared: received here
      // earlier and not settled yet, so the next step is offered.
      message = t('return.already_here', { at: when(rma.received.at) });
      actions = refundOrExchange();
    } else {
      // Used up: received at another store, or settled. Say so plainly.
      stateName = 'used';
      message = rma.received && !receivedHere && (rma.status === 'received' || rma.status === 'inspected')
        ? t('return.received_elsewhere', { store: rma.received.store_id, at: when(rma.received.at) })
        : t('return.finished', { status: returnStatus(rma.status), at: when(rma.updated_at) });
      actions = el('div', { class: 'actions' }, clearButton('action.next'));
    }
    const exchange = rma.exchange && (phase === 'exchanged' || rma.status === 'exchanged') ? exchangeSummary(rma.exchange) : null;
    result('return', stateName,
      el('h2', { text: t('return.heading', { case: caseNumber }) }),
      message ? el('p', { class: 'big', role: 'status', 'data-phase': phase || stateName, text: message }) : null,
      facts, table, exchange, actions);
    if (phase === 'exchange') return;
    focusAction(stateName === 'used');
  }

  /** What the exchange settled: the replacements held here and the
   *  difference the customer pays or gets back. */
  function exchangeSummary(exchange) {
    const difference = exchange.price_difference;
    const settlement = exchange.settlement === 'charge'
      ? t('exchange.charge', { amount: money(difference) })
      : exchange.settlement === 'refund'
        ? t('exchange.refund', { amount: money(difference && { ...difference, amount: String(Math.abs(Number(difference.amount))) }) })
        : t('exchange.none');
    return el('div', { class: 'exchange-summary' },
      el('ul', { class: 'list' }, (exchange.lines || []).map((line) => el('li', { 'data-replacement': line.replacement_sku },
        el('span', { class: 'grow', text: t('exchange.line', { quantity: line.quantity, sku: line.sku, replacement: line.replacement_sku }) }),
        el('span', { class: 'num', text: money(line.unit_price) })))),
      exchange.hold_until ? el('p', { text: t('exchange.held', { store: exchange.store_id, at: when(exchange.hold_until) }) }) : null,
      el('p', { class: 'big', 'data-settlement': exchange.settlement, text: settlement }));
  }

  /** The other sizes and colours of each returned line's product with
   *  this store's available-to-promise; the clerk picks one per line with
   *  the arrow keys and confirms with Enter. */
  function exchangeForm(ref, rma, loaded) {
    const form = el('form', { class: 'exchange', 'data-loaded': loaded ? 'true' : 'false' }, el('h3', { text: t('return.exchange_heading') }));
    if (!loaded) {
      form.append(el('p', { text: t('exchange.loading') }));
      loadVariants(rma).then((options) => {
        if ($('result').dataset.state === 'exchange') showReturn(ref, rma, 'exchange', options);
      });
      return form;
    }
    if (loaded.problem) {
      form.append(el('p', { class: 'big', role: 'alert', 'data-problem': loaded.problem.slug, text: problemText(loaded.problem) }));
    }
    let first = null;
    for (const [index, line] of (rma.lines || []).entries()) {
      const options = (loaded.byLine && loaded.byLine[index]) || [];
      const group = el('fieldset', { class: 'variants', 'data-line-sku': line.sku, 'data-quantity': String(line.quantity) },
        el('legend', { text: t('exchange.for', { quantity: line.quantity, name: line.name || line.sku, sku: line.sku }) }));
      if (!options.length) group.append(el('p', { text: t('exchange.no_variants') }));
      for (const option of options) {
        const id = `variant-${index}-${option.sku}`;
        const enough = option.available >= line.quantity;
        const input = el('input', { type: 'radio', id, name: `line-${index}`, value: option.sku, disabled: !enough, 'data-available': String(option.available) });
        if (enough && !group.querySelector('input:checked')) {
          input.checked = true;
          if (!first) first = input;
        }
        group.append(el('label', { for: id, class: enough ? 'variant' : 'variant unavailable' }, input,
          el('span', { class: 'grow', text: [option.size, option.colour].filter(Boolean).join(' · ') || option.sku }),
          el('span', { class: 'sku', text: option.sku }),
          el('span', { class: 'num', text: t('exchange.available', { count: option.available }) }),
          option.price ? el('span', { class: 'num', text: money(option.price) }) : null));
      }
      form.append(group);
    }
    const confirm = async (event) => {
      event.preventDefault();
      const lines = [...form.querySelectorAll('fieldset[data-line-sku]')]
        .map((group) => ({ group, picked: group.querySelector('input:checked') }))
        .filter(({ picked }) => picked)
        .map(({ group, picked }) => ({ sku: group.dataset.lineSku, replacement_sku: picked.value, quantity: Number(group.dataset.quantity) }));
      if (!lines.length) return;
      busy('exchange.confirming');
      const reply = await api('POST', `/api/returns/${encodeURIComponent(rma.case_number)}/exchange`, { lines, channel: CHANNEL },
        rma.version ? { 'if-match': `"v${rma.version}"` } : {});
      if (!reply.ok) return showProblem(reply.data);
      showReturn(ref, reply.data, 'exchanged');
    };
    form.append(el('div', { class: 'actions' },
      el('button', { type: 'submit', class: 'primary', 'data-action': 'confirm-exchange', disabled: !first, text: t('return.exchange_confirm') }),
      el('button', { type: 'button', 'data-action': 'back', onclick: () => showReturn(ref, rma, 'received'), text: t('action.back') })));
    form.addEventListener('submit', confirm);
    // Enter on a picked size confirms: arrow keys pick, Enter confirms.
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && event.target instanceof HTMLInputElement && event.target.type === 'radio') {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    queueMicrotask(() => (first || form.querySelector('button')).focus());
    return form;
  }

  /** Per case line: the product's other variants (catalog), their list
   *  price and this store's ATP (one basket call for all of them). */
  async function loadVariants(rma) {
    const store = state.me && state.me.store_id;
    const byLine = [];
    const all = new Map();
    for (const line of rma.lines || []) {
      const item = await api('GET', `/api/catalog/items/${encodeURIComponent(line.sku)}`);
      if (!item.ok) return { problem: item.data, byLine: [] };
      const listed = await api('GET', `/api/catalog/items?product_id=${encodeURIComponent(item.data.product_id)}&limit=200`);
      if (!listed.ok) return { problem: listed.data, byLine: [] };
      const currency = (rma.currency || '').toUpperCase();
      const variants = listed.data.items.filter((v) => v.sku !== line.sku).map((v) => ({
        sku: v.sku, size: v.size, colour: v.colour,
        price: (v.prices || []).find((p) => p.currency === currency) ? { ...(v.prices.find((p) => p.currency === currency)) } : null,
        available: 0,
      }));
      for (const v of variants) all.set(v.sku, v);
      byLine.push(variants);
    }
    if (all.size) {
      const basket = await api('POST', '/api/availability/basket', { store_id: store, lines: [...all.keys()].slice(0, 50).map((sku) => ({ sku, quantity: 1 })) });
      if (!basket.ok) return { problem: basket.data, byLine };
      for (const line of basket.data.lines || []) {
        const v = all.get(line.sku);
        if (v) v.available = line.collectable === false ? 0 : Number(line.available) || 0;
      }
    }
    return { byLine };
  }

  // ---- a customer's identity code ------------------------------------------

  function showIdentity(found) {
    renderIdentity(found, found.open_returns || [], null);
  }

  function renderIdentity(found, openReturns, confirming) {
    state.rerender = () => renderIdentity(found, openReturns, confirming);
    const handOver = (order) => async (event) => {
      event.target.disabled = true;
      const reply = await api('POST', `/api/orders/${encodeURIComponent(order.order_id)}/transitions`,
        { status: 'picked_up', channel: CHANNEL }, { 'if-match': `"v${order.version}"` });
      if (!reply.ok) return showProblem(reply.data);
      const orders = found.orders_ready_here.filter((o) => o.order_id !== order.order_id);
      renderIdentity({ ...found, orders_ready_here: orders, handed_over: [...(found.handed_over || []), order.order_id] }, openReturns, null);
    };
    const orderRow = (order) => {
      const asking = confirming === order.order_id;
      return el('li', { 'data-order': order.order_id },
        el('span', { class: 'grow' }, el('strong', { text: order.order_id }), ' ',
          (order.lines || []).map((l) => `${l.quantity} × ${l.name || l.sku}`).join(', ')),
        el('span', { class: 'num', text: money(order.total_paid) }),
        asking
          ? [el('span', { role: 'status', text: t('pickup.confirm', { id: order.order_id, amount: money(order.total_paid) }) }),
            el('button', { type: 'button', class: 'good', 'data-action': 'confirm-hand-over', onclick: handOver(order), text: t('pickup.confirm_button') }),
            el('button', { type: 'button', 'data-action': 'back', onclick: () => renderIdentity(found, openReturns, null), text: t('action.back') })]
          : el('button', { type: 'button', class: 'good', 'data-action': 'hand-over', onclick: () => renderIdentity(found, openReturns, order.order_id), text: t('pickup.hand_over') }));
    };
    const orders = found.orders_ready_here.length
      ? el('ul', { class: 'list', 'data-list': 'orders' }, found.orders_ready_here.map(orderRow))
      : el('p', { 'data-list': 'orders', text: t('identity.no_orders') });
    const handed = (found.handed_over || []).map((id) => el('p', { class: 'big', role: 'status', 'data-handed-over': id, text: t('pickup.done', { id }) }));
    let returns;
    if (!openReturns.length) returns = el('p', { 'data-list': 'returns', text: t('identity.no_returns') });
    else {
      returns = el('ul', { class: 'list', 'data-list': 'returns' }, openReturns.map((r) => el('li', { 'data-return': r.case_number || r.rma_id },
        el('strong', { text: r.case_number || r.rma_id }), el('span', { class: 'grow', text: `${returnStatus(r.status)} · ${(r.lines || []).map((l) => `${l.quantity} × ${l.name || l.sku}`).join(', ')}` }),
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
    const confirmButton = confirming && $('result').querySelector('[data-action="confirm-hand-over"]');
    if (confirmButton) confirmButton.focus();
    else focusAction(false);
  }

  // ---- a cart handed over from the app ----------------------------------------

  function showHandoff(code, checkout, done) {
    state.rerender = () => showHandoff(code, checkout, done);
    const complete = async (event) => {
      event.target.disabled = true;
      busy('handoff.completing');
      const reply = await api('POST', `/api/carts/handoff/${encodeURIComponent(code)}/complete`, undefined, { 'x-channel': CHANNEL });
      if (!reply.ok) return showProblem(reply.data);
      showHandoff(code, reply.data, true);
    };
    const totals = checkout.totals || {};
    const paid = done || checkout.status === 'completed';
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
      el('tr', { class: 'big' }, el('td', { colspan: '4', 'data-total-label': paid ? 'paid' : 'to-pay', text: t(paid ? 'handoff.paid_total' : 'handoff.total') }), el('td', { class: 'num', 'data-total': 'total', 'data-amount': totals.total ? totals.total.amount : '', text: money(totals.total) }))));
    const promotions = (checkout.promotions || []).map((p) => el('li', { 'data-promotion': p.promotion_id },
      el('strong', { class: 'grow', text: p.name }),
      p.code ? el('span', { class: 'sku', text: p.code }) : null,
      p.free_shipping ? el('span', { text: t('handoff.free_shipping') }) : null,
      p.discount && Number(p.discount.amount) ? el('span', { class: 'num', text: `−${money(p.discount)}` }) : null));
    const refused = (checkout.coupons || []).filter((c) => !c.applied).map((c) => el('li', { 'data-refused-code': c.code },
      el('strong', { text: c.code }),
      el('span', { class: 'grow', 'data-reason': c.refusal ? c.refusal.reason : '', text: tValue('refusal', c.refusal ? c.refusal.reason : 'unknown') })));
    result('handoff', paid ? 'done' : 'ready',
      el('h2', { text: t('handoff.heading') }),
      done ? el('p', { class: 'big', role: 'status', text: t('handoff.done') }) : null,
      !done && paid ? el('p', { class: 'big', role: 'status', text: t('handoff.already', { by: checkout.completed_by || '' }) }) : null,
      el('div', { class: 'facts' },
        el('span', { 'data-field': 'status', 'data-status': checkout.status, text: checkout.checkout_id }),
        !paid && checkout.expires_at ? el('span', { text: t('handoff.expires', { at: when(checkout.expires_at) }) }) : null),
      table,
      promotions.length ? [el('h3', { text: t('handoff.promotions') }), el('ul', { class: 'list', 'data-list': 'promotions' }, promotions)] : null,
      refused.length ? [el('h3', { text: t('handoff.refused') }), el('ul', { class: 'list', 'data-list': 'refused' }, refused)] : null,
      el('div', { class: 'actions' },
        paid ? null : el('button', { type: 'button', class: 'good', 'data-action': 'complete', onclick: complete, text: t('handoff.complete') }),
        clearButton(paid ? 'action.next' : 'action.cancel')));
    focusAction(paid);
  }

  // ---- the store's queue -------------------------------------------------------

  /** Where an open order stands against its promise, now (server time):
   *  the server's state when it says at risk or breached, else the times. */
  function slaState(order) {
    const sla = order.sla || {};
    if (sla.state === 'breached' || sla.state === 'at_risk') {
      if (sla.state === 'at_risk' && Date.parse(order.ready_by) <= serverNow()) return 'breached';
      return sla.state;
    }
    if (['met', 'missed', 'void'].includes(sla.state)) return sla.state;
    if (Date.parse(order.ready_by) <= serverNow()) return 'breached';
    if (sla.at_risk_at && Date.parse(sla.at_risk_at) <= serverNow()) return 'at_risk';
    return 'on_track';
  }

  /** Every page of a list (`next_cursor` until the last), at most
   *  `pages` of 100: a store's whole queue, however busy the day. */
  async function allPages(path, pages) {
    const orders = [];
    let cursor = null;
    for (let page = 0; page < pages; page += 1) {
      const reply = await api('GET', `${path}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (!reply.ok) return reply;
      orders.push(...reply.data.orders);
      cursor = reply.data.next_cursor;
      if (!cursor) break;
    }
    return { ok: true, data: { orders } };
  }

  async function loadQueue() {
    const [prepare, ready] = await Promise.all([
      allPages('/api/orders?queue=true', 10),
      allPages('/api/orders?status=ready_for_pickup', 10),
    ]);
    if (!prepare.ok) return { problem: prepare.data };
    if (!ready.ok) return { problem: ready.data };
    const byReadyBy = (a, b) => Date.parse(a.ready_by) - Date.parse(b.ready_by);
    return { prepare: [...prepare.data.orders].sort(byReadyBy), ready: [...ready.data.orders].sort((a, b) => Date.parse(a.pickup_until || a.ready_by) - Date.parse(b.pickup_until || b.ready_by)), at: serverNow() };
  }

  async function showQueue(focusOrder) {
    state.view = 'queue';
    renderViewSwitch();
    state.rerender = () => renderQueue(state.queue, focusOrder);
    busy('queue.loading');
    const queue = await loadQueue();
    if (state.view !== 'queue') return;
    if (queue.problem) return showProblem(queue.problem);
    state.queue = queue;
    renderQueue(queue, focusOrder);
    clearInterval(state.queueTimer);
    state.queueTimer = setInterval(() => {
      if (state.view !== 'queue') return clearInterval(state.queueTimer);
      // The countdowns move every tick; the list is fetched again too, so
      // another device's moves show up.
      loadQueue().then((fresh) => {
        if (state.view !== 'queue' || fresh.problem || $('result').dataset.kind !== 'queue') return;
        const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('[data-queue-order]');
        state.queue = fresh;
        renderQueue(fresh, focused ? focused.dataset.queueOrder : null);
      });
    }, QUEUE_REFRESH_MS);
  }

  function renderQueue(queue, focusOrder) {
    if (!queue) return;
    state.rerender = () => renderQueue(state.queue, null);
    const move = (order, status) => async (event) => {
      event.target.disabled = true;
      const reply = await api('POST', `/api/orders/${encodeURIComponent(order.order_id)}/transitions`,
        { status, channel: CHANNEL }, { 'if-match': `"v${order.version}"` });
      if (!reply.ok) return showProblem(reply.data);
      showQueue(order.order_id);
    };
    const row = (order, ready) => {
      const sla = ready ? 'ready' : slaState(order);
      const moves = ready ? [] : QUEUE_MOVES.filter((s) => (order.allowed_next || []).includes(s));
      return el('li', { 'data-queue-order': order.order_id, 'data-status': order.status, 'data-sla': sla, class: `queue-row sla-${sla}` },
        el('span', { class: 'grow' },
          el('strong', { text: order.order_id }), ' ',
          el('span', { text: (order.lines || []).map((l) => `${l.quantity} × ${l.name || l.sku}`).join(', ') })),
        el('span', { 'data-field': 'status', text: orderStatus(order.status) }),
        ready
          ? el('span', { 'data-field': 'due', text: order.pickup_until ? t('queue.collect_until', { at: when(order.pickup_until) }) : '' })
          : el('span', { 'data-field': 'due', text: t('queue.ready_by', { at: clockTime(order.ready_by), left: fromNow(order.ready_by) }) }),
        ready ? el('span') : el('span', { class: `mark mark-${sla}`, 'data-mark': sla, text: t(`queue.sla.${sla}`) }),
        el('span', { class: 'moves' },
          moves.map((status) => el('button', { type: 'button', class: 'good', 'data-action': `move-${status}`, onclick: move(order, status), text: t(`queue.move.${status}`) })),
          ready ? el('button', { type: 'button', class: 'good', 'data-action': 'hand-over', onclick: () => { leaveQueue(); showOrderAtCounter(order); }, text: t('pickup.hand_over') }) : null));
    };
    const prepare = queue.prepare.length
      ? el('ul', { class: 'list', 'data-list': 'queue-prepare' }, queue.prepare.map((o) => row(o, false)))
      : el('p', { 'data-list': 'queue-prepare', text: t('queue.nothing_to_prepare') });
    const ready = queue.ready.length
      ? el('ul', { class: 'list', 'data-list': 'queue-ready' }, queue.ready.map((o) => row(o, true)))
      : el('p', { 'data-list': 'queue-ready', text: t('queue.nothing_ready') });
    const atRisk = queue.prepare.filter((o) => slaState(o) === 'at_risk').length;
    const late = queue.prepare.filter((o) => slaState(o) === 'breached').length;
    result('queue', 'ready',
      el('h2', { text: t('queue.heading') }),
      el('div', { class: 'facts' },
        el('span', { 'data-count': 'prepare', text: t('queue.count_prepare', { count: queue.prepare.length }) }),
        el('span', { 'data-count': 'at-risk', text: t('queue.count_at_risk', { count: atRisk }) }),
        el('span', { 'data-count': 'breached', text: t('queue.count_breached', { count: late }) }),
        el('span', { text: t('queue.updated', { at: clockTime(new Date(queue.at).toISOString()) }) })),
      el('h3', { text: t('queue.prepare') }), prepare,
      el('h3', { text: t('queue.ready') }), ready,
      el('div', { class: 'actions' }, el('button', { type: 'button', 'data-action': 'refresh', onclick: () => showQueue(null), text: t('queue.refresh') }),
        el('button', { type: 'button', 'data-action': 'leave-queue', onclick: () => { leaveQueue(); reset(); }, text: t('queue.leave') })));
    const wanted = focusOrder && $('result').querySelector(`[data-queue-order="${CSS.escape(focusOrder)}"] button`);
    (wanted || $('result').querySelector('.queue-row button') || $('result').querySelector('[data-action="refresh"]')).focus();
  }

  function leaveQueue() {
    state.view = 'scan';
    clearInterval(state.queueTimer);
    state.queueTimer = null;
    renderViewSwitch();
  }

  function renderViewSwitch() {
    const button = $('queue-toggle');
    if (!button) return;
    button.textContent = t(state.view === 'queue' ? 'queue.leave' : 'queue.open');
    button.setAttribute('aria-pressed', String(state.view === 'queue'));
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
    if (state.view === 'queue') leaveQueue();
    $('scan').value = '';
    idle();
    focusScan();
  }

  // A keyboard-wedge scanner types wherever focus is: printable keys pressed
  // outside a text field go to the scan field, so a scan is never lost
  // while a button has focus. Escape steps back (a confirmation) or clears
  // the result. In the queue, the arrow keys move between orders.
  document.addEventListener('keydown', (event) => {
    if ($('work').hidden) return;
    const target = event.target;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
    if (event.key === 'Escape') {
      event.preventDefault();
      const back = $('result').querySelector('[data-action="back"]');
      if (back) back.click();
      else reset();
      return;
    }
    if (event.key === 'F2') {
      event.preventDefault();
      $('queue-toggle').click();
      return;
    }
    if ((event.key === 'ArrowDown' || event.key === 'ArrowUp') && !typing && $('result').dataset.kind === 'queue') {
      const rows = [...$('result').querySelectorAll('.queue-row')];
      const at = rows.findIndex((r) => r.contains(target));
      const next = rows[Math.max(0, Math.min(rows.length - 1, at + (event.key === 'ArrowDown' ? 1 : -1)))];
      const button = next && next.querySelector('button');
      if (button) {
        event.preventDefault();
        button.focus();
      }
      return;
    }
    if (!typing && event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey && event.key !== ' ') {
      if (state.view === 'queue') leaveQueue();
      const input = $('scan');
      if (input.dataset.fresh !== 'no') input.value = '';
      input.dataset.fresh = 'no';
      input.focus();
    }
  });

  async function onScan(event) {
    event.preventDefault();
    if (state.view === 'queue') leaveQueue();
    const input = $('scan');
    const code = input.value.trim();
    input.dataset.fresh = 'yes';
    if (!code) {
      idle('scan.empty');
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
      idle('scan.camera_failed');
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
      return { error: reply.data.slug === 'network' ? t('problem.network') : t('signin.refused', { http: reply.status }) };
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
    leaveQueue();
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
    $('queue-toggle').addEventListener('click', () => {
      if (state.view === 'queue') reset();
      else showQueue(null);
    });
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
