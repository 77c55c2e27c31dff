import type { Logger } from 'pino';
import type { BusMessage } from '../bus/index.ts';
import type { PauseState } from '../contract/index.ts';
import { nowNs, nsToIso } from '../util/index.ts';

/**
 * The recorder's pause (rosbag2's ~/pause and ~/resume): while paused, messages are counted as not recorded,
 * not as drops, and a latched topic's last message is kept for the resume, so the bag after it still has the
 * /map or /tf_static published once during the pause (a late subscriber would get it from the bus; a bag
 * reader only from the bag).
 */
export class RecordingPause {
  readonly #log: Logger;
  /** Whether a topic is latched (transient_local): its last message while paused is recorded at the resume. */
  readonly #latched: (topic: string) => boolean;
  /** Set while paused: when, ns since the epoch. */
  #since: bigint | undefined;
  /** Messages not recorded while paused: in all, and in the current pause. */
  #notRecorded = { total: 0, thisPause: 0 };
  #held = new Map<string, BusMessage>();

  constructor(options: { log: Logger; latched: (topic: string) => boolean }) {
    const { log, latched } = options;
    this.#log = log;
    this.#latched = latched;
  }

  get paused(): boolean {
    return this.#since !== undefined;
  }

  /** Messages not recorded in all pauses. */
  get notRecorded(): number {
    return this.#notRecorded.total;
  }

  /** Why the recorder is not writing while it records, for its health; undefined when not paused. */
  get reason(): string | undefined {
    return this.#since === undefined
      ? undefined
      : `paused since ${nsToIso(this.#since)}: \`auraison-edge bag resume\` records again`;
  }

  /** A message that came while paused: counted, and held when its topic is latched. */
  notRecording(msg: BusMessage): void {
    this.#notRecorded.total++;
    this.#notRecorded.thisPause++;
    if (this.#latched(msg.topic)) this.#held.set(msg.topic, msg);
  }

  /** Pausing a paused recorder changes nothing. */
  pause(): PauseState {
    const changed = this.#since === undefined;
    if (changed) {
      this.#since = nowNs();
      this.#notRecorded.thisPause = 0;
      this.#log.info('recorder: paused; `auraison-edge bag resume` (POST /recorder/resume) records again');
    }
    return { ...this.state(), changed };
  }

  /** `record` takes the latched topics' messages that came while paused, first. */
  resume(record: (msg: BusMessage) => void): PauseState {
    const changed = this.#since !== undefined;
    const notRecorded = this.#notRecorded.thisPause;
    if (changed) {
      this.#since = undefined;
      const held = [...this.#held.values()];
      this.#held.clear();
      // Stamped now, as a subscriber that joined at the resume gets them (ROS hands it the latched message
      // then; their publish time is their own): they go in the bag recorded after the pause, also when the
      // pause outlasted bag_max_duration_s and the first of them rotates the bag.
      const now = nowNs();
      for (const msg of held) record({ ...msg, logTime: now });
      this.#log.info({ not_recorded: notRecorded }, 'recorder: resumed');
    }
    return { paused: false, since_ns: null, not_recorded: notRecorded, changed };
  }

  state(): Omit<PauseState, 'changed'> {
    return {
      paused: this.#since !== undefined,
      since_ns: this.#since === undefined ? null : String(this.#since),
      not_recorded: this.#notRecorded.thisPause,
    };
  }
}
