import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/index.ts';
import { runMain } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';

describe('status of a daemon that runs but is not ready', () => {
  const cleanups = cleanupStack();

  async function daemonNeeding(minFreeBytes: number) {
    // A free Foxglove port: another test's daemon on 8765 would fail the component, and readiness with it.
    const started = await startDaemon(
      { api: { port: 0, ready: { min_free_bytes: minFreeBytes } }, foxglove: { port: 0 } },
      'not-ready-',
    );
    cleanups.push(started.stop);
    return readApiFile(join(started.dir, 'data'))!.url.replace('0.0.0.0', '127.0.0.1');
  }

  it('exits 3 while it prints NOT READY, text and --json alike, so a script does not read it as success', async () => {
    // No disk has an exabyte free: the disk check fails.
    const url = await daemonNeeding(2 ** 60);
    const text = await runMain(['status', '--url', url]);
    expect(text.stdout).toContain('readiness: NOT READY');
    expect(text.stdout).toMatch(/disk\s+fail/);
    expect(text.code).toBe(3);
    const json = await runMain(['status', '--json', '--url', url]);
    expect(JSON.parse(json.stdout)).toMatchObject({ running: true, status: { readiness: { ready: false } } });
    expect(json.code).toBe(3);
  });

  it('exits 0 when it is running and ready', async () => {
    const url = await daemonNeeding(0);
    const text = await runMain(['status', '--url', url]);
    expect(text.stdout, text.stdout).toContain('readiness: ready');
    expect(text.code).toBe(0);
  });
});
