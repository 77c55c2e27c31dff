/**
 * Which browser origins may open the Foxglove WebSocket. A WebSocket handshake is not bound by the
 * same-origin policy: without this check any web page open in a browser on the robot (or on a laptop with
 * the port forwarded) could connect to ws://127.0.0.1:8765, read every topic and, with client publishing
 * on, drive /cmd_vel.
 *
 * - No `Origin` header: not a browser (a script, a bridge, a CLI); allowed, as it could connect anyway.
 * - An `http:`/`https:` origin, or `null` (a sandboxed iframe, which any page can make): only when listed.
 * - Any other scheme (`file://`, an Electron app's own scheme): a desktop app, not a web page; allowed.
 *
 * A listed entry is an exact origin (`https://app.foxglove.dev`), one ending in `:*` for any port
 * (`http://localhost:*`), or `*` for any origin at all.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined || origin === '') return true;
  const normalized = origin.toLowerCase().replace(/\/+$/, '');
  const web = normalized === 'null' || normalized.startsWith('http://') || normalized.startsWith('https://');
  if (!web) return true;
  return allowed.some((entry) => {
    const e = entry.toLowerCase().replace(/\/+$/, '');
    if (e === '*') return true;
    if (e.endsWith(':*')) {
      const base = e.slice(0, -2);
      return normalized === base || (normalized.startsWith(`${base}:`) && /^\d+$/.test(normalized.slice(base.length + 1)));
    }
    return normalized === e;
  });
}

