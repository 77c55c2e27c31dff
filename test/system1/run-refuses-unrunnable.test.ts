// A config whose policies can never start is refused when `run` loads it (exit 2, the key named), before anything
// starts: the component that loads them used to fail at start and be retried for ever.
import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.ts';
import { writeUnrunnablePolicies } from './unrunnable-policies.ts';

const tmp = tempDir('run-refuses-unrunnable-');
afterAll(() => tmp.cleanup());
const MISTAKES = writeUnrunnablePolicies(tmp.path);

describe('run refuses a config whose policies can never start', () => {
  it('exits 2 at load for each mistake config check finds, with the same line', async () => {
    const runs = Object.values(MISTAKES).map(async ({ wrong, path, message }) => {
      // A daemon that started would run until stopped: the timeout says so.
      const r = await runCli(['run', '--config', wrong], { cwd: tmp.path, timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(2);
      const lead = `auraison-edge run: invalid config\n${basename(wrong)}: ${path}: `;
      expect(r.stderr.startsWith(lead), r.stderr).toBe(true);
      expect(r.stderr.slice(lead.length)).toMatch(message);
    });
    await Promise.all(runs);
  });
});
