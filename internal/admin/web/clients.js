// clients.js — a card's Clients panel: who still calls each version, from
// GET /api/v1/usage/{service}. Versions that are not active come first; for
// each, its clients with their requests, their share of the version's
// requests, their share hour by hour over the last day and when each was
// last seen.

import { h, s, fill, setText, fmt } from './dom.js';

// MAX_CLIENTS is how many clients a version lists; the rest are summed up.
const MAX_CLIENTS = 20;

export class ClientsPanel {
  constructor(service) {
    this.service = service;
    this.totals = h('span', { class: 'muted', 'data-field': 'clients-totals' });
    this.body = h('div', { class: 'clients-versions' });
    this.el = h('section', { class: 'clients-panel', 'data-field': 'clients-panel', hidden: true },
      h('div', { class: 'box-head' }, h('h3', { text: 'Clients' }), this.totals),
      this.body);
  }

  // update shows the usage body, or hides the panel when it is null (not
  // available) or no version was called yet. lifecycles maps each version
  // to its lifecycle.
  update(body, lifecycles) {
    const versions = ((body && body.versions) || []).filter((v) => v.requests > 0);
    this.el.hidden = !versions.length;
    if (!versions.length) return;
    const rank = (v) => (lifecycles.get(v.version) || 'active') === 'active' ? 1 : 0;
    versions.sort((a, b) => rank(a) - rank(b) || a.version.localeCompare(b.version));
    const old = versions.filter((v) => rank(v) === 0);
    setText(this.totals, old.length
      ? `still calling ${old.map((v) => `${v.version}: ${fmt.int(v.clients.length)} clients`).join(' · ')}`
      : 'every version called is active');
    fill(this.body, versions.map((v) => versionBlock(v, lifecycles.get(v.version) || 'active')));
  }
}

function versionBlock(v, lifecycle) {
  const rows = v.clients.slice(0, MAX_CLIENTS).map((c) => clientRow(v, c));
  const more = v.clients.length - MAX_CLIENTS;
  return h('div', { class: 'clients-version', 'data-version': v.version },
    h('h4', {},
      h('span', { class: `lc lc-${lifecycle}`, text: `${v.version} · ${lifecycle}` }),
      h('span', { class: 'muted', text: ` ${fmt.int(v.requests)} requests · ${fmt.int(v.requests_24h)} in the last 24 h` })),
    h('table', { class: 'diffs clients' },
      h('thead', {}, h('tr', {},
        h('th', { text: 'Client' }), h('th', { class: 'num', text: 'Requests' }), h('th', { class: 'num', text: 'Share' }),
        h('th', { text: 'Share per hour, last 24 h' }), h('th', { class: 'num', text: 'Last seen' }), h('th', { text: 'Operations' }))),
      h('tbody', {}, rows,
        more > 0 ? h('tr', {}, h('td', { class: 'muted', colspan: 6, text: `+${more} more clients (turnout usage ${v.service} --version ${v.version})` })) : null)));
}

function clientRow(v, c) {
  const ops = (c.operations || []).slice(0, 3).map((o) => `${o.operation} (${fmt.int(o.requests)})`);
  return h('tr', { 'data-client': c.client },
    h('td', {}, h('code', { text: c.client })),
    h('td', { class: 'num', 'data-metric': 'requests', text: fmt.int(c.requests) }),
    h('td', { class: 'num', 'data-metric': 'share', text: fmt.pct(v.requests ? c.requests / v.requests : 0, 1) }),
    h('td', {}, shareBars(v.hourly || [], c.hourly || [], c.hourly_from)),
    h('td', { class: 'num', 'data-metric': 'last-seen', title: c.last_seen, text: fmt.ago(c.last_seen) }),
    h('td', { class: 'muted', text: ops.join(', ') || '–' }));
}

// shareBars draws the client's share of the version's requests in each
// hour, oldest first: a bar per hour, full height for 100%.
function shareBars(total, mine, from) {
  const W = 96;
  const H = 18;
  const n = Math.max(total.length, 1);
  const bw = W / n;
  const bars = total.map((t, i) => {
    const share = t > 0 ? (mine[i] || 0) / t : 0;
    const bh = Math.max(share > 0 ? 1 : 0, Math.round(share * H));
    return s('rect', { x: (i * bw).toFixed(1), y: H - bh, width: Math.max(bw - 1, 1).toFixed(1), height: bh });
  });
  const start = from ? fmt.clock(from) : '';
  return s('svg', { class: 'share-bars', viewBox: `0 0 ${W} ${H}`, width: W, height: H, 'data-field': 'share-bars',
    'aria-label': `share per hour since ${start}` },
  s('title', { text: `share of the version's requests per hour since ${start}` }), bars);
}
