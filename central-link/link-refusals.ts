import type { CommandKind } from './command-rate.ts';

/** Every command the link refused, by who refused it: each count is its owner's (the gate, the rates, bulk sync). */
export type RefusalCounts = {
  /** Not central's: no key, unsigned, a bad signature, another robot's or topic's, replayed (by refusal code). */
  signature: Record<string, number>;
  /** Past central.rate_limits, by kind. */
  rate_limited: Record<CommandKind, number>;
  /** Grants to storage central.sync.storage_origins does not pin (or unsigned with none pinned). */
  grants: number;
  /** `stored` for a file this robot did not upload under that key. */
  stored: number;
};

/** What status and each heartbeat say of them: the counts, their sum, and when the sum last grew (ISO 8601). */
export type RefusalReport = RefusalCounts & {
  total: number;
  last_at: string | null;
};

/** How long after the last refusal the link stays `degraded`: an attack is seen on the fleet page, then it settles. */
const RECENT_MS = 15 * 60_000;

/**
 * Watches the link's refusals for status and heartbeats: a robot under attack is `degraded` from the refusal on
 * until RECENT_MS pass without another, and its heartbeat carries the counts, so central's fleet page shows it. The
 * counts are read where they are kept; this only notes when their sum grew (at the latest, at the next heartbeat).
 */
export class RefusalWatch {
  readonly #now: () => number;
  #total = 0;
  #lastAt: number | undefined;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  report(counts: RefusalCounts): RefusalReport {
    const total =
      sum(Object.values(counts.signature)) + sum(Object.values(counts.rate_limited)) + counts.grants + counts.stored;
    if (total > this.#total) this.#lastAt = this.#now();
    this.#total = total;
    const last_at = this.#lastAt === undefined ? null : new Date(this.#lastAt).toISOString();
    return { ...counts, total, last_at };
  }

  /** A refusal came within RECENT_MS (of the last report). */
  get recent(): boolean {
    return this.#lastAt !== undefined && this.#now() - this.#lastAt < RECENT_MS;
  }
}

/** The refusals in words for the link's health, or undefined while there are none. */
export function refusalWords(report: RefusalReport): string | undefined {
  if (report.total === 0) return undefined;
  const named = (counts: Record<string, number>) =>
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([what, n]) => `${what} ${n}`);
  const parts = [
    ...named(report.signature),
    ...named(report.rate_limited).map((p) => `rate_limited ${p}`),
    ...(report.grants > 0 ? [`grant_origin ${report.grants}`] : []),
    ...(report.stored > 0 ? [`stored ${report.stored}`] : []),
  ];
  const expired = report.signature.expired ?? 0;
  // Commands kept past their expiry are no attack: the robot was offline past them, or its clock is ahead.
  const why =
    expired === report.total
      ? `commands kept past their expiry while this robot was offline, replayed, or this robot's clock is ahead (docs/central-link.md, "Commands expire")`
      : `a broker client other than central publishes on this robot's topics, central's key changed, or central floods it (docs/central-link.md, "Broker ACL and threat model")${expired > 0 ? `; expired ones: see "Commands expire"` : ''}`;
  return `${report.total} command(s) from the link refused (${parts.join(', ')}), the last at ${report.last_at}: ${why}`;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
