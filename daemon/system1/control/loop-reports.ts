import { LogBurst } from '../../util/index.ts';
import type { LoopWorkerMessage } from './loop-protocol.ts';

/** The problems a loop thread counts and reports: a failed tick, a non-finite action, an overdue chunk. */
export type LoopProblem = Extract<
  LoopWorkerMessage,
  { kind: 'error' | 'non_finite' | 'inference_overdue' | 'hold_unmeasured' | 'joint_limit' }
>;

/**
 * What a loop thread asks the main thread to log: per problem one line per LogBurst window, per observation two
 * (going stale, and fresh again), besides the two of its start. A loop ticks up to 1000 times a second for months:
 * a policy that fails every tick, or a sensor that flickers around its age limit, must cost a line a minute, not one
 * per tick or per flicker. The first occurrence goes out at once with its details; what is held back is counted
 * (`suppressed`) on the next line. The tick is the clock: `tick()` sends a summary of what was held back once its
 * window ends, so the log's last word on an observation is its state now and a problem that stopped still gets its
 * count logged; `flush()` does so for everything when the loop stops. The counters in shared memory (status,
 * metrics) count every occurrence.
 */
export class LoopReports {
  #problems: LogBurst;
  #observations: LogBurst;
  #post: (m: LoopWorkerMessage) => void;
  /** Per problem kind, the last occurrence held back: its summary repeats it with the count. */
  #lastHeld = new Map<string, LoopProblem>();
  /** Per topic the loop reads (LoopPlan.topics), its observation's state now. */
  #topics: { topic: string; limitMs: number; stale: boolean; ageMs: number | null; observed: boolean }[];
  /** Something is held back: only then are the windows looked at for summaries. */
  #holding = false;

  /** `slots`: the observations reported, one per topic the loop reads (LoopPlan.topics), by index. */
  constructor(options: {
    post: (m: LoopWorkerMessage) => void;
    slots: { topic: string; maxAgeMs: number }[];
    intervalMs: number;
    now?: () => number;
  }) {
    const { post, slots: topics, intervalMs, now } = options;
    this.#post = post;
    this.#problems = new LogBurst({ intervalMs, now });
    this.#observations = new LogBurst({ intervalMs, burst: 2, now });
    this.#topics = topics.map((t) => ({
      topic: t.topic,
      limitMs: t.maxAgeMs,
      stale: false,
      ageMs: null,
      observed: false,
    }));
  }

  /** A counted problem; true when it went to the log now, false when it was held back. */
  problem(report: LoopProblem): boolean {
    const held = this.#problems.take(report.kind);
    if (held === undefined) {
      this.#lastHeld.set(report.kind, report);
      this.#holding = true;
      return false;
    }
    this.#post({ ...report, suppressed: held });
    return true;
  }

  /**
   * Topic `topic`'s (an index in the loop's topics) observation went stale (`ageMs` null: none ever came) or fresh
   * again. The loop's start (none yet, then the first) goes out at once and spends nothing of the topic's window, so
   * a topic that drops out in the loop's first minute is logged as it does. Any transition with an age marks the topic
   * observed: one fresh from the first tick has no start to exempt.
   */
  transition(topic: number, stale: boolean, ageMs: number | null): void {
    const s = this.#topics[topic]!;
    const start = !s.observed && (ageMs === null || !stale);
    if (ageMs !== null) s.observed = true;
    s.stale = stale;
    s.ageMs = ageMs;
    if (start) return this.#post(this.#topicMessage(topic, 0));
    const held = this.#observations.take(String(topic));
    if (held === undefined) this.#holding = true;
    else this.#post(this.#topicMessage(topic, held));
  }

  /** Once a tick: a summary of each problem and observation whose window ended with something held back. */
  tick(): void {
    if (!this.#holding) return;
    for (const [kind, held] of this.#problems.due()) this.#post({ ...this.#lastHeld.get(kind)!, suppressed: held });
    for (const [topic, held] of this.#observations.due()) this.#post(this.#topicMessage(Number(topic), held));
    this.#holding = this.#problems.holding() || this.#observations.holding();
  }

  /** The loop stops: a summary of everything held back, whatever its window, so no count is left unsaid. */
  flush(): void {
    for (const [kind, report] of this.#lastHeld) {
      const held = this.#problems.flush(kind);
      if (held > 0) this.#post({ ...report, suppressed: held });
    }
    this.#topics.forEach((_, topic) => {
      const held = this.#observations.flush(String(topic));
      if (held > 0) this.#post(this.#topicMessage(topic, held));
    });
    this.#holding = false;
  }

  #topicMessage(topic: number, suppressed: number): LoopWorkerMessage {
    const s = this.#topics[topic]!;
    return s.stale
      ? { kind: 'stale', topic: s.topic, ageMs: s.ageMs, limitMs: s.limitMs, suppressed }
      : { kind: 'fresh', topic: s.topic, suppressed };
  }
}
