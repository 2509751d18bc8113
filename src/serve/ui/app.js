// The modelbay dashboard (GET /ui): reads the server's JSON routes every
// POLL_MS and draws SVG charts. No library, nothing from another origin (the
// page's Content-Security-Policy allows this origin only). Docs:
// docs/monitoring.md, "Dashboard".
'use strict';
(function () {
  const POLL_MS = 5000;
  const MAX_VERSIONS = 20;  // metadata is fetched for the newest versions only
  const TOKEN_KEY = 'modelbay-api-token';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
  const PSI_WATCH = 0.1, PSI_DRIFT = 0.25;
  const W = 520, H = 210, M = { l: 46, r: 10, t: 10, b: 34 };

  const $ = (id) => document.getElementById(id);
  const needsToken = document.documentElement.dataset.auth === 'bearer';
  const state = {
    meta: new Map(),      // version -> metadata (immutable once committed)
    model: 'default',     // the model shown (GET /models lists them; 'default' is the unnamed one)
    selected: null,       // the version whose drift/feedback is shown
    userSelected: false,  // true once the user clicked a version
    feature: null,        // the feature whose histograms are shown
    feedbackRoute: null,  // true/false once /openapi.json was read
    timer: null,
    generation: 0,        // bumps on logout so a late answer is dropped
  };

  class AuthError extends Error {}

  // ---- fetching ---------------------------------------------------------
  // A model-scoped route of the shown model (?model=NAME unless the unnamed one).
  function scoped(path) {
    if (state.model === 'default') return path;
    return path + (path.includes('?') ? '&' : '?') + 'model=' + encodeURIComponent(state.model);
  }

  async function getJson(path) {
    const headers = { Accept: 'application/json' };
    if (needsToken) headers.Authorization = 'Bearer ' + (sessionStorage.getItem(TOKEN_KEY) || '');
    const r = await fetch(path, { headers, cache: 'no-store', credentials: 'omit' });
    if (r.status === 401) throw new AuthError('the server refused this token');
    if (!r.ok) {
      let message = 'HTTP ' + r.status;
      try { message = (await r.json()).message || message; } catch (e) { /* not JSON */ }
      throw new Error(path + ': ' + message);
    }
    return r.json();
  }

  // ---- small DOM helpers ------------------------------------------------
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function tip(node, text) { node.appendChild(svgEl('title', {}, text)); return node; }
  function fmt(x) {
    if (x === null || x === undefined || Number.isNaN(x)) return '–';
    if (typeof x !== 'number') return String(x);
    if (Number.isInteger(x)) return x.toLocaleString('en-US');
    const a = Math.abs(x);
    return a >= 1000 ? x.toFixed(0) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
  }
  function seconds(s) {
    if (s === null) return '+Inf';
    return s < 0.001 ? (s * 1e6).toFixed(0) + 'µs' : s < 1 ? (s * 1e3).toFixed(s < 0.01 ? 2 : 0) + 'ms' : s + 's';
  }

  // Clears `svg` and draws the axes of a chart with y from 0 (or yMin) to yMax.
  function frame(svg, yMax, yMin, yFormat) {
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const y = (v) => M.t + (H - M.t - M.b) * (1 - (v - yMin) / ((yMax - yMin) || 1));
    for (let i = 0; i <= 4; i++) {
      const v = yMin + (yMax - yMin) * i / 4;
      svg.appendChild(svgEl('line', { class: 'grid-line', x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }));
      svg.appendChild(svgEl('text', { x: M.l - 4, y: y(v) + 3, 'text-anchor': 'end' }, yFormat(v)));
    }
    svg.appendChild(svgEl('line', { class: 'axis', x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }));
    svg.appendChild(svgEl('line', { class: 'axis', x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }));
    return y;
  }
  function empty(svg, message) {
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.appendChild(svgEl('text', { class: 'empty', x: W / 2, y: H / 2, 'text-anchor': 'middle' }, message));
    svg.dataset.points = '0';
  }

  // Lines: series = [{name, color, values: [number|null]}]; `fromZero`: the
  // y axis starts at 0 (counts), else it spans the values (a metric).
  function lineChart(svg, series, xLabels, yFormat, fromZero = true) {
    const all = series.flatMap((s) => s.values).filter((v) => v !== null);
    if (!all.length) return empty(svg, 'nothing yet');
    let yMax = Math.max(...all), yMin = fromZero ? Math.min(0, ...all) : Math.min(...all);
    if (!fromZero) {
      const pad = (yMax - yMin) * 0.15 || Math.abs(yMax) * 0.01 || 0.01;
      yMax += pad;
      yMin -= pad;
    }
    if (yMax === yMin) yMax = yMin + 1;
    const y = frame(svg, yMax, yMin, yFormat || fmt);
    const n = Math.max(...series.map((s) => s.values.length));
    const x = (i) => M.l + (W - M.l - M.r) * (n === 1 ? 0.5 : i / (n - 1));
    let points = 0;
    series.forEach((s) => {
      const pts = [];
      s.values.forEach((v, i) => {
        if (v === null) return;
        pts.push(`${x(i)},${y(v)}`);
        const c = svgEl('circle', { class: 'pt', cx: x(i), cy: y(v), r: n > 30 ? 1.6 : 3.5, fill: s.color });
        tip(c, `${s.name}, ${xLabels.at(i) ?? i}: ${fmt(v)}`);
        svg.appendChild(c);
        points++;
      });
      if (pts.length > 1) svg.insertBefore(svgEl('polyline', { class: 'series', points: pts.join(' '), stroke: s.color }), svg.firstChild);
    });
    const step = Math.max(1, Math.ceil(n / 8));
    for (let i = 0; i < n; i += step) {
      if (xLabels[i] === '') continue;
      svg.appendChild(svgEl('text', { x: x(i), y: H - M.b + 14, 'text-anchor': 'middle' }, xLabels[i]));
    }
    svg.dataset.points = String(points);
  }

  // Bars: [{label, value, cls, title, onclick}], optional dashed thresholds.
  function barChart(svg, bars, yFormat, thresholds) {
    if (!bars.length) return empty(svg, 'nothing yet');
    const tops = bars.map((b) => b.value || 0).concat((thresholds || []).map((t) => t.value * 1.15));
    const y = frame(svg, Math.max(...tops) || 1, 0, yFormat || fmt);
    const slot = (W - M.l - M.r) / bars.length;
    const bw = Math.max(2, Math.min(48, slot * 0.7));
    bars.forEach((b, i) => {
      const cx = M.l + slot * (i + 0.5);
      const v = b.value || 0;
      const rect = svgEl('rect', { class: 'bar ' + (b.cls || ''), x: cx - bw / 2, y: y(v), width: bw, height: Math.max(0, y(0) - y(v)) });
      if (b.feature !== undefined) rect.dataset.feature = b.feature;
      tip(rect, b.title || `${b.label}: ${fmt(b.value)}`);
      if (b.onclick) { rect.classList.add('clickable'); rect.addEventListener('click', b.onclick); }
      svg.appendChild(rect);
      const short = b.label.length > 12 ? b.label.slice(0, 11) + '…' : b.label;
      if (i % Math.ceil(bars.length / 8) === 0) {
        svg.appendChild(svgEl('text', { class: 'label', x: cx, y: H - M.b + 14, 'text-anchor': 'middle' }, short));
      }
    });
    for (const t of thresholds || []) {
      svg.appendChild(svgEl('line', { class: 'threshold ' + t.cls, x1: M.l, x2: W - M.r, y1: y(t.value), y2: y(t.value) }));
    }
    svg.dataset.points = String(bars.length);
  }

  // Two bars per bin: the baseline's share and the live window's share.
  function pairedBars(svg, bins) {
    const base = bins.reduce((a, b) => a + b.baseline, 0), live = bins.reduce((a, b) => a + b.live, 0);
    const share = (v, total) => (total > 0 ? v / total : 0);
    const rows = bins.map((b) => ({ label: b.bin, p: share(b.baseline, base), q: share(b.live, live), b }));
    const y = frame(svg, Math.max(0.01, ...rows.map((r) => Math.max(r.p, r.q))), 0, (v) => (v * 100).toFixed(0) + '%');
    const slot = (W - M.l - M.r) / rows.length;
    const bw = Math.max(1.5, Math.min(22, slot * 0.38));
    rows.forEach((r, i) => {
      const cx = M.l + slot * (i + 0.5);
      svg.appendChild(tip(svgEl('rect', { class: 'bar baseline', x: cx - bw, y: y(r.p), width: bw, height: y(0) - y(r.p) }),
        `${r.label}: baseline ${(r.p * 100).toFixed(1)}% (${fmt(r.b.baseline)})`));
      svg.appendChild(tip(svgEl('rect', { class: 'bar live', x: cx, y: y(r.q), width: bw, height: y(0) - y(r.q) }),
        `${r.label}: live ${(r.q * 100).toFixed(1)}% (${fmt(r.b.live)})`));
      if (i % Math.ceil(rows.length / 7) === 0) {
        const short = r.label.length > 12 ? r.label.slice(0, 11) + '…' : r.label;
        svg.appendChild(svgEl('text', { class: 'label', x: cx, y: H - M.b + 14, 'text-anchor': 'middle' }, short));
      }
    });
    svg.dataset.points = String(rows.length);
  }

  function legend(div, series) {
    div.replaceChildren();
    series.forEach((s) => {
      div.appendChild(el('span', { class: 'key c' + (s.colorIndex % COLORS.length) }));
      div.appendChild(document.createTextNode(s.name));
    });
  }

  // ---- panels -----------------------------------------------------------
  function versionColor(version, versions) {
    const i = versions.indexOf(version);
    return i < 0 ? 0 : i % COLORS.length;
  }

  function drawVersions(models) {
    const tbody = $('versions').querySelector('tbody');
    tbody.replaceChildren();
    const aliasesOf = new Map();
    for (const [name, v] of Object.entries(models.aliases || {})) {
      if (!aliasesOf.has(v)) aliasesOf.set(v, []);
      aliasesOf.get(v).push(name);
    }
    for (const v of shownVersions(models)) {
      const m = state.meta.get(v) || {};
      const tr = el('tr', { 'data-version': String(v) });
      if (v === state.selected) tr.classList.add('selected');
      tr.addEventListener('click', () => { state.selected = v; state.userSelected = true; state.feature = null; refresh(); });
      tr.appendChild(el('td', {}, String(v)));
      tr.appendChild(el('td', {}, (m.created || '').replace('T', ' ').replace(/\.\d+Z$/, 'Z')));
      const aliases = el('td');
      if (v === models.default) aliases.appendChild(el('span', { class: 'tag default' }, 'default'));
      for (const a of aliasesOf.get(v) || []) aliases.appendChild(el('span', { class: 'tag' }, a));
      tr.appendChild(aliases);
      tr.appendChild(el('td', {}, m.trigger || ''));
      const data = (m.data || []).map((d) => d.key);
      const dataText = data.length > 2 ? `${data.slice(0, 2).join(', ')} +${data.length - 2}` : data.join(', ');
      tr.appendChild(el('td', { title: data.join('\n') }, `${dataText}${m.rows ? ` (${fmt(m.rows.total)} rows)` : ''}`));
      const metrics = Object.entries(m.metrics || {}).filter(([k]) => k !== 'holdout_rows');
      tr.appendChild(el('td', {}, metrics.map(([k, x]) => `${k} ${fmt(x)}`).join(' · ')));
      const p = m.promotion || {};
      const promo = el('td', { class: p.promoted ? 'promoted' : 'rejected', title: p.reason || '' },
        p.mode === undefined ? '' : p.promoted ? `promoted (${p.alias || 'production'})` : 'not promoted');
      if (p.reason) promo.appendChild(el('div', { class: 'muted small' }, p.reason));
      tr.appendChild(promo);
      tbody.appendChild(tr);
    }
  }

  function shownVersions(models) {
    return (models.versions || []).slice().sort((a, b) => b - a).slice(0, MAX_VERSIONS);
  }

  function drawTrend(models) {
    const versions = shownVersions(models).slice().reverse();
    const names = new Set();
    versions.forEach((v) => Object.keys((state.meta.get(v) || {}).metrics || {}).forEach((k) => k !== 'holdout_rows' && names.add(k)));
    const select = $('metric');
    const wanted = select.value || ((state.meta.get(versions.at(-1)) || {}).promotion || {}).metric;
    const options = [...names].sort();
    if (select.options.length !== options.length || [...select.options].some((o, i) => o.value !== options[i])) {
      select.replaceChildren(...options.map((n) => el('option', { value: n }, n)));
    }
    if (options.length) select.value = options.includes(wanted) ? wanted : options[0];
    const metric = select.value;
    const values = versions.map((v) => {
      const x = ((state.meta.get(v) || {}).metrics || {})[metric];
      return typeof x === 'number' ? x : null;
    });
    lineChart($('trend'), [{ name: metric, color: COLORS[0], values }], versions.map((v) => 'v' + v),
      (v) => v.toPrecision(4), false);
  }

  function drawTraffic(traffic, models) {
    const all = (models.versions || []).slice().sort((a, b) => a - b);
    const n = traffic.buckets;
    const labels = Array.from({ length: n }, (_, i) => {
      const ago = (n - 1 - i) * traffic.interval_seconds;
      return ago % 120 === 0 ? (ago ? `-${ago / 60}m` : 'now') : '';
    });
    for (const kind of ['requests', 'rows']) {
      const series = traffic.versions.map((s) => {
        const ci = versionColor(s.version, all);
        return { name: 'v' + s.version, color: COLORS[ci], colorIndex: ci, values: s[kind] };
      });
      if (!series.length) empty($(kind), 'no inference in the last 10 minutes');
      else lineChart($(kind), series, labels);
      legend($(kind + '-legend'), series);
    }
    const lat = traffic.latency;
    const bars = lat.counts.map((c, i) => ({ label: (i + 1 < lat.counts.length ? '≤' : '>') + seconds(lat.upper_bounds[i] ?? lat.upper_bounds[i - 1]), value: c,
      title: `${i ? seconds(lat.upper_bounds[i - 1]) : '0'} – ${seconds(lat.upper_bounds[i])}: ${fmt(c)} requests` }));
    barChart($('latency'), bars, (v) => fmt(Math.round(v)));
    $('latency-summary').textContent = lat.count ? `(${fmt(lat.count)} requests, mean ${seconds(lat.sum_seconds / lat.count)})` : '(no requests yet)';
  }

  function psiClass(psi) {
    if (psi === null || psi === undefined) return '';
    return psi > PSI_DRIFT ? 'drifted' : psi > PSI_WATCH ? 'watch' : 'stable';
  }

  function drawDrift(drift) {
    $('drift-version').textContent = String(state.selected);
    const flags = $('drift-flags');
    flags.replaceChildren();
    if (drift.baseline !== 'ok') {
      $('drift-note').textContent = `No drift figures: baseline ${drift.baseline}. ${drift.message || ''}`;
      empty($('drift'), 'no baseline');
      empty($('hist'), 'no baseline');
      return;
    }
    const out = drift.output || {};
    $('drift-note').textContent = `Live window: ${fmt(drift.window.rows)} of ${fmt(drift.window.capacity)} rows. ` +
      `Output PSI ${fmt(out.psi)}, JS distance ${fmt(out.js_distance)}.`;
    const features = drift.features || [];
    if (!state.feature || !features.some((f) => f.name === state.feature)) {
      const worst = features.filter((f) => f.psi !== null).sort((a, b) => b.psi - a.psi)[0];
      state.feature = worst ? worst.name : (features[0] || {}).name;
    }
    const drifted = features.filter((f) => psiClass(f.psi) === 'drifted');
    const watch = features.filter((f) => psiClass(f.psi) === 'watch');
    if (!drifted.length && !watch.length) {
      flags.textContent = drift.window.rows ? 'No feature drifted.' : 'No live rows yet.';
    }
    for (const f of drifted) flags.appendChild(el('span', { class: 'flag', 'data-feature': f.name }, `DRIFT ${f.name}`));
    for (const f of watch) flags.appendChild(el('span', { class: 'flag watch', 'data-feature': f.name }, `watch ${f.name}`));
    const bars = features.map((f) => ({
      label: f.name, value: f.psi, feature: f.name,
      cls: psiClass(f.psi) + (f.name === state.feature ? ' chosen' : ''),
      title: `${f.name}: PSI ${fmt(f.psi)}, JS ${fmt(f.js_distance)}, missing ${fmt(f.missing_rate)} ` +
        `(baseline ${fmt(f.baseline_missing_rate)})` + (f.unseen_rate !== null ? `, unseen ${fmt(f.unseen_rate)}` : ''),
      onclick: () => { state.feature = f.name; drawDrift(drift); },
    }));
    barChart($('drift'), bars, fmt, [{ value: PSI_WATCH, cls: 'watch' }, { value: PSI_DRIFT, cls: 'drift' }]);
    const chosen = features.find((f) => f.name === state.feature);
    $('hist-feature').textContent = chosen ? `${chosen.name} (PSI ${fmt(chosen.psi)})` : 'click a feature\'s bar';
    if (chosen) pairedBars($('hist'), chosen.bins || []);
  }

  function drawFeedback(feedback) {
    const box = $('feedback');
    $('feedback-version').textContent = String(state.selected);
    box.replaceChildren();
    if (feedback === null) {
      box.dataset.state = 'unavailable';
      box.textContent = 'Ground-truth feedback is not available in this server (no /models/{version}/feedback route).';
      return;
    }
    // GET /models/{v}/feedback (docs/monitoring.md, "Ground truth").
    const labelled = typeof feedback.labelled_rows === 'number' ? feedback.labelled_rows : 0;
    const keys = feedback.feedback || {};
    if (labelled === 0) {
      box.dataset.state = 'empty';
      box.textContent = 'No feedback yet for this version' +
        (keys.unknown ? ' (' + keys.unknown + ' labelled request ids match no logged prediction).' : '.');
      return;
    }
    box.dataset.state = 'figures';
    const figures = [['labelled rows', labelled + ' of ' + fmt(feedback.logged_rows) + ' logged']];
    for (const k of ['auc', 'accuracy', 'log_loss', 'rmse']) {
      if (typeof feedback[k] === 'number') figures.push([k, feedback[k]]);
    }
    if (typeof keys.unknown === 'number') figures.push(['unknown request ids', keys.unknown]);
    const dl = el('dl', { class: 'figures' });
    for (const [k, v] of figures) { dl.appendChild(el('dt', {}, k)); dl.appendChild(el('dd', {}, fmt(v))); }
    box.appendChild(dl);
  }

  // ---- the refresh loop -------------------------------------------------
  async function refresh() {
    clearTimeout(state.timer);
    const generation = state.generation;
    try {
      if (state.feedbackRoute === null) {
        const api = await getJson('/openapi.json');
        state.feedbackRoute = Object.prototype.hasOwnProperty.call(api.paths || {}, '/models/{version}/feedback');
      }
      const all = await getJson('/models');
      const names = Object.keys(all.models || {}).sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a < b ? -1 : 1));
      if (!names.includes(state.model)) selectModel('default');  // it went away
      drawModelPicker(names);
      const models = state.model === 'default' ? all : all.models[state.model];
      if (models.error) throw new Error(`model ${state.model}: ${models.error}`);
      const model = state.model;
      const traffic = await getJson(scoped('/traffic'));
      const missing = shownVersions(models).filter((v) => !state.meta.has(v));
      const metas = await Promise.all(missing.map((v) => getJson(scoped('/models/' + v))));
      if (model !== state.model) return;  // the user picked another model meanwhile

      missing.forEach((v, i) => state.meta.set(v, metas[i]));
      if (!state.userSelected || !(models.versions || []).includes(state.selected)) {
        state.selected = models.default || shownVersions(models)[0] || null;
      }
      let drift = null, feedback = null;
      if (state.selected !== null) {
        [drift, feedback] = await Promise.all([
          getJson(scoped(`/models/${state.selected}/drift`)),
          state.feedbackRoute ? getJson(scoped(`/models/${state.selected}/feedback`)) : Promise.resolve(null),
        ]);
      }
      if (generation !== state.generation || model !== state.model) return;
      showMain();
      $('status').textContent = (state.model === 'default' ? '' : `model ${state.model} · `) +
        `default version ${models.default ?? '–'} · ${(models.versions || []).length} versions · ` +
        (models.store_ok ? 'model store ok' : 'model store unreachable (serving cached models)');
      $('status').classList.toggle('error', !models.store_ok);
      drawVersions(models);
      drawTrend(models);
      drawTraffic(traffic, models);
      if (drift) drawDrift(drift); else { empty($('drift'), 'no model yet'); empty($('hist'), 'no model yet'); }
      if (state.selected !== null) drawFeedback(feedback);
      $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    } catch (e) {
      if (generation !== state.generation) return;
      if (e instanceof AuthError) {
        sessionStorage.removeItem(TOKEN_KEY);
        return showLogin('The server refused this token: no data is shown. Enter the right one.');
      }
      $('status').textContent = 'refresh failed: ' + e.message + ' (retrying)';
      $('status').classList.add('error');
    }
    state.timer = setTimeout(refresh, POLL_MS);
  }

  // The models this server serves (GET /models): a picker when there is more than one.
  function drawModelPicker(names) {
    const select = $('model');
    select.hidden = names.length < 2;
    if ([...select.options].map((o) => o.value).join('\n') !== names.join('\n')) {
      select.replaceChildren(...names.map((n) => el('option', { value: n }, n === 'default' ? 'default (unnamed)' : n)));
    }
    select.value = state.model;
  }

  function selectModel(name) {
    state.model = name;
    state.meta.clear();  // version numbers are per model
    state.selected = null;
    state.userSelected = false;
    state.feature = null;
  }

  function showMain() {
    $('login').hidden = true;
    $('main').hidden = false;
    $('logout').hidden = !needsToken;
  }

  function showLogin(message) {
    clearTimeout(state.timer);
    state.generation++;
    state.meta.clear();
    $('main').hidden = true;
    $('logout').hidden = true;
    $('versions').querySelector('tbody').replaceChildren();
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    $('status').textContent = 'token needed';
    $('token').focus();
  }

  function start() {
    $('login').addEventListener('submit', (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      $('token').value = '';
      $('login-error').textContent = '';
      $('status').textContent = 'loading…';
      refresh();
    });
    $('logout').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); showLogin(''); });
    $('metric').addEventListener('change', () => refresh());
    $('model').addEventListener('change', () => { selectModel($('model').value); refresh(); });
    if (needsToken && !sessionStorage.getItem(TOKEN_KEY)) showLogin('');
    else refresh();
  }

  document.addEventListener('DOMContentLoaded', start);
})();
