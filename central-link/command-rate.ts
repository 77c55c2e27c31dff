import { TokenBucket } from '../daemon/util/index.ts';

/** What central sends that makes the robot act or work: each kind has a rate of its own. */
export type CommandKind = 'intents' | 'configs' | 'resends';

/**
 * Per-kind rates of what comes down the link (central.rate_limits, per minute, with a burst of as many): a flood
 * from a broker client that got hold of a command topic (1,000 intents in 30 s were all accepted; 2.4 kB of resend
 * requests made 5 MB of resends) is cut at the rate, each message past it refused and counted. The operator's stop
 * does not come this way, so nothing here can keep it from the robot.
 */
export class CommandRates {
  readonly #buckets: Record<CommandKind, TokenBucket>;
  readonly refused: Record<CommandKind, number> = { intents: 0, configs: 0, resends: 0 };

  constructor(perMinute: Record<CommandKind, number>, now?: () => number) {
    const bucket = (n: number) => new TokenBucket({ ratePerS: n / 60, burst: Math.max(1, n), now });
    this.#buckets = {
      intents: bucket(perMinute.intents),
      configs: bucket(perMinute.configs),
      resends: bucket(perMinute.resends),
    };
  }

  /** Whether one more of `kind` may be taken now; a refusal is counted. */
  take(kind: CommandKind): boolean {
    if (this.#buckets[kind].take()) return true;
    this.refused[kind]++;
    return false;
  }
}
