import type { ActionInfo } from '../actions/index.ts';
import type { GraphEndpoint, GraphNode } from '../bus/index.ts';
import type { TopicQos } from '../bus/index.ts';
import type { RobotInputsStatus } from '../motion/index.ts';
import type { ComponentHealth } from './component.ts';
import type { ReloadOutcome } from './config-reload.ts';

/** The daemon's status snapshot (/status, the status file, `auraison-edge status`). */
export interface DaemonStatus {
  robot: { id: string; fleet: string };
  pid: number;
  started_at: string;
  uptime_s: number;
  config_file: string | null;
  data_dir: string;
  components: Record<string, ComponentHealth>;
  topics: {
    topic: string;
    type: string;
    count: number;
    bytes: number;
    rate_hz: number;
    drops: number;
    publishers: number;
    subscribers: number;
    /** Each open publisher's source; absent from an older daemon's status. */
    sources?: string[];
    /** The QoS its publishers offer; absent from an older daemon's status. */
    qos?: TopicQos;
  }[];
  subscribers: {
    name: string;
    topics: string[];
    policy: string;
    depth: number;
    received: number;
    delivered: number;
    dropped: number;
    queued: number;
    errors: number;
  }[];
  queryables: string[];
  /** The graph's and the bus's actions (`action list`); absent from an older daemon's status. */
  actions?: ActionInfo[];
  /** The robot's graph as the bridges see it; absent from an older daemon's status. */
  graph?: { nodes: GraphNode[]; endpoints: GraphEndpoint[] };
  /** The last config reload (SIGHUP), null when there was none. */
  last_reload: ReloadOutcome | null;
  /**
   * The config central sent last (kept in <data_dir>/state/central-config.json), null when none; `in_force`
   * false, with `set_aside` saying why, when the local file no longer allows it. Absent from an older daemon's.
   */
  central_config?: { config_id: string; received_at: string; in_force: boolean; set_aside?: string } | null;
  /**
   * Where the robot's measured joints and its joint limits come from, their age, and why either is none now (another
   * node publishes the joint states; no description yet). Absent from an older daemon's status.
   */
  robot_inputs?: RobotInputsStatus;
}
