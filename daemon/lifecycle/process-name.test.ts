import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nameMainThread } from './process-name.ts';

describe('nameMainThread', () => {
  it.skipIf(!existsSync('/proc/self/comm'))(
    "names the process's main thread as ps shows it, and leaves its command line as it was",
    () => {
      // In a child, so that this test's own worker keeps its name.
      const script = [
        `const { nameMainThread } = await import(${JSON.stringify(new URL('./process-name.ts', import.meta.url).href)});`,
        "const { readFileSync } = process.getBuiltinModule('node:fs');",
        "const { execFileSync } = process.getBuiltinModule('node:child_process');",
        "const before = readFileSync('/proc/self/cmdline', 'utf8');",
        "const now = nameMainThread('auraison-edge');",
        "const same = readFileSync('/proc/self/cmdline', 'utf8') === before;",
        "const ps = execFileSync('ps', ['-o', 'comm=', '-p', String(process.pid)], { encoding: 'utf8' }).trim();",
        'console.log(JSON.stringify({ now, ps, same }));',
      ].join('\n');
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual({ now: 'auraison-edge', ps: 'auraison-edge', same: true });
    },
  );

  it('refuses a name the kernel would cut, and an empty one', () => {
    expect(() => nameMainThread('auraison-central')).toThrow(/1 to 15 bytes/);
    expect(() => nameMainThread('')).toThrow(/1 to 15 bytes/);
  });

  it('changes nothing where there is no /proc to write, and says so', () => {
    expect(nameMainThread('auraison-edge', '/nonexistent/comm')).toBeUndefined();
  });
});
