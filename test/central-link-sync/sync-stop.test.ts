import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { waitOnline } from '../central/central-harness.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { centralClient, startBroker } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import { addSyncFiles, syncConfig } from './sync-harness.ts';

/**
 * The daemon stopped while bulk sync is offering a backlog (central silent, so offers keep going): sync ends
 * before the broker connection closes, so no offer is published on a client being torn down (seen at SIGTERM:
 * "Cannot read properties of null (reading 'set')" five times, then the central component overran its stop).
 */
describe('stopping during bulk sync', () => {
  const cleanups = cleanupStack();

  it('publishes nothing on a closing connection and logs no failed send', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const watcher = await centralClient(broker.url, ['+/+/+/uploads', '+/+/uploads', '#']);
    cleanups.push(watcher.end);
    for (let round = 0; round < 3; round++) {
      const dir = tempDir('sync-stop-');
      cleanups.push(dir.cleanup);
      const lines: { level: number; msg: string; err?: string }[] = [];
      const log = pino(
        { level: 'info' },
        { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
      );
      const config = syncConfig(broker.url, {}, { offers_per_s: 1000, max_outstanding_offers: 1000 });
      const daemon = new Daemon({
        config: parseConfigText(stringify({ data_dir: './data', ...config }), 'edge.yaml', {}),
        log,
        cwd: dir.path,
      });
      await daemon.start();
      await waitOnline(daemon);
      await addSyncFiles(
        join(dir.path, 'data'),
        Array.from({ length: 400 }, () => 16),
      );
      // Stopped as soon as the first offers arrive: the pump is offering the backlog as the link goes.
      const before = watcher.received.filter((m) => (m.json as { type?: string })?.type === 'offer').length;
      await waitFor(
        () => watcher.received.filter((m) => (m.json as { type?: string })?.type === 'offer').length > before,
        'the first offers',
      );
      await daemon.close();
      const failed = lines.filter((l) => l.msg.startsWith('sync: a message to central was not sent'));
      expect(failed.map((l) => l.err)).toEqual([]);
      expect(lines.filter((l) => l.msg.includes('still running after stop'))).toEqual([]);
    }
  }, 120_000);
});
