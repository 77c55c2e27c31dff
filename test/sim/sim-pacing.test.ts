// eslint-disable-next-line tests/no-fixed-wait -- the sim's pacing against Node's timer limit: time is what is checked
import { sleep } from '../../daemon/util/index.ts';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import { tempDir } from '../helpers/paths.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/turtlebot-maze-sim.ts';
import { running } from '../helpers/daemon.ts';

/** A daemon running only the sim, at a speed set past the config's bounds (the component must cope). */
async function simAt(speed: number) {
  const dir = tempDir('sim-pace-');
  const config = defaultConfig();
  config.api.enabled = false;
  config.foxglove.enabled = false;
  config.lakehouse.enabled = false;
  config.sim = { ...config.sim, speed, paused: true };
  const daemon = new Daemon({ config, log: silentLogger(), cwd: dir.path });
  await daemon.start();
  const sim = running(daemon, TurtlebotMazeSim);
  if (!sim) throw new Error('no sim');
  return { daemon, sim, cleanup: dir.cleanup };
}

describe('TurtlebotMazeSim pacing', () => {
  it('stops while waiting out a step that, at its speed, lasts years of wall time', async () => {
    const { daemon, sim, cleanup } = await simAt(1e-7);
    try {
      sim.unpause();
      await sim.until(0.01);
      // The second step is due 1e5 s of wall time from now; stopping must not wait for it.
      await sim.close();
      expect(sim.health().state).toBe('stopped');
    } finally {
      await daemon.close();
      cleanup();
    }
  });

  it('does not run fast when a step is longer than a timer can wait (2^31 - 1 ms)', async () => {
    const { daemon, sim, cleanup } = await simAt(1e-9);
    try {
      sim.unpause();
      await sim.until(0.01);
      // Node fires a longer timer after 1 ms: without slicing, the sim would take a step every millisecond.
      await sleep(50);
      expect(sim.time).toBeCloseTo(0.01, 9);
    } finally {
      await daemon.close();
      cleanup();
    }
  });
});
