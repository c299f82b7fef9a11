// SPDX-License-Identifier: Apache-2.0
// The dashboard: sign-in, the two watch streams (nodes, projects) every page reads from, the
// hash router, the confirmation dialog and the toast.

import { ApiError, auth, request, Watch } from './api.js';
import { h, replace } from './dom.js';
import { loadCatalogue, t } from './i18n.js';
import { NodeView, OverviewView, ProjectView } from './views.js';

const $ = (id) => document.getElementById(id);

const ctx = {
  nodes: new Map(),
  projects: new Map(),
  role: null,
  isAdmin: () => ctx.role === 'admin',
  confirm,
  act,
};

let view = null;
let watches = [];
const live = { nodes: 'connecting', projects: 'connecting' };
let pending = false;
let lastRender = 0;

// Watch events come in bursts (the initial replay, a thousand heartbeats): draw at most four
// times a second, and at once after a quiet spell.
function changed() {
  if (pending) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    lastRender = Date.now();
    if (view) view.update();
  }, Math.max(0, lastRender + 250 - Date.now()));
}

function showLive() {
  const states = Object.values(live);
  const el = $('live');
  if (states.every((s) => s === 'live')) {
    el.textContent = t('Live');
    el.className = 'live ok';
  } else {
    el.textContent = t('Reconnecting…');
    el.className = 'live warn';
  }
}

function startWatches() {
  const keep = (map, key) => new Watch(`/api/v1/${key}`, {
    onReset: () => { map.clear(); changed(); },
    onEvent: (type, obj) => {
      if (type === 'DELETED') map.delete(obj.metadata.name);
      else map.set(obj.metadata.name, obj);
      changed();
    },
    onState: (s) => { live[key] = s; showLive(); },
  }).start();
  watches = [keep(ctx.nodes, 'nodes'), keep(ctx.projects, 'projects')];
}

function stopWatches() {
  for (const w of watches) w.stop();
  watches = [];
  ctx.nodes.clear();
  ctx.projects.clear();
}

function route() {
  if (!ctx.role) return;
  const m = /^#\/(nodes|projects)\/([^/]+)$/.exec(location.hash);
  if (view) view.destroy();
  let name = null;
  try {
    name = m ? decodeURIComponent(m[2]) : null;
  } catch (e) {
    // a malformed address: the overview then
  }
  if (name && m[1] === 'nodes') view = new NodeView(ctx, name);
  else if (name) view = new ProjectView(ctx, name);
  else view = new OverviewView(ctx);
  const crumbs = view.title();
  replace($('crumbs'), h('a', { href: '#/' }, t('Overview')), crumbs.map((c) => [' › ', h('span', { 'aria-current': 'page' }, c)]));
  document.title = [...crumbs, 'Caravanserai'].join(' · ');
  replace($('view'), view.el);
  view.update();
  const heading = view.el.querySelector('h1');
  if (heading) heading.focus({ preventScroll: true });
}

function showSignIn(message) {
  ctx.role = null;
  stopWatches();
  if (view) view.destroy();
  view = null;
  replace($('view'));
  replace($('crumbs'));
  $('who').textContent = '';
  $('live').textContent = '';
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  $('token').focus();
}

// Asks the server who the token belongs to; only admin and read-only tokens may use the dashboard.
async function signIn(token) {
  let resp;
  try {
    resp = await request('GET', '/api/v1/whoami', { token: token || null });
  } catch (e) {
    showSignIn(t('The server cannot be reached.'));
    return;
  }
  if (resp.status === 401) {
    auth.token = null;
    showSignIn(token ? t('This token was not accepted (401 Unauthorized). Check it and try again.')
      : t('This server needs a token.'));
    return;
  }
  if (resp.status === 403) {
    auth.token = null;
    showSignIn(t('This token is not an admin or read-only token (403 Forbidden).'));
    return;
  }
  if (!resp.ok) {
    showSignIn(t('The server answered {status}.', { status: resp.status }));
    return;
  }
  const who = await resp.json();
  auth.token = token || '';
  ctx.role = who.role;
  $('signin').hidden = true;
  $('signout').hidden = false;
  $('who').textContent = who.role === 'admin' ? t('admin') : t('read-only');
  $('who').className = 'who ' + (who.role === 'admin' ? 'admin' : 'read');
  startWatches();
  showLive();
  route();
}

function confirm({ title, text, extra, action }) {
  const dlg = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text || '';
  $('confirm-extra').replaceChildren(...(extra ? [extra] : []));
  $('confirm-ok').textContent = action;
  dlg.returnValue = '';
  const back = document.activeElement;
  dlg.showModal();
  $('confirm-cancel').focus();
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      if (back && back.isConnected) back.focus();
      resolve(dlg.returnValue === 'ok');
    }, { once: true });
  });
}

let toastTimer = null;
function toast(message, error) {
  const el = $('toast');
  el.textContent = message;
  el.className = 'toast show' + (error ? ' error' : '');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = 'toast'; }, error ? 8000 : 4000);
}

async function act(done, fn) {
  try {
    await fn();
    toast(done);
  } catch (e) {
    toast(e instanceof ApiError ? e.message : String(e), true);
  }
}

async function boot() {
  await loadCatalogue();
  auth.onUnauthorized = () => {
    if (ctx.role) showSignIn(t('The token is no longer accepted; sign in again.'));
  };
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    signIn($('token').value.trim());
    $('token').value = '';
  });
  $('signout').addEventListener('click', () => {
    auth.token = null;
    showSignIn('');
  });
  window.addEventListener('hashchange', route);
  // the ages shown ("5 min ago") move on
  setInterval(changed, 30000);
  if (auth.token !== null) signIn(auth.token);
  else showSignIn('');
}

boot();
