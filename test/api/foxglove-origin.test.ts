import wsProtocol from '@foxglove/ws-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FoxgloveBridge } from '../../daemon/foxglove/foxglove-bridge.ts';
import { originAllowed } from '../../daemon/foxglove/origin-check.ts';
import { startHarness, type Harness } from './harness.ts';

// A WebSocket handshake is not bound by the same-origin policy: without a check, any web page open in a
// browser on the robot could connect to ws://127.0.0.1:8765, read every topic and drive /cmd_vel.

const { FoxgloveClient } = wsProtocol;
let h: Harness | undefined;
let bridge: FoxgloveBridge | undefined;
afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
  await h?.close();
  h = undefined;
});

/** Opens a Foxglove connection as a browser at `origin` would (undefined: as a script, with no Origin). */
function connect(url: string, origin: string | undefined): Promise<{ opened: true } | { opened: false; status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL], origin === undefined ? {} : { origin });
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

async function startBridge(foxglove: Record<string, unknown> = {}): Promise<FoxgloveBridge> {
  h = await startHarness({ startApi: false, foxglove });
  bridge = new FoxgloveBridge(h.ctx, h.ctx.config.foxglove);
  await bridge.start();
  return bridge;
}

const refused = (b: FoxgloveBridge) => b.metrics().find((f) => f.name === 'auraison_foxglove_refused_origins_total')!.samples[0]!.value;

describe('the Foxglove WebSocket and browser origins', () => {
  it('refuses a web page that is not a Foxglove app, and lets Foxglove\'s web app, desktop apps and scripts in', async () => {
    const b = await startBridge();
    expect(await connect(b.url!, 'https://evil.example')).toEqual({ opened: false, status: 403 });
    expect(await connect(b.url!, 'null')).toEqual({ opened: false, status: 403 }); // a sandboxed iframe of any page
    expect(await connect(b.url!, 'https://app.foxglove.dev')).toEqual({ opened: true });
    expect(await connect(b.url!, 'http://localhost:8080')).toEqual({ opened: true }); // a self-hosted Lichtblick
    expect(await connect(b.url!, 'file://')).toEqual({ opened: true }); // a desktop app's page
    expect(await connect(b.url!, undefined)).toEqual({ opened: true }); // a script
    expect(refused(b)).toBe(2);
  });

  it('takes the origins from foxglove.allowed_origins, and * for any', async () => {
    let b = await startBridge({ allowed_origins: ['https://lichtblick.lab.example'] });
    expect(await connect(b.url!, 'https://lichtblick.lab.example')).toEqual({ opened: true });
    expect(await connect(b.url!, 'https://app.foxglove.dev')).toEqual({ opened: false, status: 403 });
    await bridge!.stop();
    await h!.close();
    b = await startBridge({ allowed_origins: ['*'] });
    expect(await connect(b.url!, 'https://evil.example')).toEqual({ opened: true });
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
});
