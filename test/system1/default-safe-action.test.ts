import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../daemon/config/load.ts';
import { errorText } from '../../daemon/util/index.ts';

const config = (loop: Record<string, unknown>) =>
  JSON.stringify({
    policies: {
      p: {
        model: 'p.onnx',
        inputs: { obs: { sources: [{ topic: '/scan', field: 'ranges' }] } },
        // A forward-only base: the policy's [-1, 1] becomes 0..1 m/s, so its zero action drives at 0.5 m/s.
        outputs: {
          actions: { command: { topic: '/cmd_vel', type: 'geometry_msgs/msg/Twist', scale: 0.5, offset: [0.5, 0] } },
        },
      },
    },
    control: { loops: { l: { policy: 'p', ...loop } } },
  });

const loadError = (text: string): string | undefined => {
  try {
    parseConfigText(text, 'edge.yaml');
    return undefined;
  } catch (error) {
    return errorText(error);
  }
};

describe("a Twist loop's default safe action (zeros) must stop the robot too", () => {
  it('refuses at load a loop that gives no safe_action when zeros would command a velocity', () => {
    expect(loadError(config({}))).toMatch(
      /control\.loops\.l\.safe_action: .*commands \[0\.5,0\] on \/cmd_vel: the safe action, sent when observations are stale or missing, must stop the robot/,
    );
  });

  it('takes the loop with a safe_action that commands 0, or allow_moving_safe_action', () => {
    expect(loadError(config({ safe_action: [-1, 0] }))).toBeUndefined();
    expect(loadError(config({ allow_moving_safe_action: true }))).toBeUndefined();
  });
});
