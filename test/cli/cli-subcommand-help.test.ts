import { describe, expect, it } from 'vitest';
import { runMain } from '../helpers/cli.ts';

describe("a subcommand's --help", () => {
  it('prints that subcommand: its usage, its section, the options and exit codes after it', async () => {
    const help = await runMain(['bag', 'info', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.split('\n')[0]).toBe('Usage: auraison-edge bag info PATH [--json]');
    expect(help.stdout).toContain('What `ros2 bag info` prints');
    expect(help.stdout).toContain('Exit codes: 0 done');
    // None of the other subcommands.
    expect(help.stdout).not.toMatch(/bag (import|repair|play|split|pause|snapshot)/);
  });

  it('takes a form shared by two subcommands (bag pause|resume) and one of a command with headings of its own', async () => {
    const pause = await runMain(['bag', 'pause', '--help']);
    expect(pause.stdout.split('\n')[0]).toMatch(/^Usage: auraison-edge bag pause\|resume /);
    expect(pause.stdout).not.toContain('bag info');
    const query = await runMain(['central', 'query', 'SELECT 1', '--help']);
    expect(query.stdout).toContain('central query "SQL": one read-only statement');
    expect(query.stdout).not.toContain('central check');
    // Its options are the operator commands', not central check's that come first in the help.
    expect(query.stdout).toContain('Options (query, robots, intent, config push):');
    const inspect = await runMain(['lerobot', 'inspect', '--help']);
    expect(inspect.stdout).toContain('inspect   Reads a LeRobot dataset');
    expect(inspect.stdout).not.toContain('Options (export)');
  });

  it("gives each of central's operator commands its own options: acl and keygen list theirs, not intent's", async () => {
    const acl = await runMain(['central', 'acl', '--help']);
    expect(acl.stdout.split('\n')[0]).toMatch(/^Usage: auraison-edge central acl /);
    for (const option of ['--fleet F', '--out FILE', '--conf FILE', '--port N', '--central-password-file'])
      expect(acl.stdout).toContain(`  ${option}`);
    expect(acl.stdout).not.toMatch(/--robot|--expiry-s|--timeout-s|--broker/);
    const keygen = await runMain(['central', 'keygen', '--help']);
    expect(keygen.stdout).toContain('  --out FILE');
    expect(keygen.stdout).not.toMatch(/--robot|--expiry-s|--fleet/);
    const serve = await runMain(['central', 'serve', '--help']);
    expect(serve.stdout).toContain('  --token-file FILE');
    expect(serve.stdout).not.toMatch(/--robot|--expiry-s/);
    const intent = await runMain(['central', 'intent', '--help']);
    expect(intent.stdout).toContain('  --expiry-s N');
    expect(intent.stdout).not.toContain('--central-password-file');
  });

  it('prints the whole help of a command alone, or of one whose help has no section per subcommand', async () => {
    const bag = await runMain(['bag', '--help']);
    expect(bag.stdout).toContain('  bag import PATH...');
    expect(bag.stdout).toContain('  bag snapshot');
    const sim = await runMain(['sim', 'turtlebot-maze', '--help']);
    expect(sim.stdout).toContain('--export-world DIR');
  });
});
