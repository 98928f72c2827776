// One function per page: it builds the page into `el`, subscribes to changes, returns { destroy }.
import { api, chartColumns, h, onChange, state } from './app.js';
import { lineChart } from './charts.js';

/** Replaces the children of `el`, skipping absent ones. */
const fill = (el, ...kids) => el.replaceChildren(...kids.flat().filter((k) => k != null));
/** Appends to `el`, skipping absent children. */
const add = (el, ...kids) => el.append(...kids.flat().filter((k) => k != null));
const fmt = (n) => (n == null ? '–' : Number(n).toLocaleString(undefined, { maximumFractionDigits: 1 }));
const ago = (ts) => {
  if (!ts) return 'never';
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ago` : `${Math.floor(s / 3600)} h ago`;
};
const valueText = (v) =>
  v == null
    ? '–'
    : `${typeof v.value === 'number' ? fmt(v.value) : String(v.value)}${v.unit ? ` ${v.unit}` : ''}`;
const actionsNote = () =>
  state.me.mayAct
    ? null
    : h('p', { class: 'muted' }, 'Read-only: log in with a token that allows actions to change anything.');

/** A route that is not delivering, with the reason it gave. */
const isDown = (f) => f.lastError !== undefined && (f.state === 'backoff' || f.state === 'connecting');

function overview(el) {
  const health = h('div', { class: 'card wide', id: 'health' });
  const routes = h('div', { class: 'cards', id: 'routes' });
  const adapters = h('div', { class: 'card wide' });
  add(
    el,
    h('h2', {}, 'Overview'),
    h('div', { class: 'cards' }, health),
    h('h3', {}, 'Routes'),
    routes,
    h('h3', {}, 'Radios'),
    adapters,
  );
  const charts = new Map();
  const render = () => {
    const s = state.status;
    if (s === undefined) return;
    fill(
      health,
      h(
        'div',
        { class: 'toolbar' },
        h(
          'span',
          { class: `state ${s.healthy ? 'ok' : 'bad'}`, id: 'healthy' },
          s.healthy ? 'healthy' : 'unhealthy',
        ),
        h('span', { class: 'muted' }, `v${s.version}, up ${fmt(s.uptimeS)} s`),
        h('span', {}, 'readings in: ', h('b', { id: 'in-rate' }, `${fmt(state.inPerS)}/s`)),
        h(
          'span',
          {},
          'devices online: ',
          h('b', {}, `${s.devices.online ?? 0}/${Object.values(s.devices).reduce((a, b) => a + b, 0)}`),
        ),
      ),
      s.problems.length
        ? h(
            'ul',
            { class: 'problems' },
            s.problems.map((p) => h('li', {}, p)),
          )
        : null,
    );
    for (const r of s.routes) {
      let card = routes.querySelector(`[data-route="${CSS.escape(r.name)}"]`);
      if (card === null) {
        card = h(
          'div',
          { class: 'card wide', 'data-route': r.name },
          h('h3', {}, r.name),
          h('dl', { class: 'kv' }),
          h('div', { class: 'chart backlog-chart' }),
        );
        routes.append(card);
        charts.set(
          r.name,
          lineChart(card.querySelector('.chart'), {
            series: ['backlog', 'delivered/s'],
            scales: { 'delivered/s': 'y2' },
            height: 180,
          }),
        );
      }
      const f = r.forwarder;
      const last = state.history[r.name];
      const rate = last?.deliveredPerS.at(-1);
      fill(
        card.querySelector('dl'),
        h('dt', {}, 'link'),
        h(
          'dd',
          {},
          h('span', { class: `state ${f.state}`, 'data-testid': 'route-state' }, f.state),
          f.offlineSince
            ? h('span', { class: 'muted' }, ` since ${new Date(f.offlineSince).toLocaleTimeString()}`)
            : null,
        ),
        isDown(f) ? h('dt', {}, 'last error') : null,
        isDown(f) ? h('dd', { class: 'error' }, f.lastError) : null,
        h('dt', {}, 'delivered'),
        h('dd', { 'data-testid': 'delivered' }, fmt(f.sentReadings)),
        h('dt', {}, 'delivered/s'),
        h('dd', {}, fmt(rate)),
        h('dt', {}, 'backlog'),
        h('dd', { 'data-testid': 'backlog' }, fmt(r.queue.depth)),
        h('dt', {}, 'drains in'),
        h('dd', {}, r.drainEtaS == null ? '–' : `${fmt(r.drainEtaS)} s`),
        h('dt', {}, 'dead letters'),
        h('dd', {}, fmt(r.queue.deadLetters)),
        f.billing !== undefined ? h('dt', {}, 'billed today') : null,
        f.billing !== undefined
          ? h(
              'dd',
              { 'data-testid': 'billed' },
              `${fmt(f.billing.billedUnitsToday)} units (${f.billing.day} UTC), ${fmt(f.billing.billedUnits)} since start`,
            )
          : null,
      );
      if (last !== undefined) {
        const columns = chartColumns(last);
        charts.get(r.name).set(columns);
        const chart = card.querySelector('.chart');
        chart.setAttribute('data-last-depth', String(columns[1].at(-1) ?? 0));
        chart.setAttribute('data-max-depth', String(Math.max(0, ...columns[1])));
        chart.setAttribute('data-points', String(columns[0].length));
      }
    }
    fill(
      adapters,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'radio'),
            h('th', {}, 'type'),
            h('th', {}, 'state'),
            h('th', {}, 'readings'),
            h('th', { class: 'hide-narrow' }, 'dropped frames'),
          ),
          s.adapters.map((a) =>
            h(
              'tr',
              {},
              h('td', {}, a.name),
              h('td', {}, a.type),
              h('td', { class: `state ${a.state}` }, a.state + (a.detail ? `: ${a.detail}` : '')),
              h('td', { class: 'num' }, fmt(a.readings)),
              h(
                'td',
                { class: 'num hide-narrow' },
                fmt(Object.values(a.droppedFrames ?? {}).reduce((x, y) => x + y, 0)),
              ),
            ),
          ),
        ),
      ),
    );
  };
  render();
  const off = onChange((kind) => kind === 'status' && render());
  return {
    destroy: () => {
      off();
      for (const c of charts.values()) c.destroy();
    },
  };
}

const LINK_VALUES = ['rssi', 'linkquality', 'lqi'];

function devices(el) {
  const filter = h('input', {
    type: 'search',
    placeholder: 'filter: id, name, model, adapter, availability',
    id: 'device-filter',
    size: 40,
  });
  const body = h('tbody');
  add(
    el,
    h('h2', {}, 'Devices'),
    h('div', { class: 'toolbar' }, filter, h('span', { class: 'muted', id: 'device-count' })),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'devices' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['device', 'availability', 'battery', 'RSSI/LQI', 'values', 'last seen'].map((t, i) =>
              h('th', { class: i === 4 ? 'hide-narrow' : undefined }, t),
            ),
          ),
        ),
        body,
      ),
    ),
  );
  const render = () => {
    const q = filter.value.trim().toLowerCase();
    const all = [...state.devices.values()].sort((a, b) => a.id.localeCompare(b.id));
    const shown = all.filter(
      (d) =>
        q === '' ||
        [d.id, d.name, d.model, d.manufacturer, d.adapter, d.availability].some((x) =>
          x?.toLowerCase().includes(q),
        ),
    );
    document.getElementById('device-count').textContent = `${shown.length} of ${all.length}`;
    fill(
      body,
      ...shown.map((d) => {
        const c = d.current ?? {};
        const link = LINK_VALUES.map((n) => c[n]).find((v) => v !== undefined);
        const others = Object.entries(c).filter(([n]) => n !== 'battery' && !LINK_VALUES.includes(n));
        return h(
          'tr',
          { 'data-device': d.id },
          h(
            'td',
            {},
            h('a', { href: `#/device/${encodeURIComponent(d.id)}` }, d.name ?? d.id),
            d.name ? h('div', { class: 'muted' }, d.id) : null,
            d.model ? h('div', { class: 'muted' }, d.model) : null,
          ),
          h('td', { class: `state ${d.availability}` }, d.availability),
          h('td', { class: 'num' }, valueText(c.battery)),
          h('td', { class: 'num' }, valueText(link)),
          h(
            'td',
            { class: 'values hide-narrow' },
            others.map(([n, v]) => h('div', {}, `${n}: ${valueText(v)}`)),
          ),
          h('td', {}, ago(d.lastSeen)),
        );
      }),
    );
  };
  filter.addEventListener('input', render);
  render();
  let isDue = false;
  const off = onChange((kind) => {
    if (kind === 'device') render();
    if (kind === 'readings') isDue = true;
    if (kind === 'status' && isDue) {
      isDue = false;
      render();
    }
  });
  return { destroy: off };
}

function device(el, id) {
  const d = state.devices.get(id);
  if (d === undefined) {
    add(el, h('p', { class: 'error' }, `No device ${id}.`), h('a', { href: '#/devices' }, 'All devices'));
    return {};
  }
  const info = h('dl', { class: 'kv' });
  const chartsEl = h('div', { class: 'cards' });
  add(
    el,
    h('p', {}, h('a', { href: '#/devices' }, '← devices')),
    h('h2', {}, d.name ?? d.id),
    h('div', { class: 'card' }, info),
    h('h3', {}, 'Last hour'),
    chartsEl,
  );
  const charts = new Map();
  let history = {};
  const renderInfo = () => {
    const x = state.devices.get(id) ?? d;
    fill(
      info,
      ...[
        ['id', x.id],
        ['adapter', x.adapter],
        ['model', [x.manufacturer, x.model].filter(Boolean).join(' ') || '–'],
        ['power', x.power],
        ['last seen', ago(x.lastSeen)],
      ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      h('dt', {}, 'availability'),
      h('dd', { class: `state ${x.availability}` }, x.availability),
      ...Object.entries(x.current ?? {}).flatMap(([n, v]) => [
        h('dt', {}, n),
        h('dd', { 'data-value': n }, valueText(v)),
      ]),
    );
  };
  const renderCharts = () => {
    for (const [name, series] of Object.entries(history)) {
      if (!charts.has(name)) {
        const box = h('div', { class: 'card' }, h('div', { class: 'chart', 'data-series': name }));
        chartsEl.append(box);
        charts.set(name, lineChart(box.firstChild, { title: name, series: [name], height: 160 }));
      }
      charts.get(name).set([series.ts, series.value]);
    }
  };
  api(`/api/devices/${encodeURIComponent(id)}/history`).then(
    (r) => {
      history = r.values;
      renderCharts();
    },
    () => {},
  );
  renderInfo();
  const off = onChange((kind, detail) => {
    if (kind === 'readings') {
      for (const r of detail.readings) {
        if (r.device !== id) continue;
        for (const [n, v] of Object.entries(r.values)) {
          const num = typeof v === 'boolean' ? Number(v) : v;
          if (typeof num !== 'number') continue;
          const s = (history[n] ??= { ts: [], value: [] });
          s.ts.push(r.ts);
          s.value.push(num);
          if (s.ts.length > 720) {
            s.ts.shift();
            s.value.shift();
          }
        }
      }
      renderCharts();
    }
    if (kind === 'status' || kind === 'device') renderInfo();
  });
  return {
    destroy: () => {
      off();
      for (const c of charts.values()) c.destroy();
    },
  };
}

function pairing(el) {
  add(el, h('h2', {}, 'Pairing'), actionsNote());
  const seconds = h('input', {
    type: 'number',
    min: 1,
    max: 254,
    value: 60,
    id: 'pair-seconds',
    style: undefined,
  });
  add(el, h('div', { class: 'toolbar' }, h('label', {}, 'Window (s) ', seconds)));
  const cards = h('div', { class: 'cards' });
  add(el, cards);
  const aborts = [];
  for (const adapter of state.me.adapters) {
    const countdown = h('span', { class: 'countdown', 'data-testid': 'countdown' }, '');
    const joined = h('ul', { 'data-testid': 'joined' });
    const message = h('p', { class: 'muted' });
    const button = h(
      'button',
      { type: 'button', disabled: !state.me.mayAct, 'data-adapter': adapter },
      'Open pairing window',
    );
    let timer;
    button.addEventListener('click', async () => {
      button.disabled = true;
      fill(joined);
      message.textContent = 'Opening…';
      message.className = 'muted';
      const abort = new AbortController();
      aborts.push(abort);
      try {
        const res = await fetch('/api/v1/pair', {
          method: 'POST',
          signal: abort.signal,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ adapter, seconds: Number(seconds.value) }),
        });
        if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error ?? `HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let nl;
          while ((nl = buffer.indexOf('\n')) !== -1) {
            const event = JSON.parse(buffer.slice(0, nl));
            buffer = buffer.slice(nl + 1);
            if (event.event === 'open') {
              message.textContent = 'Open: put the device into pairing mode now.';
              clearInterval(timer);
              const tickDown = () => {
                countdown.textContent = `${Math.max(0, Math.ceil((event.until - Date.now()) / 1000))} s`;
              };
              tickDown();
              timer = setInterval(tickDown, 500);
            } else if (event.event === 'closed') {
              message.textContent = 'Closed.';
            } else if (event.device) {
              const li =
                joined.querySelector(`[data-device="${CSS.escape(event.device.id)}"]`) ??
                joined.appendChild(h('li', { 'data-device': event.device.id }));
              li.textContent = `${event.event}: ${event.device.id}${event.device.model ? ` (${event.device.model})` : ''} — ${event.device.availability}`;
            }
          }
        }
      } catch (e) {
        if (e.name !== 'AbortError') {
          message.textContent = e.message;
          message.className = 'error';
        }
      } finally {
        clearInterval(timer);
        countdown.textContent = '';
        button.disabled = !state.me.mayAct;
      }
    });
    cards.append(
      h(
        'div',
        { class: 'card', 'data-pair': adapter },
        h('h3', {}, adapter),
        button,
        ' ',
        countdown,
        message,
        joined,
      ),
    );
  }
  // Leaving the page closes the windows it opened (the daemon closes a window whose client went away).
  return { destroy: () => aborts.forEach((a) => a.abort()) };
}

function commands(el) {
  const deviceSel = h('select', { id: 'cmd-device', required: true });
  const name = h('input', { id: 'cmd-name', list: 'cmd-names', required: true, placeholder: 'e.g. toggle' });
  const names = h('datalist', { id: 'cmd-names' });
  const args = h('textarea', { id: 'cmd-args', rows: 3, placeholder: '{}' });
  const send = h('button', { type: 'submit', disabled: !state.me.mayAct }, 'Send');
  const results = h('tbody', { id: 'cmd-results' });
  const held = h('div');
  const fillNames = () => {
    const d = state.devices.get(deviceSel.value);
    fill(names, ...(d?.capabilities?.commands ?? []).map((c) => h('option', { value: c.name })));
  };
  deviceSel.append(
    ...[...state.devices.values()]
      .filter((d) => d.capabilities?.commands?.length)
      .map((d) => h('option', { value: d.id }, d.name ?? d.id)),
  );
  deviceSel.addEventListener('change', fillNames);
  fillNames();
  const form = h(
    'form',
    { class: 'stack' },
    h('label', {}, 'Device', deviceSel),
    h('label', {}, 'Command', name, names),
    h('label', {}, 'Arguments (JSON)', args),
    send,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let parsed = {};
    try {
      parsed = args.value.trim() === '' ? {} : JSON.parse(args.value);
    } catch {
      parsed = undefined;
    }
    const row = h(
      'tr',
      {},
      h('td', {}, new Date().toLocaleTimeString()),
      h('td', {}, deviceSel.value),
      h('td', {}, name.value),
      h(
        'td',
        { class: 'result', 'data-testid': 'cmd-status' },
        parsed === undefined ? 'arguments are not JSON' : 'sent…',
      ),
    );
    results.prepend(row);
    if (parsed === undefined) return;
    try {
      const result = await api('/api/v1/commands', {
        method: 'POST',
        body: JSON.stringify({ device: deviceSel.value, name: name.value, args: parsed, waitMs: 30000 }),
      });
      row.lastChild.textContent = `${result.status}${result.detail ? `: ${result.detail}` : ''}${result.data ? ` ${JSON.stringify(result.data)}` : ''}`;
      row.lastChild.className = `result state ${result.status === 'ok' || result.status === 'succeeded' ? 'ok' : result.status}`;
    } catch (err) {
      row.lastChild.textContent = err.message;
      row.lastChild.className = 'result error';
    }
    loadHeld();
  });
  const loadHeld = () =>
    api('/api/v1/commands').then(
      (r) =>
        fill(
          held,
          r.commands.length === 0
            ? h('p', { class: 'muted' }, 'No command is held for a sleeping device.')
            : h(
                'div',
                { class: 'table-wrap' },
                h(
                  'table',
                  {},
                  r.commands.map((c) =>
                    h(
                      'tr',
                      {},
                      h('td', {}, c.device),
                      h('td', {}, c.name),
                      h('td', { class: 'muted' }, c.id),
                    ),
                  ),
                ),
              ),
        ),
      () => {},
    );
  add(
    el,
    h('h2', {}, 'Commands'),
    actionsNote(),
    form,
    h('h3', {}, 'Sent from this page'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'at'),
            h('th', {}, 'device'),
            h('th', {}, 'command'),
            h('th', {}, 'result'),
          ),
        ),
        results,
      ),
    ),
    h('h3', {}, 'Held for sleeping devices'),
    held,
  );
  loadHeld();
  return {};
}

function deadLetters(el) {
  add(el, h('h2', {}, 'Dead letters'), actionsNote());
  for (const routeName of state.me.routes) {
    const list = h('div');
    const note = h('span', { class: 'muted' });
    const replay = h(
      'button',
      { type: 'button', disabled: !state.me.mayAct, 'data-replay': routeName },
      'Replay all',
    );
    const load = () =>
      api(`/api/v1/queues/${encodeURIComponent(routeName)}/dead-letters?limit=100`).then(
        (r) => {
          fill(
            list,
            r.deadLetters.length === 0
              ? h('p', { class: 'muted', 'data-testid': 'dlq-empty' }, 'None.')
              : h(
                  'div',
                  { class: 'table-wrap' },
                  h(
                    'table',
                    {},
                    h(
                      'tr',
                      {},
                      h('th', {}, 'at'),
                      h('th', {}, 'device'),
                      h('th', {}, 'reason'),
                      h('th', { class: 'hide-narrow' }, 'values'),
                    ),
                    r.deadLetters.map((d) =>
                      h(
                        'tr',
                        {},
                        h('td', {}, new Date(d.at).toLocaleString()),
                        h('td', {}, d.reading.device),
                        h('td', {}, d.reason),
                        h('td', { class: 'values hide-narrow' }, JSON.stringify(d.reading.values)),
                      ),
                    ),
                  ),
                ),
          );
        },
        (e) => fill(list, h('p', { class: 'error' }, e.message)),
      );
    replay.addEventListener('click', async () => {
      try {
        const r = await api(`/api/v1/queues/${encodeURIComponent(routeName)}/replay`, {
          method: 'POST',
          body: '{}',
        });
        note.textContent = `${r.replayed} moved back into the queue.`;
      } catch (e) {
        note.textContent = e.message;
      }
      load();
    });
    add(
      el,
      h(
        'div',
        { class: 'card wide', 'data-dlq': routeName },
        h('div', { class: 'toolbar' }, h('h3', {}, routeName), replay, note),
        list,
      ),
    );
    load();
  }
  return {};
}

const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function logs(el) {
  const level = h(
    'select',
    { id: 'log-level' },
    ['info', 'warn', 'error'].map((l) => h('option', { value: l }, `${l} and above`)),
  );
  const text = h('input', { type: 'search', placeholder: 'filter', id: 'log-filter' });
  const box = h('div', { class: 'logs', id: 'log-lines' });
  add(
    el,
    h('h2', {}, 'Live log'),
    h('div', { class: 'toolbar' }, level, text),
    state.logsKept ? null : h('p', { class: 'muted' }, 'The daemon keeps no log lines for the page.'),
    box,
  );
  const min = () => Object.entries(LEVELS).find(([, n]) => n === level.value)?.[0] ?? 30;
  const lineEl = (raw) => {
    let o;
    try {
      o = JSON.parse(raw);
    } catch {
      return h('div', {}, raw);
    }
    if (o.level < Number(min())) return null;
    const { level: lv, time, msg, service: _s, pid: _p, hostname: _h, component, ...rest } = o;
    const t = `${new Date(time).toLocaleTimeString()} ${(LEVELS[lv] ?? lv).toUpperCase().padEnd(5)} ${component ? `[${component}] ` : ''}${msg ?? ''} ${Object.keys(rest).length ? JSON.stringify(rest) : ''}`;
    if (text.value && !t.toLowerCase().includes(text.value.toLowerCase())) return null;
    return h('div', { class: LEVELS[lv] ?? '' }, t);
  };
  const render = () => fill(box, ...state.logs.map(lineEl).filter(Boolean));
  level.addEventListener('change', render);
  text.addEventListener('input', render);
  render();
  box.scrollTop = box.scrollHeight;
  const off = onChange((kind, line) => {
    if (kind !== 'log') return;
    const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
    const e = lineEl(line);
    if (e) box.append(e);
    while (box.childElementCount > 500) box.firstChild.remove();
    if (atEnd) box.scrollTop = box.scrollHeight;
  });
  return { destroy: off };
}

export const views = { '': overview, devices, device, pairing, commands, 'dead-letters': deadLetters, logs };
