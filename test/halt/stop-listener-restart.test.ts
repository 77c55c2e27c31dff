import type { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { spawnHaltListener, HaltListener } from '../../daemon/api/halt-listener.ts';
import { Bus, DefinitionsRegistry, MessageCodec } from '../../daemon/bus/index.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { HaltAuthority } from '../../daemon/halt/index.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups = cleanupStack();

// What the listener's thread serves off the loop (agent/stop over Zenoh) is the main loop's again while the thread is
// down: RobotHaltAuthority.offLoopTaker says no thread takes stops from its exit until it listens again.
describe("the stop listener's thread, when it dies", () => {
  it('hands what it served off the loop back to the main loop until it listens again', async () => {
    const dir = tempDir('stop-listener-restart-');
    cleanups.push(() => dir.cleanup());
    const journal = new MemoryJournal();
    const haltAuthority = new HaltAuthority({
      bus: new Bus(),
      codec: new MessageCodec(new DefinitionsRegistry()),
      config: parseConfigText('data_dir: ./data\n', 'edge.yaml', {}),
      dataDir: dir.path,
      journal: () => journal,
      log: pino({ level: 'silent' }),
    });
    const workers: Worker[] = [];
    const listener = new HaltListener({
      haltAuthority,
      host: '127.0.0.1',
      port: 0,
      token: '',
      apiUrl: 'http://127.0.0.1:1',
      log: pino({ level: 'silent' }),
      scheduling: { policy: 'other', rtPriority: 1, nice: 0 },
      spawn: (data) => {
        const worker = spawnHaltListener(data);
        workers.push(worker);
        return worker;
      },
    });
    cleanups.push(() => listener.close());
    const takers: boolean[] = [];
    const { unlisten } = haltAuthority.offLoopTaker((present) => takers.push(present));
    cleanups.push(unlisten);

    await listener.start();
    await waitFor(() => takers.at(-1) === true, 'a thread to take stops');
    await workers[0]!.terminate();
    await waitFor(() => takers.at(-1) === false, 'the main loop to take them back');
    await waitFor(() => workers.length === 2 && takers.at(-1) === true, 'the thread back, taking them');
    expect(takers).toEqual([true, false, true]);
    expect(listener.counters.threadExits).toBe(1);
  });
});
