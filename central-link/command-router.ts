import type { IPublishPacket } from 'mqtt';
import type { Logger } from '../daemon/log.ts';
import type { rateLimitedErrors } from '../daemon/util/index.ts';
import type { CommandRates, CommandKind } from './command-rate.ts';
import { commandTopicOf } from './command-gate.ts';
import type { CommandSignatureCheck } from './command-signature-check.ts';
import type { IntentIntake } from './intent-intake.ts';
import type { Outbox } from './outbox.ts';
import { parseResend } from './resend.ts';
import type { SyncManager } from './sync/sync-manager.ts';
import type { CentralTopics } from './topics.ts';

type LogErrors = ReturnType<typeof rateLimitedErrors>;

export interface CommandRouterOptions {
  topics: CentralTopics;
  signatures: CommandSignatureCheck;
  rates: CommandRates;
  intake: IntentIntake;
  /**
   * What a command that central's key verified does before it waits on anything: the intake's haltFirst unless given
   * (the stop connection's, which halts once for a stop its own thread may have read first).
   */
  haltFirst?: (payload: Buffer, packet: IPublishPacket) => void;
  outbox: Outbox;
  /** Bulk sync, with central.sync.enabled: it takes the grants. */
  sync: SyncManager | undefined;
  /** For refusals central can repeat at will (signatures, resends). */
  logErrors: LogErrors;
  /** For commands past their rate. */
  logRate: LogErrors;
  log: Logger;
}

/**
 * Routes one message from central to its handler, and resolves with the PUBACK reason code: its signature first
 * (a forged one takes no rate and acts on nothing), then its kind's rate, then its handler. A stop intent central
 * signed halts the robot as soon as its signature is checked (IntentIntake.haltFirst), whatever comes of it after.
 */
export class CommandRouter {
  readonly #topics: CentralTopics;
  readonly #signatures: CommandSignatureCheck;
  readonly #rates: CommandRates;
  readonly #intake: IntentIntake;
  readonly #haltFirst: (payload: Buffer, packet: IPublishPacket) => void;
  readonly #outbox: Outbox;
  readonly #sync: SyncManager | undefined;
  readonly #logErrors: LogErrors;
  readonly #logRate: LogErrors;
  readonly #log: Logger;

  constructor(options: CommandRouterOptions) {
    const { topics, signatures, rates, intake, outbox, sync, logErrors, logRate, log } = options;
    this.#haltFirst = options.haltFirst ?? ((payload, packet) => intake.haltFirst(payload, packet));
    this.#topics = topics;
    this.#signatures = signatures;
    this.#rates = rates;
    this.#intake = intake;
    this.#outbox = outbox;
    this.#sync = sync;
    this.#logErrors = logErrors;
    this.#logRate = logRate;
    this.#log = log;
  }

  async handle(topic: string, payload: Buffer, packet: IPublishPacket): Promise<number> {
    const topics = this.#topics;
    const commandTopic = commandTopicOf(topic, topics);
    if (!commandTopic) return 0x80; // the link subscribes to command topics only
    // A stop intent halts the robot once central's signature is known good, in this tick: before its counter is on
    // disk, its rate, and its run's acceptance, each of which can wait.
    const verdict = await this.#signatures.check(commandTopic, payload, packet.properties?.userProperties, () => {
      if (commandTopic === 'intents') this.#haltFirst(payload, packet);
    });
    if (!verdict.ok) {
      const { code, message } = verdict;
      this.#logErrors(`signature:${code}`, { topic, code, err: message }, 'central: a command was refused');
      if (commandTopic === 'intents' || commandTopic === 'config')
        this.#intake.refuseUnread(topic, payload, packet, { code, message });
      return 0x87; // not authorized
    }
    if (this.#overRate(topic)) return 0x97; // quota exceeded
    // Bulk sync needs to know whether central's key vouched for a grant: an unsigned one may not name storage.
    if (topic === topics.grants && this.#sync) return this.#sync.handle(payload, verdict.signed);
    if (topic === topics.resend) return this.#resend(payload);
    return this.#intake.handle(topic, payload, packet);
  }

  /** A command past its kind's rate (central.rate_limits): refused with PUBACK 0x97, counted, logged rate-limited. */
  #overRate(topic: string): boolean {
    const kind = commandKindOf(topic, this.#topics);
    if (!kind || this.#rates.take(kind)) return false;
    this.#logRate(
      `rate:${kind}`,
      { kind, refused: this.#rates.refused[kind] },
      `central: ${kind} past central.rate_limits.${kind}_per_min refused (a flood on the link, or the limit too low)`,
    );
    return true;
  }

  /** Central asks for events again (resend.ts): PUBACK 0 once queued or when there is nothing to send. */
  #resend(payload: Buffer): number {
    const request = parseResend(payload);
    if (typeof request === 'string') {
      this.#logErrors('resend', { problem: request }, 'central: a resend request from central was refused');
      return 0x99; // payload format invalid
    }
    const skipped = this.#outbox.resend(request.journal_id, request.from_seq, request.to_seq);
    if (skipped) this.#log.info({ ...request, skipped }, 'central: resend request: nothing sent again');
    else this.#log.info(request, 'central: central asked for events again; sending them');
    return 0;
  }
}

/** Which rate a topic's commands take; undefined for those without one (grants). */
function commandKindOf(topic: string, topics: CentralTopics): CommandKind | undefined {
  if (topic === topics.intents) return 'intents';
  if (topic === topics.config) return 'configs';
  if (topic === topics.resend) return 'resends';
  return undefined;
}
