import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { ROOT, runMain, tempDir } from '../helpers/cli.ts';

const work = tempDir('info-recording-');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  work.cleanup();
});

/** A recorder in another process, recording 48 KiB splits: resolves with it and its first closed split. */
function recordUntilASplitCloses(bagsDir: string): Promise<{ child: ChildProcess; closed: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/recorder/record-child.ts'), bagsDir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const closed = /^closed (.+)$/m.exec(out)?.[1];
      if (closed) resolve({ child, closed });
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      reject(new Error(`the recorder exited (${code ?? signal}) before a split closed`)),
    );
  });
}

describe('bag info on a bag being recorded', () => {
  it('names the recording process and shows the closed splits and the open one, not "truncated ... bag repair"', async () => {
    const { child, closed } = await recordUntilASplitCloses(join(work.path, 'bags'));
    child.stdout!.removeAllListeners('data');
    child.stdout!.resume();
    child.kill('SIGSTOP'); // holds the recording still while it is looked at: the same open split throughout
    try {
      const bag = dirname(closed);
      const meta = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), bag);
      const listed = meta.relativeFilePaths;
      const open = readdirSync(bag).filter((f) => f.endsWith('.mcap') && !listed.includes(f));
      expect(listed).toContain(basename(closed));
      expect(open.length).toBe(1);

      for (const asked of [bag, join(bag, open[0]!)]) {
        const r = await runMain(['bag', 'info', asked]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(
          `Recording:         being recorded by process ${child.pid}; the figures below are of its closed splits`,
        );
        expect(r.stdout).toMatch(
          new RegExp(`Files: +${listed.join('\\n +')}\\n +${open[0]} \\(open: being written, [\\d.]+ (?:B|KiB)\\)\\n`),
        );
        expect(r.stdout).toMatch(new RegExp(`Messages: +${meta.messageCount}\\n`));
        expect(r.stdout).toContain(`Topic: /seq | Type: std_msgs/msg/String | Count: ${meta.messageCount}`);
      }
      const json = JSON.parse((await runMain(['bag', 'info', bag, '--json'])).stdout) as {
        recording: { pid: number; open: { path: string }[] };
      };
      expect(json.recording.pid).toBe(child.pid);
      expect(json.recording.open.map((f) => f.path)).toEqual([join(bag, open[0]!)]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
