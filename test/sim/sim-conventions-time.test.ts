import { describe, expect, it } from 'vitest';
import { generateMaze, MazeWorld } from '../../sim/turtlebot-maze/index.ts';
import { simStamp } from '../../sim/turtlebot-maze/messages.ts';
import { StepRate } from '../../sim/turtlebot-maze/schedule.ts';

/**
 * Stamps stay on the sim's 10 ms grid, and /scan shares its stamp with an /odom and /tf, however long the sim
 * runs. Both drifted: the world's time was a running sum of 0.01 (709.33 s came out as 709.329999999 s), and the
 * publication schedule a running sum of periods (from 1128 s on, a /scan went out a step after its /tf, so a TF
 * lookup at the scan's stamp had to extrapolate). A soak run or a day-long sim gets there.
 */
describe('turtlebot-maze sim time over long runs', () => {
  it('keeps every step of the world on the 10 ms grid, to the nanosecond, past 709.33 s', () => {
    const world = new MazeWorld({ maze: generateMaze({ seed: 7 }), seed: 1 });
    const off: string[] = [];
    for (let k = 1; k <= 75_000; k++) {
      world.step(0.01);
      const { sec, nanosec } = simStamp(world.time);
      if (sec * 100 + nanosec / 1e7 !== k) off.push(`step ${k}: ${sec} s ${nanosec} ns`);
    }
    expect(off.length, off.slice(0, 3).join('; ')).toBe(0);
    expect(world.time).toBe(750);
  });

  it('schedules /odom at 30 Hz and /scan at 5 Hz on 100 Hz steps in whole steps, every scan step an odom step', () => {
    const odom = new StepRate(30, 100);
    const scan = new StepRate(5, 100);
    let odoms = 0;
    const problems: string[] = [];
    for (let step = 0; step < 1_000_000; step++) {
      // The n-th odometry message goes out at the first step at or after n / 30 s: step ceil(10 n / 3).
      const isOdom = odom.due(step);
      if (isOdom !== (step === Math.ceil((odoms * 10) / 3)))
        problems.push(`/odom ${isOdom ? 'at' : 'not at'} step ${step}`);
      if (isOdom) odoms++;
      const isScan = scan.due(step);
      if (isScan !== (step % 20 === 0)) problems.push(`/scan ${isScan ? 'at' : 'not at'} step ${step}`);
      if (isScan && !isOdom) problems.push(`/scan without /odom and /tf at step ${step}`);
      if (problems.length > 3) break;
    }
    expect(problems).toEqual([]);
    expect(odoms).toBe(300_000);
  });

  it('refuses a rate it cannot keep in whole steps', () => {
    expect(() => new StepRate(30.5, 100)).toThrow(
      'a step rate needs whole numbers 1 <= hz <= stepHz, got 30.5 Hz on 100 Hz steps',
    );
    expect(() => new StepRate(200, 100)).toThrow(/got 200 Hz on 100 Hz steps/);
  });
});
