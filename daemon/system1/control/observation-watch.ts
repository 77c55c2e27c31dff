import type { LoopPlan } from './loop-plan.ts';

/** How long past its max age a topic may go without a fresh observation before the loop is called blind. */
export const BLIND_AFTER_MS = 1000;

interface TopicState {
  topic: string;
  maxAgeMs: number;
  /** The inputs it feeds, for the words. */
  inputs: string[];
  received: number;
  refused: number;
  lastRefusal: string | undefined;
  lastRefusalMs: number;
  /** The newest observation taken: its time as the loop judges its age (monotonic ms), or -Infinity. */
  takenMs: number;
}

/** One topic of a loop as status shows it (a type, not an interface: it is a status figure). */
export type ObservationSummary = {
  topic: string;
  inputs: string[];
  received: number;
  refused: number;
  /** Age of the newest observation taken, ms; null before one was. */
  age_ms: number | null;
  last_refusal?: string;
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * What each topic of a loop brought since the loop subscribed: messages, refusals (with the last one's words) and the
 * newest observation taken. A loop is blind while a topic it reads has had no fresh observation for BLIND_AFTER_MS
 * past its max age (or none at all since the loop started): it sends only its safe action, and says which input
 * and topic are at fault, and why.
 */
export class ObservationWatch {
  readonly #topics: TopicState[];
  readonly #byTopic = new Map<string, TopicState>();
  #sinceMs = Number.POSITIVE_INFINITY;

  constructor(plan: Pick<LoopPlan, 'topics' | 'slots' | 'images'>) {
    this.#topics = plan.topics.map(({ topic, maxAgeMs }) => ({
      topic,
      maxAgeMs,
      inputs: [],
      received: 0,
      refused: 0,
      lastRefusal: undefined,
      lastRefusalMs: Number.NEGATIVE_INFINITY,
      takenMs: Number.NEGATIVE_INFINITY,
    }));
    for (const t of this.#topics) this.#byTopic.set(t.topic, t);
    for (const { topic, input } of [...plan.slots, ...plan.images]) {
      const inputs = this.#byTopic.get(topic)?.inputs;
      if (inputs && !inputs.includes(input)) inputs.push(input);
    }
  }

  /** The loop subscribed: a topic silent since then counts from now. */
  started(nowMs: number): void {
    this.#sinceMs = nowMs;
  }

  arrived(topic: string): void {
    const t = this.#byTopic.get(topic);
    if (t) t.received++;
  }

  taken(topic: string, timeMs: number): void {
    const t = this.#byTopic.get(topic);
    if (t && timeMs > t.takenMs) t.takenMs = timeMs;
  }

  refused(topic: string, why: string, nowMs: number): void {
    const t = this.#byTopic.get(topic);
    if (!t) return;
    t.refused++;
    t.lastRefusal = why;
    t.lastRefusalMs = nowMs;
  }

  summary(nowMs: number): ObservationSummary[] {
    return this.#topics.map((t) => ({
      topic: t.topic,
      inputs: t.inputs,
      received: t.received,
      refused: t.refused,
      age_ms: Number.isFinite(t.takenMs) ? Math.round(nowMs - t.takenMs) : null,
      ...(t.lastRefusal !== undefined ? { last_refusal: t.lastRefusal } : {}),
    }));
  }

  /** Why the loop is blind now (its topics at fault, each with why), or undefined while it sees. */
  blind(nowMs: number): string | undefined {
    const faults: string[] = [];
    for (const t of this.#topics) {
      const since = Math.max(t.takenMs, this.#sinceMs);
      if (nowMs - since <= t.maxAgeMs + BLIND_AFTER_MS) continue;
      faults.push(`input ${t.inputs.join(', ')} reads ${t.topic}: ${this.#why(t, nowMs)}`);
    }
    return faults.length > 0 ? faults.join('; ') : undefined;
  }

  #why(t: TopicState, nowMs: number): string {
    const refusedLast = t.refused > 0 && t.lastRefusalMs > t.takenMs ? `; last refused: ${t.lastRefusal}` : '';
    if (t.received === 0) return `no message in ${seconds(nowMs - this.#sinceMs)}`;
    if (!Number.isFinite(t.takenMs))
      return t.refused > 0
        ? `${t.refused} of ${t.received} messages refused, none taken${refusedLast}`
        : `${t.received} messages, none taken yet`;
    return `the newest observation taken is ${seconds(nowMs - t.takenMs)} old (max_age_ms ${t.maxAgeMs})${refusedLast}`;
  }
}
