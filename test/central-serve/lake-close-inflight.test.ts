import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker } from '../helpers/mosquitto.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { serveSettings } from './fixtures.ts';

const cleanups = cleanupStack(afterAll);

describe("central's fleet lake closed while statements run on it", () => {
  it('waits for them (reads interrupted, the transaction finished), refuses new ones, and the process lives', async () => {
    const dir = tempDir('lake-close-inflight-');
    cleanups.push(dir.cleanup);
    // The lake alone is opened: the settings need a broker's URL, which nothing connects to.
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const settings = serveSettings({ broker, dir: dir.path });
    // In a process of its own: the failure this guards against is a SIGSEGV, which would take a vitest worker.
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'test/central-serve/lake-close-child.ts', JSON.stringify(settings)],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    const said = `exit ${child.status}, signal ${child.signal}\n${child.stdout}\n${child.stderr.slice(-3000)}`;
    expect(child.signal, said).toBeNull();
    expect(child.status, said).toBe(0);
    const outcome = JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, string | string[]>;
    // Central's own reads are cut short: no one waits for their answer once central stops.
    for (const read of outcome.reads as string[]) expect(read, said).toMatch(/^refused: .*interrupt/i);
    // The writer's transaction is not: an ingest or an upload's registration ends as it would have.
    expect(outcome.write, said).toBe('answered');
    expect(outcome.fleet, said).toMatch(/^refused: /);
    expect(outcome.after, said).toBe('refused: the fleet lake (its reader) is closed');
    expect(outcome.afterWrite, said).toBe('refused: the fleet lake is closed');
  }, 90_000);
});
