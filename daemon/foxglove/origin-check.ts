import type { Logger } from '../log.ts';
import { LogBurst } from '../util/index.ts';

/**
 * Which WebSocket handshakes may open the Foxglove WebSocket, by their `Origin` and `User-Agent`. A
 * handshake is not bound by the same-origin policy: without this check any web page open in a browser on
 * the robot (or on a laptop with the port forwarded) could connect to ws://127.0.0.1:8765, read every topic
 * and, with client publishing on, drive /cmd_vel. A page cannot choose either header: the browser sets both.
 *
 * - No `Origin`: not a browser (a script, a bridge, a CLI); allowed, as it could connect anyway.
 * - An `http:`/`https:` origin: a web page; only when listed.
 * - `null` or `file://`: a page with no origin of its own. The Foxglove and Lichtblick desktop apps send
 *   it (Electron serves their pages from file://; Chromium sends `null` for those since version 92), and
 *   so do some WebSocket libraries; but in a browser it is a page opened from a file, or a sandboxed iframe,
 *   which any web site can make. So it is allowed unless the User-Agent is a browser's (`Mozilla/...`
 *   without `Electron/`), and a browser's only when listed.
 * - Any other scheme (an Electron app's own `app://`, a browser extension's): not a web page; allowed.
 *
 * A listed entry is an exact origin (`https://app.foxglove.dev`), one ending in `:*` for any port
 * (`http://localhost:*`), `null` or `file://`, or `*` for any origin at all.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[], userAgent?: string): boolean {
  return originRefusal(origin, allowed, userAgent) === undefined;
}

/** Why a handshake is refused, naming the entry that would let it in; undefined when it is allowed. */
export function originRefusal(
  origin: string | undefined,
  allowed: readonly string[],
  userAgent?: string,
): { reason: string; entry: string } | undefined {
  if (origin === undefined || origin === '') return undefined;
  const normalized = normalize(origin);
  if (listed(normalized, allowed)) return undefined;
  if (normalized.startsWith('http://') || normalized.startsWith('https://')) {
    return { reason: `the web page at ${origin} is not in foxglove.allowed_origins`, entry: normalized };
  }
  if (normalized === 'null' || normalized === 'file:') {
    if (!isBrowser(userAgent)) return undefined;
    return {
      reason: `a browser page with Origin ${origin} (a page opened from a file, or a sandboxed frame any web site can make) is not in foxglove.allowed_origins (the Foxglove desktop app is let in without it)`,
      entry: normalized === 'null' ? 'null' : 'file://',
    };
  }
  return undefined;
}

/** A browser's User-Agent, which every browser sends and no page can change; an Electron app's names Electron. */
function isBrowser(userAgent: string | undefined): boolean {
  return userAgent !== undefined && userAgent.startsWith('Mozilla/') && !/ Electron\//.test(userAgent);
}

/** Case and trailing slashes aside (`file://` becomes `file:`). */
function normalize(origin: string): string {
  return origin.toLowerCase().replace(/\/+$/, '');
}

function listed(normalized: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => {
    const e = normalize(entry);
    if (e === '*') return true;
    if (e.endsWith(':*')) {
      const base = e.slice(0, -2);
      return (
        normalized === base || (normalized.startsWith(`${base}:`) && /^\d+$/.test(normalized.slice(base.length + 1)))
      );
    }
    return normalized === e;
  });
}

/** How often a refused origin is logged, whatever pages keep trying: one line per interval. */
const LOG_INTERVAL_MS = 10_000;

/** The handshake check (originRefusal), with the refusals counted and logged (throttled). */
export class OriginGuard {
  #log: Logger;
  #throttle: LogBurst<'refused'>;
  #refused = 0;

  constructor(options: { log: Logger; now: () => number }) {
    this.#log = options.log;
    this.#throttle = new LogBurst({ intervalMs: LOG_INTERVAL_MS, now: options.now });
  }

  /** Handshakes refused so far. */
  get refused(): number {
    return this.#refused;
  }

  /** Why a handshake is refused (the 403's reason), or undefined when it is allowed. */
  refusal(
    handshake: { origin: string | undefined; userAgent: string | undefined; client: string },
    allowed: readonly string[],
  ): string | undefined {
    const { origin, userAgent, client } = handshake;
    const refusal = originRefusal(origin, allowed, userAgent);
    if (!refusal) return undefined;
    this.#refused++;
    const held = this.#throttle.take('refused');
    if (held !== undefined) {
      this.#log.warn(
        { client, origin, user_agent: userAgent, held_back: held, key: 'foxglove.allowed_origins', add: refusal.entry },
        `foxglove: refused a WebSocket: ${refusal.reason}. If it is a Foxglove app you use, add '${refusal.entry}' to foxglove.allowed_origins`,
      );
    }
    return `origin ${origin} is not in foxglove.allowed_origins`;
  }
}
