import { randomBytes } from 'node:crypto';
import type { Logger } from 'auraison-edge/log';
import { errorText, withTimeout } from 'auraison-edge/util';

/** The robots' reports `central serve` takes: under `central acl`'s file only a robot's own login writes them. */
const REPORTS = ['events', 'status', 'heartbeat', 'uploads'] as const;
/** Between two probes: a lab may reload the broker's ACL (SIGHUP), or lose it, while central runs. */
export const PROBE_EVERY_MS = 5 * 60_000;
const PROBE_TIMEOUT_MS = 10_000;
/** The robot ids probes publish under: central's `central.acl-probe-…`, `central check`'s `<robot>.acl-probe-…`. */
const PROBE_ROBOT = /\.acl-probe-[0-9a-f]{6}$/;

const ACL_REMEDY =
  "set up the broker's ACL: `auraison-edge central acl` (docs/central-link.md, Broker ACL and threat model)";

/** Whether central may take a robot's reports as that robot's: what the broker showed of its ACL. */
export interface SenderProofState {
  /** The broker refused to let central's login publish on any report topic of a robot not its own. */
  proven: boolean;
  /** When the last probe answered (ISO 8601); absent before the first. */
  checked_at?: string;
  /** What the probe found, in words, with the fix when not proven. */
  detail: string;
}

/** One QoS 1 publish as central's login: resolves with the broker's PUBACK reason code, rejects without one. */
export type ProbePublish = (topic: string, payload: string) => Promise<number>;

/** A probe's publish, not a robot: central ignores the reports of these robot ids. */
export function isProbeRobot(robot: string): boolean {
  return PROBE_ROBOT.test(robot);
}

/**
 * Whether the broker proves who sent a robot's report. Central takes a report's robot from its topic; that is only
 * true when the broker lets no login but the robot's own write there. Central cannot log in as a robot, so it asks
 * the question of its own login: it publishes, at QoS 1 and not retained, on the report topics of a robot id no
 * robot has. A broker with `central acl`'s file answers each with PUBACK 0x87, as it answers any robot's login on
 * another robot's topic (one rule, `pattern write .../%u/...`, for every login); a broker without an ACL takes
 * them, and then any login may report as any robot. Until a probe is refused the reports are unproven: a broker
 * that drops a denied publish without saying so (MQTT 3.1.1) stays unproven, the safe side.
 */
export class SenderProof {
  readonly #publish: ProbePublish;
  readonly #topicOf: (robot: string, leaf: string) => string;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  #state: SenderProofState = { proven: false, detail: 'not probed yet: central has not reached the broker' };
  #probing: Promise<void> | undefined;

  constructor(o: { publish: ProbePublish; prefix: string; fleet: string; log: Logger; timeoutMs?: number }) {
    const { publish, prefix, fleet, log, timeoutMs = PROBE_TIMEOUT_MS } = o;
    this.#publish = publish;
    this.#topicOf = (robot, leaf) => `${prefix}/${fleet}/${robot}/${leaf}`;
    this.#log = log;
    this.#timeoutMs = timeoutMs;
  }

  get state(): SenderProofState {
    return { ...this.#state };
  }

  /** Probes now, unless a probe is under way (then its answer is this one's). */
  probe(): Promise<void> {
    return (this.#probing ??= this.#probeOnce().finally(() => (this.#probing = undefined)));
  }

  async #probeOnce(): Promise<void> {
    const robot = `central.acl-probe-${randomBytes(3).toString('hex')}`;
    const payload = JSON.stringify({
      schema: 'auraison.acl-probe/1',
      note: 'central serve: the broker should refuse this',
    });
    const taken: string[] = [];
    const refusals = new Set<string>();
    for (const leaf of REPORTS) {
      const topic = this.#topicOf(robot, leaf);
      let code: number;
      try {
        // unref: a probe in flight does not hold a stopped central serve up.
        code = await withTimeout(
          this.#publish(topic, payload),
          this.#timeoutMs,
          `no PUBACK within ${this.#timeoutMs / 1000} s`,
          {
            unref: true,
          },
        );
      } catch (error) {
        // No answer says nothing of the ACL: the last answer stands.
        const why = `publishing on ${topic}: ${errorText(error)}`;
        if (this.#state.checked_at === undefined) this.#state = { proven: false, detail: `not probed yet: ${why}` };
        this.#log.warn({ err: why }, "central serve: the probe of the broker's ACL got no answer; it is tried again");
        return;
      }
      if (code < 0x80) taken.push(leaf);
      else refusals.add(`0x${code.toString(16)}`);
    }
    const proven = taken.length === 0;
    const detail = proven
      ? `the broker refused to let central's login publish on the ${REPORTS.join(', ')} topics of a robot id no robot has (${[...refusals].join(', ')}): a robot's reports can come from its own login only`
      : `the broker took central's login's publishes on another robot's ${taken.join(', ')} (${this.#topicOf(robot, taken[0]!)}): any login may publish as any robot, so a report may not be from the robot its topic names; ${ACL_REMEDY}`;
    // Said at the first answer and when it changes, not every few minutes.
    const changed = this.#state.checked_at === undefined || proven !== this.#state.proven;
    this.#state = { proven, checked_at: new Date().toISOString(), detail };
    if (!changed) return;
    if (proven) this.#log.info({ detail }, "central serve: the broker's ACL proves who sent each robot's reports");
    else this.#log.warn({ detail }, "central serve: robots' reports are of an unproven sender");
  }
}
