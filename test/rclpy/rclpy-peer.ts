import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';

const SCRIPT = join(ROOT, 'test', 'peers', 'ros2', 'rclpy_peer.py');

export interface RclpyEvent {
  event: string;
  [key: string]: unknown;
}

/**
 * One rclpy node (test/peers/ros2/rclpy_peer.py) in a ROS 2 environment of the peer (test/peers/ros2.ts): its JSON
 * events as they come, and its end. A server runs until `close()` (its stdin ends) or `kill()`; a client ends by itself
 * once its call is done (`done`).
 */
export class RclpyPeer {
  readonly events: RclpyEvent[] = [];
  readonly child: ChildProcessWithoutNullStreams;
  readonly done: Promise<number | null>;
  #stderr = '';

  private constructor(python: string, env: NodeJS.ProcessEnv, spec: Record<string, unknown>) {
    this.child = spawn(python, [SCRIPT, JSON.stringify(spec)], { env, cwd: ROOT });
    let buffer = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        try {
          this.events.push(JSON.parse(line) as RclpyEvent);
        } catch {
          this.#stderr += `${line}\n`;
        }
      }
    });
    this.child.stderr.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    this.done = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Starts a node; a server resolves once its entities exist ("ready"), a client at once. */
  static async start(python: string, env: NodeJS.ProcessEnv, spec: Record<string, unknown>): Promise<RclpyPeer> {
    const peer = new RclpyPeer(python, env, spec);
    if (String(spec.role).endsWith('_server')) await peer.next((e) => e.event === 'ready', `${spec.role} ready`);
    return peer;
  }

  /** What the node wrote that was not an event (Python's tracebacks, rcl's log lines), for a failure's message. */
  get output(): string {
    return this.#stderr;
  }

  /** The first event that `predicate` takes, waiting for it; fails naming `what` once the node has exited without. */
  async next(predicate: (e: RclpyEvent) => boolean, what: string, timeoutMs = 60_000): Promise<RclpyEvent> {
    await waitFor(() => this.events.some(predicate) || this.child.exitCode !== null, what, timeoutMs);
    const found = this.events.find(predicate);
    if (found !== undefined) return found;
    throw new Error(
      `the rclpy node exited (${this.child.exitCode}) before ${what}; events: ${JSON.stringify(this.events)}; ` +
        `output: ${this.#stderr.slice(-3000)}`,
    );
  }

  /** The events named `event`, in order. */
  all(event: string): RclpyEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Ends the node as it ends itself: its stdin closed; SIGKILL after 5 s if it hangs. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.done;
    clearTimeout(timer);
  }

  /** kill -9: the node leaves the graph with no goodbye, mid-call if it was in one. */
  kill(): Promise<void> {
    return stopChild(this.child, 'SIGKILL');
  }
}

/** The share folders of a ROS 2 environment's prefixes: its .msg/.srv/.action files, for bus.definitions.dirs. */
export function shares(env: NodeJS.ProcessEnv): string[] {
  return (env.AMENT_PREFIX_PATH ?? '')
    .split(':')
    .filter((prefix) => prefix !== '')
    .map((prefix) => join(prefix, 'share'));
}
