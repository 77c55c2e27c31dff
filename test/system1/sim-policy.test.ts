import { afterAll, describe, expect, it } from 'vitest';
import { createPolicyDriver } from '../../sim/scan-policy/policy-driver.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { componentContext } from '../helpers/component-context.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('turtlebot-maze driven by the ONNX policy through a control loop', () => {
  it('drives the robot from /scan to /cmd_vel without hitting a wall, and reports loop statistics', async () => {
    const ctx = componentContext('sim: { enabled: true, speed: 2 }', { dataDir: tmp.path });
    const { bus, definitions, log } = ctx;
    const sim = new TurtlebotMazeSim(ctx);
    // /scan comes at 5 Hz of sim time, every 100 ms of wall time at speed 2. The age limit is ten scan
    // periods, so only a stopped scan stream (not a loaded CI machine) makes the loop send the safe action.
    const driver = await createPolicyDriver({ bus, definitions, log }, { rateHz: 20, maxObservationAgeMs: 1000 });
    await sim.start();
    await sim.until(8);
    const stats = driver.stats();
    await driver.close();
    await sim.close();
    bus.close();

    expect(stats.ticks).toBeGreaterThan(0);
    expect(stats.commands - stats.safeCommands).toBeGreaterThan(0);
    expect(stats.errors).toBe(0);
    expect(stats.meanLinear).toBeGreaterThan(0);
    expect(sim.world.distance).toBeGreaterThan(0.3);
    expect(sim.world.collisions).toBe(0);
    expect(driver.summary().join('\n')).toMatch(/policy loop: \d+ ticks at 20 Hz \(step\)/);
  });
});
