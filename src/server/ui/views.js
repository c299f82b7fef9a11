// SPDX-License-Identifier: Apache-2.0
// The three pages: overview, a node, a project.  Each is built once when opened and updated in
// place by update() whenever the watch streams change the nodes or projects.

import { ApiError, followLogs, json, optional, quantity, Watch } from './api.js';
import { badge, h, replace, table } from './dom.js';
import { lang, t } from './i18n.js';

const enc = encodeURIComponent;

// Words the API sends that the page shows translated (t() looks them up when shown).
const N_ = (s) => s;
export const API_WORDS = [N_('Pending'), N_('Scheduled'), N_('Running'), N_('Failed'), N_('Terminating'),
  N_('Terminated'), N_('Ready'), N_('NotReady'), N_('Draining'), N_('Normal'), N_('Warning')];

export function ago(time) {
  if (!time || time.startsWith('0001-')) return '-';
  const s = Math.round((Date.parse(time) - Date.now()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto', style: 'short' });
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

function nodeState(n) {
  return (n.status && n.status.state) || 'NotReady';
}

function phaseOf(p) {
  return (p.status && p.status.phase) || 'Pending';
}

function cpuText(v) {
  return v >= 1 || v === 0 ? `${Math.round(v * 100) / 100}` : `${Math.round(v * 1000)}m`;
}

function memText(v) {
  if (v >= 2 ** 30) return `${(v / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.round(v / 2 ** 20)} MiB`;
}

// Sums of the resources of the projects placed on each node.
export function allocated(projects) {
  const by = new Map();
  for (const p of projects.values()) {
    const node = p.status && p.status.nodeRef;
    if (!node || ['Terminated'].includes(phaseOf(p))) continue;
    const a = by.get(node) || { cpu: 0, memory: 0, projects: 0 };
    a.projects += 1;
    for (const s of (p.spec && p.spec.services) || []) {
      a.cpu += quantity(s.resources && s.resources.cpu);
      a.memory += quantity(s.resources && s.resources.memory);
    }
    by.set(node, a);
  }
  return by;
}

function meter(used, total, fmt, label) {
  if (!total) return h('span', {}, used ? fmt(used) : '-');
  const pct = Math.min(100, Math.round((used / total) * 100));
  return h('span', { class: 'meter' },
    h('meter', { min: '0', max: '100', value: String(pct), 'aria-label': label }),
    ` ${fmt(used)} / ${fmt(total)}`);
}

function nodeLink(name) {
  return name ? h('a', { href: `#/nodes/${enc(name)}`, 'data-key': 'node:' + name }, name) : '-';
}

function projectLink(name) {
  return h('a', { href: `#/projects/${enc(name)}`, 'data-key': 'project:' + name }, name);
}

// A card with a heading; @key names it in the page (id "h-KEY"), whatever the language.
function section(key, title, ...content) {
  const id = 'h-' + key;
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...content);
}

function sorted(map) {
  return [...map.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

function servicesReady(p) {
  const specs = (p.spec && p.spec.services) || [];
  const st = (p.status && p.status.services) || [];
  const running = st.filter((s) => s.state === 'running' || s.state === 'Running').length;
  return `${running}/${specs.length}`;
}

function projectRows(projects) {
  return projects.map((p) => [projectLink(p.metadata.name), badge(t(phaseOf(p)), phaseOf(p).toLowerCase()),
    nodeLink(p.status && p.status.nodeRef), servicesReady(p), ago(p.metadata.createdAt)]);
}

function projectHeaders() {
  return [t('Name'), t('Phase'), t('Node'), t('Services'), t('Age')];
}

// Recent events (SPEC §11) for a query; quiet when the server has no events API.
class EventsPanel {
  constructor(query, { warnings = false } = {}) {
    this.query = query;
    this.warnings = warnings;
    this.items = [];
    this.el = h('div', {}, h('p', { class: 'empty' }, t('Loading…')));
    this.load();
  }

  async load() {
    try {
      const q = this.query + (this.warnings ? '&type=Warning' : '');
      const list = await optional('/api/v1/events?since=24h' + q);
      if (list === null) {
        replace(this.el, h('p', { class: 'empty quiet' }, t('Events are not available on this server.')));
        return;
      }
      if (this.stopped) return;
      this.items = list.items || [];
      this.render();
      this.watch = new Watch('/api/v1/events', { query: q, onEvent: (type, ev) => this.add(ev) }).start();
    } catch (e) {
      replace(this.el, h('p', { class: 'error' }, e.message));
    }
  }

  add(ev) {
    const key = (e) => [e.time, e.reason, e.object && e.object.name, e.message].join('|');
    if (this.items.some((e) => key(e) === key(ev))) return;
    this.items.push(ev);
    if (this.items.length > 500) this.items.splice(0, this.items.length - 500);
    this.render();
  }

  render() {
    const rows = this.items.slice(-20).reverse().map((e) => [ago(e.time),
      badge(t(e.type || 'Normal'), (e.type || 'normal').toLowerCase()), e.reason || '',
      e.object ? `${e.object.kind || ''}/${e.object.name || ''}` : '', e.message || '']);
    replace(this.el, table(t('Events'), [t('Last seen'), t('Type'), t('Reason'), t('Object'), t('Message')], rows,
      this.warnings ? t('No warnings.') : t('No events.')));
  }

  destroy() {
    this.stopped = true;
    if (this.watch) this.watch.stop();
  }
}

// At most this many rows a table (a big cluster's page stays quick); the filter finds the rest.
const MAX_ROWS = 200;

function limited(rows) {
  if (rows.length <= MAX_ROWS) return [rows, null];
  const note = t('Showing {shown} of {total}.', { shown: MAX_ROWS, total: rows.length });
  return [rows.slice(0, MAX_ROWS), h('p', { class: 'quiet' }, note)];
}

export class OverviewView {
  constructor(ctx) {
    this.ctx = ctx;
    this.summary = h('div', { class: 'summary' });
    this.nodes = h('div');
    this.projects = h('div');
    this.filter = h('input', { type: 'search', id: 'filter', class: 'filter', placeholder: t('Filter by name'),
      'aria-label': t('Filter by name'), oninput: () => this.update() });
    this.events = new EventsPanel('', { warnings: true });
    this.el = h('div', {},
      h('h1', { tabindex: '-1' }, t('Overview')),
      this.summary,
      this.filter,
      section('nodes', t('Nodes'), this.nodes),
      section('projects', t('Projects'), this.projects),
      section('recent-warnings', t('Recent warnings'), this.events.el));
  }

  title() { return []; }

  update() {
    const { nodes, projects } = this.ctx;
    const alloc = allocated(projects);
    const phases = {};
    for (const p of projects.values()) phases[phaseOf(p)] = (phases[phaseOf(p)] || 0) + 1;
    const states = {};
    for (const n of nodes.values()) states[nodeState(n)] = (states[nodeState(n)] || 0) + 1;
    const chips = (counts) => Object.keys(counts).sort().map((k) => badge(`${t(k)} ${counts[k]}`, k.toLowerCase()));
    replace(this.summary,
      h('div', { class: 'stat' }, h('span', { class: 'num' }, nodes.size), h('span', {}, t('nodes')), h('div', {}, chips(states))),
      h('div', { class: 'stat' }, h('span', { class: 'num' }, projects.size), h('span', {}, t('projects')), h('div', {}, chips(phases))));

    const match = (o) => o.metadata.name.includes(this.filter.value.trim());
    const nodeRows = sorted(nodes).filter(match).map((n) => {
      const a = alloc.get(n.metadata.name) || { cpu: 0, memory: 0, projects: 0 };
      const al = (n.status && n.status.allocatable) || {};
      return [nodeLink(n.metadata.name), badge(t(nodeState(n)), nodeState(n).toLowerCase()),
        meter(a.cpu, quantity(al.cpu), cpuText, t('CPU allocated')),
        meter(a.memory, quantity(al.memory), memText, t('Memory allocated')), a.projects];
    });
    const [nodeShown, nodeMore] = limited(nodeRows);
    replace(this.nodes, table(t('Nodes'), [t('Name'), t('State'), t('CPU'), t('Memory'), t('Projects')], nodeShown,
      nodes.size ? t('No match.') : t('No nodes have registered yet.')), nodeMore);
    const [projectShown, projectMore] = limited(sorted(projects).filter(match));
    replace(this.projects, table(t('Projects'), projectHeaders(), projectRows(projectShown),
      projects.size ? t('No match.') : t('No projects.')), projectMore);
  }

  destroy() { this.events.destroy(); }
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function labels(map) {
  const e = Object.entries(map || {});
  return e.length ? e.map(([k, v]) => h('code', { class: 'label' }, `${k}=${v}`)) : '-';
}

export class NodeView {
  constructor(ctx, name) {
    this.ctx = ctx;
    this.name = name;
    this.head = h('div', { class: 'head' });
    this.details = h('div');
    this.projects = h('div');
    this.events = new EventsPanel('&node=' + enc(name));
    this.el = h('div', {}, this.head,
      section('details', t('Details'), this.details),
      section('projects', t('Projects'), this.projects),
      section('events', t('Events'), this.events.el));
  }

  title() { return [t('Node {name}', { name: this.name })]; }

  update() {
    const n = this.ctx.nodes.get(this.name);
    if (!n) {
      replace(this.head, h('h1', { tabindex: '-1' }, this.name), h('p', { class: 'empty' }, t('No such node.')));
      replace(this.details);
      return;
    }
    const state = nodeState(n);
    const actions = h('div', { class: 'actions' });
    if (this.ctx.isAdmin()) {
      if (state === 'Draining' || (n.spec && n.spec.unschedulable))
        actions.append(h('button', { type: 'button', onclick: () => this.uncordon(), 'data-key': 'uncordon' }, t('Uncordon')));
      else
        actions.append(h('button', { type: 'button', class: 'danger', onclick: () => this.drain(), 'data-key': 'drain' }, t('Drain')));
    }
    replace(this.head, h('h1', { tabindex: '-1' }, this.name, ' ', badge(t(state), state.toLowerCase())), actions);
    const st = n.status || {};
    const a = allocated(this.ctx.projects).get(this.name) || { cpu: 0, memory: 0, projects: 0 };
    const al = st.allocatable || {};
    const cap = st.capacity || {};
    const info = st.info || {};
    replace(this.details, kv([
      [t('State'), t(state)],
      [t('Address'), st.network && st.network.ip ? `${st.network.ip}:${st.network.agentPort || ''}` : null],
      [t('Last heartbeat'), ago(st.lastHeartbeat)],
      [t('CPU allocated'), meter(a.cpu, quantity(al.cpu), cpuText, t('CPU allocated'))],
      [t('Memory allocated'), meter(a.memory, quantity(al.memory), memText, t('Memory allocated'))],
      [t('Capacity'), Object.entries(cap).map(([k, v]) => `${k} ${v}`).join(', ')],
      [t('Labels'), labels(n.metadata.labels)],
      [t('System'), [info.os, info.kernel, info.agentVersion && 'cara-agent ' + info.agentVersion].filter(Boolean).join(' · ')],
      [t('Created'), ago(n.metadata.createdAt)],
    ]));
    const [mine, more] = limited(sorted(this.ctx.projects).filter((p) => p.status && p.status.nodeRef === this.name));
    replace(this.projects, table(t('Projects'), projectHeaders(), projectRows(mine), t('No projects on this node.')), more);
  }

  async drain() {
    const evict = h('input', { type: 'checkbox', id: 'evict' });
    const ok = await this.ctx.confirm({
      title: t('Drain node {name}?', { name: this.name }),
      text: t('No new projects will be placed on this node until it is uncordoned.'),
      extra: h('label', { for: 'evict', class: 'check' }, evict, ' ', t('Also move its projects to other nodes (evict)')),
      action: t('Drain'),
    });
    if (ok) this.ctx.act(t('Node {name} is draining.', { name: this.name }),
      () => json('POST', `/api/v1/nodes/${enc(this.name)}/drain${evict.checked ? '?evict=true' : ''}`));
  }

  async uncordon() {
    const ok = await this.ctx.confirm({
      title: t('Uncordon node {name}?', { name: this.name }),
      text: t('New projects may be placed on this node again.'),
      action: t('Uncordon'),
    });
    if (ok) this.ctx.act(t('Node {name} is uncordoned.', { name: this.name }),
      () => json('POST', `/api/v1/nodes/${enc(this.name)}/uncordon`));
  }

  destroy() { this.events.destroy(); }
}

export class ProjectView {
  constructor(ctx, name) {
    this.ctx = ctx;
    this.name = name;
    this.head = h('div', { class: 'head' });
    this.services = h('div');
    this.conditions = h('div');
    this.revisions = h('div', {}, h('p', { class: 'empty' }, t('Loading…')));
    this.events = new EventsPanel('&project=' + enc(name));
    this.serviceSelect = h('select', { id: 'log-service', onchange: () => this.follow() });
    this.logs = h('pre', { class: 'logs', id: 'logs', tabindex: '0', 'aria-label': t('Log output') });
    this.logState = h('span', { class: 'quiet', role: 'status' });
    const logBar = h('div', { class: 'logbar' },
      h('label', { for: 'log-service' }, t('Service')), this.serviceSelect,
      h('button', { type: 'button', id: 'log-follow', onclick: () => this.follow() }, t('Show logs')),
      h('button', { type: 'button', onclick: () => this.stopLogs(t('Stopped.')) }, t('Stop')),
      this.logState);
    this.el = h('div', {}, this.head,
      section('services', t('Services'), this.services),
      section('conditions', t('Conditions'), this.conditions),
      section('logs', t('Logs'), logBar, this.logs),
      section('events', t('Events'), this.events.el),
      section('revision-history', t('Revision history'), this.revisions));
    this.generation = null; // the revisions are loaded again when it changes
  }

  title() { return [t('Project {name}', { name: this.name })]; }

  update() {
    const p = this.ctx.projects.get(this.name);
    if (!p) {
      replace(this.head, h('h1', { tabindex: '-1' }, this.name),
        h('p', { class: 'empty' }, this.seen ? t('This project was deleted.') : t('No such project.')));
      return;
    }
    this.seen = true;
    const phase = phaseOf(p);
    const actions = h('div', { class: 'actions' });
    if (this.ctx.isAdmin() && phase !== 'Terminating')
      actions.append(h('button', { type: 'button', class: 'danger', onclick: () => this.remove(), 'data-key': 'delete' }, t('Delete')));
    replace(this.head, h('h1', { tabindex: '-1' }, this.name, ' ', badge(t(phase), phase.toLowerCase())),
      kv([[t('Node'), nodeLink(p.status && p.status.nodeRef)], [t('Created'), ago(p.metadata.createdAt)],
        [t('Revision'), p.metadata.generation]]),
      actions);

    const st = new Map(((p.status && p.status.services) || []).map((s) => [s.name, s]));
    const specs = (p.spec && p.spec.services) || [];
    replace(this.services, table(t('Services'), [t('Name'), t('State'), t('Health'), t('Restarts'), t('Image')],
      specs.map((s) => {
        const x = st.get(s.name) || {};
        const state = x.state || '-';
        return [s.name, badge(state, String(state).toLowerCase()), x.health || '-', x.restartCount || 0, h('code', {}, s.image)];
      }), t('No services.')));

    const conds = (p.status && p.status.conditions) || [];
    replace(this.conditions, table(t('Conditions'), [t('Type'), t('Status'), t('Reason'), t('Message'), t('Since')],
      conds.map((c) => [c.type, c.status, c.reason || '', c.message || '', ago(c.lastTransitionTime)]), t('No conditions.')));

    const names = specs.map((s) => s.name);
    const have = [...this.serviceSelect.options].map((o) => o.value);
    if (names.join('\n') !== have.join('\n')) {
      const keep = this.serviceSelect.value;
      replace(this.serviceSelect, names.map((n) => h('option', { value: n }, n)));
      if (names.includes(keep)) this.serviceSelect.value = keep;
    }
    if (p.metadata.generation !== this.generation) {
      this.generation = p.metadata.generation;
      this.loadRevisions();
    }
  }

  async loadRevisions() {
    try {
      const list = await optional(`/api/v1/projects/${enc(this.name)}/revisions`);
      if (list === null) {
        replace(this.revisions, h('p', { class: 'empty quiet' }, t('Revision history is not available on this server.')));
        return;
      }
      const items = (list.items || []).slice().sort((a, b) => b.revision - a.revision);
      const p = this.ctx.projects.get(this.name);
      const current = (p && p.metadata.generation) || (items.length ? items[0].revision : null);
      replace(this.revisions, table(t('Revision history'), [t('Revision'), t('Created'), t('Change cause'), ''],
        items.map((r) => [r.revision, ago(r.createdAt), r.changeCause || '-',
          r.revision === current ? t('current')
            : this.ctx.isAdmin() ? h('button', { type: 'button', 'data-key': 'rollback:' + r.revision,
              onclick: () => this.rollback(r.revision) }, t('Roll back')) : '']),
        t('No revisions.')));
    } catch (e) {
      replace(this.revisions, h('p', { class: 'error' }, e.message));
    }
  }

  async follow() {
    const service = this.serviceSelect.value;
    if (!service) return;
    this.stopLogs('');
    const controller = new AbortController();
    this.logController = controller;
    this.logs.textContent = '';
    this.logState.textContent = t('Following {service}…', { service });
    try {
      await followLogs(this.name, service, {
        signal: controller.signal,
        onText: (text) => {
          const atEnd = this.logs.scrollTop + this.logs.clientHeight >= this.logs.scrollHeight - 4;
          this.logs.append(text);
          if (this.logs.textContent.length > 200000) this.logs.textContent = this.logs.textContent.slice(-150000);
          if (atEnd) this.logs.scrollTop = this.logs.scrollHeight;
        },
      });
      if (this.logController === controller) this.logState.textContent = t('The log stream ended.');
    } catch (e) {
      if (this.logController === controller && !controller.signal.aborted)
        this.logState.textContent = e instanceof ApiError ? e.message : t('The log stream was interrupted.');
    }
  }

  stopLogs(message) {
    if (this.logController) this.logController.abort();
    this.logController = null;
    this.logState.textContent = message;
  }

  async remove() {
    const ok = await this.ctx.confirm({
      title: t('Delete project {name}?', { name: this.name }),
      text: t('Its containers and ephemeral volumes are removed. Persistent volumes stay on the node.'),
      action: t('Delete'),
    });
    if (ok) this.ctx.act(t('Project {name} is being deleted.', { name: this.name }),
      () => json('DELETE', `/api/v1/projects/${enc(this.name)}`));
  }

  async rollback(revision) {
    const ok = await this.ctx.confirm({
      title: t('Roll back project {name} to revision {revision}?', { name: this.name, revision }),
      text: t('The spec of that revision is applied as a new revision.'),
      action: t('Roll back'),
    });
    if (ok) this.ctx.act(t('Rolling back to revision {revision}.', { revision }),
      () => json('POST', `/api/v1/projects/${enc(this.name)}/rollback?revision=${enc(revision)}`));
  }

  destroy() {
    this.stopLogs('');
    this.events.destroy();
  }
}
