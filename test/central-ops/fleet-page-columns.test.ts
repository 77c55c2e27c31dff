import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { BrowserContext } from 'playwright-core';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { startCentralServe, type CentralServe } from '../../central/serve.ts';
import { sharedChromium } from '../api/chromium.ts';
import { centralConfig } from '../central/central-harness.ts';
import { serveSettings } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { publishCommand } from '../helpers/command-key.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { skillIntent } from '../helpers/intents.ts';
import { centralClient, startBroker } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups = cleanupStack();
const chromium = sharedChromium();
afterAll(() => chromium.close());

/** central serve's log lines, as JSON objects, kept in order. */
function capturedLog() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

describe("the fleet page's sync and intent columns, in headless Chromium", () => {
  it(
    "shows a robot's sync figures from its heartbeat and each run's intent from its run_state; central check is not refused",
    {
      timeout: 180_000,
    },
    async () => {
      const broker = await startBroker();
      cleanups.push(() => broker.cleanup());
      const dir = tempDir('fleet-columns-');
      cleanups.push(dir.cleanup);
      const settings = serveSettings({ broker, dir: dir.path });
      const { log, lines } = capturedLog();
      const serve: CentralServe = await startCentralServe(
        { ...settings, http: { ...settings.http, enabled: true, host: '127.0.0.1', port: 0 } },
        { log },
      );
      cleanups.push(() => serve.close());
      const robot = await startDaemon(
        {
          robot: { id: 'tb1', fleet: 'lab' },
          api: { enabled: false },
          foxglove: { enabled: false },
          central: centralConfig(broker.url, { sync: { enabled: true } }),
        },
        'fleet-columns-tb1-',
      );
      cleanups.push(robot.stop);
      await waitFor(
        () => serve.view.robots().some((r) => r.robot === 'tb1' && r.sync),
        'a heartbeat with sync figures',
      );

      const sender = await centralClient(broker.url, [], { clientId: 'test-central-sender' });
      cleanups.push(sender.end);
      const intent = skillIntent('stop', {});
      await publishCommand(sender.client, 'auraison/lab/tb1/intents', JSON.stringify(intent));

      const context: BrowserContext = await chromium.context({ viewport: { width: 1280, height: 900 } });
      cleanups.push(() => context.close());
      const page = await context.newPage();
      await page.goto(`${serve.httpUrl}/?refresh=0.3`);
      const sync = page.locator('#robots tr[data-robot="tb1"] td.sync');
      await expect.poll(() => sync.textContent()).toMatch(/^\d+ file\(s\), [0-9.]+ [kMGT]?B waiting; \d+ stored/);
      const intentCell = page.locator('#runs td.intent');
      await expect.poll(() => intentCell.first().textContent(), { timeout: 30_000 }).toBe('stop');
      expect(await intentCell.first().getAttribute('title')).toBe(intent.intent_id);

      // `central check` from another robot's config: its probe on the heartbeat topic is said, not refused.
      const file = join(dir.path, 'tb2.yaml');
      writeFileSync(
        file,
        stringify({
          data_dir: './tb2-data',
          robot: { id: 'tb2', fleet: 'lab' },
          central: centralConfig(broker.url),
        }),
      );
      const check = await runCli(['central', 'check', '--config', file], { cwd: dir.path });
      expect(check.stdout + check.stderr).toMatch(/publish auraison\/lab\/tb2\/heartbeat: acknowledged/);
      await waitFor(
        () => lines.some((l) => l.msg.includes('robot tb2 ran `central check`')),
        "central's word on the check",
      );
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    },
  );
});
