// Several drives in one lakehouse: one window over a topic's whole span made one episode that held the last command
// of a drive across the time between drives, in silence. The export now warns, naming the gap and the query that
// gives each drive's span (docs/system1.md, "One episode per drive"); one --episode per bag exports each drive alone.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain, tempDir, testConfig } from '../helpers/cli.ts';

const work = tempDir('lerobot-export-drives-');
afterAll(() => work.cleanup());
const DRIVES = ['charging_dock', 'far_corner', '4.55,4.55'];
let config: string;

async function cli(args: string[]) {
  return runMain([...args, '--config', config], { cwd: work.path });
}

/** `query --csv` rows, header dropped. */
function csvRows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
}

// At 1 fps a gap counts from 2 s on: the time between two drives (a daemon's stop and start), never a stall of a
// loaded machine inside a drive.
describe('lerobot export of a lakehouse holding several drives', () => {
  beforeAll(async () => {
    config = testConfig(work.path);
    for (const [i, goal] of DRIVES.entries()) {
      // The time between two drives is at least 3 s of wall clock, what the 2 s gap at 1 fps needs: a quick machine
      // starts the next daemon sooner than that, and the export would then rightly see no gap at all.
      // The wall-clock gap between drives is the data the export must see.
      // eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 3000));
      const drive = await cli(['sim', 'turtlebot-maze', '--goal', goal, '--speed', '50', '--record']);
      expect(drive.code, drive.stderr).toBe(0);
    }
  }, 300_000);

  it("warns that one window over the whole span holds a command across the gaps, and exports one episode per bag's span", async () => {
    const span = csvRows((await cli(['query', 'SELECT min(log_time), max(log_time) FROM "/cmd_vel"', '--csv'])).stdout);
    const out = join(work.path, 'merged');
    const merged = await cli([
      'lerobot',
      'export',
      out,
      '--fps',
      '1',
      '--feature',
      'action=/cmd_vel:linear.x,angular.z',
      '--window',
      `${span[0]![0]},${span[0]![1]}`,
      '--max-frames',
      '100000000',
    ]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toContain('1 episodes');
    expect(merged.stderr).toMatch(/warning: episode 0: feature action \(\/cmd_vel\) has no sample for [\d.]+ m?s/);
    expect(merged.stderr).toContain('times its median period');
    expect(merged.stderr).toContain('export each as its own --episode');

    // The query the warning and the docs give: each bag's span.
    const query = /auraison-edge query "([^"]+)" --csv/.exec(merged.stderr)![1]!;
    const bags = csvRows((await cli(['query', query, '--csv'])).stdout);
    expect(bags).toHaveLength(DRIVES.length);
    const split = await cli([
      'lerobot',
      'export',
      join(work.path, 'drives'),
      '--fps',
      '1',
      '--feature',
      'action=/cmd_vel:linear.x,angular.z',
      ...bags.flatMap(([, start, end]) => ['--episode', `${start},${end}`]),
    ]);
    expect(split.code, split.stderr).toBe(0);
    expect(split.stdout).toContain(`${DRIVES.length} episodes`);
    expect(split.stderr).not.toContain('has no sample for');
  }, 120_000);
});
