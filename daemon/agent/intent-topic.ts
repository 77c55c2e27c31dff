import type { Logger } from 'pino';
import type { Bus, MessageCodec, Subscription } from '../bus/index.ts';
import { LogBurst, withSuppressed, errorText } from '../util/index.ts';

export interface IntentTopicOptions {
  bus: Bus;
  codec: MessageCodec;
  /** agent.intent_topic; empty: no topic is read. */
  topic: string;
  log: Logger;
  /** Takes the intent the message carried; a refusal is logged here. */
  submit: (raw: unknown) => Promise<unknown>;
}

/**
 * The intent topic: std_msgs/msg/String messages whose `data` is an intent's JSON, submitted as from `ros`.
 * Whoever publishes on it can send garbage a hundred times a second: the first of each kind of problem is
 * logged, then one line a minute at most, with the count held back (`suppressed`).
 */
export class IntentTopic {
  readonly #bus: Bus;
  readonly #codec: MessageCodec;
  readonly #topic: string;
  readonly #log: Logger;
  readonly #submit: (raw: unknown) => Promise<unknown>;
  #problems = new LogBurst();
  #sub: Subscription | undefined;

  constructor(options: IntentTopicOptions) {
    const { bus, codec, topic, log, submit } = options;
    this.#bus = bus;
    this.#codec = codec;
    this.#topic = topic;
    this.#log = log;
    this.#submit = submit;
  }

  start(): void {
    if (!this.#topic) return;
    this.#sub = this.#bus.subscribe({
      name: 'agent-intents',
      topic: this.#topic,
      queue: { policy: 'drop-oldest', depth: 100 },
      handler: (msg) => this.#onMessage(msg.type, msg.data),
    });
  }

  close(): void {
    if (this.#sub) this.#bus.unsubscribe(this.#sub);
  }

  #onMessage(type: string, data: Uint8Array): void {
    if (type !== 'std_msgs/msg/String')
      return this.#problem('type', { type }, 'intent topic must carry std_msgs/msg/String JSON; message ignored');
    let raw: unknown;
    try {
      raw = JSON.parse(this.#codec.decode<{ data: string }>(type, data).data);
    } catch (error) {
      return this.#problem('not_json', { err: errorText(error) }, 'intent message is not JSON; ignored');
    }
    this.#submit(raw).catch((error: unknown) => {
      // Keyed by the kind of refusal: a flood of invalid intents must not hide the first one the journal refused.
      const { name, code } = error as Error & { code?: unknown };
      this.#problem(
        `refused:${name}:${typeof code === 'string' ? code : ''}`,
        { err: errorText(error) },
        'intent from the topic refused',
      );
    });
  }

  #problem(key: string, fields: Record<string, unknown>, message: string): void {
    const held = this.#problems.take(key);
    if (held !== undefined) this.#log.warn(withSuppressed({ topic: this.#topic, ...fields }, held), message);
  }
}
