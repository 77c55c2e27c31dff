import type { RobotGraph } from '../../bus/index.ts';

/** How long a loop's command may go unheard before it counts: discovery takes a few seconds. */
const UNHEARD_AFTER_MS = 5000;

/**
 * Whether anyone outside the daemon takes a loop's commands: a controller that is not loaded (or not active) leaves
 * its command topic with no subscriber in the robot's graph, and the loop commands nothing. Asked only where a bridge
 * sees a graph of other nodes: a daemon with none (its own simulator) has no one to ask.
 */
export class CommandListeners {
  readonly #graph: Pick<RobotGraph, 'endpoints'>;
  readonly #topic: string;
  readonly #type: string;
  readonly #sinceMs: number;

  constructor(graph: Pick<RobotGraph, 'endpoints'>, topic: string, type: string, nowMs: number) {
    this.#graph = graph;
    this.#topic = topic;
    this.#type = type;
    this.#sinceMs = nowMs;
  }

  /**
   * Why the commands go nowhere, or undefined: heard, too early to say, no graph of other nodes, or a topic the
   * daemon does not publish to it (its own simulator takes it on the bus).
   */
  unheard(nowMs: number): string | undefined {
    if (nowMs - this.#sinceMs < UNHEARD_AFTER_MS) return undefined;
    const endpoints = this.#graph.endpoints();
    if (!endpoints.some((e) => !e.local)) return undefined;
    if (!endpoints.some((e) => e.local && e.kind === 'publisher' && e.name === this.#topic)) return undefined;
    const heard = endpoints.some((e) => !e.local && e.kind === 'subscriber' && e.name === this.#topic);
    return heard
      ? undefined
      : `no node subscribes ${this.#topic} (${this.#type}): is its controller loaded and active (ros2 control list_controllers)?`;
  }
}
