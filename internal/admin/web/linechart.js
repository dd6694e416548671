// linechart.js — the small per-version line charts of a service card:
// request rate, error rate and p95 latency over the card's chart span, one
// line per version in its colour, drawn from the same series response as the
// split chart. Inline SVG, with a hover read-out of the nearest interval.

import { h, s, fmt } from './dom.js';
import { timeFrame, timeLabels } from './chart.js';

const W = 300;
const H = 128;
const PAD = { left: 40, right: 8, top: 8, bottom: 20 };
const PW = W - PAD.left - PAD.right;
const PH = H - PAD.top - PAD.bottom;

// METRICS are the charts, in the order shown. value(p) is the plotted value
// of a point, null where it has none (no requests: no error rate, no p95);
// floor is the least top of the y axis, so noise near zero stays flat.
export const METRICS = [
  { key: 'rate', title: 'Request rate', unit: 'req/s', floor: 1,
    value: (p) => p.rate || 0, show: (v) => `${fmt.rate(v)} req/s`, axis: (v) => compact(v) },
  { key: 'error_rate', title: 'Error rate', unit: '%', floor: 1,
    value: (p) => (p.requests ? p.error_rate * 100 : null), show: (v) => fmt.pct(v / 100, 2), axis: (v) => `${compact(v)}%` },
  { key: 'p95', title: 'p95 latency', unit: 'ms', floor: 0.1,
    value: (p) => (p.requests ? p.p95_ms : null), show: (v) => fmt.ms(v), axis: (v) => compact(v) },
];

// LineChart is one metric's chart: el is its box (title, unit, svg).
export class LineChart {
  constructor(metric, service) {
    this.m = metric;
    this.svg = s('svg', { class: 'chart line-chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-label': `${metric.title} of ${service} per version, in ${metric.unit}` });
    this.tip = h('div', { class: 'tip', hidden: true });
    this.el = h('div', { class: 'metric', 'data-chart': metric.key },
      h('div', { class: 'metric-head' }, h('h3', { text: metric.title }), h('span', { class: 'unit muted', text: metric.unit })),
      h('div', { class: 'plot' }, this.svg, this.tip));
    this.hover = null; // 0..1 across the plot while the pointer is over it
    this.last = null;
    this.svg.addEventListener('pointermove', (ev) => {
      const r = this.svg.getBoundingClientRect();
      this.hover = ((ev.clientX - r.left) * (W / r.width) - PAD.left) / PW;
      this.showTip();
    });
    this.svg.addEventListener('pointerleave', () => {
      this.hover = null;
      this.showTip();
    });
  }

  // draw redraws the chart. order: version names; colors: name → colour;
  // series: the /api/v1/series body.
  draw(order, colors, series) {
    const { times, stepMs, spanMs, start, end } = timeFrame(series);
    const x = (t) => PAD.left + ((Math.min(Math.max(t, start), end) - start) / spanMs) * PW;
    const byVersion = new Map(series.versions.map((v) => [v.version, v.points]));
    const lines = order.map((name) => ({ name, color: colors.get(name),
      pts: (byVersion.get(name) || []).map((p) => ({ t: p.t, v: this.m.value(p) })) }));
    const vals = lines.flatMap((l) => l.pts.map((p) => p.v)).filter((v) => v !== null && Number.isFinite(v));
    const top = niceCeil(Math.max(this.m.floor, ...vals));
    const y = (v) => PAD.top + (1 - Math.min(v, top) / top) * PH;

    const nodes = [];
    for (const frac of [0, 0.5, 1]) {
      nodes.push(s('line', { class: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y(top * frac), y2: y(top * frac) }));
      nodes.push(s('text', { class: 'axis', x: PAD.left - 5, y: y(top * frac) + 4, 'text-anchor': 'end',
        text: this.m.axis(top * frac) }));
    }
    nodes.push(...timeLabels(spanMs, (i) => x(start + (spanMs * i) / 3), H - 5));
    nodes.push(s('rect', { class: 'frame', x: PAD.left, y: PAD.top, width: PW, height: PH }));
    // A line joins the middles of consecutive intervals with a value; an
    // interval alone between gaps is drawn as a step across its width. A dot
    // marks each line's newest value.
    const dots = [];
    for (const l of lines) {
      let d = '';
      let run = [];
      const flush = () => {
        if (run.length === 1) d += `M${x(run[0].t)},${y(run[0].v)}H${x(run[0].t + stepMs)}`;
        else if (run.length) d += `M${run.map((p) => `${x(p.t + stepMs / 2)},${y(p.v)}`).join('L')}`;
        run = [];
      };
      for (const p of l.pts) {
        if (p.v === null || !Number.isFinite(p.v)) flush();
        else run.push(p);
      }
      const newest = l.pts.findLast((p) => p.v !== null && Number.isFinite(p.v));
      if (newest) dots.push(s('circle', { class: 'end', cx: x(newest.t + stepMs / 2), cy: y(newest.v), r: 2.5, fill: l.color }));
      flush();
      if (d) nodes.push(s('path', { class: 'line', d, stroke: l.color, 'data-version': l.name }));
    }
    nodes.push(...dots);
    if (!vals.length) {
      nodes.push(s('text', { class: 'nodata', x: PAD.left + PW / 2, y: PAD.top + PH / 2 + 4, 'text-anchor': 'middle',
        text: 'no requests yet' }));
    }
    this.cursor = s('line', { class: 'cursor', y1: PAD.top, y2: PAD.top + PH, visibility: 'hidden' });
    nodes.push(this.cursor);
    this.svg.replaceChildren(...nodes);
    this.last = { times, stepMs, x, lines };
    this.showTip();
  }

  // showTip shows the values of the interval under the pointer, or hides
  // the read-out; it runs again after every redraw.
  showTip() {
    const f = this.last;
    if (this.hover === null || !f || !f.times.length || this.hover < 0 || this.hover > 1) {
      this.tip.hidden = true;
      if (this.cursor) this.cursor.setAttribute('visibility', 'hidden');
      return;
    }
    const at = PAD.left + this.hover * PW;
    let t = f.times[0];
    for (const c of f.times) if (Math.abs(f.x(c + f.stepMs / 2) - at) < Math.abs(f.x(t + f.stepMs / 2) - at)) t = c;
    const cx = f.x(t + f.stepMs / 2);
    this.cursor.setAttribute('x1', cx);
    this.cursor.setAttribute('x2', cx);
    this.cursor.setAttribute('visibility', 'visible');
    const rows = f.lines.map((l) => {
      const p = l.pts.find((q) => q.t === t);
      const sw = h('i', { class: 'swatch' });
      sw.style.background = l.color;
      return h('div', {}, sw, `${l.name} `, h('b', { text: p && p.v !== null ? this.m.show(p.v) : '–' }));
    });
    const clock = (ms) => new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
    this.tip.replaceChildren(h('div', { class: 'muted', text: `${clock(t)}–${clock(t + f.stepMs)}` }), ...rows);
    this.tip.hidden = false;
    const left = cx / W;
    this.tip.style.left = left < 0.55 ? `calc(${left * 100}% + 8px)` : '';
    this.tip.style.right = left < 0.55 ? '' : `calc(${(1 - left) * 100}% + 8px)`;
  }
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
export function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p * (1 + 1e-9)) return m * p;
  return 10 * p;
}

// compact renders an axis value: "0", "0.25", "40", "2.5k".
function compact(v) {
  if (v >= 1000) return `${+(v / 1000).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
}
