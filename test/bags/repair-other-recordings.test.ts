import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { mcapMessageCount } from '../helpers/mcap-file.ts';
import { copyBag } from '../helpers/bag-copy.ts';

const MCAP = join(FIXTURES, 'bags/rosbag2/rosbag2_py/test/resources/mcap');
/** rosbags-rs's one-file bag: 188 messages. */
const FOREIGN = join(FIXTURES, 'bags/rosbags-rs/test_bag_mcap/test_bag_mcap.mcap');
/** A bag of five splits, wbag_0.mcap ... wbag_4.mcap, listed in its metadata.yaml. */
const WBAG = join(MCAP, 'wbag');
/** An intact one-file recording of another robot. */
const TALKER = join(MCAP, 'talker/talker.mcap');
const work = tempDir('repair-others-');
afterAll(() => work.cleanup());

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

/** A directory holding a truncated bare recording beside an unrelated intact one. */
function strangers(name: string): { dir: string; cut: string } {
  const dir = join(work.path, name);
  mkdirSync(dir);
  const cut = join(dir, 'drive.mcap');
  copyFileSync(FOREIGN, cut);
  truncateSync(cut, readFileSync(FOREIGN).length - 40); // its footer and part of its summary cut off
  copyFileSync(TALKER, join(dir, 'talker.mcap'));
  return { dir, cut };
}

describe('bag repair never joins the files of different recordings', () => {
  it('bag info of a truncated bare .mcap advises repairing that file, which repairs it alone and leaves the other recording as it was', async () => {
    const { dir, cut } = strangers('advice');
    const talker = readFileSync(join(dir, 'talker.mcap'));
    const info = await runMain(['bag', 'info', cut]);
    expect(info.code).toBe(1);
    expect(info.stderr).toContain(`\`auraison-edge bag repair ${cut}\` recovers what still checks`);

    const r = await runMain(['bag', 'repair', cut]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${cut}: repaired, \\d+ messages kept`));
    expect(existsSync(join(dir, 'metadata.yaml'))).toBe(false);
    expect(readFileSync(join(dir, 'talker.mcap')).equals(talker)).toBe(true);
    expect(await mcapMessageCount(cut)).toBe(188);
    expect((await runMain(['bag', 'info', cut])).code).toBe(0);
  });

  it('a directory of two recordings and no metadata.yaml is refused, naming both, with nothing changed', async () => {
    const { dir, cut } = strangers('refused');
    const before = snapshot(dir);
    const r = await runMain(['bag', 'repair', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dir}: holds the files of 2 recordings (drive.mcap; talker.mcap)`);
    expect(r.stderr).toContain(`give the command one file on its own (${cut})`);
    expect(snapshot(dir)).toEqual(before);
    const info = await runMain(['bag', 'info', dir]);
    expect(info.code).toBe(1);
    expect(info.stderr).toContain('holds the files of 2 recordings');
  });

  it("a bag's truncated last split beside another recording's file: the bag is repaired and listed alone", async () => {
    const dir = copyBag(WBAG, work.path, 'wbag');
    unlinkSync(join(dir, 'metadata.yaml')); // a crash before the recorder wrote it
    const last = join(dir, 'wbag_4.mcap');
    truncateSync(last, readFileSync(last).length - 40);
    copyFileSync(TALKER, join(dir, 'talker.mcap'));
    const talker = readFileSync(join(dir, 'talker.mcap'));

    const r = await runMain(['bag', 'repair', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${dir}: left alone talker.mcap: another recording's file`);
    const meta = parseMetadata(readFileSync(join(dir, 'metadata.yaml'), 'utf8'), dir);
    expect(meta.relativeFilePaths).toEqual(['wbag_0.mcap', 'wbag_1.mcap', 'wbag_2.mcap', 'wbag_3.mcap', 'wbag_4.mcap']);
    expect(meta.topics.map((t) => t.name)).not.toContain('/chatter');
    expect(readFileSync(join(dir, 'talker.mcap')).equals(talker)).toBe(true);

    const info = await runMain(['bag', 'info', dir]);
    expect(info.code).toBe(0);
    expect(info.stderr).toContain(`${dir}: left out talker.mcap: not split of this bag`);
    expect(info.stdout).toMatch(new RegExp(`Messages: +${meta.messageCount}\\n`));
  });

  it('a metadata.yaml naming a split that is gone: the warning names the files read instead', async () => {
    const dir = copyBag(WBAG, work.path, 'gone');
    unlinkSync(join(dir, 'wbag_4.mcap'));
    const info = await runMain(['bag', 'info', dir]);
    expect(info.code).toBe(0);
    expect(info.stderr).toContain(
      'reading the storage files present instead (wbag_0.mcap, wbag_1.mcap, wbag_2.mcap, wbag_3.mcap)',
    );
  });
});
