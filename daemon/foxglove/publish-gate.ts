import type { Bus, Publisher } from '../bus/bus.ts';
import type { MessageCodec } from '../bus/codec.ts';
import { canonicalType, type DefinitionsRegistry } from '../bus/definitions.ts';
import { compileTopicSelection } from '../bus/glob.ts';
import { newId } from '../contract/ids.ts';
import { runPolicyChain, type PolicyHook, type PolicyRecord, type ToolCallContext } from '../contract/policy-hook.ts';
import type { Intent, RunState } from '../contract/schemas.ts';
import { nowNs } from '../contract/time.ts';
import type { PolicyHooksProvider } from '../contract/services.ts';
import type { Component } from '../lifecycle/component.ts';

export type { PolicyHooksProvider };

function hasPolicyHooks(value: unknown): value is PolicyHooksProvider {
  return typeof (value as Partial<PolicyHooksProvider> | undefined)?.policyHooks === 'function';
}

/** The policy hooks of the running daemon: the agent's, else any component's; undefined when none runs. */
export function findPolicyHooks(components: ReadonlyMap<string, Component>): readonly PolicyHook[] | undefined {
  const agent = components.get('agent');
  if (hasPolicyHooks(agent)) return agent.policyHooks();
  for (const c of components.values()) if (hasPolicyHooks(c)) return c.policyHooks();
  return undefined;
}

/**
 * A client publish goes through the hooks as the agent's own `publish` tool call, with the same input shape
 * (`{topic, type, fields}`), so the hooks that limit the agent (velocity, access, geofence) limit a person
 * at a teleop panel the same way.
 */
export const PUBLISH_TOOL = 'publish';

export interface PublishInput {
  topic: string;
  type: string;
  fields: unknown;
}

export type GateResult = { ok: true; fired: PolicyRecord[] } | { ok: false; reason: string; fired: PolicyRecord[] };

interface ClientChannel {
  topic: string;
  type: string;
  encoding: 'cdr' | 'json';
  publisher: Publisher;
}

interface Session {
  name: string;
  intent: Intent;
  run: RunState;
  calls: number;
  channels: Map<number, ClientChannel>;
}

export interface PublishGateOptions {
  bus: Bus;
  codec: MessageCodec;
  definitions: DefinitionsRegistry;
  /** Topic globs clients may publish on. */
  topics: readonly string[];
  /** Most channels one client may have advertised at once (each holds a bus publisher). */
  maxChannels?: number;
  /** The hooks in force now (looked up on every message, so a restarted agent's hooks apply at once). */
  hooks: () => readonly PolicyHook[] | undefined;
}

/**
 * What a Foxglove client may put on the bus. It is a frame around the client: a topic must be on the
 * allowlist, its type known and the topic's own, and every message goes through the policy hooks as a
 * `publish` tool call (a velocity limit rewrites it, an access rule denies it) within a per-client session
 * (an Intent `teleop` and its RunState, so hooks see who acts). With no hooks running it fails closed.
 */
export class PublishGate {
  #o: PublishGateOptions;
  #allowed: (topic: string) => boolean;
  #sessions = new Map<object, Session>();
  #maxChannels: number;
  readonly counters = { published: 0, denied: 0, rewritten: 0, refused: 0 };

  constructor(options: PublishGateOptions) {
    this.#o = options;
    this.#allowed = compileTopicSelection(options.topics);
    this.#maxChannels = options.maxChannels ?? 16;
  }

  advertise(client: object, clientName: string, channel: { id: number; topic: string; encoding: string; schemaName: string }): GateResult {
    const refuse = (reason: string): GateResult => {
      this.counters.refused++;
      return { ok: false, reason: `cannot publish on ${channel.topic}: ${reason}`, fired: [] };
    };
    if (!this.#allowed(channel.topic)) return refuse(`not in foxglove.client_publish.topics (${this.#o.topics.join(', ') || 'empty'})`);
    if (channel.encoding !== 'cdr' && channel.encoding !== 'json') return refuse(`encoding ${channel.encoding} is not supported (use cdr or json)`);
    const type = canonicalType(channel.schemaName);
    if (!this.#o.definitions.has(type)) return refuse(`unknown message type ${channel.schemaName}`);
    const existing = this.#o.bus.topicType(channel.topic);
    if (existing && existing !== type) return refuse(`the topic carries ${existing}, not ${type}`);
    const open = this.#sessions.get(client)?.channels;
    if (open && !open.has(channel.id) && open.size >= this.#maxChannels) {
      return refuse(`this client already has ${open.size} channels advertised (foxglove.client_publish.max_channels): unadvertise one first`);
    }
    const session = this.#session(client, clientName);
    session.channels.get(channel.id)?.publisher.close();
    session.channels.set(channel.id, { topic: channel.topic, type, encoding: channel.encoding, publisher: this.#o.bus.advertise(channel.topic, type, { source: `foxglove:${clientName}` }) });
    return { ok: true, fired: [] };
  }

  unadvertise(client: object, channelId: number): void {
    const session = this.#sessions.get(client);
    session?.channels.get(channelId)?.publisher.close();
    session?.channels.delete(channelId);
  }

  async publish(client: object, channelId: number, data: ArrayBufferView): Promise<GateResult> {
    const session = this.#sessions.get(client);
    const channel = session?.channels.get(channelId);
    if (!session || !channel) return { ok: false, reason: `channel ${channelId} was not advertised (or was refused)`, fired: [] };
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const deny = (reason: string, fired: PolicyRecord[] = []): GateResult => {
      this.counters.denied++;
      return { ok: false, reason: `message on ${channel.topic} not published: ${reason}`, fired };
    };
    let message: unknown;
    try {
      message = channel.encoding === 'cdr' ? this.#o.codec.decode(channel.type, bytes) : JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      return deny(`cannot decode it as ${channel.encoding} ${channel.type}: ${(error as Error).message}`);
    }
    const hooks = this.#o.hooks();
    if (!hooks) return deny('the policy hooks are not running (component agent), so client publishing is closed');
    session.calls++;
    const ctx: ToolCallContext = { run: session.run, intent: session.intent, tool: PUBLISH_TOOL, callIndex: session.calls };
    const input: PublishInput = { topic: channel.topic, type: channel.type, fields: message };
    const outcome = await runPolicyChain<unknown>(hooks, input, (hook, value) => hook.beforeToolCall?.(ctx, value));
    if (!outcome.allowed) return deny(outcome.reason, outcome.fired);
    const rewritten = outcome.fired.length > 0;
    let out: Uint8Array;
    try {
      const final = outcome.value as PublishInput;
      // Bytes pass through untouched unless a hook rewrote the message or it came as JSON.
      out = !rewritten && channel.encoding === 'cdr' ? bytes : this.#o.codec.encode(channel.type, final.fields);
    } catch (error) {
      return deny(`cannot encode it as ${channel.type}: ${(error as Error).message}`, outcome.fired);
    }
    channel.publisher.publish(out);
    this.counters.published++;
    if (rewritten) this.counters.rewritten++;
    return { ok: true, fired: outcome.fired };
  }

  /** A client went away: its publishers close. */
  closeClient(client: object): void {
    const session = this.#sessions.get(client);
    if (!session) return;
    for (const c of session.channels.values()) c.publisher.close();
    this.#sessions.delete(client);
  }

  close(): void {
    for (const client of [...this.#sessions.keys()]) this.closeClient(client);
  }

  #session(client: object, name: string): Session {
    let s = this.#sessions.get(client);
    if (!s) {
      const now = nowNs().toString();
      const intent: Intent = { intent_id: newId(), type: 'teleop', params: { client: name }, policy_ctx: { actor: `foxglove:${name}`, source: 'internal' }, targets: [], created_at: now };
      const run: RunState = { run_id: newId(), intent_id: intent.intent_id, tree_ref: 'foxglove/teleop', status: 'running', created_at: now, updated_at: now };
      s = { name, intent, run, calls: 0, channels: new Map() };
      this.#sessions.set(client, s);
    }
    return s;
  }
}
