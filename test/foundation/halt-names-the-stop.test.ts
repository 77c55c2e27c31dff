import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

/**
 * `halt` names one thing: stopping the robot (the operator's stop, StopAuthority's `halt`, and the zero Twist it
 * sends through the velocity gate). A component's end is `close`, and any other part that ends its work says so
 * in words of its own, so a reader never takes the end of a recorder's disk checks for the e-stop.
 */
const STOPS_THE_ROBOT = new Set([
  'daemon/contract/services.ts', // RobotStopAuthority, RobotStopService
  'daemon/halt/halt-authority.ts',
  'daemon/halt/halt-service.ts',
  'daemon/agent/agent-component.ts',
  'daemon/policy/cmd-vel-gate.ts', // the zero Twist the stop sends
]);

const DECLARES_HALT = /^\s*(?:async\s+)?halt\s*\(/m;
const SKIP = new Set(['node_modules', 'dist', '.git', 'scratch', 'test']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('halt', () => {
  const declaring = sources(ROOT)
    .filter((file) => DECLARES_HALT.test(readFileSync(file, 'utf8')))
    .map((file) => relative(ROOT, file));

  it('is declared only by what stops the robot', () => {
    expect(declaring.filter((file) => !STOPS_THE_ROBOT.has(file))).toEqual([]);
  });

  it('is found where the robot is stopped (an empty scan would pass everything)', () => {
    expect(declaring).toContain('daemon/halt/halt-authority.ts');
  });
});
