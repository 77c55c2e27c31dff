import type { Bus, MessageCodec } from '../bus/index.ts';
import { canonicalType, compileTopicSelection, type DefinitionsRegistry } from '../bus/index.ts';
import type { PolicyHook, PolicyRecord, ToolCallContext } from '../contract/index.ts';
import { PORTS, type PolicyHooksProvider, type Ports } from '../contract/index.ts';
import { runPolicyChain, TOOL_CALL_QUOTA_HOOK } from '../policy/index.ts';
import { DEFAULT_SCOPE, resolveName, type NameScope } from '../names/index.ts';
import { ClientMessageReader } from './client-message-reader.ts';
import {
  isStop,
  isTwist,
  newSession,
  stopFields,
  type ClientChannel,
  type ClientMessage,
  type Session,
  type StopReason,
} from './client-session.ts';
import { errorText } from '../util/index.ts';

export type { PolicyHooksProvider };
export type { ClientMessage, StopReason };

/** The policy hooks of the running daemon (the agent's); undefined when none runs, and the gate fails closed. */
export function findPolicyHooks(ports: Ports): readonly PolicyHook[] | undefined {
  return ports.get(PORTS.policyHooks)?.policyHooks();
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

/**
 * Why a message was turned away before the hooks saw it: `invalid` (the client's mistake: a channel it did
 * not advertise, bytes that are not the type), `limited` (over foxglove.client_publish.max_rate_hz).
 */
export type Refusal = { ok: false; outcome: 'invalid' | 'limited'; reason: string };

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
  /** Messages a second one client may publish (a stop always goes through). */
  maxRateHz?: number;
  /** Milliseconds, for the rate (performance.now by default). */
  now?: () => number;
  /**
   * A Twist channel whose last command moves the robot gets a stop (a zero Twist) after this long without
   * another command, and at once when its client unadvertises it or leaves (default 2000 ms).
   */
  stopAfterMs?: number;
  /** Told of each stop the gate published on a client's behalf (the client may be gone). */
  onHalt?: (client: object, clientName: string, topic: string, reason: StopReason) => void;
  /** The node a relative channel topic resolves against (the daemon's: ros.namespace, ros.node_name). */
  names?: NameScope;
}

/** The largest channel id a message-data frame can name (a uint32). */
const MAX_CHANNEL_ID = 0xffff_ffff;

/**
 * What a Foxglove client may put on the bus. It is a frame around the client: a topic must be on the
 * allowlist, its type known and the topic's own, and every message goes through the policy hooks as a
 * `publish` tool call (a velocity limit rewrites it, an access rule denies it) within a per-client session
 * (an Intent `teleop` and its RunState, so hooks see who acts). With no hooks running it fails closed,
 * letting only stops through.
 * A session is not an agent run: the per-run tool-call quota does not apply to it (a teleop panel sends
 * 10-50 messages a second for as long as it is open); a rate per client does, which a stop never trips.
 *
 * A robot is never left moving by a client that stopped commanding it: a teleop panel sends a command
 * repeatedly while a button is held and nothing when it is let go (Foxglove's Teleop panel), and a Wi-Fi
 * link can die with the button held. So a Twist channel whose last command moves the robot gets a stop
 * after `stopAfterMs` without another, and at once when the client unadvertises it or leaves. The stop goes
 * out without the hooks, as a stop may when none run: it can only take motion away.
 *
 * A message is taken in two steps: `accept` as it arrives (read as exactly one message of the channel's
 * type, or refused: ClientMessageReader; then the rate), `publish` when the client's earlier messages are
 * done (the hooks, then the bus).
 */
export class PublishGate {
  readonly #topics: readonly string[];
  readonly #names: NameScope;
  readonly #definitions: DefinitionsRegistry;
  readonly #bus: Bus;
  readonly #codec: MessageCodec;
  readonly #onHalt: PublishGateOptions['onHalt'];
  /** The hooks in force now, asked at each message (a reload changes them). */
  readonly #currentHooks: () => readonly PolicyHook[] | undefined;
  #allowed: (topic: string) => boolean;
  #sessions = new Map<object, Session>();
  /** One reader per message type clients publish. */
  #readers = new Map<string, ClientMessageReader>();
  #maxChannels: number;
  #maxRateHz: number;
  #now: () => number;
  #stopAfterMs: number;
  #hooksSeen: readonly PolicyHook[] | undefined;
  #sessionHooks: readonly PolicyHook[] = [];
  readonly counters = { published: 0, denied: 0, rewritten: 0, refused: 0, invalid: 0, limited: 0 };
  /** Stops the gate published on clients' behalf, by why. */
  readonly stops: Record<StopReason, number> = { disconnected: 0, unadvertised: 0, silent: 0, operator: 0 };

  constructor(options: PublishGateOptions) {
    const { topics, definitions, bus, codec, onHalt, hooks } = options;
    const { maxChannels = 16, maxRateHz = 200, now = () => performance.now(), stopAfterMs = 2000 } = options;
    this.#names = options.names ?? DEFAULT_SCOPE;
    this.#topics = topics;
    this.#definitions = definitions;
    this.#bus = bus;
    this.#codec = codec;
    this.#onHalt = onHalt;
    this.#currentHooks = hooks;
    this.#allowed = compileTopicSelection(topics);
    this.#maxChannels = maxChannels;
    this.#maxRateHz = maxRateHz;
    this.#now = now;
    this.#stopAfterMs = stopAfterMs;
  }

  advertise(
    client: object,
    clientName: string,
    channel: { id: unknown; topic: unknown; encoding: unknown; schemaName: unknown },
  ): GateResult {
    const { id, topic, encoding, schemaName } = channel;
    if (
      typeof id !== 'number' ||
      typeof topic !== 'string' ||
      typeof encoding !== 'string' ||
      typeof schemaName !== 'string'
    ) {
      this.counters.refused++;
      return {
        ok: false,
        reason: 'advertise: a channel needs id (a number), topic, encoding and schemaName (strings)',
        fired: [],
      };
    }
    // Message data names its channel in 4 bytes: a channel of another id could never be published on.
    if (!Number.isInteger(id) || id < 0 || id > MAX_CHANNEL_ID) {
      this.counters.refused++;
      return {
        ok: false,
        reason: `cannot publish on ${topic}: channel id ${id} is not an integer from 0 to ${MAX_CHANNEL_ID}`,
        fired: [],
      };
    }
    // The allowlist, the hooks and the bus see the topic fully qualified: `/cmd_vel/` is no second /cmd_vel.
    const named = resolveName(topic, this.#names);
    if (!named.ok) {
      this.counters.refused++;
      return {
        ok: false,
        reason: `cannot publish on ${JSON.stringify(topic)}: not a ROS 2 name: it ${named.rule}`,
        fired: [],
      };
    }
    return this.#advertise(client, clientName, { id, topic: named.name, encoding, schemaName });
  }

  #advertise(
    client: object,
    clientName: string,
    channel: { id: number; topic: string; encoding: string; schemaName: string },
  ): GateResult {
    const refuse = (reason: string): GateResult => {
      this.counters.refused++;
      return { ok: false, reason: `cannot publish on ${channel.topic}: ${reason}`, fired: [] };
    };
    if (!this.#allowed(channel.topic))
      return refuse(`not in foxglove.client_publish.topics (${this.#topics.join(', ') || 'empty'})`);
    if (channel.encoding !== 'cdr' && channel.encoding !== 'json')
      return refuse(`encoding ${channel.encoding} is not supported (use cdr or json)`);
    const type = canonicalType(channel.schemaName);
    if (!this.#definitions.has(type)) return refuse(`unknown message type ${channel.schemaName}`);
    const existing = this.#bus.topicType(channel.topic);
    if (existing && existing !== type) return refuse(`the topic carries ${existing}, not ${type}`);
    const open = this.#sessions.get(client)?.channels;
    if (open && !open.has(channel.id) && open.size >= this.#maxChannels) {
      return refuse(
        `this client already has ${open.size} channels advertised (foxglove.client_publish.max_channels): unadvertise one first`,
      );
    }
    let reader = this.#readers.get(type);
    if (!reader) {
      try {
        reader = new ClientMessageReader(type, this.#definitions.resolve(type).definitions);
      } catch (error) {
        return refuse(errorText(error)); // a type whose dependencies have no definition
      }
      this.#readers.set(type, reader);
    }
    const session = this.#session(client, clientName);
    const previous = session.channels.get(channel.id);
    if (previous) this.#release(client, previous, 'unadvertised');
    const publisher = this.#bus.advertise(channel.topic, type, { source: `foxglove:${clientName}` });
    session.channels.set(channel.id, {
      id: channel.id,
      topic: channel.topic,
      type,
      encoding: channel.encoding,
      reader,
      publisher,
      deadman: undefined,
    });
    return { ok: true, fired: [] };
  }

  unadvertise(client: object, channelId: number): void {
    const session = this.#sessions.get(client);
    const channel = session?.channels.get(channelId);
    if (!session || !channel) return;
    this.#release(client, channel, 'unadvertised');
    session.channels.delete(channelId);
  }

  /**
   * A message as it arrives: its channel, its bytes as the channel's type, the client's rate. Synchronous,
   * so a refusal is told at once and a refused message never waits in the client's queue.
   */
  accept(client: object, channelId: number, data: ArrayBufferView): { ok: true; message: ClientMessage } | Refusal {
    const session = this.#sessions.get(client);
    const channel = session?.channels.get(channelId);
    if (!session || !channel)
      return this.#refuse('invalid', `channel ${channelId} was not advertised (or was refused)`);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const read = channel.reader.read(channel.encoding, bytes);
    if (!read.ok) return this.#refuse('invalid', `message on ${channel.topic} not published: ${read.problem}`);
    const { fields } = read;
    const stop = isStop(channel.type, fields);
    if (!stop && !session.rate.take()) {
      return this.#refuse(
        'limited',
        `message on ${channel.topic} not published: over ${this.#maxRateHz} messages a second (foxglove.client_publish.max_rate_hz); a stop (zero Twist) always goes through`,
      );
    }
    return { ok: true, message: { channel, bytes, fields, stop } };
  }

  /** A message `accept` took, through the policy hooks and onto the bus. */
  async publish(client: object, message: ClientMessage): Promise<GateResult> {
    const { channel, bytes } = message;
    const session = this.#sessions.get(client);
    // Unadvertised (or the client left) while the message waited: its publisher is closed.
    if (!session || session.channels.get(channel.id) !== channel)
      return {
        ok: false,
        reason: `message on ${channel.topic} not published: channel ${channel.id} was unadvertised`,
        fired: [],
      };
    const deny = (reason: string, fired: PolicyRecord[] = []): GateResult => {
      this.counters.denied++;
      return { ok: false, reason: `message on ${channel.topic} not published: ${reason}`, fired };
    };
    const hooks = this.#hooks();
    // Fails closed, but a stop can only take motion away: it goes out with no hooks to ask.
    if (!hooks && !message.stop)
      return deny(
        'the policy hooks are not running (component agent), so client publishing is closed; only a stop (zero Twist) goes through',
      );
    session.calls++;
    const ctx: ToolCallContext = {
      run: session.run,
      intent: session.intent,
      tool: PUBLISH_TOOL,
      callIndex: session.calls,
    };
    const input: PublishInput = { topic: channel.topic, type: channel.type, fields: message.fields };
    const outcome = await runPolicyChain<unknown>(hooks ?? [], input, (hook, value) =>
      hook.beforeToolCall?.(ctx, value),
    );
    // The client may have left (or unadvertised) while a hook decided: its stop is out, nothing may follow it.
    if (this.#sessions.get(client) !== session || session.channels.get(channel.id) !== channel)
      return {
        ok: false,
        reason: `message on ${channel.topic} not published: channel ${channel.id} was unadvertised`,
        fired: outcome.fired,
      };
    if (!outcome.allowed) return deny(outcome.reason, outcome.fired);
    const rewritten = outcome.fired.length > 0;
    let out: Uint8Array;
    try {
      const final = outcome.value as PublishInput;
      // Bytes pass through untouched unless a hook rewrote the message or it came as JSON: the reader
      // took them as exactly one message of the type, in an encapsulation ROS 2 sends.
      out = !rewritten && channel.encoding === 'cdr' ? bytes : this.#codec.encode(channel.type, final.fields);
    } catch (error) {
      return deny(`cannot encode it as ${channel.type}: ${errorText(error)}`, outcome.fired);
    }
    channel.publisher.publish(out);
    this.#arm(client, channel, message.stop);
    this.counters.published++;
    if (rewritten) this.counters.rewritten++;
    return { ok: true, fired: outcome.fired };
  }

  /** A client went away: its publishers close. */
  closeClient(client: object): void {
    const session = this.#sessions.get(client);
    if (!session) return;
    for (const c of session.channels.values()) this.#release(client, c, 'disconnected');
    this.#sessions.delete(client);
  }

  close(): void {
    for (const client of [...this.#sessions.keys()]) this.closeClient(client);
  }

  /**
   * The operator's stop (a HaltAuthority hook, in the stop's own tick): each channel whose last command moves the
   * robot gets its stop now, of its own type on its own topic, rather than at stop_after_ms. Returns those topics.
   */
  operatorHalt(): string[] {
    const topics: string[] = [];
    for (const [client, session] of this.#sessions)
      for (const channel of session.channels.values())
        if (channel.deadman) {
          this.#haltChannel(client, channel, 'operator');
          topics.push(channel.topic);
        }
    return topics;
  }

  /** After a command went out on a Twist channel: a moving one arms the channel's stop, a stop disarms it. */
  #arm(client: object, channel: ClientChannel, stop: boolean): void {
    clearTimeout(channel.deadman);
    channel.deadman = undefined;
    if (stop || !isTwist(channel.type)) return;
    channel.deadman = setTimeout(() => this.#haltChannel(client, channel, 'silent'), this.#stopAfterMs);
    channel.deadman.unref();
  }

  /** The channel goes (unadvertised, or its client left): a stop first if its last command moves the robot. */
  #release(client: object, channel: ClientChannel, reason: StopReason): void {
    if (channel.deadman) this.#haltChannel(client, channel, reason);
    channel.publisher.close();
  }

  #haltChannel(client: object, channel: ClientChannel, reason: StopReason): void {
    clearTimeout(channel.deadman);
    channel.deadman = undefined;
    try {
      channel.publisher.publish(this.#codec.encode(channel.type, stopFields(channel.type)));
    } catch {
      return; // the bus closed first (the daemon is closing): nothing is left to command the robot
    }
    this.stops[reason]++;
    this.#onHalt?.(client, this.#sessions.get(client)?.name ?? 'unknown', channel.topic, reason);
  }

  #refuse(outcome: Refusal['outcome'], reason: string): Refusal {
    this.counters[outcome]++;
    return { ok: false, outcome, reason };
  }

  /**
   * The hooks in force, less the per-run tool-call quota: a session is not an agent run (tokens and wall
   * time are the run's own, never hooks). Filtered once per set of hooks, not per message.
   */
  #hooks(): readonly PolicyHook[] | undefined {
    const hooks = this.#currentHooks();
    if (hooks !== this.#hooksSeen) {
      this.#hooksSeen = hooks;
      this.#sessionHooks = hooks?.filter((hook) => hook.name !== TOOL_CALL_QUOTA_HOOK) ?? [];
    }
    return hooks && this.#sessionHooks;
  }

  #session(client: object, name: string): Session {
    let s = this.#sessions.get(client);
    if (!s) {
      s = newSession(name, this.#maxRateHz, this.#now);
      this.#sessions.set(client, s);
    }
    return s;
  }
}
