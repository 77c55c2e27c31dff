import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { defaultConfig } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import { Navigator } from '../../daemon/navigation/navigator.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { running } from '../helpers/daemon.ts';

/**
 * Runs the sim with the navigator to the charging dock; returns a hash of every CDR payload on the sensor topics, in
 * order.
 */
async function run(seed: number): Promise<{ hash: string; messages: number }> {
  const dir = tempDir('determinism-');
  const config = defaultConfig();
  config.api.enabled = false;
  config.foxglove.enabled = false;
  config.sim = { ...config.sim, seed, speed: 1000, paused: true };
  const daemon = new Daemon({ config, log: silentLogger(), cwd: dir.path });
  const hash = createHash('sha256');
  let messages = 0;
  daemon.bus.subscribe({
    name: 'hasher',
    topic: '/**',
    queue: { policy: 'drop-newest', depth: 100_000 },
    handler: (msg) => {
      if (msg.topic === '/clock') return;
      hash.update(msg.topic).update(msg.data);
      messages++;
    },
  });
  try {
    await daemon.start();
    const navigator = new Navigator({ bus: daemon.bus, codec: new MessageCodec(daemon.definitions) });
    navigator.start();
    running(daemon, TurtlebotMazeSim)!.unpause();
    const result = await navigator.navigateTo({ x: 6.55, y: 1.55 }, { timeoutS: 120 });
    navigator.close();
    expect(result.reached).toBe(true);
    await daemon.close();
    return { hash: hash.digest('hex'), messages };
  } finally {
    dir.cleanup();
  }
}

describe('turtlebot-maze determinism', () => {
  it('publishes byte-identical /scan, /odom, /tf, camera and /cmd_vel streams for the same seed, and different ones for another', async () => {
    const a = await run(3);
    const b = await run(3);
    const c = await run(4);
    expect(a.messages).toBeGreaterThan(1000);
    expect(b).toEqual(a);
    expect(c.hash).not.toBe(a.hash);
  });
});
