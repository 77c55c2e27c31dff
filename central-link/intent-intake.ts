import type { IPublishPacket } from 'mqtt';
import { errorText, jsonHazard, sleep } from '../daemon/util/index.ts';
import { nowNs } from '../daemon/util/index.ts';
import type { AgentService, SubmittedIntent } from '../daemon/contract/index.ts';
import { ValidationError, type ValidationIssue } from '../daemon/util/index.ts';
import { within } from '../daemon/util/index.ts';
import { haltIntentId } from './halt-intent.ts';
import { isPublishableTopic, type CentralTopics } from './topics.ts';

/** The acks payload's schema name. */
export const ACK_SCHEMA = 'auraison.ack/1';

/** PUBACK reason codes (MQTT 5, 3.4.2.1). */
const ACCEPTED = 0;
const REFUSED = 0x80;
const QUOTA_EXCEEDED = 0x97;
const PAYLOAD_FORMAT_INVALID = 0x99;

/** How often a missing agent is looked for again while an intent waits for it (a reload restarting it). */
const AGENT_POLL_MS = 100;

/** An intent's: accepted, replayed, pending, refused; a config's: applied, duplicate, refused, failed. */
export type AckStatus = 'accepted' | 'replayed' | 'pending' | 'refused' | 'applied' | 'duplicate' | 'failed';

/** Where an ack goes: the acks topic, or the message's MQTT 5 response topic with its correlation data. */
export interface ReplyTo {
  topic: string;
  correlationData?: Buffer;
}

/** What goes up on the acks topic (or the intent's MQTT 5 response topic) for each message from central. */
export interface Ack {
  schema: typeof ACK_SCHEMA;
  robot: string;
  /** What was answered: an intent, or a config (central-link/remote-config.ts). */
  kind: 'intent' | 'config';
  /** The intent's id as sent, when it had one (null in a config's ack). */
  intent_id: string | null;
  /** A config's id as sent, when it had one. */
  config_id?: string | null;
  /** A config's duplicate: the id under which the same config was applied before. */
  duplicate_of?: string;
  /** An applied config: the components that restarted for it, and keys that wait for a daemon restart. */
  restarted?: string[];
  pending_restart?: string[];
  /** An applied config: restarted components that failed to start with it (each degrades alone, retried). */
  degraded?: { component: string; error: string }[];
  status: AckStatus;
  run_id?: string;
  run_status?: string;
  error?: { code: string; message: string; issues?: ValidationIssue[] };
  ts: string;
}

export interface IntentIntakeOptions {
  robot: string;
  topics: CentralTopics;
  /** The agent as it runs now (it may be restarting), or undefined. */
  agent: () => AgentService | undefined;
  /** Why there is no agent: undefined while one is configured (agent.enabled), so it is waited for. */
  agentOff: () => string | undefined;
  /** Whether intents from central are taken at all (central.intents). */
  takeIntents: boolean;
  maxIntentBytes: number;
  ackTimeoutMs: number;
  /** Publishes an ack; never throws (a failure is logged by the caller). */
  sendAck: (ack: Ack, to: { topic: string; correlationData?: Buffer }) => void;
  /** Logs a refusal at a bounded rate per kind: a peer may send garbage a hundred times a second. */
  logRefusal: (key: string, fields: Record<string, unknown>, message: string) => void;
  /** Takes a message on the config topic; resolves with the PUBACK reason code. */
  handleConfig: (payload: Buffer, to: ReplyTo) => Promise<number>;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly puback: number,
    readonly issues?: ValidationIssue[],
    /** The intent's id when it is known without parsing the intent (one too large to parse). */
    readonly intentId?: string,
  ) {
    super(message);
  }
}

/**
 * Takes the messages central sends down. An intent is decoded (UTF-8 JSON, no deeper than the contract
 * allows), handed to the agent as an intent from `mqtt` (the agent validates it against the contract, keeps
 * it durable and dedupes it by intent_id, as for HTTP), and answered with an ack: accepted, replayed (the
 * same intent again: MQTT delivers at least once), or refused with the reason and, for a contract error, the
 * paths. The broker gets its PUBACK only once the run is durable, so a crash before that leaves the intent
 * with the broker, which sends it again; past `ackTimeoutMs` (a slow disk, an agent restarting) the PUBACK
 * goes with a `pending` ack and the outcome follows in a second ack. Nothing here throws: a bad message
 * costs an ack and a log line.
 */
export class IntentIntake {
  readonly #topics: CentralTopics;
  readonly #logRefusal: (key: string, fields: Record<string, unknown>, message: string) => void;
  readonly #takeIntents: boolean;
  readonly #maxIntentBytes: number;
  readonly #ackTimeoutMs: number;
  readonly #agentOff: () => string | undefined;
  readonly #agent: () => AgentService | undefined;
  readonly #sendAck: IntentIntakeOptions['sendAck'];
  readonly #robot: string;
  readonly #handleConfig: IntentIntakeOptions['handleConfig'];
  readonly counts = { accepted: 0, replayed: 0, refused: 0, pending: 0 };

  constructor(options: IntentIntakeOptions) {
    const { topics, logRefusal, takeIntents, maxIntentBytes, ackTimeoutMs, agentOff, agent, sendAck, robot } = options;
    this.#handleConfig = options.handleConfig;
    this.#topics = topics;
    this.#logRefusal = logRefusal;
    this.#takeIntents = takeIntents;
    this.#maxIntentBytes = maxIntentBytes;
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#agentOff = agentOff;
    this.#agent = agent;
    this.#sendAck = sendAck;
    this.#robot = robot;
  }

  /** Handles one message; resolves with the PUBACK reason code. */
  async handle(
    topic: string,
    payload: Buffer,
    packet: Pick<IPublishPacket, 'properties'> & { retain?: boolean },
  ): Promise<number> {
    const to = this.#replyTo(packet);
    if (topic === this.#topics.config) return this.#handleConfig(payload, to);
    let intentId: string | null = null;
    try {
      if (!this.#takeIntents)
        throw new Refusal('not_accepted', 'this robot takes no intents from central (central.intents: false)', REFUSED);
      // The retain flag comes only on a message retained before the subscription was made (a live one comes
      // without it): it is stale, and would come again to every new subscription.
      if (packet.retain) {
        throw new Refusal(
          'retained',
          'a retained intent is refused: the broker sends it again to every new subscription, where it would run again; publish intents with retain off',
          REFUSED,
          undefined,
          idNearStart(payload),
        );
      }
      const raw = this.#decode(payload);
      intentId = idOf(raw);
      return await this.#submit(raw, intentId, to);
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal('failed', errorText(error), REFUSED);
      intentId ??= refusal.intentId ?? null;
      this.counts.refused++;
      this.#ack(
        {
          kind: 'intent',
          intent_id: intentId,
          status: 'refused',
          error: {
            code: refusal.code,
            message: refusal.message,
            ...(refusal.issues ? { issues: refusal.issues } : {}),
          },
        },
        to,
      );
      this.#logRefusal(
        `intent:${refusal.code}`,
        { intent_id: intentId, err: refusal.message },
        'central: intent refused',
      );
      return refusal.puback;
    }
  }

  /**
   * A `stop` intent from central acts at once, as the link reads it (its signature checked): the agent's haltMotion,
   * the stop skill's own first step (the motion skill aborted, a zero Twist through the gate), before the intent is
   * accepted, journaled and run, which can wait on the disk and on the link's rate. The intent then runs as any
   * (its stop skill halts again, and its run records it); one refused after (a replay of its id, the rate) has
   * halted the robot all the same. Nothing else acts here, and nothing here throws.
   */
  haltFirst(payload: Buffer, packet: { retain?: boolean }): void {
    if (!this.#takeIntents) return;
    const id = haltIntentId(payload, packet.retain, this.#maxIntentBytes);
    if (id === undefined) return;
    this.#agent()?.haltMotion(`stopped by central's stop intent${id === null ? '' : ` ${id}`}`);
  }

  /**
   * Acks an intent or a config refused before it was read (an unsigned or replayed command): its id as found
   * near the start of the payload, the reason's code and words. The refusal is counted by who refused it.
   */
  refuseUnread(
    topic: string,
    payload: Buffer,
    packet: Pick<IPublishPacket, 'properties'>,
    error: { code: string; message: string },
  ): void {
    const to = this.#replyTo(packet);
    if (topic === this.#topics.config)
      this.#ack(
        { kind: 'config', intent_id: null, config_id: configIdNearStart(payload) ?? null, status: 'refused', error },
        to,
      );
    else this.#ack({ kind: 'intent', intent_id: idNearStart(payload) ?? null, status: 'refused', error }, to);
  }

  #decode(payload: Buffer): unknown {
    if (payload.length > this.#maxIntentBytes) {
      throw new Refusal(
        'too_large',
        `the intent is ${payload.length} bytes, over central.max_intent_bytes (${this.#maxIntentBytes})`,
        QUOTA_EXCEEDED,
        undefined,
        idNearStart(payload),
      );
    }
    let text: string;
    try {
      text = UTF8.decode(payload);
    } catch {
      throw new Refusal('bad_request', 'the intent is not UTF-8: send Intent JSON as UTF-8', PAYLOAD_FORMAT_INVALID);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new Refusal('bad_request', `the intent is not JSON: ${errorText(error)}`, PAYLOAD_FORMAT_INVALID);
    }
    const hazard = jsonHazard(raw);
    if (hazard)
      throw new Refusal(
        'bad_request',
        `intent: ${hazard.path ? `${hazard.path}: ` : ''}${hazard.message}`,
        PAYLOAD_FORMAT_INVALID,
        [hazard],
      );
    return raw;
  }

  async #submit(
    raw: unknown,
    intentId: string | null,
    to: { topic: string; correlationData?: Buffer },
  ): Promise<number> {
    // One deadline for the wait for the agent and for the run to be durable: while a message is handled,
    // mqtt.js reads nothing more from the broker (PUBACKs, PINGRESP), so it must not stall twice as long.
    const deadline = performance.now() + this.#ackTimeoutMs;
    const agent = await this.#waitForAgent(deadline);
    const submitting = agent.submit(raw, 'mqtt');
    const first = await within(
      submitting.catch((error: unknown) => ({ error })),
      Math.max(0, deadline - performance.now()),
      'late' as const,
    );
    if (first === 'late') {
      this.counts.pending++;
      this.#ack(
        {
          kind: 'intent',
          intent_id: intentId,
          status: 'pending',
          error: {
            code: 'slow',
            message: `the run was not durable within central.intent_ack_timeout_s; its outcome follows in another ack`,
          },
        },
        to,
      );
      // The outcome, when it comes, in a second ack.
      submitting.then(
        (submitted) => this.#accepted(submitted, intentId, to),
        (error: unknown) => {
          this.counts.refused++;
          const refusal = toRefusal(error);
          this.#ack(
            {
              kind: 'intent',
              intent_id: intentId,
              status: 'refused',
              error: { code: refusal.code, message: refusal.message },
            },
            to,
          );
        },
      );
      return ACCEPTED;
    }
    if ('error' in first) throw toRefusal(first.error);
    this.#accepted(first, intentId, to);
    return ACCEPTED;
  }

  #accepted(
    submitted: SubmittedIntent,
    intentId: string | null,
    to: { topic: string; correlationData?: Buffer },
  ): void {
    const status = submitted.replayed ? 'replayed' : 'accepted';
    this.counts[status]++;
    this.#ack(
      { kind: 'intent', intent_id: intentId, status, run_id: submitted.run.run_id, run_status: submitted.run.status },
      to,
    );
  }

  /** The agent, waited for up to `deadline` (performance.now) while one is configured (a reload restarts it). */
  async #waitForAgent(deadline: number): Promise<AgentService> {
    for (;;) {
      const off = this.#agentOff();
      if (off) throw new Refusal('unavailable', off, REFUSED);
      const agent = this.#agent();
      if (agent) return agent;
      if (performance.now() >= deadline)
        throw new Refusal(
          'unavailable',
          'the agent is not running (it failed to start, or is restarting): see `auraison-edge status`; send the intent again',
          REFUSED,
        );
      await sleep(AGENT_POLL_MS);
    }
  }

  /** MQTT 5 request/response: the ack goes to the message's response topic, with its correlation data. */
  #replyTo(packet: Pick<IPublishPacket, 'properties'>): { topic: string; correlationData?: Buffer } {
    const topic = packet.properties?.responseTopic;
    const correlationData = packet.properties?.correlationData;
    if (typeof topic === 'string' && isPublishableTopic(topic))
      return { topic, ...(correlationData ? { correlationData } : {}) };
    return { topic: this.#topics.acks };
  }

  #ack(fields: Omit<Ack, 'schema' | 'robot' | 'ts'>, to: { topic: string; correlationData?: Buffer }): void {
    this.#sendAck({ schema: ACK_SCHEMA, robot: this.#robot, ...fields, ts: nowNs().toString() }, to);
  }
}

/**
 * The intent id of a payload refused before it is parsed (too large, retained), to name it in the ack: found
 * when it is near the start, as it usually is.
 */
function idNearStart(payload: Buffer): string | undefined {
  return /"intent_id"\s*:\s*"([^"\\]{1,128})"/.exec(payload.subarray(0, 4096).toString('latin1'))?.[1];
}

/** A config message's id near its start, as idNearStart's. */
function configIdNearStart(payload: Buffer): string | undefined {
  return /"config_id"\s*:\s*"([A-Za-z0-9_.:-]{1,128})"/.exec(payload.subarray(0, 4096).toString('latin1'))?.[1];
}

/** An intent id to echo in the ack: what the sender wrote, if it is a short string. */
function idOf(raw: unknown): string | null {
  const id = raw !== null && typeof raw === 'object' ? (raw as { intent_id?: unknown }).intent_id : undefined;
  return typeof id === 'string' && id.length <= 128 ? id : null;
}

/** The agent's refusal as an ack's error: a contract error with its paths, a conflict, a full disk. */
function toRefusal(error: unknown): Refusal {
  if (error instanceof Refusal) return error;
  const e = error as Error & { code?: unknown; statusCode?: unknown };
  if (error instanceof ValidationError)
    return new Refusal('bad_request', e.message, PAYLOAD_FORMAT_INVALID, error.issues);
  if (e.statusCode === 409) return new Refusal('conflict', e.message, REFUSED);
  if (e.code === 'wrong_target') return new Refusal('wrong_target', e.message, REFUSED);
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT')
    return new Refusal(
      'disk_full',
      `${e.message}: nothing was accepted; send the intent again once there is room`,
      REFUSED,
    );
  return new Refusal('failed', e.message ?? String(error), REFUSED);
}
