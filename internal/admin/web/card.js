// card.js — one service card: versions with lifecycle and upstream health,
// the rollout (state, weight, steps, last analysis, actions), the live split
// chart, per-version request rate / error rate / p95 line charts and table,
// and the mirror summary and panel (mirror.js).

import { h, setText, setClass, fmt, goDuration, VERSION_COLORS } from './dom.js';
import { newSplitChart, drawSplit, latestShares, fmtSpan } from './chart.js';
import { LineChart, METRICS } from './linechart.js';
import { rolloutPanel } from './rollout.js';
import { MirrorPanel } from './mirror.js';
import { ClientsPanel } from './clients.js';

// Card builds the DOM once and updates it in place on every poll, so focus,
// typed input and open dialogs survive the refreshes.
export class Card {
  constructor(svc, refresh) {
    this.name = svc.name;
    this.refresh = refresh;
    this.colors = new Map();
    svc.versions.forEach((v, i) => this.colors.set(v.name, VERSION_COLORS[i % VERSION_COLORS.length]));
    this.rows = new Map();
    this.match = h('span', { class: 'match' });
    this.chart = newSplitChart(`Observed traffic split of ${svc.name}`);
    this.legend = h('div', { class: 'legend' });
    this.caption = h('p', { class: 'caption muted' });
    this.lines = METRICS.map((m) => new LineChart(m, svc.name));
    this.linesCaption = h('span', { class: 'muted' });
    this.linesLegend = h('span', { class: 'legend' });
    this.tbody = h('tbody');
    this.mirror = h('span', { class: 'mirror-text', 'data-field': 'mirror', text: 'checking…' });
    this.panel = rolloutPanel(svc.name, refresh);
    this.mirrorPanel = new MirrorPanel(svc.name);
    this.clientsPanel = new ClientsPanel(svc.name);
    this.lifecycles = new Map();
    this.el = h('article', { class: 'card', 'data-service': svc.name },
      h('header', { class: 'card-head' },
        h('h2', { text: svc.name }),
        this.match),
      h('div', { class: 'card-body' },
        this.panel.el,
        h('div', { class: 'chart-box' },
          h('div', { class: 'box-head' },
            h('h3', { text: 'Observed split' }),
            this.legend),
          this.chart,
          this.caption)),
      h('div', { class: 'metrics' },
        h('div', { class: 'metric-row' }, this.lines.map((c) => c.el)),
        h('p', { class: 'caption metrics-caption' }, this.linesLegend, this.linesCaption)),
      h('table', { class: 'versions' },
        h('thead', {}, h('tr', {},
          h('th', { text: 'Version' }), h('th', { text: 'Lifecycle' }), h('th', { text: 'Upstream · health' }),
          h('th', { class: 'num', text: 'Req/s' }), h('th', { class: 'num', text: 'Error rate' }),
          h('th', { class: 'num', text: 'p95' }), h('th', { class: 'num', text: 'Requests' }))),
        this.tbody),
      this.mirrorPanel.el,
      this.clientsPanel.el,
      h('footer', { class: 'card-foot' },
        h('span', { class: 'muted', text: 'Per-version numbers cover the last 15 minutes.' }),
        h('span', { class: 'mirror' }, h('strong', { text: 'Mirror: ' }), this.mirror)));
  }

  // update applies the latest services entry, rollout status (or
  // undefined) and series (or null when it could not be read).
  update(svc, ro, series) {
    // A QN service has its own TCP listener instead of hosts and a path.
    const where = svc.protocol === 'qn' ? `QN ${svc.listen}`
      : [...svc.hosts, svc.path_prefix || '/'].join(' · ');
    setText(this.match, `${where} · default ${svc.default}`);
    this.panel.update(svc, ro);
    this.lifecycles = new Map(svc.versions.map((v) => [v.name, v.lifecycle]));
    for (const v of svc.versions) {
      if (!this.colors.has(v.name)) this.colors.set(v.name, VERSION_COLORS[this.colors.size % VERSION_COLORS.length]);
    }
    const sums = new Map((series ? series.versions : []).map((v) => [v.version, v.summary]));
    for (const v of svc.versions) this.row(v.name).update(v, sums.get(v.name), svc, ro);
    for (const [name, row] of this.rows) {
      if (!svc.versions.some((v) => v.name === name)) {
        row.tr.remove();
        this.rows.delete(name);
      }
    }
    if (series) this.drawChart(svc, ro, series);
  }

  drawChart(svc, ro, series) {
    const names = svc.versions.map((v) => v.name);
    // The rollout's `to` is stacked at the bottom, so the y axis reads as
    // its share and the dashed target line as its weight.
    const order = ro && names.includes(ro.to) ? [ro.to, ...names.filter((n) => n !== ro.to)] : names;
    const target = ro ? { version: ro.to, weight: ro.weight } : null;
    drawSplit(this.chart, order, this.colors, series, target);
    const now = latestShares(series);
    this.legend.replaceChildren(...names.map((n) => h('span', { class: 'legend-item' },
      h('i', { class: 'swatch', 'data-color': this.colors.get(n) }), `${n} `,
      h('b', { 'data-share': n, text: now.has(n) ? fmt.pct(now.get(n), 0) : '–' }))));
    for (const sw of this.legend.querySelectorAll('.swatch')) sw.style.background = sw.dataset.color;
    setText(this.caption, `Share of ${svc.name}'s requests per version in each ${series.step} interval` +
      (ro ? `; dashed line: the weight of ${ro.to}.` : '.'));
    for (const c of this.lines) c.draw(names, this.colors, series);
    this.linesLegend.replaceChildren(...names.map((n) => {
      const sw = h('i', { class: 'swatch' });
      sw.style.background = this.colors.get(n);
      return h('span', { class: 'legend-item' }, sw, n);
    }));
    setText(this.linesCaption, `Per version over the last ${fmtSpan(goDuration(series.span))}, ` +
      `one point per ${series.step} interval; hover a chart for its values.`);
  }

  row(name) {
    let row = this.rows.get(name);
    if (row) return row;
    row = new VersionRow(name, this.colors.get(name) || VERSION_COLORS[0]);
    this.rows.set(name, row);
    this.tbody.append(row.tr);
    return row;
  }

  // setClients shows GET /api/v1/usage/{service}'s answer in the Clients
  // panel (hidden when it could not be read).
  setClients(res) {
    this.clientsPanel.update(res.ok ? res.data : null, this.lifecycles);
  }

  // setMirror shows GET /api/v1/diffs/{service}'s answer: 404 means mirroring
  // is not configured; otherwise the footer sums it up and the mirror panel
  // lists endpoints, paths and samples.
  setMirror(res) {
    setClass(this.mirror, 'mirror-', '');
    if (res.status === 404) {
      this.mirrorPanel.update(null);
      return setText(this.mirror, 'not configured');
    }
    if (!res.ok || !res.data) {
      this.mirror.classList.add('mirror-bad');
      return setText(this.mirror, `unavailable (${res.error || res.status})`);
    }
    setText(this.mirror, mirrorSummary(res.data));
    this.mirrorPanel.update(res.data);
  }
}

// mirrorSummary reads the comparison totals whether they sit at the top
// level or under "totals", under the names the metrics use (match, diff,
// error) or their plurals.
export function mirrorSummary(body) {
  const t = body.totals && typeof body.totals === 'object' ? body.totals : body;
  const pick = (...keys) => keys.map((k) => t[k]).find((v) => typeof v === 'number');
  const matched = pick('match', 'matches', 'matched');
  const diffs = pick('diff', 'diffs', 'differ', 'differing');
  const errors = pick('error', 'errors');
  let compared = pick('compared', 'total', 'requests');
  if (compared === undefined && (matched !== undefined || diffs !== undefined)) {
    compared = (matched || 0) + (diffs || 0) + (errors || 0);
  }
  if (compared === undefined) return 'configured (no totals reported)';
  let rate = pick('diff_rate');
  if (rate === undefined && diffs !== undefined && compared > 0) rate = diffs / compared;
  const parts = [`${fmt.int(compared)} compared`];
  if (matched !== undefined) parts.push(`${fmt.int(matched)} match`);
  if (diffs !== undefined) parts.push(`${fmt.int(diffs)} differ${rate !== undefined ? ` (${fmt.pct(rate, 2)})` : ''}`);
  if (errors !== undefined) parts.push(`${fmt.int(errors)} errors`);
  const samples = Array.isArray(body.samples) ? body.samples.length : 0;
  if (samples) parts.push(`${samples} recent samples`);
  return parts.join(' · ');
}

// VersionRow is one row of the versions table.
class VersionRow {
  constructor(name, color) {
    this.swatch = h('i', { class: 'swatch' });
    this.swatch.style.background = color;
    this.tags = h('span', { class: 'tags' });
    this.life = h('span', { class: 'badge' });
    // The retirement schedule's next step and why it waits.
    this.next = h('span', { class: 'next-step', 'data-field': 'next-step' });
    this.hold = h('div', { class: 'hold', 'data-field': 'hold' });
    this.upstream = h('span', { class: 'upstream' });
    this.health = h('span', { class: 'health' });
    this.cells = {};
    for (const m of ['rate', 'error_rate', 'p95', 'requests']) {
      this.cells[m] = h('td', { class: 'num', 'data-metric': m, 'data-version': name, text: '–' });
    }
    this.tr = h('tr', { 'data-version': name },
      h('td', {}, this.swatch, h('span', { class: 'vname', text: name }), this.tags),
      h('td', {}, this.life, this.next, this.hold),
      h('td', {}, this.upstream, this.health),
      this.cells.rate, this.cells.error_rate, this.cells.p95, this.cells.requests);
  }

  update(v, sum, svc, ro) {
    const tags = [];
    if (svc.default === v.name) tags.push('default');
    if (ro && ro.from === v.name) tags.push('from');
    if (ro && ro.to === v.name) tags.push('to');
    setText(this.tags, tags.join(' · '));
    setText(this.life, v.lifecycle);
    setClass(this.life, 'life-', v.lifecycle);
    const sunset = v.sunset ? `sunset ${fmt.stamp(v.sunset)}` : '';
    this.life.title = [sunset, v.successor ? `successor ${v.successor}` : '', v.applied_by ? `set by ${v.applied_by}` : '']
      .filter(Boolean).join(', ');
    const next = v.next_step;
    // Steps are written in UTC: show them so (2027-04-01 00:00 UTC).
    setText(this.next, next ? `→ ${next.lifecycle} ${next.at.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC')}` : '');
    setText(this.hold, v.hold_reason || '');
    this.hold.hidden = !v.hold_reason;
    setText(this.upstream, v.upstream);
    const up = v.targets.filter((t) => t.healthy && !t.ejected).length;
    const dots = v.targets.map((t) => h('i', {
      class: `dot ${t.ejected ? 'dot-ejected' : t.healthy ? 'dot-up' : 'dot-down'}`,
      title: `${t.url}: ${t.ejected ? 'ejected' : t.healthy ? 'healthy' : 'unhealthy'}`,
    }));
    this.health.replaceChildren(...dots, h('span', { text: `${up}/${v.targets.length} healthy` }));
    setClass(this.health, 'health-', up === v.targets.length ? 'ok' : up === 0 ? 'down' : 'partial');
    const s = sum || { rate: 0, error_rate: 0, p95_ms: 0, requests: 0 };
    setText(this.cells.rate, fmt.rate(s.rate));
    setText(this.cells.error_rate, s.requests ? fmt.pct(s.error_rate, 2) : '–');
    this.cells.error_rate.classList.toggle('bad', s.error_rate > 0);
    setText(this.cells.p95, fmt.ms(s.p95_ms));
    setText(this.cells.requests, fmt.int(s.requests));
  }
}
