import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { afterAll, describe, expect, it } from 'vitest';
import { bagInfo } from '../../daemon/bags/bag-info.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { Recorder, type RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';

/**
 * A recorder killed between making a bag directory and writing its `.recording` marker left an empty
 * directory under bags/ that no start removed (it has no marker, so it is no bag left open): `bag info`
 * and `bag import bags/*` failed on it for good (`not a bag: no metadata.yaml and no .mcap or .db3 files in
 * it`). Found by the crash-point sweep (test/crash-torture/sweep.ts, the start's change #17).
 */

const work = tempDir('crash-bag-dir-');
afterAll(() => work.cleanup());

describe('a recorder killed right after making its bag directory', () => {
  it('leaves an empty directory, which the next start removes: every directory under bags/ is a bag', async () => {
    const bagsDir = join(work.path, 'bags');
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'test', 'recorder', 'crash-bag-dir-child.ts'), bagsDir],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const [left] = readdirSync(bagsDir);
    expect(readdirSync(join(bagsDir, left!))).toEqual([]); // the crash's state

    const lines: { msg: string; bag?: string }[] = [];
    const log = pino(
      { level: 'warn' },
      { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
    );
    const settings = { ...(Value.Default(RecorderConfig, {}) as RecorderSettings), enabled: true, min_free_bytes: 0 };
    const recorder = new Recorder({ bus: new Bus(), definitions: new DefinitionsRegistry(), log, bagsDir, settings });
    await recorder.start();
    await recorder.close();

    const bags = readdirSync(bagsDir);
    // Only the bag this start recorded (nothing: an empty bag), which may have taken the removed one's name
    // (a bag is named by the second it was made in).
    expect(bags).toHaveLength(1);
    for (const bag of bags) await expect(bagInfo(join(bagsDir, bag))).resolves.toMatchObject({ messageCount: 0 });
    expect(lines).toContainEqual(
      expect.objectContaining({
        bag: join(bagsDir, left!),
        msg: expect.stringMatching(/^recorder: removed an empty bag directory/),
      }),
    );
  });
});
