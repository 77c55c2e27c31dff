import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import wsProtocol, { type Channel, type MessageData } from '@foxglove/ws-protocol';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';
import { http } from './http.ts';
import { sharedChromium } from './chromium.ts';
import { SseClient } from './sse-client.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';

const { FoxgloveClient } = wsProtocol;
const cleanups = cleanupStack();

describe('the API, the status page and the Foxglove server on a real daemon (sim, agent, durable journal)', () => {
  // Its query runs at nice 19: under test:stress's CPU hogs it alone may take most of a minute.
  it(
    'serves status, readiness, metrics, the event stream with replay, approvals from the page, the live map and Foxglove',
    { timeout: 240_000 },
    async () => {
      const dir = tempDir('api-daemon-');
      cleanups.push(dir.cleanup);
      const config = join(dir.path, 'edge.yaml');
      writeFileSync(
        config,
        stringify({
          robot: { id: 'api-e2e' },
          data_dir: './data',
          sim: { enabled: true },
          // A query (its process at nice 19) gets a minute: with the cores held by other work (test:stress), the
          // default 10 s ran out on SELECT 42.
          api: { port: 0, query: { timeout_ms: 60_000 } },
          foxglove: { port: 0 },
          agent: { require_approval: ['stop'] },
        }),
      );
      const daemon = new DaemonProcess(dir.path, config);
      cleanups.push(() => void daemon.child.kill('SIGKILL'));
      await daemon.running();
      const dataDir = join(dir.path, 'data');
      const api = await waitForValue(() => readApiFile(dataDir), 'run/api.json');
      const url = api.url;

      // Readiness names its checks; the sim and the agent run; no model is configured (skill intents only).
      const ready = await http(url, '/readyz');
      const checks = new Map((ready.json.checks as { name: string; status: string }[]).map((c) => [c.name, c.status]));
      expect(checks.get('bus')).toBe('pass');
      expect(checks.get('component:sim')).toBe('pass');
      expect(checks.get('model_endpoint')).toBe('skip');
      expect(ready.status, ready.text).toBe(200);

      // The event stream from the start of the durable journal.
      const first = new SseClient(`${url}/events?last_event_id=0`);
      cleanups.push(() => first.close());

      const created = await http(url, '/intents', { body: { type: 'stop', params: {} } });
      expect(created.status, created.text).toBe(201);
      const runId = (created.json.run as { run_id: string }).run_id;
      await waitFor(
        async () => ((await http(url, `/runs/${runId}`)).json.run as { status: string }).status === 'awaiting_approval',
        'the run to wait for approval',
      );

      // Approve in the status page, in headless Chromium; the run resumes and finishes.
      const chromium = sharedChromium();
      cleanups.push(() => chromium.close());
      const browser = await chromium.context({ viewport: { width: 1280, height: 1100 } });
      const page = await browser.newPage();
      const consoleLines: string[] = [];
      page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
      await page.goto(url);
      await page.locator('#robot', { hasText: 'api-e2e' }).waitFor();
      await page.locator(`#approvals li[data-run="${runId}"]`).getByRole('button', { name: 'Approve' }).click();
      await page
        .locator(`#runs tr[data-run="${runId}"] td.status`, { hasText: 'succeeded' })
        .waitFor({ timeout: 30_000 })
        .catch(async (error: Error) => {
          const shown = await page
            .locator('#runs')
            .innerText()
            .catch(() => '');
          throw new Error(
            `${error.message}\nthe page shows: ${shown}\nbrowser console: ${consoleLines.join(' | ')}\nthe run: ${(await http(url, `/runs/${runId}`)).text.slice(0, 600)}`,
          );
        });
      await page.locator('#map-info', { hasText: 'cells' }).waitFor();
      await page.locator('#topics tbody tr', { hasText: '/scan' }).waitFor();
      mkdirSync(join(ROOT, 'test', '.tmp'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'test', '.tmp', 'status-page-sim.png'), fullPage: true });
      const got = await http(url, `/runs/${runId}`);
      const kinds = (got.json.events as { kind: string; payload: { by?: string } }[]).map((e) => e.kind);
      expect(kinds).toEqual(expect.arrayContaining(['approval.requested', 'approval.granted']));
      expect(
        (got.json.events as { kind: string; payload: { by?: string } }[]).find((e) => e.kind === 'approval.granted')
          ?.payload.by,
      ).toBe('status-page');

      // Every journal record reached the first client; a reconnect from the middle replays the rest, in order.
      const lastSeq = (await http(url, '/status')).json.journal as { last_seq: number };
      await first.until((e) => e.some((x) => Number(x.id) === lastSeq.last_seq), 'the whole journal');
      const firstIds = first.events.map((e) => Number(e.id));
      expect(firstIds).toEqual(Array.from({ length: lastSeq.last_seq }, (_, i) => i + 1));
      const middle = Math.floor(lastSeq.last_seq / 2);
      const again = new SseClient(`${url}/events`, { 'last-event-id': String(middle) });
      cleanups.push(() => again.close());
      await again.until((e) => e.some((x) => Number(x.id) === lastSeq.last_seq), 'the replay');
      expect(again.events.map((e) => e.data)).toEqual(first.events.slice(middle).map((e) => e.data));

      // Metrics: bus topics of the sim, runs by status.
      const metrics = (await http(url, '/metrics')).text;
      expect(metrics).toMatch(
        /^auraison_bus_messages_total\{topic="\/scan",type="sensor_msgs\/msg\/LaserScan"\} [1-9]\d*$/m,
      );
      expect(metrics).toContain('auraison_runs{status="succeeded"} 1');
      expect(metrics).toContain('auraison_foxglove_clients');

      // Read-only SQL on the real lakehouse; a write is refused with the path named.
      const answer = await http(url, '/query', { body: { sql: 'SELECT 42 AS answer' } });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json).toMatchObject({ columns: [{ name: 'answer' }], rows: [[42]], truncated: false });
      const write = await http(url, '/query', { body: { sql: 'DROP TABLE bags' } });
      expect(write.status).toBe(400);
      expect(write.json.issues?.[0]).toMatchObject({ path: 'body.sql', message: expect.stringContaining('read-only') });

      // The live map: the sim's latched /map and the robot's pose.
      const live = new SseClient(`${url}/live/map`);
      cleanups.push(() => live.close());
      await live.until(
        (e) => e.some((x) => x.event === 'map') && e.some((x) => x.event === 'pose'),
        'the map and a pose',
      );
      const map = JSON.parse(live.events.find((e) => e.event === 'map')!.data) as {
        width: number;
        height: number;
        cells: string;
      };
      expect(Buffer.from(map.cells, 'base64').length).toBe(map.width * map.height);

      // Foxglove: /scan with its schema, decoded from what the client gets.
      const status = await http(url, '/status');
      const foxgloveUrl = (status.json.components as Record<string, { details?: { url?: string } }>).foxglove!.details!
        .url!;
      const ws = new WebSocket(foxgloveUrl, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
      cleanups.push(() => ws.terminate());
      const client = new FoxgloveClient({ ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
      const channels = new Map<string, Channel>();
      const messages: MessageData[] = [];
      client.on('advertise', (list) => list.forEach((c) => channels.set(c.topic, c)));
      client.on('message', (m) => messages.push(m));
      const scan = await waitForValue(() => channels.get('/scan'), 'the /scan channel');
      client.subscribe(scan.id);
      await waitFor(() => messages.length > 0, 'a scan');
      const reader = new MessageReader(parse(scan.schema, { ros2: true }));
      const decoded = reader.readMessage<{ ranges: Float32Array; header: { frame_id: string } }>(messages[0]!.data);
      expect(decoded.ranges.length).toBeGreaterThan(100);
      expect(decoded.header.frame_id).toBeTruthy();

      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
      expect(readApiFile(dataDir)).toBeUndefined();
    },
  );
});
