import { spawn } from 'node:child_process';
import { BIN } from '../helpers/cli.ts';
import type { Ros2Daemon } from '../ros2/ros2-daemon.ts';

export interface CliGoal {
  /** The JSON lines printed so far: {goal_id, accepted}, {feedback}, then {goal_id, state, result, reason?}. */
  readonly lines: Record<string, unknown>[];
  /** What it printed, for a failure's message. */
  text: () => string;
  /** SIGINT, as Ctrl-C: the daemon cancels the goal. */
  interrupt: () => void;
  done: Promise<{ code: number | null }>;
}

/** `auraison-edge action send_goal ACTION TYPE GOAL --feedback --json` against `daemon`, readable while it runs. */
export function goalFromCli(daemon: Ros2Daemon, action: string, type: string, goal: string): CliGoal {
  const args = [BIN, 'action', 'send_goal', action, type, goal, '--feedback', '--json', '--config', daemon.config];
  const child = spawn(process.execPath, args, { cwd: daemon.dir, env: daemon.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    const complete = stdout.split('\n');
    for (const line of complete.slice(lines.length, -1)) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code }));
  });
  return { lines, text: () => `${stdout}\n${stderr}`, interrupt: () => child.kill('SIGINT'), done };
}
