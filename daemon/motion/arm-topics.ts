import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EdgeConfig } from '../config/index.ts';
import { errorText } from '../util/index.ts';

export const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
export const POSITION_ARRAY = 'std_msgs/msg/Float64MultiArray';

/** An arm's command topic as the stop holds it: its type, and the joints its controller commands, in order. */
export interface ArmTopic {
  type: typeof TRAJECTORY | typeof POSITION_ARRAY;
  joints: string[];
}

/** The file the arm's command topics are kept in across restarts. */
export function armTopicsPath(dataDir: string): string {
  return join(dataDir, 'state', 'arm-topics.json');
}

/** A file of a few hundred topics is a few tens of KB: anything much larger is not one, and is not read whole. */
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * The arm command topics the stop holds: those the config names (motion.joints.topics, trajectory_topics and the
 * control loops' joint commands) and every one a JointTrajectory was ever sent on, from any door or from the robot's
 * graph, with each joint it ever named. What was learned is kept in `<data_dir>/state/arm-topics.json`, so a
 * trajectory sent before a restart is held after it. The file is written on what it learns (a new topic or joint,
 * rare), never on the stop's path.
 */
export class ArmTopics {
  readonly path: string;
  readonly #learned = new Map<string, ArmTopic>();
  readonly #write: (path: string, text: string) => Promise<void>;
  #writes: Promise<void> = Promise.resolve();
  /** Why the file could not be read or written last, or undefined. */
  problem: string | undefined;

  constructor(options: { dataDir: string; write: (path: string, text: string) => Promise<void> }) {
    const { dataDir, write } = options;
    this.path = armTopicsPath(dataDir);
    this.#write = write;
    this.#read();
  }

  /** The topics learned, as kept. */
  learned(): ReadonlyMap<string, ArmTopic> {
    return this.#learned;
  }

  /** Notes that `joints` were commanded on `topic`; written to the file when that is new. */
  learn(topic: string, type: ArmTopic['type'], joints: readonly string[]): void {
    const known = this.#learned.get(topic);
    const fresh = joints.filter((j) => !known?.joints.includes(j));
    if (known && known.type === type && fresh.length === 0) return;
    this.#learned.set(topic, {
      type,
      joints: known && known.type === type ? [...known.joints, ...fresh] : [...new Set(joints)],
    });
    this.#save();
  }

  /** Waits for the writes asked so far (tests, close). */
  flushed(): Promise<void> {
    return this.#writes;
  }

  #save(): void {
    const text = `${JSON.stringify(Object.fromEntries(this.#learned), null, 2)}\n`;
    this.#writes = this.#writes.then(() =>
      this.#write(this.path, text).then(
        () => {
          this.problem = undefined;
        },
        (error: unknown) => {
          this.problem = `the arm's command topics could not be kept in ${this.path}: ${errorText(error)} (a restart holds only the configured ones)`;
        },
      ),
    );
  }

  #read(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.problem = `${this.path} could not be read: ${errorText(error)}`;
      return;
    }
    if (text.length > MAX_FILE_BYTES) {
      this.problem = `${this.path} is ${text.length} bytes, not a list of topics: ignored`;
      return;
    }
    try {
      const value = JSON.parse(text) as unknown;
      for (const [topic, entry] of Object.entries(value as Record<string, unknown>)) {
        const { type, joints } = (entry ?? {}) as Partial<ArmTopic>;
        if ((type === TRAJECTORY || type === POSITION_ARRAY) && Array.isArray(joints))
          this.#learned.set(topic, { type, joints: joints.filter((j): j is string => typeof j === 'string') });
      }
    } catch (error) {
      this.problem = `${this.path} is not a list of topics (${errorText(error)}): ignored`;
    }
  }
}

/**
 * The arm command topics the config names, with the joints each commands: motion.joints.topics (forward position
 * controllers), motion.joints.trajectory_topics (joint trajectory controllers) and each policy output's joint command
 * that names its joints (what a control loop sends).
 */
export function configuredArmTopics(config: Pick<EdgeConfig, 'motion' | 'policies'>): Map<string, ArmTopic> {
  const topics = new Map<string, ArmTopic>();
  const add = (topic: string, type: ArmTopic['type'], joints: readonly string[]) => {
    const known = topics.get(topic);
    topics.set(topic, {
      type,
      joints: known?.type === type ? [...new Set([...known.joints, ...joints])] : [...joints],
    });
  };
  for (const policy of Object.values(config.policies))
    for (const output of Object.values(policy.outputs)) {
      const command = output.command;
      if (command && (command.type === TRAJECTORY || command.type === POSITION_ARRAY) && command.joint_names.length > 0)
        add(command.topic, command.type, command.joint_names);
    }
  const joints = config.motion.joints;
  for (const [topic, names] of Object.entries(joints?.topics ?? {})) add(topic, POSITION_ARRAY, names);
  for (const [topic, names] of Object.entries(joints?.trajectory_topics ?? {})) add(topic, TRAJECTORY, names);
  return topics;
}
