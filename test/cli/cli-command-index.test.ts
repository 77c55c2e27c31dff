import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCommands } from '../../daemon/cli/main.ts';
import { ROOT, runCli, runMain } from '../helpers/cli.ts';

// The built CLI lists its commands from the index the build writes (dist/daemon/cli/commands.json), not by loading
// every command: what it prints must be what loading them all prints (the sources, through main()).
describe('the command index the build writes', () => {
  it("holds every command's name and summary, in the order the help lists them", async () => {
    const index = JSON.parse(readFileSync(join(ROOT, 'dist', 'daemon', 'cli', 'commands.json'), 'utf8')) as unknown;
    const loaded = [...(await loadCommands()).values()].map(({ name, summary }) => ({ name, summary }));
    expect(index).toEqual(loaded);
  });

  it('gives the built CLI the help, the usage and the suggestion that loading every command gives', async () => {
    for (const args of [['--help'], ['help'], [], ['statsu'], ['--help', 'status'], ['--help', 'nosuch']]) {
      const [built, sources] = await Promise.all([runCli(args), runMain(args)]);
      expect({ code: built.code, stdout: built.stdout, stderr: built.stderr }, args.join(' ')).toEqual({
        code: sources.code,
        stdout: sources.stdout,
        stderr: sources.stderr,
      });
    }
  });
});
