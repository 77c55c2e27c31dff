import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { serveSettings } from './fixtures.ts';

const cleanups = cleanupStack(afterAll);
const ROUNDS = 5;

describe('central serve stopped while its fleet page reads its API', () => {
  it('stops each time, and its process lives on', async () => {
    const dir = tempDir('stop-polled-');
    cleanups.push(dir.cleanup);
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    // In a process of its own: the failure this guards against is a SIGSEGV (one took a vitest worker in CI).
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/central-serve/stop-polled-child.ts',
        JSON.stringify(serveSettings({ broker, dir: dir.path })),
        String(ROUNDS),
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 90_000 },
    );
    const said = `exit ${child.status}, signal ${child.signal}\n${child.stdout}\n${child.stderr.slice(-3000)}`;
    expect(child.signal, said).toBeNull();
    expect(child.status, said).toBe(0);
    expect(child.stdout.trim().split('\n'), said).toEqual(Array.from({ length: ROUNDS }, (_, i) => `stopped ${i}`));
  }, 120_000);
});
