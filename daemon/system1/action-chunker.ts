import { aggregator, type AggregateName, type Aggregator } from './aggregators.ts';

export interface TimedAction {
  /** Control step the action is for. */
  timestep: number;
  action: Float32Array;
}

export interface ChunkerCounters {
  executed: number;
  underruns: number;
  chunks: number;
  /** Actions of incoming chunks for timesteps already executed. */
  late: number;
  /** Queued actions that a new chunk overlapped and merged with. */
  merged: number;
}

/** What a control loop takes its actions from: a chunk queue (ActionChunker) or ACT's temporal ensemble. */
export interface ActionSource {
  readonly counters: ChunkerCounters;
  wantsObservation(): boolean;
  /** Stamps the observation sent now; `beforeAction`: taken before this tick's action (inline inference). */
  observationSent(beforeAction?: boolean): number;
  observationFailed(): void;
  receive(observationTimestep: number, actions: Float32Array, dim: number): void;
  pop(): TimedAction | undefined;
  clear(): void;
  /**
   * A new episode (LeRobot's policy.reset()): the queue is dropped, and so is the chunk in flight when it comes, as
   * both were planned in the episode before.
   */
  reset(): void;
}

export interface ActionChunkerOptions {
  /** K: actions per chunk the policy returns. */
  chunkSize: number;
  /** Ask for a chunk when queue / actionSteps <= threshold (LeRobot's chunk_size_threshold, default 0.5). */
  threshold?: number;
  aggregate?: AggregateName;
  /** Actions of a chunk that are queued (ACT's n_action_steps): the rest are dropped. Default: all K. */
  actionSteps?: number;
}

/**
 * The robot side of LeRobot's async inference: a queue of timed actions that the control loop pops one per
 * tick, refilled by chunks that arrive while it keeps running.
 *
 * - `wantsObservation()` is true when the queue has fallen to `threshold` x K (and no chunk is awaited); with
 *   actionSteps (ACT's n_action_steps) N < K, only a chunk's first N actions are queued, and the threshold is of N.
 *   LeRobot's client asks it right after popping the step's action, and stamps the observation it then
 *   takes with the latest executed timestep.
 * - A chunk for observation timestep t carries actions for t, t+1, ... t+K-1. Actions for timesteps already
 *   executed are dropped; those that overlap a queued action are merged by the aggregate function
 *   (weighted_average: 0.3 old + 0.7 new); the rest are appended. Queued actions the chunk does not cover
 *   are dropped, as LeRobot rebuilds its queue from the incoming chunk.
 * - `pop()` on an empty queue is an underrun: counted, and the caller decides what the robot does.
 *
 * Single-threaded: the caller serializes pop, receive and wantsObservation.
 */
export class ActionChunker implements ActionSource {
  readonly chunkSize: number;
  readonly threshold: number;
  readonly counters: ChunkerCounters = { executed: 0, underruns: 0, chunks: 0, late: 0, merged: 0 };
  #queue: TimedAction[] = [];
  #aggregate: Aggregator;
  readonly #actionSteps: number;
  #latest = -1;
  #awaiting: number | undefined;
  /** The chunk awaited was planned before a reset: it is dropped when it comes. */
  #dropAwaited = false;
  #lead = 0;

  constructor(options: ActionChunkerOptions) {
    const { chunkSize, threshold = 0.5, aggregate = 'weighted_average', actionSteps = chunkSize } = options;
    if (!Number.isInteger(chunkSize) || chunkSize < 1)
      throw new RangeError(`chunkSize must be an integer >= 1, got ${chunkSize}`);
    if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold must be within [0, 1], got ${threshold}`);
    if (!Number.isInteger(actionSteps) || actionSteps < 1 || actionSteps > chunkSize)
      throw new RangeError(`actionSteps must be an integer from 1 to ${chunkSize}, got ${actionSteps}`);
    this.chunkSize = chunkSize;
    this.threshold = threshold;
    this.#actionSteps = actionSteps;
    this.#aggregate = aggregator(aggregate);
  }

  /** Timestep of the last executed action (-1 before the first). */
  get latestTimestep(): number {
    return this.#latest;
  }

  get queueLength(): number {
    return this.#queue.length;
  }

  get awaitingChunk(): boolean {
    return this.#awaiting !== undefined;
  }

  /** The queued actions, oldest first (a copy, for inspection). */
  queued(): TimedAction[] {
    return this.#queue.map((a) => ({ timestep: a.timestep, action: a.action.slice() }));
  }

  /**
   * Also ask while the queue holds no more than this many actions, whatever the threshold: a remote policy's round
   * trip in ticks (RequestLead), so that its chunk comes before the queue runs dry. 0 (the default): the threshold
   * alone decides, as LeRobot's client does.
   */
  set lead(actions: number) {
    this.#lead = actions;
  }

  wantsObservation(): boolean {
    const queued = this.#queue.length;
    return this.#awaiting === undefined && (queued / this.#actionSteps <= this.threshold || queued <= this.#lead);
  }

  /**
   * Marks an observation as sent; returns the timestep to stamp it with: the latest executed one, as
   * LeRobot's client stamps the observation it takes right after executing an action. `beforeAction`: the
   * observation was taken before this step's action was popped (a chunk run inline, in the tick), so its
   * chunk starts at the timestep about to be executed.
   */
  observationSent(beforeAction = false): number {
    const t = beforeAction ? this.#latest + 1 : Math.max(this.#latest, 0);
    this.#awaiting = t;
    return t;
  }

  /** The request for a chunk failed: ask again at the next opportunity. */
  observationFailed(): void {
    this.#awaiting = undefined;
    this.#dropAwaited = false;
  }

  /** Merges a chunk: `actions` holds K' actions of `dim` each, for timesteps observationTimestep + i. */
  receive(observationTimestep: number, actions: Float32Array, dim: number): void {
    if (actions.length % dim !== 0)
      throw new RangeError(`chunk of ${actions.length} values is not a whole number of ${dim}-element actions`);
    this.#awaiting = undefined;
    if (this.#dropAwaited) {
      this.#dropAwaited = false;
      return;
    }
    this.counters.chunks++;
    const current = new Map(this.#queue.map((a) => [a.timestep, a.action]));
    const next: TimedAction[] = [];
    const count = Math.min(actions.length / dim, this.#actionSteps);
    for (let i = 0; i < count; i++) {
      const timestep = observationTimestep + i;
      const action = actions.subarray(i * dim, (i + 1) * dim);
      if (timestep <= this.#latest) {
        this.counters.late++;
        continue;
      }
      const old = current.get(timestep);
      if (old) {
        this.counters.merged++;
        next.push({ timestep, action: this.#aggregate(old, action) });
      } else {
        next.push({ timestep, action: action.slice() });
      }
    }
    this.#queue = next;
  }

  /** The next action, or undefined on an underrun. */
  pop(): TimedAction | undefined {
    const next = this.#queue.shift();
    if (!next) {
      this.counters.underruns++;
      return undefined;
    }
    this.#latest = next.timestep;
    this.counters.executed++;
    return next;
  }

  /** Drops the queue (stale observations: a plan made from them must not run). */
  clear(): void {
    this.#queue = [];
  }

  reset(): void {
    this.#queue = [];
    this.#dropAwaited = this.#awaiting !== undefined;
  }
}
