import { ROOT } from '../helpers/cli.ts';

/**
 * A daemon config (for startDaemon) with the sim in real time, no API or Foxglove, the sim's avoid policy
 * and an on-demand 10 Hz loop `avoid` driving /cmd_vel with it: what the run_policy skill starts.
 */
export function simPolicyLoopConfig(): Record<string, unknown> {
  return {
    sim: { enabled: true, speed: 1 },
    api: { enabled: false },
    foxglove: { enabled: false },
    policies: {
      avoid: {
        model: `${ROOT}/sim/turtlebot-maze/policy/avoid.onnx`,
        serve: false,
        inputs: { scan: { sources: [{ topic: '/scan', field: 'ranges', clip: [0, 3.5] }] } },
        outputs: {
          cmd: { command: { topic: '/cmd_vel', type: 'geometry_msgs/msg/Twist', fields: ['linear.x', 'angular.z'] } },
        },
      },
    },
    control: {
      loops: {
        avoid: { policy: 'avoid', autostart: false, rate_hz: 10, max_observation_age_ms: 500, safe_action: [0, 0] },
      },
    },
  };
}
