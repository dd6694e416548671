// mirror.js — a card's mirror panel: the comparison totals of
// GET /api/v1/diffs/{service}, its endpoints and their differing paths by
// diff rate (learned noise shown apart), and the recent differing samples,
// each opening to the differing values and both answers.

import { h, fill, setText, fmt } from './dom.js';

// MAX_PATHS is how many differing paths an endpoint row lists.
const MAX_PATHS = 5;

export class MirrorPanel {
  constructor(service) {
    this.service = service;
    this.title = h('h3', { text: 'Mirror' });
    this.totals = h('span', { class: 'muted', 'data-field': 'mirror-totals' });
    this.tbody = h('tbody');
    this.samples = h('ol', { class: 'samples', 'data-field': 'mirror-samples' });
    this.samplesKey = '';
    this.samplesHead = h('h3', { class: 'samples-head', text: 'Recent differing samples' });
    this.el = h('section', { class: 'mirror-panel', 'data-field': 'mirror-panel', hidden: true },
      h('div', { class: 'box-head' }, this.title, this.totals),
      h('table', { class: 'diffs' },
        h('thead', {}, h('tr', {},
          h('th', { text: 'Endpoint' }), h('th', { class: 'num', text: 'Compared' }),
          h('th', { class: 'num', text: 'Diff rate' }), h('th', { text: 'Differing paths (noise apart)' }))),
        this.tbody),
      this.samplesHead,
      this.samples);
  }

  // update shows a report, or hides the panel when body is null (no mirror).
  update(body) {
    this.el.hidden = !body;
    if (!body) return;
    setText(this.title, `Mirror → ${body.to}`);
    const noisy = body.noisy ? ` · ${fmt.int(body.noisy)} differed only in noise` : '';
    setText(this.totals, body.compare === false
      ? `${fmt.int(body.sent)} copies sent, not compared (no compare block)`
      : `${fmt.int(body.compared)} compared · diff rate ${fmt.pct(body.diff_rate, 2)}${noisy}` +
        ` · ${fmt.int(body.error)} errors · ${fmt.int(body.dropped)} dropped`);
    const eps = body.endpoints || [];
    fill(this.tbody, eps.length ? eps.map(endpointRow)
      : h('tr', {}, h('td', { class: 'muted', colspan: 4, text: 'No comparisons yet.' })));
    this.showSamples(body.samples || []);
  }

  // showSamples rebuilds the list only when it changed, so an opened sample
  // stays open across polls.
  showSamples(samples) {
    const key = samples.map((s) => `${s.at} ${s.request}`).join('\n');
    if (key === this.samplesKey) return;
    this.samplesKey = key;
    setText(this.samplesHead, `Recent differing samples (${samples.length}, newest first; click one for both answers)`);
    if (!samples.length) {
      fill(this.samples, h('li', { class: 'muted', text: 'No differing samples kept.' }));
      return;
    }
    fill(this.samples, samples.map((s, i) => h('li', {},
      h('details', { 'data-sample': i },
        h('summary', {},
          h('time', { datetime: s.at, text: fmt.clock(s.at) }),
          h('code', { class: 'request', text: s.request }),
          h('span', { class: 'muted', text: (s.paths || []).map(label).join(', ') })),
        sampleBody(s)))));
  }
}

function endpointRow(e) {
  const paths = (e.paths || []).slice(0, MAX_PATHS).map((p) =>
    h('span', { class: 'kv path', 'data-path': p.path, title: `${p.count} of ${e.compared} comparisons` },
      `${label(p.path)} · ${fmt.pct(e.compared ? p.count / e.compared : 0, 1)}`));
  const more = (e.paths || []).length - MAX_PATHS;
  const noise = (e.noise || []).map((p) => h('span', { class: 'kv noise', title: 'noise: differs between two calls of the primary',
    text: `noise ${label(p)}` }));
  return h('tr', { 'data-endpoint': e.endpoint },
    h('td', {}, h('code', { text: e.endpoint })),
    h('td', { class: 'num', text: fmt.int(e.compared) }),
    h('td', { class: `num${e.diff ? ' bad' : ''}`, 'data-metric': 'diff_rate', text: fmt.pct(e.diff_rate, 2) }),
    h('td', {}, h('div', { class: 'checks' }, paths, more > 0 ? h('span', { class: 'muted', text: `+${more} more` }) : null, noise)));
}

// label names a differing path: the whole body is "(body)".
function label(path) {
  return path === '' ? '(body)' : path;
}

function sampleBody(s) {
  return h('div', { class: 'sample' },
    s.trace_id ? h('p', { class: 'muted', text: `trace ${s.trace_id} · endpoint ${s.endpoint}` })
      : h('p', { class: 'muted', text: `endpoint ${s.endpoint}` }),
    h('table', { class: 'sample-diffs' },
      h('thead', {}, h('tr', {}, h('th', { text: 'Path' }),
        h('th', { text: `${s.primary.version} (primary)` }), h('th', { text: `${s.candidate.version} (mirror)` }))),
      h('tbody', {}, (s.diffs || []).map((d) => h('tr', {},
        h('td', {}, h('code', { text: label(d.path) })),
        h('td', {}, h('code', { text: d.primary })),
        h('td', {}, h('code', { text: d.candidate })))))),
    h('div', { class: 'answers' }, answer('primary', s.primary), answer('mirror', s.candidate)));
}

function answer(role, r) {
  return h('div', { class: 'answer', 'data-answer': role },
    h('div', { class: 'muted', text: `${r.version} (${role}) · ${r.status}${r.content_type ? ` · ${r.content_type}` : ''}` +
      `${r.truncated ? ' · truncated' : ''}` }),
    h('pre', { text: r.body }));
}
