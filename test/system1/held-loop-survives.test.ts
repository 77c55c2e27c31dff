// A loop the operator's stop held waits for an operator's start after the release: a reload that restarts the control
// component, and a restart of the daemon on the same data dir, keep it holding its safe action until then.
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../daemon/config/index.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { writeLinearModel } from './models.ts';
import { stringify } from 'yaml';

const tmp = tempDir('held-loop-');
const cleanups = cleanupStack();
afterAll(() => tmp.cleanup());

describe('a loop held since the stop', () => {
  it('holds on across a reload and a restart after the release, until an operator starts it', async () => {
    const model = writeLinearModel(tmp.path, 'drive', [1, 0, 0, 1], [0, 0]);
    const config = (rate: number) => ({
      sim: { enabled: false },
      foxglove: { enabled: false },
      api: { port: 0 },
      data_dir: tmp.path,
      policies: {
        p: {
          model,
          inputs: { obs: { sources: [{ constant: [1, 2] }] } },
          outputs: { actions: { command: { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray' } } },
        },
      },
      control: { loops: { arm: { policy: 'p', rate_hz: rate } } },
    });
    const watch = async () => {
      const started = await startDaemon(config(50), 'held-loop-');
      const { daemon, codec } = started;
      const sent: boolean[] = [];
      daemon.bus.subscribe({
        name: 'test',
        topic: '/cmd',
        handler: (m) => void sent.push(codec.decode<{ data: Float64Array }>(m.type, m.data).data[0] !== 0),
      });
      const url = daemon.ports.get(PORTS.api)!.url!;
      const cli = (...args: string[]) => runMain([...args, '--url', url], { cwd: tmp.path, env: { USER: 'ada' } });
      /** The next `n` commands: each true when it moved (the policy's), false for the safe action. */
      const next = async (n: number) => {
        const from = sent.length;
        await waitFor(() => sent.length >= from + n, `${n} more commands`);
        return sent.slice(from, from + n);
      };
      return { ...started, cli, next };
    };

    const first = await watch();
    cleanups.push(first.stop);
    await waitFor(async () => (await first.next(5)).every(Boolean), 'the policy driving');
    expect((await first.cli('stop', '--reason', 'arm swap')).code).toBe(0);
    expect((await first.cli('stop', '--release')).code).toBe(0);
    expect((await first.next(20)).filter(Boolean)).toEqual([]);

    // A reload that restarts the control component (another rate): still held.
    const restarted = await first.daemon.reload(
      parseConfigText(stringify({ ...config(40), data_dir: tmp.path }), 'edge.yaml', {}),
    );
    expect(restarted).toContain('control');
    expect((await first.next(20)).filter(Boolean)).toEqual([]);
    await first.daemon.close();

    // A restart on the same data dir, with no latch: still held.
    const second = await watch();
    cleanups.push(second.stop);
    expect((await second.next(20)).filter(Boolean)).toEqual([]);
    const started = await second.cli('control', 'start', 'arm');
    expect(started.code, started.stderr).toBe(0);
    await waitFor(async () => (await second.next(5)).every(Boolean), 'the policy driving once started');
  });
});
