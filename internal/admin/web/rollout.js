// rollout.js — the rollout panel of a service card: state, weight and
// steps, the last analysis with its measured values, and the actions
// (promote, pause, resume, abort, set weight) with the API's answer.

import { h, fill, setText, setClass, fmt, goDuration } from './dom.js';
import { mutate, confirmAction } from './api.js';

const ACTIONS = [
  { name: 'promote', label: 'Promote', confirm: 'Send all unpinned traffic to the new version and end the rollout?' },
  { name: 'pause', label: 'Pause' },
  { name: 'resume', label: 'Resume' },
  { name: 'abort', label: 'Abort', danger: true, confirm: 'Send all unpinned traffic back to the old version and keep it there?' },
];

// rolloutPanel returns {el, update(svc, ro)} for one service.
export function rolloutPanel(service, refresh) {
  const state = h('span', { class: 'badge state', 'data-field': 'state' });
  const title = h('h3', {}, 'Rollout');
  const weight = h('span', { class: 'weight', 'data-field': 'weight' });
  const weightOf = h('span', { class: 'muted' });
  const barFill = h('div', { class: 'bar-fill' });
  const bar = h('div', { class: 'bar' }, barFill);
  const steps = h('div', { class: 'steps', 'data-field': 'steps' });
  const analysis = h('div', { class: 'analysis' });
  const reason = h('p', { class: 'reason' });
  const result = h('p', { class: 'result', 'data-field': 'result', 'aria-live': 'polite' });
  const input = h('input', { type: 'number', min: 0, max: 100, step: 'any', class: 'weight-input',
    'aria-label': `New weight for ${service} in percent`, placeholder: 'weight %' });
  const buttons = ACTIONS.map((a) => h('button', {
    type: 'button', class: `btn${a.danger ? ' danger-outline' : ''}`, 'data-action': a.name, text: a.label,
    onclick: () => run(a.label, 'POST', `/api/v1/rollouts/${encodeURIComponent(service)}/${a.name}`, undefined, a.confirm),
  }));
  const setWeight = () => {
    const w = Number(input.value);
    if (input.value.trim() === '' || !Number.isFinite(w) || w < 0 || w > 100) {
      return show(false, 'Enter a weight from 0 to 100.');
    }
    run('Set weight', 'PUT', `/api/v1/rollouts/${encodeURIComponent(service)}/weight`, { weight: w });
  };
  input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') setWeight(); });
  const setBtn = h('button', { type: 'button', class: 'btn', 'data-action': 'weight', text: 'Set', onclick: setWeight });
  const actions = h('div', { class: 'actions' }, ...buttons);
  const weightActions = h('div', { class: 'actions' }, h('span', { class: 'muted', text: 'Set weight by hand' }), input, setBtn);
  const none = h('p', { class: 'muted none' });
  const body = h('div', { class: 'rollout-body' },
    h('div', { class: 'weight-row' }, weight, weightOf), bar, steps, analysis, reason, actions, weightActions, result);
  const el = h('section', { class: 'rollout' }, h('div', { class: 'box-head' }, title, state), body, none);

  function show(ok, text, json) {
    setClass(result, 'result-', ok ? 'ok' : 'err');
    fill(result, h('span', { text }), json ? h('code', { text: json }) : null);
  }

  async function run(label, method, path, body, question) {
    if (question && !(await confirmAction(`${label} ${service}?`, question, label))) return;
    for (const b of [...buttons, setBtn]) b.disabled = true;
    show(true, `${label}: sending…`);
    try {
      const r = await mutate(method, path, body);
      if (r.cancelled) return show(false, `${label} cancelled: the API needs the admin token.`);
      if (!r.ok) return show(false, `${label} failed — HTTP ${r.status || 'error'}:`, r.data ? JSON.stringify(r.data) : r.error);
      const st = r.data || {};
      show(true, `${label} done: ${service} is ${st.state} at weight ${fmt.weight(st.weight)}.`);
      if (method === 'PUT') input.value = '';
      await refresh();
    } finally {
      for (const b of [...buttons, setBtn]) b.disabled = false;
    }
  }

  function update(svc, ro) {
    body.hidden = !ro;
    state.hidden = !ro;
    none.hidden = !!ro;
    if (!ro) {
      setText(title, 'Rollout');
      return setText(none, `No rollout configured: unpinned traffic goes to the default version ${svc.default}.`);
    }
    setText(title, `Rollout ${ro.from} → ${ro.to}`);
    setText(state, ro.state.replace('_', ' '));
    state.dataset.state = ro.state;
    setClass(state, 'state-', ro.state);
    setText(weight, fmt.weight(ro.weight));
    setText(weightOf, ` of unpinned traffic to ${ro.to}`);
    barFill.style.width = `${Math.min(Math.max(ro.weight, 0), 100)}%`;
    setClass(barFill, 'fill-', ro.state);
    renderSteps(ro);
    renderAnalysis(ro.last_analysis);
    setText(reason, ro.reason || '');
    reason.hidden = !ro.reason;
    input.placeholder = `now ${fmt.weight(ro.weight)}`;
  }

  function renderSteps(ro) {
    const list = ro.steps || [];
    if (!list.length) return steps.replaceChildren(h('span', { class: 'muted', text: 'no steps: weight changes by hand only' }));
    const chips = list.map((w, i) => h('span', {
      class: `chip${i === ro.step ? ' chip-current' : i < ro.step ? ' chip-done' : ''}`, text: fmt.weight(w) }));
    const label = ro.step >= 0 ? `step ${ro.step + 1} of ${list.length}` : `before step 1 of ${list.length}`;
    let next = '';
    const interval = goDuration(ro.step_interval);
    if (ro.state === 'progressing' && ro.step < list.length - 1 && Number.isFinite(interval)) {
      const due = new Date(ro.step_started_at).getTime() + interval - Date.now();
      next = due > 0 ? ` · next in ${fmt.dur(due)} if healthy` : ' · next step due';
    }
    steps.replaceChildren(h('span', { class: 'muted', text: `${label}${next}` }), h('span', { class: 'chips' }, chips));
  }

  function renderAnalysis(a) {
    if (!a) return analysis.replaceChildren(h('span', { class: 'muted', text: 'no analysis yet' }));
    const head = h('span', { class: `verdict verdict-${a.result}`, text: a.result });
    const meta = h('span', { class: 'muted',
      text: ` ${fmt.ago(a.at)} · ${fmt.int(a.requests)} requests in ${fmt.num((a.window_ns || 0) / 1e9)}s` });
    const checks = (a.checks || []).map((c) => h('span', { class: `check ${c.ok ? 'check-ok' : 'check-bad'}`,
      text: checkText(c) }));
    fill(analysis, h('div', {}, head, meta), checks.length ? h('div', { class: 'checks' }, checks) : null);
  }

  return { el, update };
}

// checkText renders one analysis check: "error rate 0.8% ≤ 5%".
export function checkText(c) {
  const val = (v) => (c.unit === 'ratio' ? fmt.pct(v, 2) : c.unit === 'seconds' ? fmt.ms(v * 1000) : fmt.num(v));
  const name = String(c.name || '').replaceAll('_', ' ');
  return `${name} ${val(c.value)} ${c.ok ? '≤' : '>'} ${val(c.threshold)}`;
}
