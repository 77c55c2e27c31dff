import type { IWebSocket } from '@foxglove/ws-protocol';
import { MessageCodec } from '../bus/index.ts';
import { nameScope, type FoxgloveSettings } from '../config/index.ts';
import type { PolicyRecord } from '../contract/index.ts';
import type { MetricFamily } from '../contract/index.ts';
import type { ComponentContext } from '../lifecycle/index.ts';
import type { Logger } from '../log.ts';
import type { ClientFeedback } from './client-feedback.ts';
import { StatusLevel, type FoxgloveServer } from './protocol-server.ts';
import { findPolicyHooks, PublishGate } from './publish-gate.ts';
import { PublishQueues } from './publish-queue.ts';
import { errorText, counterBy } from '../util/index.ts';

export interface ClientPublishingOptions {
  ctx: Pick<ComponentContext, 'bus' | 'config' | 'definitions' | 'ports' | 'haltAuthority'>;
  server: FoxgloveServer;
  settings: FoxgloveSettings['client_publish'];
  feedback: ClientFeedback;
  log: Logger;
  now: () => number;
}

/**
 * Client publishing (foxglove.client_publish): the protocol server's advertise, unadvertise and message
 * events, through the PublishGate (channel, type, rate, policy hooks) and a per-client queue (PublishQueues)
 * onto the bus. Refusals are told to the client through ClientFeedback.
 */
export class ClientPublishing {
  #gate: PublishGate;
  readonly #offHalt: () => void;
  #feedback: ClientFeedback;
  #queues: PublishQueues;
  /** Clients told that their publishes are being dropped (until their queue empties). */
  #warned = new WeakSet<object>();
  /**
   * Per client and channel, the rules it was last told rewrote a message, so that a panel sending 20
   * commands a second over a limit hears it once, not 20 times; forgotten when one goes out unchanged.
   */
  #toldRewrite = new WeakMap<object, Map<number, string>>();

  constructor(options: ClientPublishingOptions) {
    const { ctx, server, settings, feedback, log, now } = options;
    const gate = new PublishGate({
      bus: ctx.bus,
      codec: new MessageCodec(ctx.definitions),
      definitions: ctx.definitions,
      topics: settings.topics,
      maxChannels: settings.max_channels,
      hooks: () => findPolicyHooks(ctx.ports),
      maxRateHz: settings.max_rate_hz,
      now,
      stopAfterMs: settings.stop_after_ms,
      names: nameScope(ctx.config),
      onHalt: (client, name, topic, reason) => {
        log.warn({ client: name, topic, reason }, 'foxglove client stopped commanding: published a stop (zero Twist)');
        if (reason === 'operator')
          feedback.tell(
            client as IWebSocket,
            StatusLevel.WARNING,
            `the operator stopped the robot: published a stop on ${topic}`,
          );
        if (reason === 'silent')
          feedback.tell(
            client as IWebSocket,
            StatusLevel.WARNING,
            `no command on ${topic} for ${settings.stop_after_ms} ms (foxglove.client_publish.stop_after_ms): published a stop`,
          );
      },
    });
    this.#gate = gate;
    this.#offHalt = ctx.haltAuthority.onHalt('foxglove teleop', () => ({ zeroed: gate.operatorHalt() }));
    this.#feedback = feedback;
    const queues = new PublishQueues({ maxPending: settings.max_pending });
    this.#queues = queues;
    server.on('advertise', (channel) => {
      const { client } = channel;
      const result = gate.advertise(client.connection, client.name, channel);
      if (result.ok) return;
      // The server keeps every advertisement it was sent: a refused one must not stay, or a client could
      // grow the daemon's memory without bound, and could never advertise that id again.
      client.advertisements.delete(channel.id);
      feedback.report(client.connection, client.name, StatusLevel.ERROR, result.reason);
    });
    server.on('unadvertise', ({ client, channelId }) => gate.unadvertise(client.connection, channelId));
    server.on('message', ({ client, channel, data }) => {
      const key = client.connection;
      const accepted = gate.accept(key, channel.id, data);
      if (!accepted.ok) {
        feedback.report(
          key,
          client.name,
          accepted.outcome === 'invalid' ? StatusLevel.ERROR : StatusLevel.WARNING,
          accepted.reason,
        );
        return;
      }
      const { message } = accepted;
      // One client's messages are published in the order sent, even when a hook is asynchronous.
      const queued = queues.push(
        key,
        async () => {
          const result = await gate.publish(key, message);
          for (const f of result.fired)
            log.info({ client: client.name, topic: channel.topic, ...f }, 'policy hook fired on a foxglove publish');
          if (!result.ok) feedback.tell(key, StatusLevel.WARNING, result.reason);
          else this.#tellRewrite(key, channel.id, channel.topic, result.fired);
        },
        (error: unknown) => log.error({ err: errorText(error) }, 'foxglove publish failed'),
        { channel: channel.id, stop: message.stop },
      );
      // Told once per burst, not per dropped message: a status always goes out, so one per drop would
      // let the client grow the daemon's send buffer instead.
      if (!queued && !this.#warned.has(key)) {
        this.#warned.add(key);
        log.warn(
          { client: client.name, topic: channel.topic },
          'foxglove client publishes faster than the policy hooks decide: dropping',
        );
        server.sendStatus(
          {
            level: StatusLevel.WARNING,
            message: `messages on ${channel.topic} dropped: ${settings.max_pending} already wait for the policy hooks (foxglove.client_publish.max_pending)`,
          },
          key,
        );
      }
      if (queued && queues.pending(key) === 1) this.#warned.delete(key);
    });
  }

  /**
   * A message that went out as a policy hook rewrote it (a velocity clamp): the client hears what changed it,
   * as a denial is heard. Once per set of rules per channel until a message goes out unchanged.
   */
  #tellRewrite(client: IWebSocket, channelId: number, topic: string, fired: readonly PolicyRecord[]): void {
    const rewrites = fired.filter((f) => f.action === 'rewrite');
    // Keyed by the rules, not their reasons: a clamp's reason names the value, which a panel changes each message.
    const rules = rewrites.map((f) => f.rule).join(',');
    let told = this.#toldRewrite.get(client);
    if (rules === '') {
      told?.delete(channelId);
      return;
    }
    if (told?.get(channelId) === rules) return;
    if (!told) this.#toldRewrite.set(client, (told = new Map()));
    told.set(channelId, rules);
    this.#feedback.tell(
      client,
      StatusLevel.INFO,
      `message on ${topic} published as changed by the policy: ${rewrites.map((f) => `${f.rule}: ${f.reason}`).join('; ')}`,
    );
  }

  /** The client left: a stop for each channel whose last command moves the robot, and its queue goes. */
  closeClient(client: IWebSocket): void {
    this.#gate.closeClient(client);
    this.#queues.delete(client);
  }

  close(): void {
    this.#offHalt();
    this.#gate.close();
    this.#queues.clear();
  }

  metrics(): MetricFamily[] {
    const gate = this.#gate;
    const outcomes = { ...gate.counters, dropped: this.#queues.dropped };
    return [
      counterBy(
        'auraison_foxglove_client_publish_total',
        "Messages Foxglove clients sent, by outcome (denied: by a policy hook; invalid: not its channel's type, or on a channel not advertised; limited: over foxglove.client_publish.max_rate_hz; refused: advertisement refused; dropped: the client had foxglove.client_publish.max_pending waiting).",
        'outcome',
        outcomes,
      ),
      counterBy(
        'auraison_foxglove_teleop_stops_total',
        'Stops (zero Twists) the daemon published for a Foxglove client whose last command moved the robot, by why: it disconnected, unadvertised the channel, or sent nothing for foxglove.client_publish.stop_after_ms.',
        'reason',
        gate.stops,
      ),
    ];
  }
}
