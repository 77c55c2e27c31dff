// A release lets the robot move again; it does not move it. After `stop --release` an autostart loop holds its safe
// action until an operator starts it: `control start LOOP`, or the start_loop skill (as MCP's submit_intent sends it).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PORTS } from '../../daemon/contract/index.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { writeLinearModel } from './models.ts';

const tmp = tempDir('release-holds-');
const cleanups = cleanupStack();
afterAll(() => tmp.cleanup());

describe("after the operator's stop is released", () => {
  it('an autostart loop holds its safe action until an operator starts it, by the CLI or the start_loop skill', async () => {
    const model = writeLinearModel(tmp.path, 'drive', [1, 0, 0, 1], [0, 0]);
    const { daemon, codec, dir, stop } = await startDaemon(
      {
        sim: { enabled: false },
        foxglove: { enabled: false },
        api: { port: 0 },
        policies: {
          p: {
            model,
            inputs: { obs: { sources: [{ constant: [1, 2] }] } },
            outputs: { actions: { command: { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray' } } },
          },
        },
        control: { loops: { arm: { policy: 'p', rate_hz: 50 } } },
      },
      'release-holds-',
    );
    cleanups.push(stop);
    const sent: boolean[] = [];
    daemon.bus.subscribe({
      name: 'test',
      topic: '/cmd',
      handler: (m) => void sent.push(codec.decode<{ data: Float64Array }>(m.type, m.data).data[0] !== 0),
    });
    const url = daemon.ports.get(PORTS.api)!.url!;
    const cli = (...args: string[]) => runMain([...args, '--url', url], { cwd: dir, env: { USER: 'ada' } });
    const next = async (n: number) => {
      const from = sent.length;
      await waitFor(() => sent.length >= from + n, `${n} more commands`);
      return sent.slice(from);
    };
    const drives = async () => waitFor(async () => (await next(5)).every(Boolean), 'the policy driving');
    const holds = async () => waitFor(async () => (await next(5)).every((moving) => !moving), 'the safe action');
    await drives();

    for (const start of ['cli', 'skill'] as const) {
      expect((await cli('stop', '--reason', `round ${start}`)).code).toBe(0);
      await holds();
      // Not while the stop is latched.
      const early = await cli('control', 'start', 'arm');
      expect(early.code).toBe(1);
      expect(early.stderr).toMatch(
        /^auraison-edge control start: the robot is stopped: latched by ada .*\(round .*release the stop first/,
      );

      const released = await cli('stop', '--release');
      expect(released.code, released.stderr).toBe(0);
      // Released, and nothing moves by itself: every command from here on is the safe action.
      expect((await next(50)).filter(Boolean)).toEqual([]);
      const status = await cli('status');
      expect(status.stdout).toMatch(
        /\n +HELD at its safe action: held since the operator's stop: the stop was released, and the loop waits for an operator's start \(`auraison-edge control start arm`\)\n/,
      );

      if (start === 'cli') {
        const started = await cli('control', 'start', 'arm');
        expect(started.code, started.stderr).toBe(0);
        expect(started.stdout).toBe('loop "arm" started: its policy drives\n');
      } else {
        const intent = await cli('intent', 'start_loop', '--params', '{"name": "arm"}', '--wait');
        expect(intent.code, intent.stdout + intent.stderr).toBe(0);
        expect(intent.stdout).toMatch(/succeeded/);
      }
      await drives();
      expect((await cli('status')).stdout).not.toContain('HELD');
    }

    const unknown = await cli('control', 'start', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no autostart loop "nope" (autostart loops: arm');
    expect((await runMain(['control', 'begin', 'arm'], { cwd: join(dir) })).code).toBe(2);
  });
});
