// The operator's stop on the status page: the STOP button (POST /stop, on the stop listener when the daemon runs one),
// the latched stop's banner with its Release (POST /stop/release), and the health badge, which says STOPPED while the
// stop holds. app.js wires the buttons and hands over what /status and /healthz say.
import { postJson, Unauthorized, Unreachable } from '/page/api.js';
import { $, el } from '/page/dom.js';

/** The daemon's last /healthz status; undefined while it does not answer. */
let healthStatus;

/** What /healthz said (`ok`, `degraded`, ...), or undefined when the daemon did not answer. */
export function showHealthStatus(status) {
  healthStatus = status;
  showHealth();
}

/** Counts the latch's changes this page made itself: a /status asked before the latest one is stale for the latch. */
export const latchGeneration = () => latchChanges;

/**
 * The health badge. A robot held by a latched stop is not shown green, however healthy the daemon: it says STOPPED
 * (the daemon's own health in its tooltip), from the moment the page knows of the latch until it is released.
 */
function showHealth() {
  const badge = $('health');
  if (latchShown) {
    badge.textContent = 'STOPPED';
    badge.className = 'badge stopped';
    badge.title = `the robot is stopped until a person releases the stop; daemon health ${healthStatus ?? 'unknown'}`;
    return;
  }
  badge.title = '';
  badge.textContent = healthStatus ? `health ${healthStatus}` : 'health unreachable';
  badge.className = `badge ${healthStatus === 'ok' ? 'ok' : 'fail'}`;
}

/*
 * The operator's stop (POST /stop). Every click sends one, also while an earlier one is unanswered: a stop is
 * idempotent, and a click that waited on a hung request would be a stop not sent. The line beside the button
 * tells the answer to the newest click answered so far; an older answer arriving after it would tell of a
 * state that is no longer the latest.
 */
let stopsSent = 0;
let stopShown = 0;
let stopsInFlight = 0;

/** The stop listener's port (the daemon's /status names its URL), or undefined when it runs none. */
let stopPort;

/** What /status says of the stop listener's URL (components.api.details.stop_url), or null. */
export function showStopUrl(url) {
  stopPort = url ? new URL(url).port : undefined;
}

/**
 * The stop: to the stop listener when the daemon runs one, which takes it without waiting for the daemon's event
 * loop and answers with the daemon's report (this page is the one page it lets in, by CORS); at this page's own
 * host, so its Host is the one the page was opened at. A listener that does not answer leaves the API's POST /stop.
 */
async function sendStop() {
  if (stopPort) {
    try {
      return await postJson(`${location.protocol}//${location.hostname}:${stopPort}/stop?report=full`, {
        by: 'status-page',
      });
    } catch (error) {
      if (!(error instanceof Unreachable)) throw error;
    }
  }
  return postJson('/stop', { by: 'status-page' });
}

export async function stopRobot({ onError, afterStop }) {
  const seq = ++stopsSent;
  stopsInFlight++;
  showStopSending();
  try {
    const outcome = await sendStop();
    if (!outcome.topic) {
      // The listener's own answer: its thread took the stop, and the daemon's main thread has not reported it yet.
      showStopResult(seq, 'failed', unconfirmedText(outcome), undefined, outcome.taken_by_daemon);
      return;
    }
    if (seq >= stopShown) latchChanged(outcome.latched);
    showStopResult(seq, 'stopped', stoppedText(outcome), outcome.journal_error, outcome.cancelled.join('\n'));
    afterStop();
  } catch (error) {
    // Unauthorized also opens the token form; the message says what to do with it.
    if (error instanceof Unauthorized) onError(error);
    const why =
      error instanceof Unauthorized
        ? 'the API needs its bearer token (api.token): enter it above and press STOP again'
        : String(error.message ?? error);
    showStopResult(seq, 'failed', `NOT stopped: ${why}`, undefined, '');
  } finally {
    stopsInFlight--;
    $('stop').classList.toggle('sending', stopsInFlight > 0);
    $('stop').setAttribute('aria-busy', String(stopsInFlight > 0));
  }
}

/*
 * The latched stop (motion.stop.latch): once stopped, nothing the daemon governs moves the robot until a person
 * releases it. The banner beside STOP says who latched it, when and why: from a stop's reply at once, and from /status
 * (the stop component's details.stop_latch, with or without an agent), so a tab opened later, or a latch kept over a
 * restart, shows it too. A /status asked before this tab's latest stop or release was answered may tell of the latch
 * before it: it is skipped (latchChanges moved on), so a released banner does not come back, nor a fresh one go, until
 * a /status asked since says so.
 */
let latchChanges = 0;
let latchShown = null;

function latchChanged(latch) {
  latchChanges++;
  showLatch(latch);
}

export function showLatch(latch) {
  latchShown = latch;
  showHealth();
  $('stop-latch').hidden = !latch;
  if (!latch) return;
  // The stops that came while latched: the latch stays the first's, the later ones are counted with the latest.
  const again = latch.again
    ? ` · stopped again ${latch.again.count === 1 ? 'once' : `${latch.again.count} times`}, last by ${latch.again.by} at ${when(latch.again.at)}${latch.again.reason ? `: ${latch.again.reason}` : ''}`
    : '';
  $('stop-latch-text').textContent =
    `STOPPED (latched) by ${latch.by} at ${when(latch.since)}${latch.reason ? `: ${latch.reason}` : ''}${again}`;
  $('stop-latch').title =
    `latched since ${latch.since}: nothing the daemon drives moves the robot until a person releases the stop`;
  $('stop-latch-warning').hidden = !latch.error;
  $('stop-latch-warning').textContent = latch.error ? `warning: ${latch.error}` : '';
}

/** A moment as the operator reads it: the time today, with the date on another day (a latch outlives restarts). */
function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toDateString() === new Date().toDateString() ? date.toLocaleTimeString() : date.toLocaleString();
}

/** Releasing asks first (the robot may move again after it); the STOP button never does. */
export async function releaseStop({ onError }) {
  if (
    !latchShown ||
    !confirm(
      `Release the stop latched by ${latchShown.by}? The robot may be moved again from then on; nothing that was stopped restarts by itself.`,
    )
  )
    return;
  $('release').disabled = true;
  showReleaseResult('releasing', `releasing the stop (${new Date().toLocaleTimeString()}): not confirmed yet`);
  try {
    // The latch shown: a newer stop, latched after this page last looked, is not released unseen (409).
    const { released } = await postJson('/stop/release', { by: 'status-page', since: latchShown.since });
    latchChanged(null);
    showReleaseResult(
      'released',
      released
        ? `released ${new Date().toLocaleTimeString()}: the robot may move again; nothing that was stopped restarts by itself`
        : 'no stop was latched: nothing to release',
    );
  } catch (error) {
    if (error instanceof Unauthorized) onError(error);
    const why =
      error instanceof Unauthorized
        ? 'the API needs its bearer token (api.token): enter it above and press Release again'
        : String(error.message ?? error);
    showReleaseResult('failed', `release failed: ${why} — the stop is still latched`);
  } finally {
    $('release').disabled = false;
  }
}

function showReleaseResult(state, text) {
  const line = $('release-result');
  if (!state) {
    delete line.dataset.state;
    line.replaceChildren();
    return;
  }
  line.dataset.state = state;
  line.replaceChildren(el('span', { class: state }, text));
}

function stoppedText(o) {
  const runs =
    o.cancelled.length === 0
      ? 'no run was active'
      : `${o.cancelled.length} run${o.cancelled.length === 1 ? '' : 's'} cancelled`;
  const also = o.zeroed?.length ? ` (and a stop command on ${o.zeroed.join(', ')})` : '';
  return `stopped ${new Date().toLocaleTimeString()}: zero Twist on ${o.topic}${also}${o.aborted ? `, ${o.aborted} aborted` : ''}, ${runs}`;
}

function unconfirmedText(o) {
  return `held on the stop line ${new Date().toLocaleTimeString()} (zero commands: ${o.zeroed.join(', ')}), NOT confirmed by the daemon: its main thread has not taken the stop yet`;
}

/** Until an answer comes, the line says so: an earlier click's "stopped" is not this one's answer. */
function showStopSending() {
  showReleaseResult(undefined); // a release told of before this stop is history now
  $('stop').classList.add('sending');
  $('stop').setAttribute('aria-busy', 'true');
  const line = $('stop-result');
  line.dataset.state = 'sending';
  line.title = '';
  line.replaceChildren(
    el('span', { class: 'sending' }, `sending the stop (${new Date().toLocaleTimeString()}): not confirmed yet`),
  );
}

function showStopResult(seq, state, text, warning, title) {
  if (seq < stopShown) return;
  stopShown = seq;
  const line = $('stop-result');
  line.dataset.state = state;
  line.title = title;
  line.replaceChildren(
    el('span', { class: state }, text),
    ...(state === 'failed' ? [el('span', { class: 'advice' }, " — use the robot's hardware e-stop")] : []),
    ...(warning
      ? [
          el(
            'span',
            { class: 'warning' },
            `warning: the cancels were not all journaled (${warning}); the runs are stopped, and read interrupted after a restart`,
          ),
        ]
      : []),
  );
}
