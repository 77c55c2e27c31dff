// The robot's stop as the parts see it: who stops it, what a stop did, the latch, the hooks of what drives it.

/** What the operator's stop did (POST /stop, `auraison-edge stop`, the bus query `agent/stop`). */
export interface RobotHaltOutcome {
  /** The velocity topic the zero Twist went to. */
  topic: string;
  /** The motion skill that was driving the robot and was aborted (navigate_to, run_policy), or null. */
  aborted: string | null;
  /** The runs that had not ended, now cancelled. */
  cancelled: string[];
  /**
   * Why the cancels are not all journaled, or null: the journal refused them (a full disk) or has not
   * written them within the reply's wait (a stuck disk). The robot is stopped and the runs are ended in
   * this process all the same; after a restart a run comes back as last journaled (running: interrupted;
   * awaiting approval: waiting again).
   */
  journal_error: string | null;
  /**
   * The latch this stop engaged (motion.stop.latch), or null when stops do not latch: nothing the agent
   * governs moves the robot until a person releases it.
   */
  latched: HaltLatchState | null;
  /**
   * The other velocity topics the stop sent a zero command to: those `motion.velocity.topics` govern that
   * carry a Twist or a TwistStamped on the bus (set by the daemon's stop: POST /stop, agent/stop).
   */
  zeroed?: string[];
  /** The action goals in flight that the stop cancelled (the agent's, the API's, a bridge's). */
  goals?: string[];
  /** The arm command topics held where the arm was measured (every joint each commands). */
  held?: string[];
  /**
   * The arm command topics not held, or held in part, and why (no fresh measurement of a joint; another node publishes
   * the joint states). The robot may still move there: a stop with any is not a full stop.
   */
  not_held?: Record<string, string>;
}

/** What a stop did in its own tick: the motion skill aborted, the arm topics held and not, a zero not sent. */
export interface HaltTick {
  aborted: string | null;
  held: string[];
  notHeld: Record<string, string>;
  /** Why the zero Twist could not be sent (the robot was NOT stopped), or undefined. */
  zeroError?: string;
}

/** A latched stop: who stopped the robot, why, and since when (ISO 8601). */
export type HaltLatchState = {
  by: string;
  reason: string | null;
  since: string;
  /** False while (or when) the latch file could not be written: a restart would then not find it. */
  persisted: boolean;
  /** Why the latch file could not be written or read, or null. */
  error: string | null;
  /**
   * The stops that came while it was latched (held in memory, not in the latch file): how many, and the latest's
   * `by`, `reason` and when (ISO 8601). Absent before the first.
   */
  again?: HaltRepeats;
};

/**
 * Who latched the stop, when, and why, and the stops that came since: `ada at 2026-...Z (person in the aisle);
 * stopped again 2 times since, last by bob at 2026-...Z (arm near the fixture)`. `say` writes a sender's words
 * (`printable` where a newline must not forge a line).
 */
export function latchText(
  state: Pick<HaltLatchState, 'by' | 'reason' | 'since' | 'again'>,
  say: (text: string) => string = (text) => text,
): string {
  const why = (reason: string | null) => (reason ? ` (${say(reason)})` : '');
  const first = `${say(String(state.by))} at ${state.since}${why(state.reason)}`;
  const again = state.again;
  if (!again) return first;
  const times = again.count === 1 ? 'once' : `${again.count} times`;
  return `${first}; stopped again ${times} since, last by ${say(String(again.by))} at ${again.at}${why(again.reason)}`;
}

/** The stops a latch took after its first: how many, and the latest's who, why and when. */
export type HaltRepeats = {
  count: number;
  by: string;
  reason: string | null;
  at: string;
};

/** Who stopped the robot, and why: an operator's stop (POST /stop, `auraison-edge stop`, agent/stop). */
export interface HaltOrder {
  by: string;
  reason: string | undefined;
}

/** What a stop hook reports of what it ended after the stop's tick: for the reply and the journal. */
export interface HaltHookReport {
  /** Runs it cancelled (the agent). */
  cancelled?: readonly string[];
  /** Action goals it cancelled. */
  goals?: readonly string[];
  /** What did not go as it should (a journal that refused the cancels): the reply's journal_error. */
  problems?: readonly string[];
}

/**
 * What a hook did in the stop's own tick: the motion it aborted, the velocity topics it zeroed itself (the
 * agent's gate, which also drops the Twists still queued), a zero it could not send, and a promise of what it
 * ends after the tick.
 */
export interface HaltHookOutcome {
  aborted?: string | null;
  zeroed?: readonly string[];
  /** Arm command topics held, and those not held with why (the arm's hold). */
  held?: readonly string[];
  notHeld?: Readonly<Record<string, string>>;
  zeroError?: Error;
  settled?: Promise<HaltHookReport>;
}

/**
 * Told of every operator's stop, in the stop's own tick, before the zero commands and the latch: whatever
 * drives the robot (the agent's motion skill, a control loop, an action client, the sim's main job, a
 * Foxglove teleop) ends its drive there. It must not wait; what it ends later goes in `settled`.
 */
export type HaltHook = (order: HaltOrder) => HaltHookOutcome | void;

/** The daemon's one latch, as those who obey it see it. */
export interface HaltLatchView {
  readonly path: string;
  readonly enabled: boolean;
  /** The latch, or undefined when the robot may move. */
  readonly state: HaltLatchState | undefined;
  /** Why a motion is refused now, or undefined when the robot may move. */
  refusal(): string | undefined;
}

/**
 * The one owner of the operator's stop (halt/HaltAuthority), handed to every component as
 * ComponentContext.haltAuthority: whoever stops the robot calls `halt`, whoever drives it registers `onHalt` and
 * obeys `latch`.
 */
export interface RobotHaltAuthority {
  readonly latch: HaltLatchView;
  readonly counters: { stops: number; releases: number };
  /** `offLoop`: the stop came in on the stop listener's thread, which already sent these zero commands. */
  halt(by: string, reason?: string, offLoop?: OffLoopHalt): Promise<RobotHaltOutcome>;
  /**
   * `halt`, with what its first tick did at once (the motion aborted, the arms held or not), for a caller that must
   * not wait on the journal's disk (the stop skill); `done` is halt's promise.
   */
  haltNow(by: string, reason?: string): { tick: HaltTick; done: Promise<RobotHaltOutcome> };
  release(by: string, since?: string): Promise<HaltReleaseOutcome>;
  onHalt(name: string, hook: HaltHook): () => void;
  /** Reads the latch file (at start): a stop latched before it holds from now on. */
  load(): { latched: HaltLatchState | undefined; ignored: string | undefined };
  /**
   * The stop line's shared memory (halt/HaltLine): a thread that drives the robot reads it every tick, and
   * holds its commands from the moment a stop comes in, without a message from the main thread.
   */
  readonly haltLine: SharedArrayBuffer;
  /**
   * Sets (undefined: removes) the zero command `name` that the stop listener's thread sends itself, not
   * waiting for the main thread: an adapter's own session to its graph (the Zenoh bridge's).
   */
  setOffLoopZero(name: string, zero: OffLoopZero | undefined): void;
  /** The off-loop zero commands now set, and a listener told of every change; returns what unlistens. */
  offLoopZeros(listener?: (zeros: ReadonlyMap<string, OffLoopZero>) => void): {
    zeros: ReadonlyMap<string, OffLoopZero>;
    unlisten: () => void;
  };
  /**
   * Whether a thread takes stops off the main loop now (a stop listener listens to offLoopZeros), and a listener
   * told of each change: a door that thread can serve itself (the Zenoh graph's agent/stop) is served there while
   * it does, and on the main loop while it does not. Returns what unlistens.
   */
  offLoopTaker(listener: (present: boolean) => void): { present: boolean; unlisten: () => void };
}

/**
 * A zero command sent from the stop listener's thread: the module it loads there (a file: URL of a module whose
 * `openOffLoopZero(options, log, take)` returns an OffLoopZeroSender) and the options it is given (structured-cloned).
 * `take` is the thread's own stop, for a module that also takes stops there (the Zenoh graph's agent/stop).
 */
export interface OffLoopZero {
  module: string;
  options: unknown;
}

/**
 * The stop listener's stop, as its thread takes it: counted on the stop line, posted to the main thread (which
 * takes the daemon's stop once), and the off-loop zero commands sent; resolves with when, and what they did.
 */
export type OffLoopTake = (order: {
  by: string;
  reason: string | null;
}) => Promise<{ at: string; zeroed: string[]; failed: Record<string, string> }>;

/** What a loaded off-loop zero command does, on the stop listener's thread. */
export interface OffLoopZeroSender {
  /** Sends the zero command; resolves with the topics it went to, or rejects saying why it could not. */
  zero(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * A stop the stop listener's thread took: when, and what its zero commands did. The main thread hears of it at
 * once, while the thread's zero commands may still be on their way (`zeroes`).
 */
export interface OffLoopHalt {
  /** When the listener took it: ns since the epoch, as a decimal string. */
  at: string;
  /** What the thread's zero commands did, by name (`line`, `zenoh /cmd_vel`): sent, or why not. */
  zeroes: Promise<{ zeroed: string[]; failed: Record<string, string> }>;
}

/** What releasing the latch did: whether one was held, and which. */
export interface HaltReleaseOutcome {
  released: boolean;
  latch: HaltLatchState | null;
}

/**
 * The agent's stop: stops the robot at once, whatever the journal or the model is doing, and ends every run;
 * with motion.stop.latch it holds until `releaseStop`.
 */
export interface RobotHaltService {
  halt(by: string, reason?: string): Promise<RobotHaltOutcome>;
  /** `since`: the latch the releaser was shown; a newer one is not released (HaltLatchConflict). */
  releaseHalt(by: string, since?: string): Promise<HaltReleaseOutcome>;
}
