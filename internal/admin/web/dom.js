// dom.js — tiny DOM builders and number/time formatting shared by the
// dashboard's modules. No framework: every node is built with h() or s().

const SVGNS = 'http://www.w3.org/2000/svg';

// h builds an HTML element. attrs: class, text, data-*, aria-*, on{Event}
// handlers and plain attributes; children: nodes or strings (null skipped).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// s builds an SVG element the same way.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// fill replaces el's children, skipping null and false like h().
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// setText changes a node's text only when it differs (keeps the DOM quiet).
export function setText(el, text) {
  const t = String(text);
  if (el.textContent !== t) el.textContent = t;
}

// setClass replaces the classes of el that start with prefix by prefix+value.
export function setClass(el, prefix, value) {
  for (const c of [...el.classList]) if (c.startsWith(prefix)) el.classList.remove(c);
  if (value) el.classList.add(prefix + value);
}

// Number formatting: compact, tabular, never "NaN".
export const fmt = {
  rate(n) {
    if (!Number.isFinite(n) || n === 0) return '0';
    if (n < 0.1) return n.toFixed(3);
    if (n < 10) return n.toFixed(2);
    if (n < 1000) return n.toFixed(1);
    return Math.round(n).toLocaleString('en-US');
  },
  pct(ratio, digits = 1) {
    if (!Number.isFinite(ratio)) return '–';
    const p = ratio * 100;
    if (p !== 0 && Math.abs(p) < 0.1) return '<0.1%';
    return `${p.toFixed(digits).replace(/\.0+$/, '')}%`;
  },
  weight(w) {
    return Number.isFinite(w) ? `${+w.toFixed(2)}%` : '–';
  },
  ms(v) {
    if (!Number.isFinite(v) || v === 0) return '–';
    if (v < 1) return `${v.toFixed(2)} ms`;
    if (v < 100) return `${v.toFixed(1)} ms`;
    if (v < 10000) return `${Math.round(v)} ms`;
    return `${(v / 1000).toFixed(1)} s`;
  },
  int(n) {
    return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';
  },
  num(v) {
    if (typeof v !== 'number') return String(v);
    if (Number.isInteger(v)) return String(v);
    return String(+v.toPrecision(4));
  },
  clock(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return d.toLocaleTimeString('en-GB', { hour12: false });
  },
  stamp(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleString('en-GB', { hour12: false });
  },
  // dur renders a positive span in milliseconds: "45s", "3m 5s", "1h 2m".
  dur(ms) {
    const sec = Math.max(0, Math.ceil(ms / 1000));
    if (sec < 60) return `${sec}s`;
    const min = Math.floor(sec / 60);
    if (min < 60) return `${min}m ${sec % 60}s`;
    return `${Math.floor(min / 60)}h ${min % 60}m`;
  },
  // ago renders a past instant relative to now: "12s ago", "3m ago".
  ago(iso, now = Date.now()) {
    const t = new Date(iso).getTime();
    if (!Number.isFinite(t) || t <= 0) return '';
    const sec = Math.max(0, Math.round((now - t) / 1000));
    if (sec < 60) return `${sec}s ago`;
    if (sec < 3600) return `${Math.floor(sec / 60)}m ago`;
    if (sec < 86400) return `${Math.floor(sec / 3600)}h ago`;
    return `${Math.floor(sec / 86400)}d ago`;
  },
};

// goDuration parses Go's time.Duration text ("30s", "1m30s", "1h0m0s",
// "250ms") into milliseconds; NaN when it cannot.
export function goDuration(text) {
  if (!text) return NaN;
  const units = { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, 'µs': 1e-3, ns: 1e-6 };
  let total = 0;
  let rest = String(text);
  const re = /^(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/;
  while (rest.length) {
    const m = re.exec(rest);
    if (!m) return NaN;
    total += parseFloat(m[1]) * units[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

// VERSION_COLORS are assigned to a service's versions in order.
export const VERSION_COLORS = ['#2563eb', '#f97316', '#059669', '#9333ea', '#db2777', '#0891b2'];
