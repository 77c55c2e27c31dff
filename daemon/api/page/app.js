// The status page: the operator's STOP, health and readiness, topics, control loops, runs with their live
// events, pending approvals with Approve and Cancel, and the live map. Plain ES modules, no build step; every
// figure comes from the API (GET /status, /runs, /metrics, /events, /live/map; POST /stop, /stop/release).
import {
  followEvents,
  getJson,
  getText,
  initialToken,
  postJson,
  setToken,
  Unauthorized,
  Unreachable,
} from '/page/api.js';
import { $, el } from '/page/dom.js';
import { MapView } from '/page/map-view.js';
import { MotionView } from '/page/motion-view.js';
import { loopLatencies } from '/page/prometheus.js';
import { shortIds } from '/page/run-ids.js';
import { latchGeneration, releaseStop, showHealthStatus, showLatch, showStopUrl, stopRobot } from '/page/stop-view.js';
import { refreshSync } from '/page/sync-view.js';

const runs = new Map();
/** What holds the robot outside the agent's runs (the sim's main job), from the agent's status; null for nothing. */
let driver = null;
let streams = [];

function fill(tableId, rows) {
  $(tableId)
    .querySelector('tbody')
    .replaceChildren(...rows);
}

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
// The short form the CLI and the API take too: unique among the runs this page knows.
const shortId = (id) => shortIds([...runs.keys(), id]).get(id);
const nsToTime = (ns) => new Date(Number(BigInt(ns) / 1_000_000n)).toLocaleTimeString();

/**
 * A topic or type name whose lines may break only after a `/` (a <wbr> there), so a narrow cell wraps
 * `sensor_msgs/msg/` `LaserScan`, never inside a word (overflow-wrap breaks a word only when it alone is too wide).
 */
function breakable(name) {
  const parts = String(name).split(/(?<=\/)/);
  return el(
    'span',
    { class: 'name' },
    ...parts.flatMap((p, i) => (i === 0 ? [p] : [document.createElement('wbr'), p])),
  );
}

function showError(error) {
  if (error instanceof Unauthorized) {
    $('token-form').hidden = false;
    return;
  }
  $('error').hidden = !error;
  $('error').textContent = error ? String(error.message ?? error) : '';
}

/** The badges say what is known now: with no answer from the daemon, its last health is not its health. */
function showUnreachable() {
  showHealthStatus(undefined);
  $('ready').textContent = 'ready ?';
  $('ready').className = 'badge';
}

/** The event stream's link: its state in words, a class for its colour, and what is known of why. */
function showLink(state, detail) {
  const link = $('stream');
  link.textContent = `events: ${state}`;
  link.className = `link ${state}`;
  link.dataset.state = state;
  link.title = detail ?? '';
}

async function refreshStatus() {
  const asked = latchGeneration();
  const [health, status] = await Promise.all([getJson('/healthz'), getJson('/status')]);
  const latch = status.components.stop?.details?.stop_latch ?? status.components.agent?.details?.stop_latch ?? null;
  if (asked === latchGeneration()) showLatch(latch);
  showStopUrl(status.components.api?.details?.stop_url);
  showHealthStatus(health.status);
  $('ready').textContent = status.readiness.ready ? 'ready' : 'not ready';
  $('ready').className = `badge ${status.readiness.ready ? 'pass' : 'fail'}`;
  $('robot').textContent = `${status.robot.id} · fleet ${status.robot.fleet}`;
  $('uptime').textContent = `up ${Math.round(status.uptime_s)} s · journal seq ${status.journal.last_seq}`;
  const holder = status.components.agent?.details?.motion ?? null;
  const outside = holder && !holder.run_id ? holder : null;
  if (outside?.name !== driver?.name) {
    driver = outside;
    renderRuns();
  }
  fill(
    'checks',
    status.readiness.checks.map((c) =>
      el(
        'tr',
        {},
        el('td', {}, c.name + (c.informational ? ' (info)' : '')),
        el('td', { class: c.status }, c.status),
        el('td', {}, c.reason),
      ),
    ),
  );
  fill(
    'topics',
    [...status.topics]
      .sort((a, b) => a.topic.localeCompare(b.topic))
      .map((t) =>
        el(
          'tr',
          {},
          el('td', {}, breakable(t.topic)),
          el('td', { class: 'muted' }, breakable(t.type)),
          el('td', { class: 'num' }, fmt(t.rate_hz)),
          el('td', { class: 'num' }, t.count),
          el('td', { class: `num${t.drops > 0 ? ' drops' : ''}` }, t.drops),
          el('td', { class: 'num' }, t.subscribers),
        ),
      ),
  );
  fill(
    'actions',
    (status.actions ?? []).map((a) =>
      el(
        'tr',
        {},
        el('td', {}, breakable(a.name)),
        el('td', { class: 'muted' }, a.types.length > 0 ? breakable(a.types.join(', ')) : 'type unknown'),
        el('td', { class: 'num' }, a.servers.length),
        el('td', { class: 'num' }, a.clients.length),
      ),
    ),
  );
  fill(
    'components',
    Object.entries(status.components).map(([name, h]) =>
      el('tr', {}, el('td', {}, name), el('td', { class: h.state }, h.state), el('td', {}, h.reason ?? '')),
    ),
  );
  // A failed component's details are the supervisor's (its retries), not loops: the row says the loops do not run.
  const control = status.components.control;
  const loops = Object.entries(control?.state === 'failed' ? {} : (control?.details ?? {})).filter(
    ([, l]) => typeof l === 'object' && l !== null,
  );
  const latency = loops.length > 0 ? loopLatencies(await getText('/metrics')) : new Map();
  const loopRows = loops.map(([name, l]) => {
    const lat = latency.get(name) ?? {};
    return el(
      'tr',
      {},
      el('td', {}, name),
      el('td', {}, l.mode ?? ''),
      el('td', { class: 'num' }, l.ticks ?? ''),
      el('td', { class: `num${l.stale_ticks > 0 ? ' drops' : ''}` }, l.stale_ticks ?? ''),
      el('td', { class: `num${l.observation_errors > 0 ? ' drops' : ''}` }, l.observation_errors ?? ''),
      el('td', { class: `num${l.missed_deadlines > 0 ? ' drops' : ''}` }, l.missed_deadlines ?? ''),
      el('td', { class: 'num' }, fmt(lat.p50 * 1000, 2)),
      el('td', { class: 'num' }, fmt(lat.p99 * 1000, 2)),
      el('td', { class: l.alive ? 'pass' : 'fail' }, l.alive ? 'yes' : 'no'),
      // A blind loop sends only its safe action: what it does not see, and why.
      el('td', { class: l.blind ? 'fail' : 'pass' }, l.blind ? `blind: ${l.blind}` : 'yes'),
    );
  });
  fill(
    'loops',
    loopRows.length > 0
      ? loopRows
      : [
          control?.state === 'failed'
            ? el(
                'tr',
                {},
                el('td', { class: 'fail', colspan: '10' }, `not running: ${control.reason ?? 'control failed'}`),
              )
            : el('tr', {}, el('td', { class: 'muted', colspan: '10' }, 'no control loops configured')),
        ],
  );
}

async function refreshRuns() {
  const answer = await getJson('/runs?limit=50').catch((error) => {
    // No agent running is a state the page shows, not an error.
    if (!(error instanceof Unauthorized)) return { runs: [], unavailable: error.message };
    throw error;
  });
  // The list answers for the moment it was asked; a state the event stream brought since is newer.
  const known = new Map(runs);
  runs.clear();
  for (const r of answer.runs) {
    runs.set(r.run_id, r);
    const seen = known.get(r.run_id);
    if (seen) upsertRun(seen);
  }
  renderRuns(answer.unavailable);
}

/**
 * Keeps the newest state of a run. The reply to an approval, or to a refresh of the list, can arrive after
 * the event stream has already told of a later state (the run resumed and finished meanwhile); the older one
 * must not win.
 */
function upsertRun(run) {
  const known = runs.get(run.run_id);
  if (known && BigInt(known.updated_at) > BigInt(run.updated_at)) return;
  runs.set(run.run_id, run);
}

/** Why the agent's runs could not be listed, as last asked; kept for the renders between two asks. */
let runsUnavailable;

function renderRuns(unavailable = runsUnavailable) {
  runsUnavailable = unavailable;
  const list = [...runs.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  const short = shortIds(runs.keys());
  // A drive outside the agent's runs (npm start's main job) moves the robot all the same: it is listed first,
  // as running, with what ends it.
  const driving = driver
    ? [
        el(
          'tr',
          { 'data-driver': driver.name },
          el('td', { class: 'muted' }, 'main job'),
          el('td', {}, driver.name),
          el('td', { class: 'status running' }, 'running'),
          el('td', {}, 'not an agent run: STOP (or an intent that moves the robot) ends it'),
          el('td', { class: 'muted' }, ''),
        ),
      ]
    : [];
  fill(
    'runs',
    list.length > 0 || driving.length > 0
      ? [
          ...driving,
          ...list.map((r) =>
            el(
              'tr',
              { 'data-run': r.run_id },
              el('td', {}, el('code', { title: r.run_id }, short.get(r.run_id))),
              el('td', {}, r.tree_ref),
              el('td', { class: `status ${r.status}` }, r.status),
              el('td', {}, r.reason ?? ''),
              el('td', { class: 'muted' }, nsToTime(r.updated_at)),
            ),
          ),
        ]
      : [el('tr', {}, el('td', { class: 'muted', colspan: '5' }, unavailable ?? 'no runs yet'))],
  );
  const waiting = list.filter((r) => r.status === 'awaiting_approval');
  $('approvals').replaceChildren(
    ...(waiting.length > 0
      ? waiting.map((r) =>
          el(
            'li',
            { 'data-run': r.run_id },
            el('code', { title: r.run_id }, short.get(r.run_id)),
            ` ${r.tree_ref}`,
            r.reason ? el('span', { class: 'muted' }, ` — ${r.reason}`) : '',
            el('button', { class: 'approve', type: 'button', onclick: () => decide(r.run_id, 'approve') }, 'Approve'),
            el('button', { class: 'cancel', type: 'button', onclick: () => decide(r.run_id, 'cancel') }, 'Cancel'),
          ),
        )
      : [el('li', { class: 'muted' }, 'none')]),
  );
}

async function decide(runId, action) {
  try {
    const { run } = await postJson(`/runs/${runId}/${action}`, { by: 'status-page' });
    upsertRun(run);
    renderRuns();
    showError(undefined);
  } catch (error) {
    showError(error);
  }
}

function onJournalEvent(name, data) {
  const record = JSON.parse(data);
  if (name === 'run_state' && record.data?.run_id) {
    upsertRun(record.data);
    renderRuns();
    return;
  }
  // Records were skipped (gap), or the journal is not the one this tab followed (reset: a new data dir):
  // neither is an event to list, and the runs are asked for again.
  if (name === 'gap' || name === 'reset') {
    void refreshRuns();
    return;
  }
  const held = record.data ?? {};
  // A tool call's record carries the events written with it (`noted`, its run's, before it): a line each.
  const events = Array.isArray(held.noted) ? [...held.noted.map((n) => ({ ...n, run_id: held.run_id })), held] : [held];
  const list = $('events');
  for (const e of events) {
    const text = e.kind
      ? `${shortId(e.run_id ?? '')} ${e.kind} ${JSON.stringify(e.payload ?? {})}`
      : `${record.kind} ${JSON.stringify(e)}`;
    list.prepend(el('li', {}, `${new Date().toLocaleTimeString()} ${text.slice(0, 300)}`));
    if (e.kind?.startsWith('run.') || e.kind?.startsWith('approval.')) void refreshRuns();
  }
  while (list.children.length > 100) list.lastChild.remove();
}

function startStreams() {
  for (const stop of streams) stop();
  const view = new MapView($('map'));
  const motion = new MotionView();
  streams = [
    followEvents('/events?kinds=agent_event,run_state', onJournalEvent, (state, detail) => {
      showLink(state, detail);
      if (state === 'open') void refreshRuns().catch(showError);
      if (state === 'unauthorized') showError(new Unauthorized());
    }),
    followEvents('/live/map', (name, data) => {
      const value = JSON.parse(data);
      if (name === 'map' || name === 'pose' || name === 'scan') $('map-section').hidden = false;
      if (name === 'map') {
        view.setMap(value);
        $('map-info').textContent =
          `${value.width} × ${value.height} cells at ${Number(value.resolution.toFixed(4))} m`;
      } else if (name === 'pose') {
        view.setPose(value);
        motion.showPose(value);
      } else if (name === 'plan') {
        view.setPlan(value);
        motion.showGoal(view.goal);
      } else if (name === 'scan') {
        view.setScan(value);
        motion.showScan(value);
      }
    }),
  ];
}

let ticking = false;

async function tick() {
  // A hidden tab asks nothing (it refreshes when shown), and a tick waiting on a daemon that does not
  // answer is not joined by another every 2 s.
  if (document.hidden || ticking) return;
  ticking = true;
  try {
    await refreshStatus();
    await refreshSync();
    showError(undefined);
  } catch (error) {
    if (error instanceof Unreachable) showUnreachable();
    showError(error);
  } finally {
    ticking = false;
  }
}

const onStopError = (error) => showError(error);
const afterStop = () => void refreshRuns().catch(showError);
$('stop').addEventListener('click', () => void stopRobot({ onError: onStopError, afterStop }));
$('release').addEventListener('click', () => void releaseStop({ onError: onStopError }));

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setToken($('token').value);
  $('token-form').hidden = true;
  startStreams();
  void tick();
});

document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  void tick();
  void refreshRuns().catch(showError);
});

initialToken();
startStreams();
void tick();
void refreshRuns().catch(showError);
setInterval(tick, 2000);
