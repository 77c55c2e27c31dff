import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/index.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';

describe('stop --url', () => {
  const cleanups = cleanupStack();

  it('says which daemon it stopped, as it does without --url: the one that answered there', async () => {
    const started = await startDaemon({ api: { port: 0 }, foxglove: { enabled: false }, log: { level: 'warn' } });
    cleanups.push(started.stop);
    const url = readApiFile(join(started.dir, 'data'))!.url.replace('0.0.0.0', '127.0.0.1');
    const elsewhere = tempDir('stop-url-');
    cleanups.push(elsewhere.cleanup);

    const stopped = await runMain(['stop', '--url', url], { cwd: elsewhere.path });
    expect(stopped.stderr).toBe('');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout.split('\n').slice(0, 2)).toEqual([
      `daemon: ${join(started.dir, 'data')} (pid ${process.pid}, ${url})`,
      expect.stringMatching(/^stopped: zero Twist on \/cmd_vel/),
    ]);
    const stop = started.daemon.status().components.stop!.details as { stop_latch: unknown };
    expect(stop.stop_latch).not.toBeNull();
  });
});
