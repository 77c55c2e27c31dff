import type { Logger } from 'pino';
import { BusActionServer, type GoalContext, type GoalOutcome } from '../../daemon/actions/index.ts';
import type { Bus, MessageCodec } from '../../daemon/bus/index.ts';
import { Navigator, type Pose2D } from '../../daemon/navigation/index.ts';

export const NAVIGATE_TO_POSE = '/navigate_to_pose';
export const NAVIGATE_TO_POSE_TYPE = 'nav2_msgs/action/NavigateToPose';
/** How often feedback goes out, wall ms (Nav2's bt_navigator sends it every tick, 10 Hz and more). */
const FEEDBACK_MS = 200;

export interface NavigateToPoseServerOptions {
  bus: Bus;
  codec: MessageCodec;
  log: Logger;
  /** The robot's pose (the sim's ground truth, where Nav2 would use its localization) and robot time, s. */
  pose: () => Pose2D;
  time: () => number;
  /** Sim seconds per wall second, for the navigator's watchdogs. */
  timeScale: number;
}

interface PoseStamped {
  header?: { frame_id?: string };
  pose?: { position?: { x?: number; y?: number } };
}

/**
 * Nav2's navigate_to_pose in the sim, for what a Nav2 user would send it: `ros2 action send_goal /navigate_to_pose
 * nav2_msgs/action/NavigateToPose` from a robot, the agent's call_action, a bridge's peer. The goal's pose (frame
 * `map`) goes to the deterministic navigator, which drives /cmd_vel as Nav2's controller would; feedback carries the
 * pose, the time navigating and the straight-line distance left. A newer goal preempts the running one, which ends
 * aborted, as in Nav2.
 */
export class NavigateToPoseServer {
  #options: NavigateToPoseServerOptions;
  #server: BusActionServer;
  #navigator: Navigator | undefined;

  constructor(options: NavigateToPoseServerOptions) {
    this.#options = options;
    const { bus, codec, log } = options;
    this.#server = new BusActionServer({
      bus,
      codec,
      log,
      source: 'sim',
      name: NAVIGATE_TO_POSE,
      type: NAVIGATE_TO_POSE_TYPE,
      handler: {
        accept: (goal) => {
          const frame = (goal.pose as PoseStamped | undefined)?.header?.frame_id ?? '';
          return frame === '' || frame === 'map' ? true : `frame_id ${frame}: this navigator plans in map only`;
        },
        execute: (goal, context) => this.#execute(goal.pose as PoseStamped, context),
      },
    });
  }

  close(): void {
    this.#server.close();
    this.#navigator?.close();
  }

  async #execute(pose: PoseStamped, { feedback, signal }: GoalContext): Promise<GoalOutcome> {
    const { bus, codec, timeScale } = this.#options;
    const target = { x: pose.pose?.position?.x ?? 0, y: pose.pose?.position?.y ?? 0 };
    if (!this.#navigator) {
      this.#navigator = new Navigator({ bus, codec, timeScale });
      this.#navigator.start();
    }
    const started = this.#options.time();
    const ticker = setInterval(() => feedback(this.#feedback(target, started)), FEEDBACK_MS);
    try {
      const result = await this.#navigator.navigateTo(target, { signal });
      if (result.reached) return { state: 'succeeded', result: { error_code: 0, error_msg: '' } };
      return {
        state: signal.aborted ? 'canceled' : 'aborted',
        result: { error_code: 0, error_msg: `${result.outcome}: ${result.message}` },
      };
    } finally {
      clearInterval(ticker);
    }
  }

  #feedback(target: { x: number; y: number }, started: number): Record<string, unknown> {
    const { x, y, yaw } = this.#options.pose();
    const elapsed = Math.max(0, this.#options.time() - started);
    const sec = Math.floor(elapsed);
    return {
      current_pose: {
        header: { frame_id: 'map' },
        pose: { position: { x, y, z: 0 }, orientation: { x: 0, y: 0, z: Math.sin(yaw / 2), w: Math.cos(yaw / 2) } },
      },
      navigation_time: { sec, nanosec: Math.round((elapsed - sec) * 1e9) },
      distance_remaining: Math.hypot(target.x - x, target.y - y),
    };
  }
}
