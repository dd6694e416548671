// app.js — the Turnout dashboard's entry point: polls the admin API every
// 1.5 s (services, rollouts, per-service series, new events, the fleet;
// mirror diffs and clients every 10 s) and updates the page in place. Vanilla JS, no build step, no
// network access beyond the admin port.

import { h, setText, setClass } from './dom.js';
import { getJSON, request, storedToken, storeToken } from './api.js';
import { Card } from './card.js';
import { Timeline } from './events.js';
import { ClusterPanel } from './cluster.js';

const POLL_MS = 1500;
const MIRROR_MS = 10000;
const SPANS = { '2m': '2s', '15m': '10s' };

const state = {
  span: '15m',
  cards: new Map(),
  lastMirror: 0,
  inflight: null,
  again: false,
};

const servicesEl = document.getElementById('services');
const timeline = new Timeline(document.getElementById('events'), document.getElementById('event-filter'));
const fleet = new ClusterPanel(document.getElementById('cluster'));

// refresh polls once; a call while a poll runs makes that poll run again
// when it ends, so an action's result shows up in the next render.
function refresh() {
  if (state.inflight) {
    state.again = true;
    return state.inflight;
  }
  state.inflight = (async () => {
    do {
      state.again = false;
      await pollOnce();
    } while (state.again);
  })().finally(() => {
    state.inflight = null;
  });
  return state.inflight;
}

// pollOnce reads everything the page shows and renders it. Failed reads
// mark the page disconnected; a rendering bug is rethrown outside the poll
// loop, so it surfaces as an uncaught error and polling goes on.
async function pollOnce() {
  let services;
  let rollouts;
  let series;
  try {
    const [svcBody, roBody] = await Promise.all([
      getJSON('/api/v1/services'),
      getJSON('/api/v1/rollouts').catch(() => ({ rollouts: [] })),
    ]);
    services = svcBody.services || [];
    rollouts = new Map((roBody.rollouts || []).map((r) => [r.service, r]));
    series = await Promise.all(services.map((s) => getJSON(
      `/api/v1/series/${encodeURIComponent(s.name)}?span=${state.span}&step=${SPANS[state.span]}`).catch(() => null)));
  } catch (err) {
    live(false, 'disconnected · retrying', err && err.message);
    return;
  }
  try {
    render(services, rollouts, series);
    timeline.setServices(services.map((s) => s.name));
  } catch (err) {
    setTimeout(() => { throw err; });
  }
  let ok = true;
  await timeline.poll().catch(() => { ok = false; });
  let fleetOK = true;
  try {
    fleetOK = await fleet.poll();
  } catch (err) {
    setTimeout(() => { throw err; });
  }
  if (Date.now() - state.lastMirror >= MIRROR_MS) {
    state.lastMirror = Date.now();
    await Promise.all(services.map(async (s) => {
      const [res, use] = await Promise.all([request('GET', `/api/v1/diffs/${encodeURIComponent(s.name)}`),
        request('GET', `/api/v1/usage/${encodeURIComponent(s.name)}`, undefined, storedToken())]);
      const card = state.cards.get(s.name);
      if (card) {
        card.setMirror(res);
        card.setClients(use);
      }
    }));
  }
  const now = new Date().toLocaleTimeString('en-GB', { hour12: false });
  if (!ok) live(false, 'events unavailable · retrying');
  else if (!fleetOK) live(false, 'fleet unavailable · retrying');
  else live(true, `live · updated ${now}`);
}

function render(services, rollouts, series) {
  if (!services.length) {
    state.cards.clear();
    servicesEl.replaceChildren(h('p', { class: 'empty', text: 'No services configured.' }));
    return;
  }
  const seen = new Set();
  services.forEach((svc, i) => {
    seen.add(svc.name);
    let card = state.cards.get(svc.name);
    if (!card) {
      card = new Card(svc, refresh);
      state.cards.set(svc.name, card);
      state.lastMirror = 0;
    }
    card.update(svc, rollouts.get(svc.name), series[i]);
  });
  for (const [name, card] of state.cards) {
    if (!seen.has(name)) {
      card.el.remove();
      state.cards.delete(name);
    }
  }
  const want = services.map((s) => state.cards.get(s.name).el);
  const have = [...servicesEl.children];
  if (want.length !== have.length || want.some((el, i) => el !== have[i])) servicesEl.replaceChildren(...want);
}

function live(ok, text, detail) {
  const el = document.getElementById('live');
  setClass(el, 'live-', ok ? 'ok' : 'err');
  setText(document.getElementById('live-text'), text);
  el.title = detail || 'Polling the admin API every 1.5 s';
}

function showToken() {
  document.getElementById('token-state').hidden = !storedToken();
}

async function loop() {
  await refresh();
  setTimeout(loop, POLL_MS);
}

for (const btn of document.querySelectorAll('.seg[data-span]')) {
  btn.addEventListener('click', () => {
    state.span = btn.dataset.span;
    for (const b of document.querySelectorAll('.seg[data-span]')) b.classList.toggle('active', b === btn);
    refresh();
  });
}
document.getElementById('token-forget').addEventListener('click', () => storeToken(''));
document.addEventListener('turnout:token', showToken);
showToken();
loop();
