// SPDX-License-Identifier: Apache-2.0
// The REST API as the dashboard uses it: the bearer token from sessionStorage, problem+json
// errors, and watch streams (fetch + ReadableStream over NDJSON) that reconnect from the last
// resourceVersion they saw.

const KEY = 'caravanserai.token';

export const auth = {
  get token() { return sessionStorage.getItem(KEY); },
  // '' when the server needs none (CARA_AUTH=none); null when not signed in
  set token(v) { if (v === null || v === undefined) sessionStorage.removeItem(KEY); else sessionStorage.setItem(KEY, v); },
  onUnauthorized: () => {},
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function request(method, path, { body, signal, token } = {}) {
  const headers = {};
  const tk = token !== undefined ? token : auth.token;
  if (tk) headers.Authorization = 'Bearer ' + tk;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const init = { method, headers, signal, cache: 'no-store',
                 body: body !== undefined ? JSON.stringify(body) : undefined };
  // A GET that meets a network error (a kept-alive connection the server closed as it was reused,
  // a server restarting) is tried again twice before the page shows the error; others are not
  // repeated, as they may have been applied.
  let resp;
  for (let attempt = 0; ; attempt++) {
    try {
      resp = await fetch(path, init);
      break;
    } catch (e) {
      if (method !== 'GET' || attempt >= 2 || (signal && signal.aborted) || e.name === 'AbortError') throw e;
      await new Promise((resolve) => setTimeout(resolve, 500 * (attempt + 1)));
    }
  }
  if (resp.status === 401 && token === undefined) auth.onUnauthorized();
  return resp;
}

async function problem(resp) {
  let detail = resp.statusText;
  try {
    const text = await resp.text();
    try {
      const p = JSON.parse(text);
      detail = p.detail || p.title || detail;
    } catch (e) {
      if (text.trim()) detail = text.trim();
    }
  } catch (e) {
    // the status then
  }
  return new ApiError(resp.status, `${resp.status} ${detail}`);
}

export async function json(method, path, opts) {
  const resp = await request(method, path, opts);
  if (!resp.ok) throw await problem(resp);
  if (resp.status === 204 || resp.status === 202) return null;
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

// For routes a server may not have yet (events, revisions): null on 404.
export async function optional(path) {
  try {
    return await json('GET', path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

// Calls @onLine with each line of the response body as it arrives.
async function readLines(resp, onLine) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) onLine(line);
    }
  }
  if (buf.trim()) onLine(buf);
}

// A watch of /api/v1/nodes or /api/v1/projects (or any NDJSON watch), kept open: on a dropped
// stream it waits (1 s doubling to 15 s) and watches again from the last resourceVersion; on 410
// Expired it starts over with a full replay (@onReset first).
export class Watch {
  constructor(path, { onEvent, onReset, onState, query = '' }) {
    this.path = path;
    this.query = query;
    this.onEvent = onEvent;
    this.onReset = onReset || (() => {});
    this.onState = onState || (() => {});
    this.rv = null;
    this.stopped = false;
    this.controller = null;
  }

  start() {
    this.loop();
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  async loop() {
    let delay = 1000;
    while (!this.stopped) {
      this.controller = new AbortController();
      let ok = false;
      try {
        let url = `${this.path}?watch=true${this.query}`;
        if (this.rv) url += '&resourceVersion=' + encodeURIComponent(this.rv);
        const resp = await request('GET', url, { signal: this.controller.signal });
        if (resp.status === 401) return;
        if (resp.status === 404) {
          this.onState('unavailable');
          return;
        }
        if (!resp.ok) throw await problem(resp);
        if (!this.rv) this.onReset();
        this.onState('live');
        await readLines(resp, (line) => {
          const ev = JSON.parse(line);
          if (ev.type === 'ERROR') {
            if (ev.object && ev.object.code === 410) this.rv = null;
            return;
          }
          const rv = ev.object && ev.object.metadata && ev.object.metadata.resourceVersion;
          if (rv) this.rv = rv;
          ok = true;
          if (ev.type !== 'BOOKMARK') this.onEvent(ev.type, ev.object);
        });
      } catch (e) {
        if (this.stopped) return;
      }
      if (this.stopped) return;
      this.onState('reconnecting');
      if (ok) delay = 1000;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
}

// Follows a service's log: @onText with each piece of text, until @signal aborts.
export async function followLogs(project, service, { signal, onText, tail = 200 }) {
  const q = new URLSearchParams({ service, follow: 'true', tail: String(tail) });
  const resp = await request('GET', `/api/v1/projects/${encodeURIComponent(project)}/logs?${q}`, { signal });
  if (!resp.ok) throw await problem(resp);
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    onText(decoder.decode(value, { stream: true }));
  }
}

// Quantities as the API writes them: cpu "500m" / "2", memory "256Mi" / "1G" / bytes.
const SUFFIX = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };

export function quantity(q) {
  if (q === undefined || q === null || q === '') return 0;
  const m = /^([0-9.]+)\s*([A-Za-z]*)$/.exec(String(q));
  if (!m) return 0;
  return parseFloat(m[1]) * (SUFFIX[m[2]] || 1);
}
