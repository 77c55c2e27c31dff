// The fleet page of `central serve`: the robots with their state, last heartbeat, backlog, sync progress and a
// link to each robot's own status page, and whether the broker proves each robot's reports are its own; the
// uploads; recent runs and events; a read-only fleet query. Plain ES modules, no build step; everything comes from
// the fleet API (GET /api/robots, /api/uploads, /api/events, POST /api/query), read again every few seconds
// (?refresh=S, default 2).

const $ = (id) => document.getElementById(id);
const REFRESH_MS = Math.max(0.2, Number(new URLSearchParams(location.search).get('refresh')) || 2) * 1000;
/** How many events the page reads each time: runs are told from their run_state records among them. */
const EVENTS = 200;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return node;
}

function fill(id, rows, columns, empty = 'none') {
  const body = $(id).querySelector('tbody');
  if (rows.length > 0) body.replaceChildren(...rows);
  else body.replaceChildren(el('tr', {}, el('td', { colspan: String(columns), class: 'muted' }, empty)));
}

async function getJson(path, init) {
  let res;
  try {
    res = await fetch(path, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch {
    throw new Error(`${path}: central serve does not answer (is it still running?)`);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message ?? `${path}: HTTP ${res.status}`);
  return body;
}

/** A time as the API gives it (ISO 8601, or ns since the epoch as a decimal string or number). */
function toDate(value) {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' || /^\d+$/.test(String(value))) {
    const n = BigInt(typeof value === 'number' ? Math.trunc(value) : value);
    // ns, µs, ms or s since the epoch, told apart by size.
    const ms = n > 10n ** 17n ? n / 1_000_000n : n > 10n ** 14n ? n / 1000n : n > 10n ** 11n ? n : n * 1000n;
    return new Date(Number(ms));
  }
  const date = new Date(String(value));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function ago(value) {
  const date = toDate(value);
  if (!date) return '–';
  const s = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  const span = s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
  return `${span} ago (${date.toLocaleTimeString()})`;
}

const timeOf = (value) => toDate(value)?.toLocaleTimeString() ?? '–';

/** Bytes in a short unit. */
function bytesText(n) {
  if (typeof n !== 'number') return '?';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let value = n;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}

/** Sync progress in a few words, from what the robot's heartbeat says of it (central-link/sync/heartbeat-sync.ts). */
function syncText(sync) {
  if (!sync || typeof sync !== 'object') return '–';
  const parts = [`${sync.awaiting_files ?? 0} file(s), ${bytesText(sync.awaiting_bytes ?? 0)} waiting`];
  if (sync.uploading) parts.push(`uploading ${sync.uploading}`);
  if (sync.paused) parts.push(`paused (${sync.paused})`);
  parts.push(`${sync.stored ?? 0} stored${sync.failed ? `, ${sync.failed} failed` : ''}`);
  if (sync.last_error) parts.push(`last error ${timeOf(sync.last_error_at)}: ${sync.last_error}`);
  return parts.join('; ');
}

/**
 * What the robot's link refused (forged, replayed or flooding commands: a robot under attack), and its word on who
 * may command it when that is not central's key alone. Text only: it is the robot's report.
 */
function refusedCell(r) {
  const total = r.refused?.total ?? 0;
  const title = [total > 0 ? `${JSON.stringify(r.refused)}` : '', r.authority ? `commands: ${r.authority}` : ''].filter(
    (t) => t !== '',
  );
  const text = [total > 0 ? `${total} refused` : '', r.authority ? 'commands not checked by key' : ''].filter(
    (t) => t !== '',
  );
  return el(
    'td',
    { class: total > 0 || r.authority ? 'refused alarm' : 'refused', title: title.join('\n') },
    text.length > 0 ? text.join(', ') : '–',
  );
}

/** The robot's id, and a warning when the broker does not prove its reports are its own (any login may send them). */
function robotCell(r) {
  if (r.sender !== 'unproven') return el('td', {}, r.robot);
  const title = "the broker lets any login publish on this robot's topics: its status and events may be anyone's";
  return el('td', {}, r.robot, ' ', el('span', { class: 'sender alarm', title }, 'unproven sender'));
}

/** Whether the broker proves who sent each robot's reports, as central last probed it. */
function showSenders(senders) {
  const node = $('senders');
  if (!senders) return void (node.hidden = true);
  node.hidden = false;
  node.className = senders.proven ? 'muted' : 'alarm';
  node.title = senders.detail;
  node.textContent = senders.proven
    ? "reports' senders proven by the broker's ACL"
    : `reports' senders UNPROVEN: ${senders.detail}`;
}

function robotRow(r) {
  const state = r.online ? 'online' : 'offline';
  // A robot names its own status page: central says whether it is one to link (http.allowed_status_urls).
  const link = !r.status_url
    ? el('span', { class: 'muted' }, '–')
    : r.status_link === true
      ? el('a', { href: r.status_url, target: '_blank', rel: 'noopener noreferrer' }, r.status_url)
      : el('span', { class: 'unlinked', title: 'not in http.allowed_status_urls: shown as text' }, r.status_url);
  return el(
    'tr',
    { 'data-robot': r.robot },
    el('td', {}, r.fleet),
    robotCell(r),
    el(
      'td',
      { class: `state ${state}`, title: r.reason ?? '' },
      r.reason && !r.online ? `${state} (${r.reason})` : state,
    ),
    el('td', {}, ago(r.last_heartbeat)),
    el('td', { class: 'num' }, r.backlog ?? '–'),
    refusedCell(r),
    el('td', { class: r.sync?.last_error ? 'sync alarm' : 'sync' }, syncText(r.sync)),
    el('td', {}, link),
  );
}

function dataOf(event) {
  if (typeof event.data !== 'string') return event.data ?? {};
  try {
    return JSON.parse(event.data);
  } catch {
    return { text: event.data };
  }
}

function describe(event, data) {
  if (event.kind === 'run_state')
    return `run ${data.run_id ?? '?'}: ${data.status ?? '?'}${data.reason ? ` (${data.reason})` : ''}`;
  if (event.kind === 'intent') return `intent ${data.type ?? '?'} ${data.intent_id ?? ''}`;
  // A tool call's record carries the events written with it (`noted`, before it): their kinds are shown too.
  const noted = Array.isArray(data.noted) ? data.noted.map((n) => `${n?.kind}, `).join('') : '';
  if (data.kind) return `${noted}${data.kind}${data.run_id ? ` (run ${data.run_id})` : ''}`;
  const text = JSON.stringify(data);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

/**
 * The intent a run serves, from its run_state: the tree it runs (`skill:navigate_to`, `llm:<model>` for a natural
 * language intent), which every run_state carries.
 */
function intentOf(data) {
  const tree = typeof data.tree_ref === 'string' ? data.tree_ref : '';
  if (tree.startsWith('skill:')) return tree.slice('skill:'.length);
  if (tree.startsWith('llm:')) return `natural language (${tree.slice('llm:'.length)})`;
  return tree;
}

/** The latest state of each run among the events (newest first), with the intent it serves. */
function runsOf(events) {
  const runs = new Map();
  for (const event of events) {
    const data = dataOf(event);
    if (event.kind === 'run_state' && data.run_id && !runs.has(data.run_id)) runs.set(data.run_id, { event, data });
  }
  return [...runs.values()].map(({ event, data }) =>
    el(
      'tr',
      { 'data-run': data.run_id },
      el('td', {}, timeOf(data.updated_at ?? event.ts_ns ?? event.ts)),
      el('td', {}, event.robot ?? ''),
      el('td', {}, data.run_id),
      el('td', { class: 'intent', title: data.intent_id ?? '' }, intentOf(data)),
      el('td', { class: data.status }, data.status + (data.reason ? ` (${data.reason})` : '')),
    ),
  );
}

async function refresh() {
  const [robots, uploads, events] = await Promise.all([
    getJson('/api/robots'),
    getJson('/api/uploads'),
    getJson(`/api/events?limit=${EVENTS}`),
  ]);
  const list = robots.robots;
  const online = list.filter((r) => r.online).length;
  $('summary').textContent = `${list.length} robot(s), ${online} online, ${list.length - online} offline`;
  showSenders(robots.senders);
  fill('robots', list.map(robotRow), 7, 'no robot has reported yet');
  fill(
    'uploads',
    Object.entries(uploads).map(([k, v]) =>
      el('tr', {}, el('th', {}, k.replaceAll('_', ' ')), el('td', { class: 'num' }, v)),
    ),
    2,
  );
  fill('runs', runsOf(events.events), 5);
  fill(
    'events',
    events.events.slice(0, 50).map((e) => {
      const data = dataOf(e);
      return el(
        'tr',
        {},
        el('td', {}, timeOf(e.ts_ns ?? e.ts)),
        el('td', {}, e.robot ?? ''),
        el('td', {}, e.seq ?? ''),
        el('td', {}, e.kind ?? ''),
        el('td', {}, describe(e, data)),
      );
    }),
    5,
  );
}

async function loop() {
  try {
    await refresh();
    $('error').hidden = true;
    $('refreshed').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    $('error').hidden = false;
    $('error').textContent = String(error.message ?? error);
  }
  setTimeout(loop, REFRESH_MS);
}

$('query-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('query-info').textContent = 'running…';
  try {
    const result = await getJson('/api/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: $('sql').value }),
    });
    $('query-result')
      .querySelector('thead')
      .replaceChildren(el('tr', {}, ...result.columns.map((c) => el('th', {}, c))));
    const rows = result.rows.map((row) =>
      el('tr', {}, ...row.map((v) => el('td', {}, typeof v === 'object' && v !== null ? JSON.stringify(v) : v))),
    );
    $('query-result')
      .querySelector('tbody')
      .replaceChildren(...rows);
    $('query-info').textContent = `${result.rows.length} row(s) in ${result.elapsed_ms} ms`;
  } catch (error) {
    $('query-info').textContent = String(error.message ?? error);
  }
});

void loop();
