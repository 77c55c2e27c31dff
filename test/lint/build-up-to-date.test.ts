// `npm start` and the tests build dist/ first (package.json's prestart, test/global-setup.ts): a build with nothing
// changed since the last one must not spend seconds writing nothing. Run in a copy of the sources, node_modules
// linked, so that the checkout's dist/, which other tests run meanwhile, is left alone.
import { execFile } from 'node:child_process';
import { cpSync, rmSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.ts';

const work = tempDir('build-up-to-date-');
afterAll(() => work.cleanup());
const copy = work.path;

/** `node ARGS` in the copy: its stdout, or the failure with its stderr. */
function node(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { cwd: copy, timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`node ${args.join(' ')}: ${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

describe('npm run build', () => {
  it('writes nothing when no source changed since the last build, and builds after an edit or a lost output', async () => {
    for (const part of [
      'bin',
      'daemon',
      'adapters',
      'sim',
      'systemd',
      'central',
      'central-link',
      'package.json',
      'tsconfig.json',
    ])
      cpSync(join(ROOT, part), join(copy, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));

    expect(await node(['bin/build.js'])).toMatch(/^dist\/ built in \d+ ms \(\d+ files changed\)\n$/);
    expect(await node(['bin/build.js'])).toMatch(/^dist\/ is up to date \(checked in \d+ ms\)\n$/);
    expect(await node(['bin/build.js', '--force'])).toMatch(/^dist\/ built in \d+ ms \(0 files changed\)\n$/);

    // An edited command: its new summary is in the next build, and in the help that reads it.
    const source = join(copy, 'daemon/cli/commands/reload.ts');
    const text = readFileSync(source, 'utf8');
    const summary = /summary: (['"])(.+?)\1/.exec(text)![2]!;
    writeFileSync(source, text.replace(summary, 'Reload, edited after the last build'));
    expect(await node(['bin/build.js'])).toMatch(/^dist\/ built in \d+ ms \([1-9]\d* files changed\)\n$/);
    expect(await node(['bin/auraison-edge.js', '--help'])).toContain('Reload, edited after the last build');

    // A file of dist/ gone is written again.
    rmSync(join(copy, 'dist/daemon/cli/commands/reload.js'));
    expect(await node(['bin/build.js'])).toMatch(/^dist\/ built in \d+ ms \(1 files changed\)\n$/);
    expect(await node(['bin/build.js'])).toMatch(/is up to date/);
  }, 120_000);
});
