import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import type { Ros2Peer } from '../peers/ros2.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';

export interface QosSpec {
  reliability?: 'reliable' | 'best_effort';
  durability?: 'volatile' | 'transient_local';
  depth?: number;
}

export interface NodeEvent {
  event: string;
  op?: string;
  topic?: string;
  [key: string]: unknown;
}

/** A message an rclpy subscription took: its serialized bytes and its fields as JSON (topic_node.py's form). */
export interface TakenMessage {
  cdr: Buffer;
  fields: Record<string, unknown>;
}

export interface GraphEndpoint {
  node: string;
  namespace: string;
  type: string;
  gid: string;
  qos: { reliability: string; durability: string; history: string; depth: number };
}

/**
 * An rclpy node (test/peers/ros2/topic_node.py) that a test tells what to publish and subscribe, over its stdin, and
 * that says what it got on its stdout: a real ROS 2 client library's view of the topics the daemon bridges.
 */
export class TopicNode {
  readonly events: NodeEvent[] = [];
  readonly child: ChildProcessWithoutNullStreams;
  #output = '';

  private constructor(peer: Ros2Peer, env: NodeJS.ProcessEnv, name: string) {
    this.child = spawn(peer.python, [join(peer.scripts, 'topic_node.py'), name], { env });
    let buffer = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        try {
          this.events.push(JSON.parse(line) as NodeEvent);
        } catch {
          this.#output += `${line}\n`;
        }
      }
    });
    this.child.stderr.on('data', (d: Buffer) => (this.#output = (this.#output + d.toString()).slice(-20_000)));
  }

  /** Starts the node named `name` in `env` (ros2Peer(...).env(domain)); resolves once it is in the graph. */
  static async start(peer: Ros2Peer, env: NodeJS.ProcessEnv, name: string): Promise<TopicNode> {
    const node = new TopicNode(peer, env, name);
    try {
      await node.#next((e) => e.event === 'ready', `rclpy node ${name} ready`);
    } catch (error) {
      await node.stop();
      throw error;
    }
    return node;
  }

  /** What the node wrote that was not an event (rcl's log lines, a traceback), for a failure's message. */
  get output(): string {
    return this.#output;
  }

  async publisher(topic: string, type: string, qos: QosSpec = {}): Promise<void> {
    await this.#command({ op: 'publisher', topic, type, qos });
  }

  async subscribe(topic: string, type: string, qos: QosSpec = {}): Promise<void> {
    await this.#command({ op: 'subscribe', topic, type, qos });
  }

  /** Publishes a message made from `fields`; gives rclpy's own serialization of it. */
  async publish(topic: string, fields: Record<string, unknown>): Promise<Buffer> {
    const answer = await this.#command({ op: 'publish', topic, fields });
    return Buffer.from(answer.cdr as string, 'base64');
  }

  /** Publishes `bytes` as the serialized message, whatever they are. */
  async publishRaw(topic: string, bytes: Uint8Array): Promise<void> {
    await this.#command({ op: 'publish', topic, cdr: Buffer.from(bytes).toString('base64') });
  }

  async destroy(topic: string): Promise<void> {
    await this.#command({ op: 'destroy', topic });
  }

  /** The topic's publishers and subscriptions, and the graph's nodes, as rclpy's graph API gives them. */
  async graph(
    topic: string,
  ): Promise<{ publishers: GraphEndpoint[]; subscriptions: GraphEndpoint[]; nodes: string[] }> {
    const answer = await this.#command({ op: 'graph', topic });
    return answer as unknown as { publishers: GraphEndpoint[]; subscriptions: GraphEndpoint[]; nodes: string[] };
  }

  /** The messages its subscription on `topic` took, in order. */
  messages(topic: string): TakenMessage[] {
    return this.events
      .filter((e) => e.event === 'message' && e.topic === topic)
      .map((e) => ({ cdr: Buffer.from(e.cdr as string, 'base64'), fields: e.fields as Record<string, unknown> }));
  }

  /** Waits until its subscription on `topic` has taken `count` messages (fails naming the topic otherwise). */
  async received(topic: string, count: number, timeoutMs = 60_000): Promise<TakenMessage[]> {
    await waitFor(
      () => this.messages(topic).length >= count || this.child.exitCode !== null,
      `${count} message(s) on ${topic} at the rclpy node (got ${this.messages(topic).length})`,
      timeoutMs,
    );
    if (this.child.exitCode !== null)
      throw new Error(`the rclpy node exited (${this.child.exitCode}): ${this.#output}`);
    return this.messages(topic);
  }

  /** Its stdin closed: the node ends as it ends itself. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    await stopChild(this.child, 'SIGINT');
  }

  /** Sends a command and waits for the event that answers it (its op and topic); an error event throws. */
  async #command(command: Record<string, unknown>): Promise<NodeEvent> {
    const from = this.events.length;
    // -0 as a string, which topic_node.py makes a float: JSON has no -0
    const line = JSON.stringify(command, (_key, value: unknown) => (Object.is(value, -0) ? '-0.0' : value));
    this.child.stdin.write(`${line}\n`);
    const answer = await this.#next(
      (e, i) => i >= from && e.op === command.op && e.topic === command.topic,
      `the rclpy node's answer to ${JSON.stringify(command).slice(0, 200)}`,
    );
    if (answer.event === 'error')
      throw new Error(`the rclpy node failed ${command.op} ${command.topic}: ${answer.error}`);
    return answer;
  }

  async #next(predicate: (e: NodeEvent, index: number) => boolean, what: string): Promise<NodeEvent> {
    let found: NodeEvent | undefined;
    await waitFor(
      () => {
        found = this.events.find(predicate);
        return found !== undefined || this.child.exitCode !== null;
      },
      what,
      60_000,
    );
    if (found === undefined)
      throw new Error(`the rclpy node exited (${this.child.exitCode}) before ${what}: ${this.#output}`);
    return found;
  }
}
