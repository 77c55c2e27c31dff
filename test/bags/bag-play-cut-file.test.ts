import { readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { copyBag } from '../helpers/bag-copy.ts';

/** A bag of five splits, wbag_0.mcap ... wbag_4.mcap. */
const WBAG = join(FIXTURES, 'bags/rosbag2/rosbag2_py/test/resources/mcap/wbag');
const work = tempDir('play-cut-');
afterAll(() => work.cleanup());

describe('bag play of a bag with a file cut part way', () => {
  it('reports the messages it published before the cut, then the error, exit 1', async () => {
    const bag = copyBag(WBAG, work.path, 'wbag');
    const cut = join(bag, 'wbag_2.mcap');
    truncateSync(cut, Math.floor(readFileSync(cut).length / 2));

    const text = await runMain(['bag', 'play', bag, '--rate', '1000'], { cwd: work.path });
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`auraison-edge bag play: ${cut}`);
    const published = /^published before the error (\d+) message\(s\) on (\d+) topic\(s\)/m.exec(text.stdout);
    expect(published, text.stdout).not.toBeNull();
    expect(Number(published![1])).toBeGreaterThan(0);

    const json = await runMain(['bag', 'play', bag, '--rate', '1000', '--json'], { cwd: work.path });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { error: string; messages: Record<string, number> };
    expect(report.error).toContain(cut);
    expect(Object.values(report.messages).reduce((n, c) => n + c, 0)).toBe(Number(published![1]));
  });
});
