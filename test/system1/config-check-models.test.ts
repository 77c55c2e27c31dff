// `config check` reads each policy's model, statistics and loops as their components' start does: a config that can
// never run is not `valid`. Each mistake here passed the check before, then failed the component at every retry.
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';
import { writeUnrunnablePolicies } from './unrunnable-policies.ts';

const tmp = tempDir('config-check-models-');
afterAll(() => tmp.cleanup());
const MISTAKES = writeUnrunnablePolicies(tmp.path);

// From another directory: the models and stats file named relative to the config file are found beside it.
const check = (file: string, ...flags: string[]) =>
  runMain(['config', 'check', '--config', file, ...flags], { cwd: '/' });

describe('config check reads the policies as their start does', () => {
  for (const [mistake, { wrong, right, path, message }] of Object.entries(MISTAKES)) {
    it(`refuses ${mistake} (exit 2), naming ${path}, and passes it written right`, async () => {
      const r = await check(wrong);
      expect(r.code, r.stdout).toBe(2);
      const lead = `${basename(wrong)}: ${path}: `;
      expect(r.stdout.startsWith(lead), r.stdout).toBe(true);
      expect(r.stdout.slice(lead.length)).toMatch(message);
      expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);

      const json = await check(wrong, '--json');
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, problems: [{ path }] });

      const fixed = await check(right);
      expect(fixed, fixed.stdout).toMatchObject({ code: 0, stdout: `${basename(right)}: valid\n` });
    });
  }

  it('reads only the policies a component loads: one neither served nor in a loop is left to whoever uses it', async () => {
    const unused = join(tmp.path, 'unused.yaml');
    writeFileSync(unused, 'data_dir: ./data\nsim:\n  enabled: false\npolicies:\n  act:\n    model: missing.onnx\n');
    expect((await check(unused)).code).toBe(2);
    writeFileSync(
      unused,
      'data_dir: ./data\nsim:\n  enabled: false\npolicies:\n  act:\n    model: missing.onnx\n    serve: false\n',
    );
    expect(await check(unused)).toMatchObject({ code: 0, stdout: 'unused.yaml: valid\n' });
  });
});
