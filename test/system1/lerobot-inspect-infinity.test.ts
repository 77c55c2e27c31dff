import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLeRobotV30 } from '../../adapters/lerobot/dataset/v30-writer.ts';
import { runMain, tempDir } from '../helpers/cli.ts';

// meta/stats.json as Python's json writes it holds the bare tokens Infinity and NaN: a LaserScan's max is +inf where
// nothing was in range (REP 117). inspect read them as null and warned "element 1 is null, not a number; left out".
const work = tempDir('lerobot-inspect-infinity-');
afterAll(() => work.cleanup());

describe('lerobot inspect of statistics that are not finite', () => {
  it('reads Infinity as Infinity, with no warning, and says which statistic is NaN', async () => {
    const root = join(work.path, 'scan');
    const scan = (r: number) => Float32Array.of(r, Infinity, 1);
    await writeLeRobotV30(root, {
      fps: 10,
      features: [
        { key: 'observation.scan', names: null, dim: 3 },
        { key: 'action', names: ['v'], dim: 1 },
      ],
      episodes: [
        {
          task: 'scan',
          frames: { 'observation.scan': [scan(1), scan(2)], action: [Float32Array.of(0), Float32Array.of(NaN)] },
        },
      ],
    });
    const human = await runMain(['lerobot', 'inspect', root]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/observation\.scan +mean \[1\.50, Infinity, 1\.00\] .*max \[2\.00, Infinity, 1\.00\]/);
    expect(human.stdout).not.toContain('null');
    expect(human.stdout).not.toContain('not a number');
    // A beam at +inf in every frame has a std of NaN (inf - inf), as numpy computes it; its min and max are not said.
    expect(human.stdout).not.toMatch(/stats of observation\.scan: (min|max|mean)/);
    // The action's NaN: its statistics are NaN, and said so (the data's NaN too).
    expect(human.stdout).toContain('stats of action: mean element 0 is NaN');
  });
});
