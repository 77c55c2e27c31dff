import type { CommandIO } from '../cli-kit/index.ts';
import { followTopic, type FollowOptions } from './topic-follow.ts';
import { findChannel, onHalt, type TopicSession } from './topic-session.ts';

export interface HzOptions {
  /** Intervals the statistics are taken over, the latest (`--window`, ros2's default 10000). */
  window: number;
  /** Stop after this many seconds (exit 0); undefined: until Ctrl-C. */
  durationS: number | undefined;
}

export interface RateStats {
  /** Messages a second: 1 / the mean interval. */
  rate: number;
  minS: number;
  maxS: number;
  stdDevS: number;
  /** Intervals the figures are taken over. */
  window: number;
}

/** Intervals between message arrivals, the latest `size` of them, and the statistics `ros2 topic hz` prints. */
export class RateWindow {
  #size: number;
  #intervals: number[] = [];
  #next = 0;
  #lastMs: number | undefined;
  #count = 0;

  constructor(size: number) {
    this.#size = size;
  }

  /** Messages seen in all. */
  get count(): number {
    return this.#count;
  }

  /** The next message starts a new interval: the time the topic could not be followed is no interval. */
  gap(): void {
    this.#lastMs = undefined;
  }

  add(receivedMs: number): void {
    this.#count++;
    if (this.#lastMs !== undefined) {
      const interval = (receivedMs - this.#lastMs) / 1000;
      if (this.#intervals.length < this.#size) this.#intervals.push(interval);
      else this.#intervals[this.#next] = interval;
      this.#next = (this.#next + 1) % this.#size;
    }
    this.#lastMs = receivedMs;
  }

  /** Undefined until two messages came (one interval). */
  stats(): RateStats | undefined {
    const n = this.#intervals.length;
    if (n === 0) return undefined;
    let sum = 0;
    let minS = Infinity;
    let maxS = -Infinity;
    for (const x of this.#intervals) {
      sum += x;
      minS = Math.min(minS, x);
      maxS = Math.max(maxS, x);
    }
    const mean = sum / n;
    let squares = 0;
    for (const x of this.#intervals) squares += (x - mean) ** 2;
    return { rate: mean > 0 ? 1 / mean : 0, minS, maxS, stdDevS: Math.sqrt(squares / n), window: n };
  }
}

/** The two lines `ros2 topic hz` prints each second. */
export function formatRate(s: RateStats): string {
  return `average rate: ${s.rate.toFixed(3)}\n\tmin: ${s.minS.toFixed(3)}s max: ${s.maxS.toFixed(3)}s std dev: ${s.stdDevS.toFixed(5)}s window: ${s.window}\n`;
}

/**
 * `topic hz`: the topic's rate from when its messages arrive here, printed every second (`no new messages`
 * when none came since the last print), until Ctrl-C or `durationS` (exit 0, after a last print and a
 * line with the count; exit 1 when no message came at all). The messages are not decoded.
 */
export async function hz(
  session: TopicSession,
  topic: string,
  options: HzOptions,
  io: CommandIO,
  reopen?: FollowOptions['reopen'],
): Promise<number> {
  const { conn } = session;
  const channel = findChannel(session, topic);
  if (typeof channel === 'string') {
    conn.close();
    io.stderr(`auraison-edge topic hz: ${channel}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const rates = new RateWindow(options.window);
    const startedMs = performance.now();
    let printedCount = 0;
    const print = () => {
      if (rates.count === printedCount) {
        if (printedCount > 0) io.stdout('no new messages\n');
        return;
      }
      const stats = rates.stats();
      if (!stats) return; // one message: no interval yet
      io.stdout(formatRate(stats));
      printedCount = rates.count;
    };
    const finish = (code: number, message?: string) => {
      clearInterval(ticker);
      clearTimeout(deadline);
      removeStopHandlers();
      unfollow();
      if (message) io.stderr(`auraison-edge topic hz: ${message}\n`);
      resolve(code);
    };
    const end = () => {
      const s = ((performance.now() - startedMs) / 1000).toFixed(1);
      if (rates.count === 0)
        return finish(
          options.durationS !== undefined ? 1 : 0,
          `no message on ${topic} in ${s} s: is anything publishing it? (\`auraison-edge status\` shows each topic's rate)`,
        );
      if (rates.count > printedCount) print();
      io.stdout(`${rates.count} message(s) on ${topic} in ${s} s\n`);
      finish(0);
    };
    const ticker = setInterval(print, 1000);
    const deadline = options.durationS === undefined ? undefined : setTimeout(end, options.durationS * 1000);
    const removeStopHandlers = onHalt(end);
    conn.subscribe(channel, (_message, receivedMs) => rates.add(receivedMs));
    const unfollow = followTopic(session, topic, {
      verb: 'hz',
      io,
      reopen,
      attach(next, nextChannel) {
        next.conn.subscribe(nextChannel, (_message, receivedMs) => rates.add(receivedMs));
        return undefined;
      },
      resumed: () => rates.gap(),
      lost: (why) =>
        finish(
          1,
          `${why}; ${rates.count} message(s) received. Is the daemon still running? (\`auraison-edge status\`)`,
        ),
      fail: (message) => finish(1, message),
    });
  });
}
