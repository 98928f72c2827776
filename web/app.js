// The status page: one module, plain DOM. State comes from the JSON API and one SSE stream (/api/events).
import { views } from './views.js';

export const state = {
  me: undefined,
  status: undefined,
  inPerS: 0,
  history: {}, // route → { ts: [], depth: [], deliveredPerS: [] }
  devices: new Map(), // id → DeviceInfo & { current }
  logs: [],
  isLive: false,
};

const listeners = new Set();
/** Views subscribe to changes: kind is 'status', 'readings', 'device', 'log'. */
export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
function changed(kind, detail) {
  for (const listener of listeners) listener(kind, detail);
}

export async function api(path, init = {}) {
  const res = await fetch(path, {
    credentials: 'same-origin',
    ...init,
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
  });
  if (res.status === 401) {
    location.href = '/login';
    throw new Error('not logged in');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

/** h('td', { class: 'x' }, 'text', child): DOM without innerHTML, so names and values are never markup. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat())
    if (child != null) el.append(child instanceof Node ? child : String(child));
  return el;
}

function keepHistory(samples) {
  const maxPoints = 1800;
  for (const [route, s] of Object.entries(samples ?? {})) {
    const h = (state.history[route] ??= { ts: [], depth: [], deliveredPerS: [] });
    h.ts.push(s.ts);
    h.depth.push(s.depth);
    h.deliveredPerS.push(s.deliveredPerS);
    h.live = undefined;
    if (h.ts.length > maxPoints) for (const k of ['ts', 'depth', 'deliveredPerS']) h[k].shift();
  }
}

function keepLive({ status, at }) {
  for (const r of status.routes) {
    const h = state.history[r.name];
    if (h === undefined || h.ts.length === 0) continue;
    h.live = { ts: at, depth: r.queue.depth };
  }
}

/** A route's chart columns: the samples, then the live point when it is newer. */
export function chartColumns(h) {
  const isLive = h.live !== undefined && h.live.ts > (h.ts.at(-1) ?? 0);
  return isLive
    ? [
        [...h.ts, h.live.ts],
        [...h.depth, h.live.depth],
        [...h.deliveredPerS, h.deliveredPerS.at(-1) ?? null],
      ]
    : [h.ts, h.depth, h.deliveredPerS];
}

function applyReadings(readings) {
  for (const r of readings) {
    const d = state.devices.get(r.device);
    if (d === undefined) continue;
    d.current ??= {};
    for (const [name, value] of Object.entries(r.values))
      d.current[name] = { value, unit: r.units?.[name], ts: r.ts };
    d.lastSeen = Math.max(d.lastSeen ?? 0, r.ts);
  }
}

function connect() {
  const live = document.getElementById('live');
  const events = new EventSource('/api/events');
  events.onopen = () => {
    state.isLive = true;
    live.textContent = 'live';
    live.className = 'live on';
  };
  events.onerror = () => {
    state.isLive = false;
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  };
  events.addEventListener('status', (e) => {
    const data = JSON.parse(e.data);
    state.status = data.status;
    state.inPerS = data.inPerS;
    keepHistory(data.samples);
    // Between the daemon's samples (every 2 s) the chart ends at the backlog just reported.
    if (data.samples === undefined) keepLive(data);
    changed('status', data);
  });
  events.addEventListener('readings', (e) => {
    const data = JSON.parse(e.data);
    applyReadings(data.readings);
    changed('readings', data);
  });
  events.addEventListener('device', (e) => {
    const { event, device } = JSON.parse(e.data);
    if (event === 'removed') state.devices.delete(device.id);
    else state.devices.set(device.id, { ...state.devices.get(device.id), ...device });
    changed('device', { event, device });
  });
  events.addEventListener('log', (e) => {
    const line = JSON.parse(e.data);
    state.logs.push(line);
    if (state.logs.length > 500) state.logs.shift();
    changed('log', line);
  });
}

let current;
function route() {
  const [, name = '', ...rest] = location.hash.replace(/^#/, '').split('/');
  const view = views[name] ?? views[''];
  current?.destroy?.();
  const el = document.getElementById('view');
  el.replaceChildren();
  for (const a of document.querySelectorAll('header nav a'))
    a.classList.toggle('active', a.getAttribute('href') === `#/${name}`);
  current = view(el, decodeURIComponent(rest.join('/')));
}

async function main() {
  state.me = await api('/api/whoami');
  document.getElementById('gateway').textContent = `fieldgate · ${state.me.gateway}`;
  document.getElementById('viewer').textContent = state.me.mayAct
    ? `${state.me.name} (actions)`
    : `${state.me.name} (read-only)`;
  document.getElementById('logout').hidden = !state.me.isTokenRequired;
  const [history, devices, logs] = await Promise.all([
    api('/api/history'),
    api('/api/devices'),
    api('/api/logs'),
  ]);
  state.history = history.routes;
  for (const d of devices.devices) state.devices.set(d.id, d);
  state.logs = logs.lines;
  state.logsKept = logs.isKept;
  connect();
  window.addEventListener('hashchange', route);
  route();
}

main().catch((e) => {
  document
    .getElementById('view')
    .replaceChildren(h('p', { class: 'error' }, `The page could not load: ${e.message}`));
});
