// Two daemons on one Zenoh router: a lab GPU server's serves a chunk policy on ai/inference/vla/act, and a robot's
// control loop is driven by it (policies.<name>.remote.zenoh), behind the robot's own frame. Then a Python queryable
// (test/peers/zenoh/vla_liar.py) lies in every way a reply can, and the server goes away and comes back: each costs
// the loop a hold, counted, with its reason in the robot's status.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import type { RemoteFailure } from '../../daemon/system1/remote/chunk-check.ts';
import { tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { writeChunkModel } from '../system1/models.ts';
import { useZenohNetwork, type Peer } from './zenoh-network.ts';

const ARRAY = 'std_msgs/msg/Float64MultiArray';
const OBS = [1, -1];

interface RemoteDetails {
  endpoint: string;
  state: string;
  reason?: string;
  rtt_p50_ms: number | null;
  requests: number;
  chunks: number;
  failures: Partial<Record<RemoteFailure, number>>;
  last_error: string | null;
}
interface LoopDetails {
  alive: boolean;
  underruns: number;
  fault?: string;
  remote: RemoteDetails;
}

/** The robot's loop `arm` as its control component's health shows it. */
const loopOf = (daemon: Daemon) =>
  (daemon.componentHealth().control!.details as unknown as Record<string, LoopDetails>).arm!;

describe("a robot's loop driven by a policy another daemon serves over Zenoh", () => {
  const zn = useZenohNetwork();
  const tmp = tempDir('zenoh-remote-policy-');
  afterAll(() => tmp.cleanup());
  let model: string;
  let robot: Daemon;
  const commands: { values: number[] }[] = [];

  /** The lab server: the chunk model (action k of 8 is (k + 1) x obs) served on ai/inference/vla/act. */
  const startServer = () =>
    startDaemon({ zenoh: { enabled: true, endpoint: zn.net.wsUrl }, policies: { act: { model } } }, 'gpu-host-');

  /** The robot: a loop at 30 Hz on `key`, in a thread or a process of its own, its observation on its own bus. */
  async function startRobot(key: string, isolation: 'thread' | 'process' = 'thread'): Promise<Daemon> {
    const started = await startDaemon(
      {
        zenoh: { enabled: true, endpoint: zn.net.wsUrl },
        policies: {
          gpu: {
            remote: { zenoh: key, timeout_ms: 500 },
            inputs: { obs: { shape: [2], sources: [{ topic: '/obs', field: 'data' }] } },
            outputs: { actions: { shape: [8, 2], command: { topic: '/cmd', type: ARRAY } } },
          },
        },
        // latest_only: each command is one action of a chunk as the server computed it, not a blend of two.
        control: {
          loops: {
            arm: { policy: 'gpu', rate_hz: 30, on_underrun: 'hold', isolation, chunking: { aggregate: 'latest_only' } },
          },
        },
      },
      'robot-',
    );
    zn.cleanups.push(started.stop);
    const { daemon } = started;
    const codec = new MessageCodec(daemon.definitions);
    daemon.bus.subscribe({
      name: 'test',
      topic: '/cmd',
      handler: (m) =>
        void commands.push({
          values: Array.from(codec.decode<{ data: Float64Array }>(m.type, m.data).data),
        }),
    });
    const obs = daemon.bus.advertise('/obs', ARRAY, { source: 'test' });
    const data = codec.encode(ARRAY, { layout: { dim: [], data_offset: 0 }, data: Float64Array.from(OBS) });
    const timer = setInterval(() => obs.publish(data), 20);
    zn.cleanups.push(async () => clearInterval(timer));
    return daemon;
  }

  beforeAll(async () => {
    model = writeChunkModel(tmp.path, 8);
  });

  let server: Awaited<ReturnType<typeof startServer>> | undefined;

  it("executes the served chunk's actions, with the endpoint and its round trips in the robot's status", async () => {
    server = await startServer();
    zn.cleanups.push(async () => await server?.stop());
    robot = await startRobot('ai/inference/vla/act');
    await waitFor(() => loopOf(robot).remote.chunks >= 3, 'three chunks over Zenoh');
    const { remote } = loopOf(robot);
    expect(remote).toMatchObject({ endpoint: 'zenoh ai/inference/vla/act', state: 'up', failures: {} });
    expect(remote.rtt_p50_ms).toBeGreaterThan(0);
    // Every command is the safe action (zeros, before the first chunk) or one of the chunk's actions, (k + 1) x obs,
    // as the server's model computes them.
    const driven = commands.filter(({ values }) => values.some((v) => v !== 0));
    expect(driven.length).toBeGreaterThan(0);
    for (const { values } of driven) {
      const k = values[0]! - 1;
      expect(Number.isInteger(k) && k >= 0 && k < 8, `command ${JSON.stringify(values)}`).toBe(true);
      expect(values).toEqual([k + 1, -(k + 1)]);
    }
  });

  it('holds while the server is gone, says why, and drives again once it is back', async () => {
    const before = loopOf(robot);
    const unreachable = () => loopOf(robot).remote.failures.unreachable ?? 0;
    const failed = unreachable();
    await server!.stop();
    server = undefined;
    await waitFor(() => unreachable() > failed, 'a request nothing answers');
    expect(loopOf(robot).remote.last_error).toMatch(
      /^unreachable: nothing on the graph answered ai\/inference\/vla\/act/,
    );
    await waitFor(() => loopOf(robot).underruns > before.underruns, 'a held tick');
    expect(loopOf(robot).alive).toBe(true);
    server = await startServer();
    const chunks = loopOf(robot).remote.chunks;
    await waitFor(() => loopOf(robot).remote.chunks >= chunks + 2, 'chunks once the server is back');
  });

  it('drives a loop process (isolation: process), whose requests the daemon asks over its link', async () => {
    const isolated = await startRobot('ai/inference/vla/act', 'process');
    await waitFor(() => loopOf(isolated).remote.chunks >= 3, 'three chunks for the loop process');
    expect(loopOf(isolated)).toMatchObject({ alive: true, remote: { state: 'up', failures: {} } });
    expect(loopOf(isolated).fault).toBeUndefined();
  });
});

describe('a loop whose Zenoh policy lies', () => {
  const zn = useZenohNetwork();
  let robot: Daemon;
  let liar: Peer;

  beforeAll(async () => {
    liar = await zn.peer({ key: 'ai/inference/vla/liar', chunk: [8, 2] }, resolve('test/peers/zenoh/vla_liar.py'));
    const started = await startDaemon(
      {
        zenoh: { enabled: true, endpoint: zn.net.wsUrl },
        policies: {
          liar: {
            remote: { zenoh: 'ai/inference/vla/liar', timeout_ms: 500, max_reply_bytes: 65_536 },
            inputs: { obs: { shape: [2], sources: [{ constant: OBS }] } },
            outputs: { actions: { shape: [8, 2], command: { topic: '/cmd', type: ARRAY } } },
          },
        },
        control: { loops: { arm: { policy: 'liar', rate_hz: 30, on_underrun: 'hold' } } },
      },
      'robot-',
    );
    zn.cleanups.push(started.stop);
    robot = started.daemon;
    await waitFor(() => loopOf(robot).remote.chunks >= 2, 'two honest chunks');
  });

  const cases: [string, RemoteFailure, RegExp][] = [
    ['shape', 'shape', /^shape: actions of shape \[1,8,3\], not the declared \[8,2\]$/],
    ['nan', 'non_finite', /^non_finite: action 1 element 0 is NaN/],
    ['timestep', 'malformed', /^malformed: a reply for timestep \d+, not the observation's \d+$/],
    ['garbage', 'malformed', /^malformed: header length \d+ runs past the end/],
    ['huge', 'too_large', /^too_large: a reply of 2097152 bytes, over remote\.max_reply_bytes \(65536\)$/],
    ['error', 'server_error', /^server_error: ai\/inference\/vla\/liar answered an error: .*failed on purpose/],
    ['silent', 'unreachable', /^unreachable: nothing on the graph answered ai\/inference\/vla\/liar within 500 ms$/],
    ['stall', 'timeout', /^timeout: no reply within remote\.timeout_ms \(500 ms\)$/],
  ];

  it.each(cases)(
    '%s: the loop holds, counts a %s failure and says why, then drives again',
    async (mode, reason, why) => {
      const before = loopOf(robot);
      liar.send(`mode ${mode}`);
      await liar.next((e) => e.event === 'mode' && e.mode === mode, `mode ${mode}`);
      await waitFor(() => (loopOf(robot).remote.failures[reason] ?? 0) > (before.remote.failures[reason] ?? 0), reason);
      expect(loopOf(robot).remote.last_error).toMatch(why);
      await waitFor(() => loopOf(robot).underruns > before.underruns, 'a held tick');
      expect(loopOf(robot).alive).toBe(true);
      liar.send('mode good');
      const chunks = loopOf(robot).remote.chunks;
      await waitFor(() => loopOf(robot).remote.chunks >= chunks + 2, 'honest chunks again');
    },
  );
});
