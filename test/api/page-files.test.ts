import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PORTS } from '../../daemon/contract/index.ts';
import { ROOT } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'";
const page = (file: string) => readFileSync(join(ROOT, 'daemon', 'api', 'page', file), 'utf8');

let h: Harness | undefined;
let stopDaemon: (() => Promise<void>) | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await stopDaemon?.();
  stopDaemon = undefined;
});

describe("the status page's files", () => {
  it('are sent as written, typed, revalidated and held to the page policy, with no token', async () => {
    h = await startHarness({ api: { token: 'secret' } });
    for (const [path, file, type] of [
      ['/', 'index.html', 'text/html; charset=utf-8'],
      ['/page/app.js', 'app.js', 'text/javascript; charset=utf-8'],
      ['/page/style.css', 'style.css', 'text/css; charset=utf-8'],
    ]) {
      const r = await http(h.url, path!);
      expect(r.status, path).toBe(200);
      expect(r.text, path).toBe(page(file!));
      expect(r.headers.get('content-type'), path).toBe(type);
      expect(r.headers.get('cache-control'), path).toBe('no-cache');
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(r.headers.get('content-security-policy'), path).toBe(CSP);
    }
    const head = await http(h.url, '/page/app.js', { method: 'HEAD' });
    expect([head.status, head.text, head.headers.get('content-type')]).toEqual([
      200,
      '',
      'text/javascript; charset=utf-8',
    ]);
  });

  it('answers a file it does not have, or a name it does not serve, with a JSON 404 or 400', async () => {
    h = await startHarness();
    const missing = await http(h.url, '/page/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'not_found', message: 'no page asset nope.js' });
    expect((await http(h.url, '/page/index.html')).status).toBe(400);
    expect((await http(h.url, '/page/..%2Fapi.ts')).status).toBe(400);
    expect((await http(h.url, '/?x=1')).status).toBe(400);
  });

  it('lets the page connect to the stop listener, at the host it was opened at', async () => {
    const started = await startDaemon(
      { api: { port: 0 }, motion: { stop: { listener: true } }, foxglove: { enabled: false } },
      'page-',
    );
    stopDaemon = started.stop;
    const url = started.daemon.ports.get(PORTS.api)!.url!;
    const { components } = (await http(url, '/status')).json as {
      components: Record<string, { details?: { stop_url?: string } }>;
    };
    const { port } = new URL(components.api!.details!.stop_url!);
    const r = await http(url, '/');
    expect(port).not.toBe('');
    expect(r.headers.get('content-security-policy')).toBe(`${CSP}; connect-src 'self' http://127.0.0.1:${port}`);
    expect((await http(url, '/page/app.js')).headers.get('content-security-policy')).toBe(CSP);
  });
});
