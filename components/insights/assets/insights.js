// The insights page: the figures of /api/insights as charts, each with its
// table. Framework-free, same-origin, no inline script (the CSP forbids it).
//
// Invariants:
// - Nothing the server sends is ever turned into markup: every text goes
//   through textContent, every chart is built with createElementNS.
// - One language per screen: the page words everything from its own string
//   tables; channels, fulfilments and problem types are looked up by the
//   server's stable values, never shown raw.
// - Money is exact: amounts are formatted from their decimal strings, never
//   through a float.
// - Every chart carries its numbers as data-key / data-value attributes
//   (what the browser test compares with the API) and has a table.
'use strict';

(() => {
  const TOKEN_KEY = 'insights.token';
  const LANG_KEY = 'insights.lang';
  const VIEW_KEY = 'insights.view';
  const CHANNELS = ['web', 'app', 'kiosk', 'pos', 'call_center'];
  const SVG = 'http://www.w3.org/2000/svg';

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    lang: 'en',
    strings: {},
    view: sessionStorage.getItem(VIEW_KEY) || 'sales',
    stores: [],
    last: null,
  };

  const $ = (id) => document.getElementById(id);

  // ---- language ------------------------------------------------------------

  function t(key, values) {
    let text = state.strings[key];
    if (text === undefined) text = key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split(`{${name}}`).join(String(value));
    }
    return text;
  }

  function channelName(value) {
    return CHANNELS.includes(value) ? t(`channel.${value}`) : t('channel.other', { value });
  }

  function fulfilmentName(value) {
    const key = `fulfilment.${value}`;
    return state.strings[key] ? t(key) : t('channel.other', { value });
  }

  async function setLanguage(lang, remember) {
    const response = await fetch(`strings-${lang}.json`, { cache: 'no-cache' });
    state.strings = await response.json();
    state.lang = lang;
    document.documentElement.lang = lang;
    if (remember) localStorage.setItem(LANG_KEY, lang);
    for (const button of document.querySelectorAll('.lang-button')) {
      button.setAttribute('aria-pressed', String(button.dataset.lang === lang));
    }
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    document.title = t('title');
    fillChannels();
    fillStores();
    if (state.last) render(state.last.view, state.last.body);
  }

  // ---- formatting ------------------------------------------------------------

  function percent(rate) {
    if (rate === null || rate === undefined) return t('unknown');
    return new Intl.NumberFormat(state.lang, { style: 'percent', maximumFractionDigits: 1 }).format(rate);
  }

  function count(n) {
    return new Intl.NumberFormat(state.lang).format(n);
  }

  /** An exact amount: the locale's currency pattern with the decimal
   *  string's own digits (BigInt grouping for the whole part). */
  function money(m) {
    const negative = m.amount.startsWith('-');
    const [whole, fraction = ''] = m.amount.replace('-', '').split('.');
    const pattern = new Intl.NumberFormat(state.lang, { style: 'currency', currency: m.currency }).formatToParts(negative ? -1 : 1);
    const grouped = new Intl.NumberFormat(state.lang).format(BigInt(whole));
    const decimal = new Intl.NumberFormat(state.lang).formatToParts(1.5).find((p) => p.type === 'decimal').value;
    let out = '';
    for (const part of pattern) {
      if (part.type === 'integer') out += grouped + (fraction ? decimal + fraction : '');
      else if (part.type === 'decimal' || part.type === 'fraction' || part.type === 'group') continue;
      else out += part.value;
    }
    return out;
  }

  function amounts(list) {
    return list.length ? list.map(money).join(' + ') : count(0);
  }

  function day(iso) {
    const [y, m, d] = iso.split('-').map(Number);
    return new Intl.DateTimeFormat(state.lang, { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, d));
  }

  // ---- the API ---------------------------------------------------------------

  async function api(path) {
    const headers = { accept: 'application/json' };
    if (state.token) headers.authorization = `Bearer ${state.token}`;
    let response;
    try {
      response = await fetch(path, { headers, cache: 'no-store' });
    } catch (_) {
      return { ok: false, message: t('network') };
    }
    const body = await response.json().catch(() => null);
    if (response.ok) return { ok: true, body };
    const slug = body && typeof body.type === 'string' ? body.type.split(':').pop() : '';
    const key = `problem.${slug}`;
    return { ok: false, status: response.status, message: state.strings[key] ? t(key) : t('problem.other', { status: response.status }) };
  }

  // ---- sign in -----------------------------------------------------------------

  async function signIn(token) {
    state.token = token;
    const probe = await api(`/api/insights/sales?${new URLSearchParams({ from: todayIso(), to: todayIso() })}`);
    if (!probe.ok) {
      state.token = null;
      sessionStorage.removeItem(TOKEN_KEY);
      return false;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    return true;
  }

  function todayIso() {
    const now = new Date();
    return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  }

  function showSignIn(message) {
    $('work').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    $('signin-message').textContent = message || '';
    $('token').focus();
  }

  async function showWork() {
    $('signin').hidden = true;
    $('work').hidden = false;
    $('signout').hidden = false;
    await loadStores();
    await show(state.view);
  }

  // ---- filters -----------------------------------------------------------------

  function fillChannels() {
    const select = $('channel');
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const c of CHANNELS) select.add(new Option(channelName(c), c));
    select.value = chosen;
  }

  function fillStores() {
    const select = $('store');
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const s of state.stores) select.add(new Option(`${s.name} (${s.store_id})`, s.store_id));
    select.value = chosen;
  }

  async function loadStores() {
    const stores = [];
    let cursor = null;
    do {
      const query = new URLSearchParams({ limit: '500' });
      if (cursor) query.set('cursor', cursor);
      const page = await api(`/api/catalog/stores?${query}`);
      if (!page.ok) break;
      stores.push(...page.body.stores.filter((s) => s.kind === 'store'));
      cursor = page.body.next_cursor;
    } while (cursor);
    state.stores = stores;
    fillStores();
  }

  function scopeQuery(view) {
    const query = new URLSearchParams();
    for (const name of ['from', 'to']) if ($(name).value) query.set(name, $(name).value);
    if ($('store').value && view !== 'journeys') query.set('store_id', $('store').value);
    if ($('channel').value) query.set('channel', $('channel').value);
    return query;
  }

  // ---- views ---------------------------------------------------------------------

  async function show(requested) {
    // A view is a report of the same name; anything else (a stale saved
    // view) opens the first.
    const view = Object.hasOwn(VIEWS, requested) ? requested : 'sales';
    state.view = view;
    sessionStorage.setItem(VIEW_KEY, view);
    for (const b of document.querySelectorAll('#views button')) {
      if (b.dataset.view === view) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
    const target = $('view');
    target.setAttribute('aria-busy', 'true');
    $('message').textContent = '';
    const answer = await api(`/api/insights/${view}?${scopeQuery(view)}`);
    target.setAttribute('aria-busy', 'false');
    if (!answer.ok) {
      if (answer.status === 401) return showSignIn(answer.message);
      $('message').textContent = answer.message;
      return;
    }
    state.last = { view, body: answer.body };
    if (!$('from').value) $('from').value = answer.body.scope.from;
    if (!$('to').value) $('to').value = answer.body.scope.to;
    render(view, answer.body);
  }

  function render(view, body) {
    const s = body.scope;
    const storeName = s.store_id ? (state.stores.find((x) => x.store_id === s.store_id) || { name: s.store_id }).name : t('filter.all_stores');
    let scope = t('scope.text', {
      from: day(s.from), to: day(s.to), zone: s.time_zone,
      store: view === 'journeys' ? t('filter.all_stores') : storeName,
      channel: s.channel ? channelName(s.channel) : t('filter.all_channels'),
    });
    if (view === 'journeys' && $('store').value) scope += ` ${t('scope.no_store_filter')}`;
    $('scope').textContent = scope;
    const target = $('view');
    target.replaceChildren();
    target.dataset.view = view;
    VIEWS[view](target, body);
    // A counter of drawings, so a client (or a test) can tell a redraw with
    // the same figures from none.
    target.dataset.renders = String(Number(target.dataset.renders || 0) + 1);
  }

  const VIEWS = {
    sales(target, { sales }) {
      target.append(tiles([
        ['sales.orders', count(sales.orders), 'orders'],
        ['sales.revenue', amounts(sales.revenue), 'revenue'],
        ['sales.cc_share', percent(sales.click_and_collect_share), 'click_and_collect_share'],
        ['sales.cancelled', count(sales.cancelled), 'cancelled'],
      ]));
      const charts = el('div', 'charts');
      for (const [key, rows, name] of [
        ['sales.by_channel', sales.by_channel, channelName],
        ['sales.by_fulfilment', sales.by_fulfilment, fulfilmentName],
      ]) {
        const id = key === 'sales.by_channel' ? 'sales-by-channel' : 'sales-by-fulfilment';
        charts.append(figure(id, t(key), t('sales.definition'),
          bars(rows.map((r) => ({ key: r.key, label: name(r.key), value: r.share || 0, text: `${percent(r.share)} · ${count(r.orders - r.cancelled)}` }))),
          table([key === 'sales.by_channel' ? t('col.channel') : t('col.fulfilment'), t('col.orders'), t('col.cancelled'), t('col.revenue'), t('col.share')],
            rows.map((r) => [name(r.key), num(count(r.orders)), num(count(r.cancelled)), num(amounts(r.revenue)), num(percent(r.share))]))));
      }
      target.append(charts);
    },

    journeys(target, { journeys }) {
      target.append(tiles([
        ['journeys.converted', count(journeys.converted), 'converted'],
        ['journeys.cross_channel', count(journeys.cross_channel), 'cross_channel'],
        ['journeys.abandoned', count(journeys.abandoned), 'abandoned'],
      ]));
      const charts = el('div', 'charts');
      const cells = journeys.matrix.map((c) => ({ row: c.started, col: c.finished, value: c.carts }));
      charts.append(figure('journeys-matrix', t('journeys.matrix'), t('journeys.matrix_definition'),
        heatMap(CHANNELS, CHANNELS, cells, t('journeys.started'), t('journeys.finished')),
        matrixTable(CHANNELS, CHANNELS, cells, t('journeys.started'))));
      const starts = journeys.by_starting_channel;
      charts.append(figure('journeys-conversion', t('journeys.conversion'), t('journeys.conversion_definition'),
        bars(starts.map((r) => ({ key: r.channel, label: channelName(r.channel), value: r.conversion || 0, text: percent(r.conversion) }))),
        table([t('col.channel'), t('journeys.converted'), t('journeys.cross_channel'), t('journeys.abandoned'), t('journeys.rate'), t('journeys.abandoned_value')],
          starts.map((r) => [channelName(r.channel), num(count(r.converted)), num(count(r.cross_channel)), num(count(r.abandoned)), num(percent(r.conversion)), num(amounts(r.abandoned_value))]))));
      const maxAbandoned = Math.max(1, ...starts.map((r) => r.abandoned));
      charts.append(figure('journeys-abandoned', t('journeys.abandoned_chart'), '',
        bars(starts.map((r) => ({ key: r.channel, label: channelName(r.channel), value: r.abandoned / maxAbandoned, raw: r.abandoned, text: count(r.abandoned) })), 'second'),
        null));
      target.append(charts);
    },

    stores(target, { pickups }) {
      const total = pickups.total;
      target.append(tiles([
        ['stores.pickup_rate', percent(total.pickup_rate), 'pickup_rate'],
        ['stores.sla_hit_rate', percent(total.sla_hit_rate), 'sla_hit_rate'],
        ['stores.at_risk_now', count(total.at_risk_now), 'at_risk_now'],
        ['stores.expired', count(total.expired), 'expired'],
      ]));
      const charts = el('div', 'charts');
      charts.append(figure('stores-sla-line', t('stores.sla_line'), t('stores.sla_definition'),
        line(pickups.sla_by_day.map((d) => ({ key: d.date, label: day(d.date), value: d.sla_hit_rate }))),
        table([t('stores.date'), t('stores.sla_met'), t('stores.sla_missed'), t('stores.sla_hit_rate')],
          pickups.sla_by_day.map((d) => [day(d.date), num(count(d.sla_met)), num(count(d.sla_missed)), num(percent(d.sla_hit_rate))]))));
      charts.append(figure('stores-pickup-rate', t('stores.pickup_chart'), '',
        bars(pickups.stores.map((s) => ({ key: s.store_id, label: s.store_name, value: s.pickup_rate || 0, text: percent(s.pickup_rate) }))),
        null));
      target.append(charts);
      const one = (n) => new Intl.NumberFormat(state.lang, { maximumFractionDigits: 1 }).format(n);
      const minutes = (m) => {
        if (m === null) return t('unknown');
        return m < 120 ? t('stores.minutes', { value: one(m) }) : t('stores.hours', { value: one(m / 60) });
      };
      const wide = figure('stores-table', t('stores.table'), '', null,
        table([t('stores.store'), t('stores.orders'), t('stores.collected'), t('stores.expired'), t('stores.waiting'), t('stores.pickup_rate'),
          t('stores.ready_to_collected'), t('stores.sla_hit_rate'), t('stores.sla_missed'), t('stores.at_risk_now')],
          pickups.stores.map((s) => [s.store_name, num(count(s.orders)), num(count(s.collected)), num(count(s.expired)), num(count(s.waiting)),
            num(percent(s.pickup_rate)), num(minutes(s.average_ready_to_collected_minutes)), num(percent(s.sla_hit_rate)),
            num(count(s.sla_missed)), num(count(s.at_risk_now))])));
      wide.classList.add('wide');
      target.append(wide);
    },

    returns(target, { returns }) {
      target.append(tiles([
        ['returns.cases', count(returns.cases), 'cases'],
        ['returns.refunds', amounts(returns.refunds), 'refunds'],
        ['returns.exchanged', count(returns.exchanged), 'exchanged'],
        ['returns.received', count(returns.received), 'received'],
      ]));
      const charts = el('div', 'charts');
      const cells = returns.matrix.map((c) => ({ row: c.purchased, col: c.returned, value: c.cases }));
      const rows = [...CHANNELS, ...cells.map((c) => c.row).filter((r) => !CHANNELS.includes(r))];
      charts.append(figure('returns-matrix', t('returns.matrix'), t('returns.matrix_definition'),
        heatMap(rows, CHANNELS, cells, t('returns.purchased'), t('returns.returned')),
        matrixTable(rows, CHANNELS, cells, t('returns.purchased'))));
      const rated = returns.by_purchase_channel;
      charts.append(figure('returns-rate', t('returns.rate_chart'), '',
        bars(rated.map((r) => ({ key: r.channel, label: channelName(r.channel), value: Math.min(1, r.return_rate || 0), text: percent(r.return_rate) }))),
        table([t('col.channel'), t('returns.orders'), t('returns.cases'), t('returns.rate')],
          rated.map((r) => [channelName(r.channel), num(r.orders === null ? t('unknown') : count(r.orders)), num(count(r.cases)), num(percent(r.return_rate))]))));
      target.append(charts);
    },

    promotions(target, { promotions }) {
      target.append(tiles([
        ['promotions.redemptions', count(promotions.redemptions), 'redemptions'],
        ['promotions.discount', amounts(promotions.discount), 'discount'],
        ['promotions.limits_reached', count(promotions.limits_reached.length), 'limits_reached'],
      ]));
      const charts = el('div', 'charts');
      const most = Math.max(1, ...promotions.by_channel.map((c) => c.redemptions));
      charts.append(figure('promotions-by-channel', t('promotions.by_channel'), '',
        bars(promotions.by_channel.map((c) => ({ key: c.channel, label: channelName(c.channel), value: c.redemptions / most, raw: c.redemptions, text: `${count(c.redemptions)} · ${amounts(c.discount)}` }))),
        table([t('col.channel'), t('promotions.redemptions'), t('promotions.discount')],
          promotions.by_channel.map((c) => [channelName(c.channel), num(count(c.redemptions)), num(amounts(c.discount))]))));
      const limit = (l) => (l === null ? t('promotions.no_limit') : count(l));
      charts.append(figure('promotions-by-promotion', t('promotions.by_promotion'), '', null,
        table([t('promotions.promotion'), t('promotions.uses'), t('promotions.limit'), t('promotions.used')],
          promotions.by_promotion.map((p) => [p.promotion_id, num(count(p.uses)), num(limit(p.global_limit)), num(count(p.used))]))));
      charts.append(figure('promotions-limits', t('promotions.limits_reached'), '', null,
        table([t('promotions.promotion'), t('promotions.limit'), t('promotions.used')],
          promotions.limits_reached.map((p) => [p.promotion_id, num(count(p.global_limit)), num(count(p.used))]))));
      target.append(charts);
    },
  };

  // ---- building blocks -------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function num(text) {
    return { text, num: true };
  }

  function tiles(items) {
    const box = el('div', 'tiles');
    for (const [key, value, name] of items) {
      const tile = el('div', 'tile');
      tile.dataset.tile = name;
      tile.append(el('span', 'label', t(key)), el('span', 'value', value));
      box.append(tile);
    }
    return box;
  }

  function figure(id, caption, definition, chart, tableNode) {
    const fig = el('figure');
    fig.dataset.chart = id;
    fig.append(el('figcaption', '', caption));
    if (definition) fig.append(el('p', 'definition', definition));
    if (chart) fig.append(chart);
    if (tableNode) fig.append(tableNode);
    return fig;
  }

  function table(headers, rows) {
    if (!rows.length) return el('p', 'empty', t('empty'));
    const node = el('table');
    const head = el('thead');
    const tr = el('tr');
    headers.forEach((h, i) => tr.append(el('th', i ? 'num' : '', h)));
    head.append(tr);
    const bodyNode = el('tbody');
    for (const row of rows) {
      const r = el('tr');
      row.forEach((cell, i) => {
        const isNum = typeof cell === 'object' && cell !== null;
        const td = el(i === 0 ? 'th' : 'td', isNum ? 'num' : '', isNum ? cell.text : cell);
        if (i === 0) td.setAttribute('scope', 'row');
        r.append(td);
      });
      bodyNode.append(r);
    }
    node.append(head, bodyNode);
    return node;
  }

  function matrixTable(rows, cols, cells, corner) {
    const value = (r, c) => (cells.find((x) => x.row === r && x.col === c) || { value: 0 }).value;
    const used = rows.filter((r) => cols.some((c) => value(r, c)));
    if (!used.length) return el('p', 'empty', t('empty'));
    return table([corner, ...cols.map(channelName)], used.map((r) => [channelName(r), ...cols.map((c) => num(count(value(r, c))))]));
  }

  /** Horizontal bars; `value` is 0..1 of the bar's full width. */
  function bars(rows, tone) {
    if (!rows.length) return el('p', 'empty', t('empty'));
    const rowH = 30, labelW = 170, width = 560, barW = width - labelW - 120;
    const svg = svgEl('svg', { viewBox: `0 0 ${width} ${rows.length * rowH + 8}`, role: 'img' });
    rows.forEach((r, i) => {
      const y = i * rowH + 4;
      svg.append(svgEl('text', { x: labelW - 8, y: y + 18, 'text-anchor': 'end' }, r.label));
      svg.append(svgEl('rect', { x: labelW, y: y + 2, width: barW, height: rowH - 8, class: 'grid', fill: 'none' }));
      const bar = svgEl('rect', {
        x: labelW, y: y + 2, height: rowH - 8, width: Math.max(0, Math.min(1, r.value)) * barW,
        class: `bar-rect${tone ? ` ${tone}` : ''}`, 'data-key': r.key, 'data-value': r.raw !== undefined ? r.raw : r.value,
      });
      bar.append(svgEl('title', {}, `${r.label}: ${r.text}`));
      svg.append(bar);
      svg.append(svgEl('text', { x: labelW + barW + 8, y: y + 18 }, r.text));
    });
    svg.setAttribute('aria-label', rows.map((r) => `${r.label}: ${r.text}`).join('; '));
    return svg;
  }

  /** A heat map: rows x columns, each cell shaded by its share of the
   *  largest and labelled with its count. */
  function heatMap(rows, cols, cells, rowTitle, colTitle) {
    const cell = 76, left = 140, top = 60;
    const max = Math.max(1, ...cells.map((c) => c.value));
    const svg = svgEl('svg', { viewBox: `0 0 ${left + cols.length * cell + 10} ${top + rows.length * cell + 10}`, role: 'img' });
    svg.append(svgEl('text', { x: left, y: 14 }, `${colTitle} →`));
    svg.append(svgEl('text', { x: 4, y: top - 6 }, `${rowTitle} ↓`));
    cols.forEach((c, j) => svg.append(svgEl('text', { x: left + j * cell + cell / 2, y: top - 8, 'text-anchor': 'middle' }, channelName(c))));
    const described = [];
    rows.forEach((r, i) => {
      svg.append(svgEl('text', { x: left - 8, y: top + i * cell + cell / 2 + 4, 'text-anchor': 'end' }, channelName(r)));
      cols.forEach((c, j) => {
        const found = cells.find((x) => x.row === r && x.col === c);
        const value = found ? found.value : 0;
        const attrs = { x: left + j * cell, y: top + i * cell, width: cell, height: cell, 'data-row': r, 'data-col': c, 'data-value': value };
        if (value) {
          const strength = 0.15 + 0.85 * (value / max);
          attrs.class = 'cell';
          attrs.fill = `rgba(11, 61, 145, ${strength.toFixed(3)})`;
          described.push(`${channelName(r)} → ${channelName(c)}: ${count(value)}`);
        } else {
          attrs.class = 'cell-empty';
        }
        svg.append(svgEl('rect', attrs));
        if (value) {
          const dark = value / max > 0.45;
          svg.append(svgEl('text', {
            x: left + j * cell + cell / 2, y: top + i * cell + cell / 2 + 5, 'text-anchor': 'middle', class: `cell-text${dark ? ' on-dark' : ''}`,
          }, count(value)));
        }
      });
    });
    svg.setAttribute('aria-label', described.join('; ') || t('empty'));
    return svg;
  }

  /** A line over the days; a day with nothing to rate is a gap. */
  function line(points) {
    if (!points.length) return el('p', 'empty', t('empty'));
    const width = 560, height = 220, left = 44, bottom = 28, top = 10;
    const plotW = width - left - 34, plotH = height - top - bottom;
    const x = (i) => left + (points.length === 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
    const y = (v) => top + (1 - v) * plotH;
    const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img' });
    for (const v of [0, 0.5, 1]) {
      svg.append(svgEl('line', { x1: left, x2: left + plotW, y1: y(v), y2: y(v), class: 'grid' }));
      svg.append(svgEl('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end' }, percent(v)));
    }
    svg.append(svgEl('line', { x1: left, x2: left, y1: top, y2: top + plotH, class: 'axis' }));
    let run = [];
    const flush = () => {
      if (run.length > 1) svg.append(svgEl('polyline', { points: run.join(' '), class: 'line' }));
      run = [];
    };
    const step = Math.max(1, Math.ceil(points.length / 8));
    points.forEach((p, i) => {
      if (i % step === 0 || i === points.length - 1) {
        svg.append(svgEl('text', { x: x(i), y: height - 8, 'text-anchor': 'middle' }, p.label));
      }
      if (p.value === null) return flush();
      run.push(`${x(i).toFixed(1)},${y(p.value).toFixed(1)}`);
      const dot = svgEl('circle', { cx: x(i), cy: y(p.value), r: 3.5, class: 'dot', 'data-key': p.key, 'data-value': p.value });
      dot.append(svgEl('title', {}, `${p.label}: ${percent(p.value)}`));
      svg.append(dot);
    });
    flush();
    svg.setAttribute('aria-label', points.filter((p) => p.value !== null).map((p) => `${p.label}: ${percent(p.value)}`).join('; ') || t('empty'));
    return svg;
  }

  // ---- wiring ------------------------------------------------------------------------

  async function start() {
    const saved = localStorage.getItem(LANG_KEY);
    const preferred = saved || ((navigator.language || 'en').toLowerCase().startsWith('pl') ? 'pl' : 'en');
    await setLanguage(preferred, false);
    for (const button of document.querySelectorAll('.lang-button')) {
      button.addEventListener('click', () => setLanguage(button.dataset.lang, true));
    }
    $('signin-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const token = $('token').value.trim().replace(/^Bearer\s+/i, '');
      if (await signIn(token)) {
        $('token').value = '';
        await showWork();
      } else {
        showSignIn(t('signin.refused'));
      }
    });
    $('signout').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      state.token = null;
      showSignIn('');
    });
    $('filters').addEventListener('submit', (event) => {
      event.preventDefault();
      show(state.view);
    });
    for (const b of document.querySelectorAll('#views button')) b.addEventListener('click', () => show(b.dataset.view));
    if (state.token && (await signIn(state.token))) await showWork();
    else showSignIn('');
  }

  start();
})();
