import type { ChannelId, IWebSocket } from '@foxglove/ws-protocol';
import type { Subscription } from '../bus/index.ts';
import { compileTopicSelection } from '../bus/index.ts';
import type { ComponentContext } from '../lifecycle/index.ts';
import type { TakenSubscription } from './client-subscriptions.ts';
import type { FoxgloveServer } from './protocol-server.ts';
import { EVENTS_TOPIC, JOURNAL_RECORD_SCHEMA, messageFrame } from './server-frames.ts';
import { errorText } from '../util/index.ts';

interface ChannelState {
  topic: string;
  latched: boolean;
  sub: Subscription | undefined;
  /** The last message of a latched topic, for clients that subscribe after the bus replayed it. */
  last: { logTime: bigint; data: Uint8Array } | undefined;
}

export interface BusChannelsOptions {
  ctx: Pick<ComponentContext, 'bus' | 'definitions' | 'journal' | 'log'>;
  /** Topic globs advertised (foxglove.topics). */
  include: readonly string[];
  exclude: readonly string[];
}

/**
 * What the server streams: each selected bus topic as a channel with its ros2msg schema (CDR passes through
 * as it is), subscribed on the bus only while a client watches it, and the journal as JSON on
 * /auraison/events. `open` starts advertising on a server; `close` ends every bus subscription. The counts
 * (messages sent, topics that cannot be advertised) last across a close and the next open, as the component's.
 */
export class BusChannels {
  #ctx: BusChannelsOptions['ctx'];
  #server: FoxgloveServer | undefined;
  #selected: (topic: string) => boolean;
  #channels = new Map<ChannelId, ChannelState>();
  #eventsChannel: ChannelId | undefined;
  #eventsWatched = false;
  #cleanups: (() => void)[] = [];
  #unadvertisable = new Map<string, string>();
  #sent = 0;

  constructor(options: BusChannelsOptions) {
    const { ctx, include, exclude } = options;
    this.#ctx = ctx;
    this.#selected = compileTopicSelection(include, exclude);
  }

  /** Messages handed to the server for its clients. */
  get sent(): number {
    return this.#sent;
  }

  /** Bus topics advertised as channels. */
  get size(): number {
    return this.#channels.size;
  }

  /** Selected topics whose type has no definition, so they cannot be advertised. */
  get unadvertisable(): string[] {
    return [...this.#unadvertisable.keys()];
  }

  open(server: FoxgloveServer): void {
    this.#server = server;
    this.#cleanups.push(
      this.#ctx.bus.onTopic((topic, type) => this.#selected(topic) && this.#advertise(server, topic, type)),
    );
    this.#eventsChannel = server.addChannel({
      topic: EVENTS_TOPIC,
      encoding: 'json',
      schemaName: 'auraison_edge/JournalRecord',
      schema: JOURNAL_RECORD_SCHEMA,
      schemaEncoding: 'jsonschema',
    });
    this.#cleanups.push(
      this.#ctx.journal.subscribe((record) => {
        if (this.#eventsWatched)
          this.#send(this.#eventsChannel!, BigInt(record.ts), new TextEncoder().encode(JSON.stringify(record)));
      }),
    );
  }

  close(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    for (const c of this.#channels.values()) if (c.sub) this.#ctx.bus.unsubscribe(c.sub);
    this.#channels.clear();
    this.#eventsWatched = false;
    this.#server = undefined;
  }

  /** The channels some client watches now. */
  watched(): Set<ChannelId> {
    return new Set([...this.#channels].filter(([, c]) => c.sub).map(([id]) => id));
  }

  /** A client subscribed to the channel: the bus topic is subscribed while any client watches it. */
  watch(id: ChannelId): void {
    if (id === this.#eventsChannel) {
      this.#eventsWatched = true;
      return;
    }
    const channel = this.#channels.get(id);
    if (!channel || channel.sub) return;
    channel.sub = this.#ctx.bus.subscribe({
      name: 'foxglove',
      topic: channel.topic,
      queue: { policy: 'drop-oldest', depth: 64 },
      handler: (msg) => {
        if (channel.latched) channel.last = { logTime: msg.logTime, data: msg.data };
        this.#send(id, msg.logTime, msg.data);
      },
    });
  }

  /** The last client watching the channel left it. */
  unwatch(id: ChannelId): void {
    if (id === this.#eventsChannel) {
      this.#eventsWatched = false;
      return;
    }
    const channel = this.#channels.get(id);
    if (!channel?.sub) return;
    this.#ctx.bus.unsubscribe(channel.sub);
    channel.sub = undefined;
  }

  /** Whether the server has this channel (a bus topic's, or the journal's). */
  has(channelId: unknown): boolean {
    return (channelId !== undefined && channelId === this.#eventsChannel) || this.#channels.has(channelId as ChannelId);
  }

  /**
   * A latched topic's last message reaches the first subscriber through the bus (it replays on attach); a
   * client subscribing to a channel already watched (`existing`, from before its frame) gets it here, or it
   * would never see /map. Only for subscriptions the server took (ClientSubscriptions).
   */
  replayLatched(socket: IWebSocket, taken: readonly TakenSubscription[], existing: ReadonlySet<ChannelId>): void {
    for (const { id, channelId } of taken) {
      if (typeof id !== 'number' || typeof channelId !== 'number') continue;
      const channel = this.#channels.get(channelId);
      if (channel?.latched && channel.last && existing.has(channelId))
        socket.send(messageFrame(id, channel.last.logTime, channel.last.data));
    }
  }

  #advertise(server: FoxgloveServer, topic: string, type: string): void {
    let schema: string;
    try {
      schema = this.#ctx.definitions.schemaText(type);
    } catch (error) {
      // A type with no definition cannot be shown; it is reported in health and the log, once.
      if (!this.#unadvertisable.has(topic))
        this.#ctx.log.warn(
          { topic, type, err: errorText(error) },
          'foxglove: topic not advertised (no message definition)',
        );
      this.#unadvertisable.set(topic, type);
      return;
    }
    const latched = this.#ctx.bus.topicQos(topic)?.durability === 'transient_local';
    const id = server.addChannel({ topic, encoding: 'cdr', schemaName: type, schema, schemaEncoding: 'ros2msg' });
    this.#channels.set(id, { topic, latched, sub: undefined, last: undefined });
  }

  #send(id: ChannelId, timestamp: bigint, data: Uint8Array): void {
    this.#sent++;
    this.#server?.sendMessage(id, timestamp, data);
  }
}
