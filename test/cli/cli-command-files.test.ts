import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCommands } from '../../daemon/cli/main.ts';
import { ROOT, runMain } from '../helpers/cli.ts';

describe('the CLI loads the command it runs', () => {
  it('finds every command in the file named after it, which is the one it loads for a run', async () => {
    const files = readdirSync(join(ROOT, 'daemon', 'cli', 'commands'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => f.slice(0, -'.ts'.length))
      .sort();
    expect([...(await loadCommands()).keys()].sort()).toEqual(files);
  });

  it('still lists every command for --help and suggests one for a typo', async () => {
    const help = await runMain(['--help']);
    expect(help.stdout).toMatch(/^ {2}status +Show the running daemon's status/m);
    expect(help.stdout).toMatch(/^ {2}install-service +/m);
    const typo = await runMain(['statsu']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown command "statsu" (did you mean "status"?)');
  });
});
