import type { KeyObject } from 'node:crypto';
import type { CommandCounterStore } from './command-signature-counter.ts';
import {
  COMMAND_TOPICS,
  commandSignatureValid,
  COUNTER_PROPERTY,
  EXPIRES_PROPERTY,
  SIGNATURE_PROPERTY,
  SIGNED_FOR_PROPERTY,
  type CommandAddress,
  type CommandTopic,
} from './command-signature.ts';
import { errorText } from '../daemon/util/index.ts';

/** Why a command from the link was refused before it acted. */
export type SignatureRefusalCode =
  | 'no_key'
  | 'unsigned'
  | 'bad_signature'
  | 'wrong_robot'
  | 'wrong_topic'
  | 'replayed'
  | 'expired'
  | 'counter_not_saved';

/** `signed`: central's key verified it (false: taken unchecked, by the file's explicit opt-out). */
export type SignatureVerdict =
  { ok: true; signed: boolean } | { ok: false; code: SignatureRefusalCode; message: string };

/** What the robot's file must say for central to command it: said at start, in status and in each refusal. */
export const NO_KEY_REMEDY =
  "on central run `auraison-edge central keygen --out /etc/auraison/central-command.pem` (central.yaml: mqtt.command_key) and put the public key it prints under central.command_keys in this robot's config file; or set central.require_signed_commands: false there to take unsigned commands from any broker client";

type UserProperties = Record<string, string | string[]> | undefined;

export interface CommandSignatureCheckOptions {
  /** Central's public keys (central.command_keys); empty: nothing can be checked, so every command is refused. */
  keys: readonly KeyObject[];
  /**
   * Refuse a command without a signature (central.require_signed_commands, true unless the file says false).
   * false with no key: every command is taken unchecked (the file's explicit opt-out, warned of).
   */
  required: boolean;
  fleet: string;
  robot: string;
  counters: CommandCounterStore;
  /** Said once per kind of laxity: a lab must hear that its robot obeys any broker client. */
  warn: (message: string) => void;
  /** The robot's clock, ms since the epoch: a command past its signed expiry by it is refused. */
  now?: () => number;
}

/** How far central's signed time may run ahead of the robot's clock before the robot says its clock is behind. */
const CLOCK_SLACK_US = 60_000_000n;

/**
 * The robot's gate on what comes down the link: a command acts only when central's key signed it for this
 * robot and this topic with a counter never taken before (command-signature.ts), and its counter is on disk
 * first. Every refusal is counted by its reason. Without a key pinned the gate is shut (`no_key`): a robot out
 * of the box obeys no broker client. Only the file's require_signed_commands: false opens it: then an unsigned
 * command is taken (said once), and a signed one is still checked when a key is pinned.
 */
export class CommandSignatureCheck {
  readonly #keys: readonly KeyObject[];
  readonly #required: boolean;
  readonly #fleet: string;
  readonly #robot: string;
  readonly #counters: CommandCounterStore;
  readonly #warn: (message: string) => void;
  readonly #now: () => number;
  #warned = new Set<string>();
  readonly counts: Record<'verified' | 'unchecked' | SignatureRefusalCode, number> = {
    verified: 0,
    unchecked: 0,
    no_key: 0,
    unsigned: 0,
    bad_signature: 0,
    wrong_robot: 0,
    wrong_topic: 0,
    replayed: 0,
    expired: 0,
    counter_not_saved: 0,
  };

  constructor(options: CommandSignatureCheckOptions) {
    const { keys, required, fleet, robot, counters, warn, now = Date.now } = options;
    this.#now = now;
    this.#keys = keys;
    this.#required = required;
    this.#fleet = fleet;
    this.#robot = robot;
    this.#counters = counters;
    this.#warn = warn;
  }

  /**
   * The verdict on a command, once its counter is on disk. `verified` is called as soon as the command is known good
   * (central's signature, its expiry, a counter not taken before: all decided in this tick), before that write: a
   * stop acts then, and a disk that does not take the counter costs the robot no stop.
   */
  async check(
    topic: CommandTopic,
    payload: Buffer,
    userProperties: UserProperties,
    verified: () => void = () => {},
  ): Promise<SignatureVerdict> {
    if (this.#keys.length === 0 && this.#required)
      return this.#refuse(
        'no_key',
        `this robot pins no key of central's (central.command_keys is empty), so it takes no command from the link: ${NO_KEY_REMEDY}`,
      );
    const signature = single(userProperties?.[SIGNATURE_PROPERTY]);
    if (this.#keys.length === 0 || signature === undefined) {
      if (this.#required)
        return this.#refuse(
          'unsigned',
          `the ${topic} message carries no signature (user property ${SIGNATURE_PROPERTY}): this robot takes only commands central signed (central.require_signed_commands)`,
        );
      this.counts.unchecked++;
      this.#warnOnce(
        'unsigned',
        `central: a command on ${topic} was taken unchecked: central.require_signed_commands is false in this robot's file, so any client of the broker can command it`,
      );
      verified();
      return { ok: true, signed: false };
    }
    const counterText = single(userProperties?.[COUNTER_PROPERTY]);
    if (counterText === undefined || !/^[0-9]{1,20}$/.test(counterText))
      return this.#refuse('bad_signature', `the ${topic} message has no counter (user property ${COUNTER_PROPERTY})`);
    const counter = BigInt(counterText);
    const expiresText = userProperties?.[EXPIRES_PROPERTY];
    if (expiresText !== undefined && !/^[0-9]{1,20}$/.test(single(expiresText) ?? ''))
      return this.#refuse(
        'bad_signature',
        `the ${topic} message's expiry (user property ${EXPIRES_PROPERTY}) is not one decimal number`,
      );
    const expires = expiresText === undefined ? undefined : BigInt(expiresText as string);
    const bytes = Buffer.from(signature, 'base64');
    const self: CommandAddress = { fleet: this.#fleet, robot: this.#robot, topic };
    if (!commandSignatureValid(this.#keys, self, counter, payload, bytes, expires))
      return this.#unsigned(self, counter, payload, bytes, expires, single(userProperties?.[SIGNED_FOR_PROPERTY]));
    const now = BigInt(Math.floor(this.#now())) * 1000n;
    this.#clockBehind(counter, now);
    if (expires !== undefined) {
      const expired = this.#expired(topic, counter, expires, now);
      if (expired) return expired;
    }
    if (!this.#counters.claim(counter))
      return this.#refuse(
        'replayed',
        `counter ${counter} was taken before (or is older than what this robot took since): a replayed command`,
      );
    verified();
    try {
      await this.#counters.persist();
    } catch (error) {
      return this.#refuse(
        'counter_not_saved',
        `the command's counter could not be written to ${this.#counters.path} (${errorText(error)}); nothing was done: send it again once the disk is writable`,
      );
    }
    this.counts.verified++;
    return { ok: true, signed: true };
  }

  /**
   * A command past its signed expiry, by either of two clocks: the robot's own, and central's as its signatures
   * tell it (the highest counter taken, the time central signed a later command). The second needs no clock
   * here: a robot whose clock is behind still refuses what a broker kept past a command taken since.
   */
  #expired(topic: CommandTopic, counter: bigint, expires: bigint, now: bigint): SignatureVerdict | undefined {
    const signed = `central signed it at ${isoOf(counter)} to expire at ${isoOf(expires)} (${seconds(expires - counter)} s later)`;
    if (now > expires)
      return this.#refuse(
        'expired',
        `the ${topic} command expired ${seconds(now - expires)} s ago by this robot's clock (${isoOf(now)}): ${signed}; a broker kept it while the robot was offline, or it was replayed, and nothing was done. If this robot's clock is ahead, every command with an expiry looks expired: set it (timedatectl set-ntp true), or send with --expiry-s 0`,
      );
    const highest = this.#counters.highest;
    if (highest > expires)
      return this.#refuse(
        'expired',
        `the ${topic} command expired by central's own clock: ${signed}, and this robot took a command central signed at ${isoOf(highest)}; a broker kept it past its expiry, or it was replayed, and nothing was done`,
      );
    return undefined;
  }

  /** Central's signed time well past this robot's clock: the robot's clock cannot tell an expired command. */
  #clockBehind(counter: bigint, now: bigint): void {
    if (counter - now <= CLOCK_SLACK_US) return;
    this.#warnOnce(
      'clock_behind',
      `central: this robot's clock (${isoOf(now)}) is ${seconds(counter - now)} s behind central's, which signed a command at ${isoOf(counter)}: a command kept past its expiry is refused only once a later one was taken; set this robot's clock (timedatectl set-ntp true)`,
    );
  }

  /** A signature that is not central's for this robot and topic: another robot's, another topic's, or forged. */
  #unsigned(
    self: CommandAddress,
    counter: bigint,
    payload: Buffer,
    signature: Buffer,
    expires: bigint | undefined,
    signedFor: string | undefined,
  ): SignatureVerdict {
    const [fleet, robot] = (signedFor ?? '').split('/');
    const here = `${this.#fleet}/${this.#robot}`;
    if (fleet && robot && signedFor !== here) {
      const other = { fleet, robot, topic: self.topic };
      if (commandSignatureValid(this.#keys, other, counter, payload, signature, expires))
        return this.#refuse(
          'wrong_robot',
          `central signed this ${self.topic} message for ${signedFor}, not for this robot (${here})`,
        );
    }
    for (const topic of COMMAND_TOPICS)
      if (
        topic !== self.topic &&
        commandSignatureValid(this.#keys, { ...self, topic }, counter, payload, signature, expires)
      )
        return this.#refuse('wrong_topic', `central signed this message for the ${topic} topic, not ${self.topic}`);
    return this.#refuse(
      'bad_signature',
      `the ${self.topic} message's signature is not by central.command_keys: forged, or signed with another key`,
    );
  }

  #refuse(code: SignatureRefusalCode, message: string): SignatureVerdict {
    this.counts[code]++;
    return { ok: false, code, message };
  }

  /** How many keys of central's are pinned. */
  get keys(): number {
    return this.#keys.length;
  }

  /** No key pinned and commands required: central cannot command this robot at all. */
  get shut(): boolean {
    return this.#keys.length === 0 && this.#required;
  }

  /** The file's explicit opt-out: commands are taken without central's signature. */
  get open(): boolean {
    return !this.#required;
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#warn(message);
  }
}

/** A time in the counter's units (microseconds since the epoch), in ISO 8601; a counter past 9999 as a number. */
function isoOf(us: bigint): string {
  const ms = Number(us / 1000n);
  return ms > 253_402_300_799_999 ? `${us} us` : new Date(ms).toISOString();
}

function seconds(us: bigint): string {
  return (Number(us / 1000n) / 1000).toFixed(1);
}

/** One user property's value: MQTT 5 allows a name several times, and a command that repeats one is not central's. */
function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
