// cluster.js — the fleet panel: GET /api/v1/cluster as `turnout cluster
// status` shows it (leader, this member, each member's advertise URL, last
// seen, spec hash, build and, when the API reads them, requests), and a
// warning banner while this member is out of sync with etcd. The panel is
// shown only when the API answers 200 (a member of a fleet) and hidden on
// 404 (no cluster: block). A 503 (etcd out of reach) keeps the last members
// seen, marked stale, under the banner with the API's reason. Polled by
// app.js with the rest of the page; it owns only its own nodes.

import { h, fill, setText, fmt } from './dom.js';
import { request, storedToken } from './api.js';

// STALE names what a member does while it cannot reach etcd (SPEC: it
// keeps serving its last known state and no step advances).
const STALE = 'serving its last known state; no step advances';

export class ClusterPanel {
  constructor(el) {
    this.el = el;
    this.view = null; // the last 200 answer
    this.summary = h('span', { class: 'muted', 'data-field': 'cluster-summary' });
    this.banner = h('p', { class: 'cluster-warn', role: 'alert', 'data-field': 'cluster-banner', hidden: true });
    this.reqHead = h('th', { class: 'num', text: 'Requests', hidden: true });
    this.tbody = h('tbody');
    fill(this.el,
      h('div', { class: 'section-head' }, h('h2', { text: 'Fleet' }), this.summary),
      this.banner,
      h('table', { class: 'members' },
        h('thead', {}, h('tr', {},
          h('th', { text: 'Member' }), h('th', { text: 'Advertise' }), h('th', { class: 'num', text: 'Last seen' }),
          h('th', { text: 'Spec hash' }), h('th', { text: 'Build' }), this.reqHead)),
        this.tbody));
  }

  // poll reads the view once and renders it. It answers false only when
  // the admin API could not be reached or refused the read (the page's
  // live indicator says so); 404 and 503 are answers, not failures.
  async poll() {
    const r = await request('GET', '/api/v1/cluster', undefined, storedToken());
    if (r.status === 404) {
      this.view = null;
      this.el.hidden = true;
      return true;
    }
    if (r.ok && r.data) {
      this.view = r.data;
      this.render(r.data, '');
      return true;
    }
    if (r.status === 503) {
      // The member is in a fleet but cannot read it: etcd out of reach.
      if (this.view) this.render(this.view, r.error);
      else this.render({ self: '', leader: '', members: [] }, r.error);
      return true;
    }
    return false;
  }

  // render shows view; unreachable is the API's reason when the view could
  // not be read now (then view is the last one read, shown as stale).
  render(view, unreachable) {
    this.el.hidden = false;
    const now = Date.now();
    const members = view.members || [];
    const reason = unreachable || view.sync_error || '';
    this.el.classList.toggle('stale', !!unreachable);
    this.banner.hidden = !reason;
    setText(this.banner, reason ? `Out of sync with etcd: ${reason} — this member is ${STALE}.` : '');
    const parts = [`${members.length} member${members.length === 1 ? '' : 's'}`,
      `leader ${view.leader || 'none'}`];
    if (view.self) parts.push(`this member ${view.self}`);
    const sync = fmt.ago(view.last_sync, now);
    if (sync) parts.push(`last sync ${sync}`);
    if (unreachable) parts.push('members as last read');
    setText(this.summary, parts.join(' · '));
    const leader = members.find((m) => m.leader);
    const traffic = members.some((m) => m.requests !== undefined || m.traffic_error);
    this.reqHead.hidden = !traffic;
    if (traffic) this.reqHead.title = view.traffic_window ? `requests over the last ${view.traffic_window}` : '';
    fill(this.tbody, members.length ? members.map((m) => row(m, view.self, leader, traffic, now))
      : h('tr', {}, h('td', { class: 'muted', colspan: 5, text: unreachable ? 'No members read yet.' : 'No live members.' })));
  }
}

// row is one member: name with its leader and self badges, advertise URL,
// last seen, spec hash (marked when it differs from the leader's), build
// and, with traffic, its request count.
function row(m, self, leader, traffic, now) {
  const differs = leader && m !== leader && m.spec_hash !== leader.spec_hash;
  return h('tr', { 'data-member': m.name, 'data-leader': m.leader ? 'true' : null, 'data-self': m.name === self ? 'true' : null },
    h('td', {},
      h('span', { class: 'vname', text: m.name }),
      m.leader ? h('span', { class: 'badge role-leader', 'data-field': 'leader', text: 'leader' }) : null,
      m.name === self ? h('span', { class: 'badge role-self', 'data-field': 'self', text: 'this member' }) : null),
    h('td', {}, h('code', { class: 'upstream', text: m.advertise || '–' })),
    h('td', { class: 'num', title: fmt.stamp(m.last_seen), text: fmt.ago(m.last_seen, now) || '–' }),
    h('td', { class: differs ? 'bad' : null, 'data-field': 'spec', title: m.spec_hash || '' },
      h('code', { text: m.spec_hash || '–' }),
      differs ? h('span', { class: 'kv path', 'data-field': 'spec-diff', text: specDiff(m, leader) }) : null),
    h('td', {}, h('code', { text: m.binary || '–' })),
    traffic ? h('td', { class: 'num', 'data-field': 'requests', title: m.traffic_error || '' },
      m.requests !== undefined ? fmt.int(m.requests) : '?') : null);
}

// specDiff names how m's rollout specs differ from the leader's: the
// services whose hashes differ when the API gives them per service.
function specDiff(m, leader) {
  const mine = m.specs || null;
  const theirs = leader.specs || null;
  if (!mine || !theirs) return `differs from leader ${leader.name}`;
  const names = [...new Set([...Object.keys(mine), ...Object.keys(theirs)])]
    .filter((s) => mine[s] !== theirs[s]).sort();
  return names.length ? `differs from leader ${leader.name}: ${names.join(', ')}` : `differs from leader ${leader.name}`;
}
