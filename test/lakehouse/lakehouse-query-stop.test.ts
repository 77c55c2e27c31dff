import { pino } from 'pino';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../daemon/config/load.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { cpuTicks, queryProcesses } from '../helpers/query-processes.ts';

/**
 * The daemon's stop is bounded, a long lakehouse query included: the stop interrupts it (it fails saying so), so
 * the lakehouse stops within its budget instead of being reported still running after the stop.
 */
describe('a lakehouse query in flight at the daemon stop', () => {
  const cleanups = cleanupStack();

  it('is interrupted, says why, and the lakehouse stops within the budget', async () => {
    const dir = tempDir('lakehouse-query-stop-');
    cleanups.push(dir.cleanup);
    const lines: { msg: string }[] = [];
    const yaml = stringify({
      data_dir: './data',
      sim: { enabled: false },
      api: { enabled: false },
      foxglove: { enabled: false },
      lakehouse: { enabled: true, query_timeout_ms: 600_000 },
    });
    const daemon = new Daemon({
      config: parseConfigText(yaml, 'edge.yaml', {}),
      log: pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) }),
      cwd: dir.path,
    });
    await daemon.start();
    const lakehouse = daemon.ports.get(PORTS.lakehouse)!;
    // The catalog is made as the lakehouse starts: a first query once it answers.
    await waitFor(
      () =>
        lakehouse.query('SELECT 1').then(
          () => true,
          () => false,
        ),
      'the lakehouse to answer',
    );
    // Minutes of work for one core, with a timeout of ten minutes: only the stop ends it.
    const query = lakehouse.query('SELECT count(*) FROM range(100000000000) a WHERE hash(a.range) % 7 = 3').then(
      () => 'answered',
      (error: Error) => error.message,
    );
    // Under way: the query process computes (its CPU time grows by a fifth of a second past the warm-up's).
    const used = () => queryProcesses().reduce((sum, pid) => sum + cpuTicks(pid), 0);
    const from = used();
    await waitFor(() => used() >= from + 20, 'the query process to compute', 60_000);
    await daemon.close(5000);
    expect(await query).toBe('the query was stopped: the daemon is stopping');
    expect(lines.filter((l) => l.msg.includes('still running after stop'))).toEqual([]);
  }, 60_000);
});
