import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/index.ts';
import { runMain } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';

describe('intent while the robot is stopped', () => {
  const cleanups = cleanupStack();

  it(
    'says the robot is stopped and exits 1 with the refusal, not 0 with a pending run',
    { timeout: 60_000 },
    async () => {
      const { dir, stop } = await startDaemon(
        { sim: { enabled: true, speed: 10 }, api: { port: 0 }, lakehouse: { enabled: false } },
        'intent-stopped-',
      );
      cleanups.push(stop);
      const url = readApiFile(join(dir, 'data'))!.url.replace('0.0.0.0', '127.0.0.1');
      const stopped = await runMain(['stop', '--url', url, '--by', 'ada', '--reason', 'person in the aisle']);
      expect(stopped.code, stopped.stderr).toBe(0);

      const moving = await runMain(['intent', 'navigate_to', '--params', '{"x": 1.5, "y": 1.5}', '--url', url]);
      expect(moving.stderr).toContain('the robot is stopped (latched by ada at ');
      expect(moving.stdout).toMatch(/run \S+: failed \(.*the robot is stopped: latched by ada .*person in the aisle/);
      expect(moving.code).toBe(1);

      // What does not move still runs while stopped, and says so with exit 0.
      const reading = await runMain(['intent', 'stop', '--url', url]);
      expect(reading.stdout).toMatch(/run \S+: succeeded/);
      expect(reading.code).toBe(0);
    },
  );
});
