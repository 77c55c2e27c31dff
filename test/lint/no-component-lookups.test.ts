import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

/**
 * No component is looked up by name (`components.get('agent')`): components take one another's services through
 * the ports their specs declare, and tests and benches reach a component through a port (`running(daemon, Class)`,
 * `daemon.ports.get(PORTS.api)`) or read it as status does (`daemon.componentHealth().zenoh`). None is left; a file
 * that must keep one for a while is listed here with its count, and may lose them, never gain one.
 */
const LEFT: Record<string, number> = {};

const LOOKUP = /\bcomponents\.get\(/g;
const SKIP = new Set(['node_modules', 'dist', '.git', 'scratch']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

describe('components looked up by name', () => {
  const found = new Map<string, number>();
  for (const file of sources(ROOT)) {
    const n = readFileSync(file, 'utf8').match(LOOKUP)?.length ?? 0;
    if (n > 0) found.set(relative(ROOT, file), n);
  }
  // This file names the pattern in its own source: seen there, it proves the scan reads what it should.
  const self = relative(ROOT, import.meta.filename);
  const seenInSelf = found.delete(self);

  it('appear in no file that had none, and in no file more often than before', () => {
    const grown = [...found].filter(([file, n]) => n > (LEFT[file] ?? 0)).map(([file, n]) => `${file}: ${n}`);
    expect(grown).toEqual([]);
  });

  it('are all in tests, none in the daemon, its parts or the benches', () => {
    expect([...found.keys()].filter((f) => !f.startsWith('test/') && !f.endsWith('.test.ts'))).toEqual([]);
  });

  it('scans the tree it checks (an empty scan would pass everything)', () => {
    expect(sources(join(ROOT, 'daemon')).length).toBeGreaterThan(300);
    expect(seenInSelf).toBe(true); // holds when no lookup is left anywhere else
  });
});
