import type { Bus, Publisher, Subscription } from '../bus/index.ts';
import type { MessageCodec } from '../bus/index.ts';
import { nowNs } from '../util/index.ts';
import { limitTwist, sendZeroVelocity, TWIST, TWIST_STAMPED, ZERO_TWIST, zeroVelocity } from './velocity.ts';
import type { VelocityLimits } from './velocity.ts';
import { fullTwist, twistMoves, type Twist } from './tool-inputs.ts';

/**
 * The one way the agent's motion reaches the velocity topic. Every Twist it sends, from `publish`, `stop`
 * or the navigator it drives (which publishes to an internal topic the gate forwards), is clamped to the
 * limits here, whatever the tool-call hooks decided: the last frame before the wheels. It always clamps,
 * even in reject mode, because a controller's command stream cannot be refused halfway. While `latched`
 * says the operator's stop holds, every Twist that would move goes out as a zero one (counted as held),
 * whatever path reached the gate without the policy hooks.
 */
export class CmdVelGate {
  readonly topic: string;
  #bus: Bus;
  #codec: MessageCodec;
  #limits: VelocityLimits;
  #publisher: Publisher | undefined;
  #inputs: Subscription[] = [];
  #sent = 0;
  #clamped = 0;
  /**
   * Per forwarded input, when the gate last halted (ns) while Twists were queued on it: those the bus took
   * before are stale, and dropped. Kept only until that queue has drained, so a wall clock stepping back
   * later (NTP) cannot make fresh commands look older than the halt.
   */
  #haltedAt = new Map<Subscription, bigint>();
  #stale = 0;
  #latched: () => string | undefined;
  #held = 0;
  #tracked = new Map<string, { publisher: Publisher; type: string }>();

  /** `latched`: why no Twist may move the robot now (the operator's stop latched), or undefined. */
  constructor(options: { bus: Bus; codec: MessageCodec; limits: VelocityLimits; latched?: () => string | undefined }) {
    const { bus, codec, limits, latched = () => undefined } = options;
    this.#bus = bus;
    this.#codec = codec;
    this.#limits = limits;
    this.#latched = latched;
    this.topic = limits.topic;
  }

  get counters(): { sent: number; clamped: number; stale: number; held: number } {
    return { sent: this.#sent, clamped: this.#clamped, stale: this.#stale, held: this.#held };
  }

  /** New limits for every Twist from now on (a config reload); the topic stays. */
  setLimits(limits: VelocityLimits): void {
    if (limits.topic !== this.topic)
      throw new Error(`the velocity topic changed (${this.topic} to ${limits.topic}); a new gate is needed`);
    this.#limits = limits;
  }

  /**
   * Sends a Twist (missing components 0) within limits; returns what was sent, what was clamped, and why it
   * was held to zero (the operator's stop latched), if it was.
   */
  send(value: unknown): { twist: Twist; clamped: string[]; held?: string } {
    let { twist, broken } = limitTwist(fullTwist(value), this.#limits);
    const held = twistMoves(twist) ? this.#latched() : undefined;
    if (held !== undefined) {
      twist = ZERO_TWIST;
      broken = [];
      this.#held++;
    }
    this.#publisher ??= this.#bus.advertise(this.topic, TWIST, { source: 'agent' });
    this.#publisher.publish(this.#codec.encode(TWIST, twist));
    this.#sent++;
    if (broken.length > 0) this.#clamped++;
    return { twist, clamped: broken, ...(held !== undefined ? { held } : {}) };
  }

  /**
   * Stops the robot: a zero Twist now (a zero TwistStamped where the topic carries one), and the forwarded
   * Twists still queued from before (a controller's last commands) are dropped, so none of them reaches the
   * wheels after the zero. Every other velocity topic the agent has driven (track) gets its zero too, after
   * the gate's own.
   */
  halt(): void {
    const now = nowNs();
    for (const input of this.#inputs) if (input.counters.queued > 0) this.#haltedAt.set(input, now);
    try {
      // A base that takes TwistStamped on the velocity topic (ROS 2 Jazzy's stamped cmd_vel): the gate
      // cannot drive it, but a stop must reach it, with a zero of the type it takes.
      if (this.#bus.topicType(this.topic) === TWIST_STAMPED) this.#zeroStamped(now);
      else this.send({});
    } finally {
      // The other bases get their zero also when the gate's own could not be sent.
      for (const [topic, { publisher, type }] of this.#tracked) {
        try {
          publisher.publish(this.#codec.encode(type, zeroVelocity(type, nowNs())));
        } catch {
          this.#tracked.delete(topic); // its publisher was closed: nothing drives that topic through it now
        }
      }
    }
  }

  /** The velocity topics halt() sends its zero to: the gate's own, and each other one the agent has driven. */
  haltTopics(): string[] {
    return [this.topic, ...this.#tracked.keys()];
  }

  #zeroStamped(stampNs: bigint): void {
    sendZeroVelocity(this.#bus, this.#codec, { topic: this.topic, type: TWIST_STAMPED, source: 'agent', stampNs });
    this.#sent++;
  }

  /**
   * A velocity topic other than the gate's (a namespaced robot's, motion.velocity.topics) that the agent
   * published a Twist or TwistStamped on: halt() sends it a zero one too, so a stop reaches every base the
   * agent drove, not only the gate's.
   */
  track(publisher: Publisher): void {
    if (publisher.topic === this.topic || this.#tracked.has(publisher.topic)) return;
    if (publisher.type === TWIST || publisher.type === TWIST_STAMPED)
      this.#tracked.set(publisher.topic, { publisher, type: publisher.type });
  }

  /** Forwards every Twist published on `internalTopic` through the gate (for a controller that publishes itself). */
  forward(internalTopic: string, name: string): void {
    const input: Subscription = this.#bus.subscribe({
      name,
      topic: internalTopic,
      queue: { policy: 'drop-oldest', depth: 10 },
      handler: (msg) => {
        const haltedAt = this.#haltedAt.get(input);
        // this is the last one queued
        if (haltedAt !== undefined && input.counters.queued === 0) this.#haltedAt.delete(input);
        if (haltedAt !== undefined && msg.logTime <= haltedAt) return void this.#stale++;
        this.send(this.#codec.decode(msg.type, msg.data));
      },
    });
    this.#inputs.push(input);
  }

  close(): void {
    for (const sub of this.#inputs.splice(0)) this.#bus.unsubscribe(sub);
    this.#haltedAt.clear();
    this.#tracked.clear(); // the publish skill's publishers: not the gate's to close
    this.#publisher?.close();
    this.#publisher = undefined;
  }
}
