// api.js — the admin API client: JSON reads and mutations, both carrying
// the admin token when one is stored (reads need one when the server has
// admin.tokens_file). The token is asked for in an in-page dialog when the
// API answers 401, kept in sessionStorage (this tab only, never in the URL)
// and sent only in the Authorization header; the request is retried with it.

const TOKEN_KEY = 'turnout.adminToken';

// request sends one call and never throws: network failures come back as
// {ok: false, status: 0, error}.
export async function request(method, path, body, token) {
  const headers = { Accept: 'application/json' };
  // Actions are always JSON: an admin API without a token refuses any
  // other (a page of another site cannot send it), with a body or not.
  if (method !== 'GET') headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'same-origin' });
  } catch (err) {
    return { ok: false, status: 0, data: null, text: '', error: `network error: ${err.message}` };
  }
  const text = await resp.text().catch(() => '');
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  const error = resp.ok ? '' : (data && data.error) || `${resp.status} ${resp.statusText}`;
  return { ok: resp.ok, status: resp.status, data, text, error };
}

// getJSON reads an endpoint; it throws on any failure so a poll can tell.
// A 401 asks for the token once for all the reads waiting on it.
export async function getJSON(path) {
  let r = await request('GET', path, undefined, storedToken());
  if (r.status === 401) {
    const token = await readToken(storedToken() !== '');
    if (token) r = await request('GET', path, undefined, token);
  }
  if (!r.ok) throw new Error(`${path}: ${r.error}`);
  return r.data;
}

// pendingRead is the token dialog the polls share, so that several reads
// refused at once open one dialog.
let pendingRead = null;

async function readToken(refused) {
  if (!pendingRead) {
    pendingRead = askToken(refused).then((token) => {
      if (token) storeToken(token);
      return token;
    });
    pendingRead.finally(() => { pendingRead = null; });
  }
  return pendingRead;
}

export function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives only as long as this call
  }
  document.dispatchEvent(new CustomEvent('turnout:token'));
}

// mutate sends a mutation with the stored token. On 401 it asks for the
// token (saying so when the previous one was refused) and retries; it gives
// up when the dialog is cancelled, answering {cancelled: true}.
export async function mutate(method, path, body) {
  let token = storedToken();
  let refused = false;
  for (;;) {
    const r = await request(method, path, body, token);
    if (r.status !== 401) return r;
    refused = refused || token !== '';
    const next = await askToken(refused);
    if (next === null) return { ...r, cancelled: true };
    token = next;
    storeToken(token);
    refused = true;
  }
}

// askToken shows the token dialog; it resolves to the token, or null when
// cancelled.
export function askToken(refused) {
  return openModal({
    title: 'Admin token required',
    text: 'This Turnout protects its API with a bearer token (admin.token_env or admin.tokens_file). ' +
      'It is kept in this browser tab only.',
    field: true,
    ok: 'Use token',
    error: refused ? 'The API refused that token (401). Try again.' : '',
  });
}

// confirmAction asks before a disruptive action; resolves to true or false.
export async function confirmAction(title, text, ok) {
  return (await openModal({ title, text, field: false, ok, danger: true })) !== null;
}

// openModal drives the single <dialog id="modal">: resolves to the input's
// value (or "" without a field) on OK, null on cancel or Escape.
function openModal({ title, text, field, ok, error, danger }) {
  const dlg = document.getElementById('modal');
  const form = document.getElementById('modal-form');
  const input = document.getElementById('token-input');
  const okBtn = document.getElementById('modal-ok');
  const cancelBtn = document.getElementById('modal-cancel');
  const errEl = document.getElementById('modal-error');
  document.getElementById('modal-title').textContent = title;
  document.getElementById('modal-text').textContent = text;
  document.getElementById('modal-field').hidden = !field;
  errEl.textContent = error || '';
  errEl.hidden = !error;
  okBtn.textContent = ok;
  okBtn.classList.toggle('danger', !!danger);
  okBtn.classList.toggle('primary', !danger);
  input.value = '';
  return new Promise((resolve) => {
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      cancelBtn.removeEventListener('click', onCancel);
      dlg.removeEventListener('cancel', onCancel);
      if (dlg.open) dlg.close();
      resolve(value);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      if (field && !input.value.trim()) {
        errEl.textContent = 'Enter the token, or cancel.';
        errEl.hidden = false;
        return;
      }
      done(field ? input.value.trim() : '');
    };
    const onCancel = (ev) => {
      ev.preventDefault();
      done(null);
    };
    form.addEventListener('submit', onSubmit);
    cancelBtn.addEventListener('click', onCancel);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
    (field ? input : okBtn).focus();
  });
}
