import { describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { http } from '../api/http.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';

const cleanups = cleanupStack();

function runsByStatus(metrics: string): Map<string, number> {
  return new Map(
    [...metrics.matchAll(/^auraison_runs\{status="([a-z_]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]),
  );
}

// Found by the soak (scratch/soak): a daemon that ran more than 100 runs showed auraison_runs summing to 100
// forever, and a run waiting for approval dropped out of the gauge once 100 newer runs had come.
describe('auraison_runs over a long-running daemon', () => {
  it('counts every run the agent holds, however many came after a run still awaiting approval', async () => {
    const d = await startDaemon(
      {
        api: { port: 0 },
        foxglove: { enabled: false },
        lakehouse: { enabled: false },
        journal: { fsync: 'never' },
        agent: { require_approval: ['read_topic'] },
      },
      'soak-runs-',
    );
    cleanups.push(d.stop);
    let api: ReturnType<typeof readApiFile>;
    await waitFor(() => (api = readApiFile(d.daemon.dataDir)) !== undefined, 'run/api.json');
    const url = api!.url;

    const waiting = await http(url, '/intents', { body: { type: 'read_topic', params: { topic: '/odom' } } });
    expect(waiting.status, waiting.text).toBe(201);
    const cycles = 120;
    for (let i = 0; i < cycles; i++) {
      // Not a stop: the stop skill is the operator's stop, which would cancel the waiting run.
      const r = await http(url, '/intents', {
        body: { type: 'publish', params: { topic: '/soak', type: 'std_msgs/msg/String', fields: { data: 'x' } } },
      });
      expect(r.status, r.text).toBe(201);
    }
    const held = () => d.daemon.ports.get(PORTS.agent)!.listRuns({ limit: 1e9 });
    await waitFor(
      () => held().filter((r) => r.status === 'succeeded').length === cycles,
      `${cycles} publish runs to succeed`,
    );

    const counts = runsByStatus((await http(url, '/metrics')).text);
    expect(counts.get('awaiting_approval')).toBe(1);
    expect(counts.get('succeeded')).toBe(cycles);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(cycles + 1);
  });
});
