// package.json's engines (>= 22), checked where a user meets it: the CLI run by an older Node.js says so and how to get
// Node.js 24, before it loads anything. The older release is this node with process.versions.node set back.
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli } from '../helpers/cli.ts';

/** `auraison-edge ...args` on this node, as if it were Node.js `version`. */
const runAs = (version: string, args: string[]) =>
  runCli(args, {
    env: {
      NODE_OPTIONS: `--import=data:text/javascript,Object.defineProperty(process.versions,'node',{value:'${version}'})`,
    },
  });

describe('the Node.js release', () => {
  it('an older one than engines allows is refused with exit 2, naming how to get Node.js 24', async () => {
    const r = await runAs('20.20.2', ['intent', 'navigate_to', '--params', '{"x": 1}']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^auraison-edge: Node\.js 20\.20\.2 is too old: it needs Node\.js 22 or newer/);
    expect(r.stderr).toContain(`export PATH="$(bash ${ROOT}/.ci/node 24.21.0)/bin:$PATH" && npm ci`);
    // the command as given, quoted for the shell, to run again on Node.js 24
    expect(r.stderr).toContain(`npx -y node@24 ${BIN} intent navigate_to --params '{"x": 1}'`);
  });

  it('22, the oldest supported, runs', async () => {
    const r = await runAs('22.12.0', ['--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: auraison-edge/);
  });
});
