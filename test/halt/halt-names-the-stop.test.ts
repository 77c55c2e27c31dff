import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

/**
 * `halt` names one thing: stopping the robot (the operator's stop, HaltAuthority's `halt`, and the zero Twist it
 * sends through the velocity gate). A component's end is `close`, and any other part that ends its work says so
 * in words of its own, so a reader never takes the end of a recorder's disk checks for the e-stop. No source
 * declares a method `stop`: the users' word for the robot's stop (POST /stop, `auraison-edge stop`, agent/stop)
 * stays in the API, the CLI and the bus, and in code it is `halt`.
 */
const STOPS_THE_ROBOT = new Set([
  'daemon/contract/halt.ts', // RobotHaltAuthority, RobotHaltService
  'daemon/halt/halt-authority.ts',
  'daemon/halt/halt-service.ts',
  'daemon/agent/agent-component.ts',
  'daemon/agent/robot-halt.ts', // the agent's part of a stop: its runs end, its goals are cancelled
  'daemon/motion/cmd-vel-gate.ts', // the zero Twist the stop sends
]);

const DECLARES_HALT = /^\s*(?:async\s+)?halt\s*\(/m;
/** A method (or an interface's method) named stop or #stop: shutdown is `close`, the robot's stop `halt`. */
const DECLARES_STOP = /^\s*(?:(?:async|private|public|protected|readonly)\s+)*#?stop\s*(?:<[^>]*>)?\(/m;
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

  it('has no `stop` method beside it anywhere: a part ends with close', () => {
    const all = sources(ROOT);
    const stops = all.filter((file) => DECLARES_STOP.test(readFileSync(file, 'utf8'))).map((f) => relative(ROOT, f));
    expect(stops).toEqual([]);
  });

  it('is found where the robot is stopped (an empty scan would pass everything)', () => {
    expect(declaring).toContain('daemon/halt/halt-authority.ts');
  });
});
