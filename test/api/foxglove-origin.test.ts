import wsProtocol from '@foxglove/ws-protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { FoxgloveBridge } from '../../daemon/foxglove/foxglove-bridge.ts';
import { originAllowed } from '../../daemon/foxglove/origin-check.ts';
import { foxgloveTestBed } from './foxglove-harness.ts';

// A WebSocket handshake is not bound by the same-origin policy: without a check, any web page open in a
// browser on the robot could connect to ws://127.0.0.1:8765, read every topic and drive /cmd_vel.

const { FoxgloveClient } = wsProtocol;
const { start } = foxgloveTestBed();

/** What a browser sends as User-Agent; no page can change it. */
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
/** What the Foxglove desktop app sends: Electron's default User-Agent, which names the app and Electron. */
const FOXGLOVE_DESKTOP =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Foxglove/2.12.0 Chrome/128.0.6613.36 Electron/32.0.1 Safari/537.36';

/**
 * Opens a Foxglove connection as a client with this `origin` and `userAgent` would (undefined: the header is
 * not sent, as by a script).
 */
function connect(
  url: string,
  origin: string | undefined,
  userAgent?: string,
): Promise<{ opened: true } | { opened: false; status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL], {
      ...(origin === undefined ? {} : { origin }),
      headers: userAgent ? { 'User-Agent': userAgent } : {},
    });
    ws.once('open', () => {
      ws.terminate();
      resolve({ opened: true });
    });
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      resolve({ opened: false, status: res.statusCode ?? 0 });
    });
    ws.once('error', (error) => reject(error));
  });
}

async function startBridge(foxglove: { allowed_origins?: string[] } = {}): Promise<FoxgloveBridge> {
  return (await start({ foxglove })).bridge;
}

const refused = (b: FoxgloveBridge) =>
  b.metrics().find((f) => f.name === 'auraison_foxglove_refused_origins_total')!.samples[0]!.value;

describe('the Foxglove WebSocket and browser origins', () => {
  it("refuses a web page that is not a Foxglove app, and lets Foxglove's web app, desktop apps and scripts in", async () => {
    const b = await startBridge();
    expect(await connect(b.url!, 'https://evil.example', CHROME)).toEqual({ opened: false, status: 403 });
    // a sandboxed iframe of any page
    expect(await connect(b.url!, 'null', CHROME)).toEqual({ opened: false, status: 403 });
    expect(await connect(b.url!, 'https://app.foxglove.dev', CHROME)).toEqual({ opened: true });
    // a self-hosted Lichtblick
    expect(await connect(b.url!, 'http://localhost:8080', CHROME)).toEqual({ opened: true });
    expect(await connect(b.url!, 'file://')).toEqual({ opened: true }); // a desktop app's page
    expect(await connect(b.url!, undefined)).toEqual({ opened: true }); // a script
    expect(refused(b)).toBe(2);
  });

  it('lets the Foxglove desktop app in with the default config (Origin null from Electron), but not a browser page with Origin null', async () => {
    const b = await startBridge();
    // Electron serves the app's pages from file://, for which Chromium sends Origin null (file:// before Chrome 92).
    expect(await connect(b.url!, 'null', FOXGLOVE_DESKTOP)).toEqual({ opened: true });
    expect(await connect(b.url!, 'file://', FOXGLOVE_DESKTOP)).toEqual({ opened: true });
    // a WebSocket library: every browser sends a User-Agent
    expect(await connect(b.url!, 'null')).toEqual({ opened: true });
    // The same origins from a browser: a page opened from a file, or a sandboxed iframe that any web site can make.
    expect(await connect(b.url!, 'null', FIREFOX)).toEqual({ opened: false, status: 403 });
    expect(await connect(b.url!, 'file://', CHROME)).toEqual({ opened: false, status: 403 });
    expect(refused(b)).toBe(2);
  });

  it('lets browser pages with Origin null in when foxglove.allowed_origins lists null', async () => {
    const b = await startBridge({ allowed_origins: ['null'] });
    expect(await connect(b.url!, 'null', CHROME)).toEqual({ opened: true });
    // an older browser's file:// page: listed apart
    expect(await connect(b.url!, 'file://', CHROME)).toEqual({ opened: false, status: 403 });
  });

  it('logs a refusal with the key to set and the value to add, at most once per 10 s', async () => {
    let now = 0;
    const lines: { msg: string; key?: string; add?: string; origin?: string; held_back?: number }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { bridge } = await start({}, { now: () => now }, { log });
    const refusals = () => lines.filter((l) => l.msg.startsWith('foxglove: refused a WebSocket'));
    expect(await connect(bridge.url!, 'null', CHROME)).toEqual({ opened: false, status: 403 });
    expect(await connect(bridge.url!, 'https://evil.example', CHROME)).toEqual({ opened: false, status: 403 });
    expect(refusals()).toHaveLength(1);
    now += 10_000;
    expect(await connect(bridge.url!, 'https://lab.example:8080', CHROME)).toEqual({ opened: false, status: 403 });
    expect(refusals()).toMatchObject([
      { origin: 'null', key: 'foxglove.allowed_origins', add: 'null', held_back: 0 },
      {
        origin: 'https://lab.example:8080',
        key: 'foxglove.allowed_origins',
        add: 'https://lab.example:8080',
        held_back: 1,
      },
    ]);
    expect(refusals()[0]!.msg).toBe(
      "foxglove: refused a WebSocket: a browser page with Origin null (a page opened from a file, or a sandboxed frame any web site can make) is not in foxglove.allowed_origins (the Foxglove desktop app is let in without it). If it is a Foxglove app you use, add 'null' to foxglove.allowed_origins",
    );
    expect(refusals()[1]!.msg).toBe(
      "foxglove: refused a WebSocket: the web page at https://lab.example:8080 is not in foxglove.allowed_origins. If it is a Foxglove app you use, add 'https://lab.example:8080' to foxglove.allowed_origins",
    );
  });

  it('takes the origins from foxglove.allowed_origins, and * for any', async () => {
    let b = await startBridge({ allowed_origins: ['https://lichtblick.lab.example'] });
    expect(await connect(b.url!, 'https://lichtblick.lab.example', CHROME)).toEqual({ opened: true });
    expect(await connect(b.url!, 'https://app.foxglove.dev', CHROME)).toEqual({ opened: false, status: 403 });
    b = await startBridge({ allowed_origins: ['*'] });
    expect(await connect(b.url!, 'https://evil.example', CHROME)).toEqual({ opened: true });
  });
});

describe('originAllowed', () => {
  it('matches exact origins, any port with :*, case and a trailing slash aside', () => {
    const allowed = ['https://app.foxglove.dev', 'http://localhost:*'];
    expect(originAllowed('HTTPS://App.Foxglove.dev/', allowed)).toBe(true);
    expect(originAllowed('https://app.foxglove.dev.evil.example', allowed)).toBe(false);
    expect(originAllowed('http://localhost', allowed)).toBe(true);
    expect(originAllowed('http://localhost:5173', allowed)).toBe(true);
    expect(originAllowed('http://localhost:5173.evil.example', allowed)).toBe(false);
    expect(originAllowed('http://localhost.evil.example:80', allowed)).toBe(false);
    expect(originAllowed('https://localhost:443', allowed)).toBe(false);
    expect(originAllowed('app://foxglove', allowed)).toBe(true);
    expect(originAllowed('', allowed)).toBe(true);
    expect(originAllowed('null', ['null'])).toBe(true);
  });

  it("tells a browser from a desktop app by the User-Agent for origins that are not a page's own (null, file://)", () => {
    expect(originAllowed('null', [], FOXGLOVE_DESKTOP)).toBe(true);
    expect(originAllowed('null', [], undefined)).toBe(true);
    expect(originAllowed('null', [], 'python-websockets/13.1')).toBe(true);
    expect(originAllowed('null', [], CHROME)).toBe(false);
    expect(originAllowed('NULL', [], CHROME)).toBe(false);
    expect(originAllowed('file:///', [], FIREFOX)).toBe(false);
    expect(originAllowed('file://', ['file://'], FIREFOX)).toBe(true);
    // Electron in a browser's User-Agent as a word of its own only, not part of another.
    expect(originAllowed('null', [], `${CHROME} NotElectron/1.0`)).toBe(false);
    // An Electron User-Agent does not open http(s) origins: those are pages served from somewhere.
    expect(originAllowed('https://evil.example', [], FOXGLOVE_DESKTOP)).toBe(false);
  });
});
