// Each command's usage line promises what the command takes, as the README's CLI table and its --help say.
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';

const work = tempDir('cli-usage-lines-');
afterAll(() => work.cleanup());

describe('usage lines match what each subcommand takes', () => {
  it('bag info and bag repair take one path: their usage says so, and bad usage shows only the form used', async () => {
    const help = await runMain(['bag', '--help'], { cwd: work.path });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /^Usage: auraison-edge bag info PATH \[--json\]\n {7}auraison-edge bag import PATH\.\.\. /,
    );
    expect(help.stdout).toContain('\n       auraison-edge bag repair DIR|FILE.mcap [--json]\n');
    const two = await runMain(['bag', 'info', 'a', 'b'], { cwd: work.path });
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('unexpected argument: b');
    expect(two.stderr).toContain('Usage: auraison-edge bag info PATH [--json]\n');
    expect(two.stderr).not.toContain('PATH...');
  });

  it('runs list takes --token, as its options say: the usage line names it', async () => {
    const help = await runMain(['runs', '--help'], { cwd: work.path });
    expect(help.code).toBe(0);
    expect(help.stdout.split('\n')[0]).toContain('[--url URL] [--token TOKEN]');
  });
});
