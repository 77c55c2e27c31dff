// The status page's access to the daemon's API: JSON requests and Server-Sent Events, both with the bearer
// token when one is set. SSE goes through fetch (not EventSource) so that the token travels in a header.

const TOKEN_KEY = 'auraison-edge-token';

/** The token: from the URL fragment (#token=..., never sent to the server), else this tab's storage. */
export function initialToken() {
  const match = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export class Unauthorized extends Error {}

/** No answer at all: the daemon is down, hung, or the network between is gone. */
export class Unreachable extends Error {}

/**
 * Longest wait for the answer to one request: 10 s, or 4 of the daemon's stream heartbeats once a stream
 * has named them (x-heartbeat-ms) if that is shorter, at least 2 s. A daemon that sends a heartbeat every
 * second and has not answered in four is hung or cut off.
 */
let requestTimeoutMs = 10_000;

function heartbeatKnown(heartbeatMs) {
  requestTimeoutMs = Math.min(10_000, Math.max(2_000, 4 * heartbeatMs));
}

/** fetch, failing with Unreachable when no answer comes (a refused connection, or none within the timeout). */
async function request(path, init = {}) {
  const timeoutMs = requestTimeoutMs;
  try {
    return await fetch(path, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const why = error?.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : 'no connection';
    throw new Unreachable(`${path}: the daemon is unreachable (${why})`);
  }
}

function headers(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

export async function getJson(path) {
  const res = await request(path, { headers: headers({ accept: 'application/json' }) });
  return answer(res, path);
}

export async function getText(path) {
  const res = await request(path, { headers: headers() });
  if (res.status === 401) throw new Unauthorized(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.text();
}

export async function postJson(path, body = {}) {
  const res = await request(path, {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json', accept: 'application/json' }),
    body: JSON.stringify(body),
  });
  return answer(res, path);
}

async function answer(res, path) {
  if (res.status === 401) throw new Unauthorized(path);
  const body = await res.json().catch(() => ({}));
  // /readyz answers 503 with its checks when not ready: that is an answer, not a failure.
  if (!res.ok && !(res.status === 503 && body.checks)) throw new Error(body.message ?? `${path}: HTTP ${res.status}`);
  return body;
}

/** A stream with nothing, not even a heartbeat, for this many of its heartbeats is stale (the link is dead). */
const STALE_HEARTBEATS = 3;
/** Longest wait for a stream's first answer while its heartbeat is not known yet. */
const CONNECT_TIMEOUT_MS = 10_000;
const RETRY_MS = 2000;

/**
 * Calls `onSilent` once nothing was `touch`ed for `limitMs` (Infinity: never). A stream that stops
 * delivering without closing (a hung daemon, a network gone without a FIN) ends no read: only this sees it.
 */
class SilenceWatch {
  #timer;
  #last = Date.now();
  #limit;
  #onSilent;
  fired = false;

  constructor(limitMs, onSilent) {
    this.#onSilent = onSilent;
    this.setLimit(limitMs);
  }

  setLimit(limitMs) {
    this.#limit = limitMs;
    this.#arm();
  }

  touch() {
    this.#last = Date.now();
  }

  stop() {
    clearTimeout(this.#timer);
  }

  #arm() {
    clearTimeout(this.#timer);
    if (!Number.isFinite(this.#limit)) return;
    const left = this.#last + this.#limit - Date.now();
    if (left > 0) {
      this.#timer = setTimeout(() => this.#arm(), left);
      return;
    }
    this.fired = true;
    this.#onSilent();
  }
}

const clock = (ms) => new Date(ms).toLocaleTimeString();

/**
 * Follows an SSE endpoint: calls onEvent(name, data, id) per event, reconnects after a drop with the last
 * id seen (Last-Event-ID, so the journal replays what was missed), and reports the link to
 * onState(state, detail), truthfully:
 * - connecting: the first connection is being made;
 * - open: bytes arrive (events, or the daemon's `: ping` every x-heartbeat-ms);
 * - stale: nothing at all for STALE_HEARTBEATS heartbeats, or no answer to a reconnect: the daemon is hung
 *   or the network is gone; it keeps trying;
 * - closed: the daemon ended the stream (it is stopping); it keeps trying;
 * - reconnecting: the connection failed or was refused; it keeps trying every RETRY_MS;
 * - paused: this tab is hidden; unauthorized: the token was refused (it stops).
 *
 * A hidden tab lets go of its stream ('paused') and picks it up with Last-Event-ID when shown again: a
 * browser opens at most six connections to one host, so tabs that each held their streams for as long as
 * they were open would leave none for a fourth tab, or for any tab's requests.
 */
export function followEvents(path, onEvent, onState = () => {}) {
  let lastId;
  let stopped = false;
  let controller;
  let wake;
  let silentLimit = CONNECT_TIMEOUT_MS;
  let lastDataAt;
  const onVisibility = () => {
    if (document.hidden) controller?.abort();
    else wake?.();
  };
  document.addEventListener('visibilitychange', onVisibility);
  const run = async () => {
    onState('connecting');
    while (!stopped) {
      if (document.hidden) {
        onState('paused');
        await new Promise((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      controller = new AbortController();
      const watch = new SilenceWatch(silentLimit, () => controller.abort());
      let next;
      try {
        const res = await fetch(path, {
          headers: headers(lastId ? { 'last-event-id': lastId } : {}),
          signal: controller.signal,
        });
        watch.touch();
        if (res.status === 401) throw new Unauthorized(path);
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        // A daemon that names no heartbeat cannot be told silent from idle: no limit then.
        const heartbeatMs = Number(res.headers.get('x-heartbeat-ms'));
        silentLimit = heartbeatMs > 0 ? heartbeatMs * STALE_HEARTBEATS : Infinity;
        if (heartbeatMs > 0) heartbeatKnown(heartbeatMs);
        watch.setLimit(silentLimit);
        lastDataAt = Date.now();
        onState('open');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          watch.touch();
          lastDataAt = Date.now();
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let name = 'message';
            let id;
            const data = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('id:')) id = line.slice(3).trim();
              else if (line.startsWith('event:')) name = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            }
            if (id !== undefined) lastId = id;
            if (data.length > 0) onEvent(name, data.join('\n'), id);
          }
        }
        next = ['closed', `the daemon ended the stream at ${clock(Date.now())}`];
      } catch (error) {
        if (stopped) return;
        if (error instanceof Unauthorized) {
          onState('unauthorized');
          return;
        }
        const since = lastDataAt ? `nothing since ${clock(lastDataAt)}` : 'no answer yet';
        if (watch.fired) next = ['stale', `${since}; the daemon is hung or the network is down`];
        else next = ['reconnecting', `${since}: ${error.message}`];
      } finally {
        watch.stop();
      }
      if (document.hidden) continue; // let go on purpose: wait to be shown, not to reconnect
      onState(...next);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  };
  void run();
  return () => {
    stopped = true;
    document.removeEventListener('visibilitychange', onVisibility);
    controller?.abort();
    wake?.();
  };
}
