// events.js — the event timeline: config reloads, weight changes, steps,
// analysis failures with their measured values, rollbacks and manual
// actions, newest first, fetched incrementally by sequence number.

import { h, fmt } from './dom.js';
import { getJSON } from './api.js';
import { checkText } from './rollout.js';

const KEEP = 300;

const TONE = {
  rollback: 'bad', analysis_failure: 'bad', config_rejected: 'bad', abort: 'bad',
  promotion: 'good', rollout_started: 'info', step: 'info', resume: 'info',
  pause: 'warn', weight_change: 'info', config_reload: 'muted', state_change: 'info',
};

// Timeline keeps the events seen so far and renders the filtered list.
export class Timeline {
  constructor(list, filter) {
    this.list = list;
    this.filter = filter;
    this.events = [];
    this.lastSeq = 0;
    this.services = new Set();
    filter.addEventListener('change', () => this.render());
  }

  // poll fetches events newer than the last one seen; true when any came.
  async poll() {
    const q = this.lastSeq ? `after=${this.lastSeq}&limit=${KEEP}` : `limit=${KEEP}`;
    const body = await getJSON(`/api/v1/events?${q}`);
    const fresh = (body && body.events) || [];
    if (!fresh.length) return false;
    for (const ev of fresh) {
      if (ev.seq <= this.lastSeq) continue;
      this.events.push(ev);
      this.lastSeq = ev.seq;
    }
    this.events = this.events.slice(-KEEP);
    this.render();
    return true;
  }

  // setServices offers the known services in the filter.
  setServices(names) {
    const key = names.join('\n');
    if (key === this.servicesKey) return;
    this.servicesKey = key;
    const current = this.filter.value;
    this.filter.replaceChildren(h('option', { value: '', text: 'all services' }),
      ...names.map((n) => h('option', { value: n, text: n })));
    this.filter.value = names.includes(current) ? current : '';
  }

  render() {
    const want = this.filter.value;
    const shown = this.events.filter((e) => !want || e.service === want).reverse();
    if (!shown.length) {
      this.list.replaceChildren(h('li', { class: 'empty', text: want ? `No events for ${want}.` : 'No events yet.' }));
      return;
    }
    this.list.replaceChildren(...shown.map(item));
  }
}

function item(ev) {
  const tone = TONE[ev.type] || 'info';
  return h('li', { class: `event tone-${tone}`, 'data-type': ev.type, 'data-seq': ev.seq },
    h('div', { class: 'event-head' },
      h('span', { class: 'event-type', text: ev.type.replaceAll('_', ' ') }),
      ev.service ? h('span', { class: 'event-service', text: ev.service }) : null,
      h('time', { datetime: ev.at, title: fmt.stamp(ev.at), text: fmt.clock(ev.at) })),
    h('p', { class: 'event-msg', text: ev.message }),
    details(ev),
    h('div', { class: 'event-actor muted', text: `by ${ev.actor}` }));
}

// details renders the measured values an event carries: failed checks
// first, then the scalar fields.
function details(ev) {
  const f = ev.fields || {};
  const chips = [];
  if (Array.isArray(f.checks)) {
    for (const c of f.checks) {
      chips.push(h('span', { class: `check ${c.ok ? 'check-ok' : 'check-bad'}`, text: checkText(c) }));
    }
  }
  for (const [k, v] of Object.entries(f)) {
    if (k === 'checks' || v === null || typeof v === 'object') continue;
    if (k === 'errors' && typeof v === 'string') continue;
    let text = fmt.num(v);
    if (k === 'weight' || k === 'from_weight') text = fmt.weight(v);
    if (k === 'step' && typeof v === 'number') text = String(v + 1);
    chips.push(h('span', { class: 'kv' }, h('span', { class: 'muted', text: `${k.replaceAll('_', ' ')} ` }), text));
  }
  if (typeof f.errors === 'string' && f.errors) {
    chips.push(h('pre', { class: 'field-errors', text: f.errors }));
  }
  return chips.length ? h('div', { class: 'event-fields' }, chips) : null;
}
