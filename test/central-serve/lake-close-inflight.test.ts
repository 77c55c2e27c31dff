import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CentralServeConfig } from '../../central/config.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { serveSettings } from './fixtures.ts';

// Central's fleet lake closed while statements still run on it. Each case runs in a child process: the failure
// they guard against is a SIGSEGV (DuckDB's bindings free a connection under a running statement), which took a
// vitest worker in CI, or a hang.
const cleanups = cleanupStack(afterAll);
let settings: CentralServeConfig;
beforeAll(async () => {
  const dir = tempDir('lake-close-inflight-');
  cleanups.push(dir.cleanup);
  const broker = await startBroker();
  cleanups.push(broker.cleanup);
  settings = serveSettings({ broker, dir: dir.path });
});

/** Runs test/central-serve/<script> with the settings and `args`; its stdout, once it has ended by itself, well. */
function child(script: string, ...args: string[]): { stdout: string; said: string } {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', `test/central-serve/${script}`, JSON.stringify(settings), ...args],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  const said = `exit ${run.status}, signal ${run.signal}\n${run.stdout}\n${run.stderr.slice(-3000)}`;
  expect(run.signal, said).toBeNull();
  expect(run.status, said).toBe(0);
  return { stdout: run.stdout, said };
}

describe("central's fleet lake closed while statements run on it", () => {
  it('waits for them (reads interrupted, the transaction finished), refuses new ones, and the process lives', () => {
    const { stdout, said } = child('lake-close-child.ts');
    const outcome = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, string | string[]>;
    // Central's own reads are cut short: no one waits for their answer once central stops.
    for (const read of outcome.reads as string[]) expect(read, said).toMatch(/^refused: .*interrupt/i);
    // The writer's transaction is not: an ingest or an upload's registration ends as it would have.
    expect(outcome.write, said).toBe('answered');
    expect(outcome.fleet, said).toMatch(/^refused: /);
    expect(outcome.after, said).toBe('refused: the fleet lake (its reader) is closed');
    expect(outcome.afterWrite, said).toBe('refused: the fleet lake is closed');
  }, 90_000);

  it('central serve stopped while its fleet page reads its API: stops each time, and its process lives on', () => {
    const rounds = 5;
    const { stdout, said } = child('stop-polled-child.ts', String(rounds));
    expect(stdout.trim().split('\n'), said).toEqual(Array.from({ length: rounds }, (_, i) => `stopped ${i}`));
  }, 90_000);
});
