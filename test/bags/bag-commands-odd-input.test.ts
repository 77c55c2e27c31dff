import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { copyBag, folderSnapshot } from '../helpers/bag-copy.ts';

/** rosbags-rs bags (metadata.yaml version 5): 188 messages in one .mcap, and the same in one .db3. */
const MCAP_BAG = join(FIXTURES, 'bags/rosbags-rs/test_bag_mcap');
const DB3_BAG = join(FIXTURES, 'bags/rosbags-rs/test_bag_sqlite3');
const work = tempDir('bags-odd-');
afterAll(() => work.cleanup());

describe('bag info, repair and import with odd input: an error naming the file and what to do, exit 1, nothing changed', () => {
  it(
    'a torn metadata.yaml beside an .mcap file: info says bag repair rebuilds it, and after the repair it reads',
    { timeout: 60_000 },
    async () => {
      const dir = copyBag(MCAP_BAG, work.path, 'torn-meta');
      const meta = join(dir, 'metadata.yaml');
      writeFileSync(meta, readFileSync(meta).subarray(0, 300));
      const info = await runMain(['bag', 'info', dir]);
      expect(info.code).toBe(1);
      expect(info.stderr).toMatch(
        new RegExp(
          `^auraison-edge bag: ${meta}: not valid YAML: [^\\n]*line \\d+, column \\d+; \`auraison-edge bag repair ${dir}\` rebuilds it from the \\.mcap files present \\(test_bag_mcap\\.mcap\\), keeping this one as metadata\\.yaml\\.orig\\n$`,
        ),
      );
      expect((await runMain(['bag', 'repair', dir])).code).toBe(0);
      const after = await runMain(['bag', 'info', dir]);
      expect(after.code).toBe(0);
      expect(after.stdout).toMatch(/Messages:\s+188\n/);
    },
  );

  it('a metadata.yaml listing a file that is not there: repair says it left it off', async () => {
    const dir = copyBag(MCAP_BAG, work.path, 'missing-listed');
    const meta = join(dir, 'metadata.yaml');
    writeFileSync(meta, readFileSync(meta, 'utf8').replaceAll('test_bag_mcap.mcap', 'gone.mcap'));
    const repair = await runMain(['bag', 'repair', dir]);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain(
      `${dir}: metadata.yaml rewritten, 188 messages (the old one listed gone.mcap, not in the bag: left off); the old one kept as ${meta}.orig`,
    );
  });

  it(
    "a 0-byte .db3 file (SQLite takes it for an empty database): info no longer shows metadata.yaml's 188 messages",
    { timeout: 60_000 },
    async () => {
      const dir = copyBag(DB3_BAG, work.path, 'empty-db3');
      const file = join(dir, 'test_bag_sqlite3.db3');
      writeFileSync(file, '');
      const before = folderSnapshot(dir);
      const empty = `${file}: the file is empty (0 bytes): it holds no message (cut short by a crash or a full disk, or never written)`;
      const info = await runMain(['bag', 'info', dir]);
      expect(info.code).toBe(1);
      expect(info.stderr).toContain(
        `${empty}; what metadata.yaml says of it cannot be trusted. Restore it from a copy, or move it out of the bag directory to read the rest`,
      );
      const repair = await runMain(['bag', 'repair', dir]);
      expect(repair.code).toBe(1);
      expect(repair.stderr).toContain(`${empty}; not modified (bag repair rewrites only MCAP files)`);
      const data = join(work.path, 'data-empty-db3');
      writeFileSync(join(work.path, 'empty-db3.yaml'), `data_dir: ${data}\n`);
      const imported = await runMain(['bag', 'import', dir, '--config', join(work.path, 'empty-db3.yaml')]);
      expect(imported.code).toBe(1);
      expect(imported.stderr).toContain(`${empty}; nothing can be read from it`);
      expect(folderSnapshot(dir)).toEqual(before);
    },
  );

  it('a damaged .db3 page: the error quotes what quick_check found, not its "*** in database main ***" heading', async () => {
    const dir = copyBag(DB3_BAG, work.path, 'damaged-db3');
    const file = join(dir, 'test_bag_sqlite3.db3');
    const bytes = readFileSync(file);
    bytes.fill(0xde, 4096 * 5, 4096 * 5 + 4000);
    writeFileSync(file, bytes);
    const info = await runMain(['bag', 'info', dir]);
    expect(info.code).toBe(1);
    expect(info.stderr).toMatch(
      new RegExp(`${file}: file is damaged \\(malformed\\): SQLite's quick_check says "[^"*]+"`),
    );
    expect(info.stderr).not.toContain('*** in database');
  });

  it('a bag in a directory it may not write: permission denied, named, with what to do; nothing changed', async () => {
    const dir = copyBag(MCAP_BAG, work.path, 'read-only');
    const file = join(dir, 'test_bag_mcap.mcap');
    const bytes = readFileSync(file);
    bytes[1]! ^= 0x01; // damaged magic: repair must write (a backup, then the rewrite)
    writeFileSync(file, bytes);
    chmodSync(work.path, 0o755);
    chmodSync(dir, 0o555);
    const before = folderSnapshot(dir);
    // root may write anywhere: the CLI runs as nobody then.
    const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const run = spawnSync(
      asUser[0] ?? process.execPath,
      [...asUser.slice(1), ...(asUser.length ? [process.execPath] : []), BIN, 'bag', 'repair', dir],
      { encoding: 'utf8' },
    );
    chmodSync(dir, 0o755);
    expect(run.status).toBe(1);
    // link (a hard link as the backup) when the user owns the file, else copyfile (the fallback when linking is
    // refused).
    const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    expect(run.stderr).toMatch(
      new RegExp(
        `${esc(file)}: permission denied \\((link|copyfile) to ${esc(file)}\\.orig\\); the repair stopped there, and each split is whole or as it was\\. Run \`auraison-edge bag repair\` as a user who may read and write the bag`,
      ),
    );
    expect(folderSnapshot(dir)).toEqual(before);
  });

  it('a metadata.yaml that is a directory', async () => {
    const dir = join(work.path, 'meta-dir');
    mkdirSync(dir);
    cpSync(join(MCAP_BAG, 'test_bag_mcap.mcap'), join(dir, 'test_bag_mcap.mcap'));
    mkdirSync(join(dir, 'metadata.yaml'));
    const before = folderSnapshot(dir);
    const info = await runMain(['bag', 'info', dir]);
    expect(info.code).toBe(1);
    expect(info.stderr).toContain(`${join(dir, 'metadata.yaml')}: cannot be read (EISDIR)`);
    const repair = await runMain(['bag', 'repair', dir]);
    expect(repair.code).toBe(1);
    expect(repair.stderr).toContain(
      `${join(dir, 'metadata.yaml')}: is not a file: not modified, nor is anything else in the bag. Move it out of the bag directory`,
    );
    expect(folderSnapshot(dir)).toEqual(before);
  });
});
