// chart.js — the live split chart: the observed share of a service's
// requests per version over time, as stacked step areas in inline SVG,
// with the rollout's target weight as a dashed reference line. Also the time
// axis helpers the per-version line charts (linechart.js) share with it.

import { s, fmt, goDuration } from './dom.js';

const W = 560;
const H = 180;
const PAD = { left: 40, right: 10, top: 10, bottom: 24 };
const PW = W - PAD.left - PAD.right;
const PH = H - PAD.top - PAD.bottom;

// newSplitChart returns an <svg> to place in the page; draw it with
// drawSplit.
export function newSplitChart(label) {
  return s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label });
}

// drawSplit redraws svg. order: version names bottom to top; colors: name →
// colour; series: the /api/v1/series body; target: {version, weight} or
// null.
export function drawSplit(svg, order, colors, series, target) {
  const byVersion = new Map(series.versions.map((v) => [v.version, v.points]));
  const { times, stepMs, spanMs, start, end } = timeFrame(series);
  const x = (t) => PAD.left + ((Math.min(Math.max(t, start), end) - start) / spanMs) * PW;
  const y = (share) => PAD.top + (1 - share) * PH;

  // shares[i] = version → share at times[i] (null when nothing was served).
  const shares = times.map((t) => {
    const row = new Map();
    let total = 0;
    for (const name of order) {
      const p = (byVersion.get(name) || []).find((q) => q.t === t);
      const r = p ? p.requests : 0;
      row.set(name, r);
      total += r;
    }
    if (total === 0) return null;
    for (const [k, r] of row) row.set(k, r / total);
    return row;
  });

  const nodes = [];
  for (const frac of [0, 0.25, 0.5, 0.75, 1]) {
    nodes.push(s('line', { class: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y(frac), y2: y(frac) }));
    nodes.push(s('text', { class: 'axis', x: PAD.left - 6, y: y(frac) + 4, 'text-anchor': 'end', text: `${frac * 100}%` }));
  }
  nodes.push(...timeLabels(spanMs, (i) => x(start + (spanMs * i) / 3), H - 6));

  // One path per version: the union of its band over every run of points
  // that had traffic, drawn as steps ([t, t+step) has one value).
  order.forEach((name, k) => {
    let d = '';
    let run = [];
    const flush = () => {
      if (!run.length) return;
      const top = [];
      const bottom = [];
      for (const { t, lo, hi } of run) {
        top.push(`${x(t)},${y(hi)}`, `${x(t + stepMs)},${y(hi)}`);
        bottom.unshift(`${x(t + stepMs)},${y(lo)}`, `${x(t)},${y(lo)}`);
      }
      d += `M${top.join('L')}L${bottom.join('L')}Z`;
      run = [];
    };
    times.forEach((t, i) => {
      const row = shares[i];
      if (!row) return flush();
      let lo = 0;
      for (let j = 0; j < k; j++) lo += row.get(order[j]);
      run.push({ t, lo, hi: lo + row.get(name) });
    });
    flush();
    if (d) nodes.push(s('path', { class: 'band', d, fill: colors.get(name), 'data-version': name }));
  });

  if (target && Number.isFinite(target.weight)) {
    const yy = y(target.weight / 100);
    nodes.push(s('line', { class: 'target', x1: PAD.left, x2: W - PAD.right, y1: yy, y2: yy }));
    const below = target.weight > 88;  // near the top: label under the line
    nodes.push(s('text', { class: 'target-label', x: W - PAD.right - 4, y: below ? yy + 13 : yy - 5,
      'text-anchor': 'end', text: `target ${target.version} ${fmt.weight(target.weight)}` }));
  }
  if (!shares.some(Boolean)) {
    nodes.push(s('text', { class: 'nodata', x: PAD.left + PW / 2, y: PAD.top + PH / 2, 'text-anchor': 'middle',
      text: 'no requests in this span yet' }));
  }
  nodes.push(s('rect', { class: 'frame', x: PAD.left, y: PAD.top, width: PW, height: PH }));
  svg.replaceChildren(...nodes);
}

// latestShares returns version → share of the newest point with traffic.
export function latestShares(series) {
  const totals = new Map();
  for (const v of series.versions) {
    for (const p of v.points) totals.set(p.t, (totals.get(p.t) || 0) + p.requests);
  }
  const ts = [...totals.keys()].filter((t) => totals.get(t) > 0).sort((a, b) => b - a);
  const out = new Map();
  if (!ts.length) return out;
  for (const v of series.versions) {
    const p = v.points.find((q) => q.t === ts[0]);
    out.set(v.version, p ? p.requests / totals.get(ts[0]) : 0);
  }
  return out;
}

// timeFrame is the time axis every chart of a series shares: the sorted
// point starts, the step and span in ms, and [start, end) ending with the
// newest interval.
export function timeFrame(series) {
  const times = [...new Set(series.versions.flatMap((v) => v.points.map((p) => p.t)))].sort((a, b) => a - b);
  const stepMs = Math.max(goDuration(series.step) || 0, 1000);
  const spanMs = Math.max(goDuration(series.span) || 0, stepMs);
  const end = times.length ? times[times.length - 1] + stepMs : Date.now();
  return { times, stepMs, spanMs, start: end - spanMs, end };
}

// timeLabels returns the x axis labels "−15m … now" at x(0..3), baseline y.
export function timeLabels(spanMs, x, y) {
  return [0, 1, 2, 3].map((i) => s('text', { class: 'axis', x: x(i), y,
    'text-anchor': i === 0 ? 'start' : i === 3 ? 'end' : 'middle',
    text: i === 3 ? 'now' : `−${fmtSpan(spanMs - (spanMs * i) / 3)}` }));
}

// fmtSpan renders a span in ms as "15m", "1m20s" or "40s".
export function fmtSpan(ms) {
  const sec = Math.round(ms / 1000);
  if (sec % 60 === 0) return `${sec / 60}m`;
  if (sec > 60) return `${Math.floor(sec / 60)}m${sec % 60}s`;
  return `${sec}s`;
}
