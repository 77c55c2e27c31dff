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

function headers(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

export async function getJson(path) {
  const res = await fetch(path, { headers: headers({ accept: 'application/json' }) });
  return answer(res, path);
}

export async function getText(path) {
  const res = await fetch(path, { headers: headers() });
  if (res.status === 401) throw new Unauthorized(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.text();
}

export async function postJson(path, body = {}) {
  const res = await fetch(path, { method: 'POST', headers: headers({ 'content-type': 'application/json', accept: 'application/json' }), body: JSON.stringify(body) });
  return answer(res, path);
}

async function answer(res, path) {
  if (res.status === 401) throw new Unauthorized(path);
  const body = await res.json().catch(() => ({}));
  // /readyz answers 503 with its checks when not ready: that is an answer, not a failure.
  if (!res.ok && !(res.status === 503 && body.checks)) throw new Error(body.message ?? `${path}: HTTP ${res.status}`);
  return body;
}

/**
 * Follows an SSE endpoint: calls onEvent(name, data, id) per event, reconnects after a drop with the last
 * id seen (Last-Event-ID, so the journal replays what was missed), and reports its state to onState.
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
  const onVisibility = () => {
    if (document.hidden) controller?.abort();
    else wake?.();
  };
  document.addEventListener('visibilitychange', onVisibility);
  const run = async () => {
    while (!stopped) {
      if (document.hidden) {
        onState('paused');
        await new Promise((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      controller = new AbortController();
      try {
        const res = await fetch(path, { headers: headers(lastId ? { 'last-event-id': lastId } : {}), signal: controller.signal });
        if (res.status === 401) throw new Unauthorized(path);
        if (!res.ok || !res.body) throw new Error(`${path}: HTTP ${res.status}`);
        onState('open');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
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
      } catch (error) {
        if (stopped) return;
        if (error instanceof Unauthorized) {
          onState('unauthorized');
          return;
        }
      }
      if (document.hidden) continue; // let go on purpose: wait to be shown, not to reconnect
      onState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, 2000));
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
