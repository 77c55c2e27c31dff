import { describe, expect, it } from 'vitest';
import { ControlComponent } from '../../daemon/system1/control/control-component.ts';
import type { ComponentContext } from '../../daemon/lifecycle/component.ts';
import { componentContext } from '../helpers/component-context.ts';
import { errorText } from '../../daemon/util/index.ts';

const TWIST = 'geometry_msgs/msg/Twist';
const ARRAY = 'std_msgs/msg/Float64MultiArray';

/**
 * Loads this config and starts the control component on it: the checks refuse the config at load (exit 2,
 * before anything starts), and the component checks again before any model is loaded.
 */
async function start(policies: Record<string, unknown>, loops: Record<string, unknown>): Promise<string> {
  let ctx: ComponentContext;
  try {
    ctx = componentContext({ policies, control: { loops } }, { dataDir: '/nonexistent' });
  } catch (error) {
    return errorText(error);
  }
  const control = new ControlComponent(ctx, {
    createLoop: () => {
      throw new Error('no loop may be created');
    },
  });
  return control.start().then(
    () => 'started',
    (error: Error) => error.message,
  );
}

const policy = (command: Record<string, unknown>, source: Record<string, unknown> = {}) => ({
  model: 'missing.onnx',
  serve: false,
  inputs: { obs: { sources: [{ topic: '/obs', field: 'data', ...source }] } },
  outputs: { actions: { command } },
});

describe('control config checks', () => {
  it('refuses reversed clip bounds, naming the key', async () => {
    expect(await start({ p: policy({ topic: '/j', type: ARRAY, clip: [1, -1] }) }, { l: { policy: 'p' } })).toBe(
      'test.yaml: policies.p.outputs.actions.command.clip: [low, high]: low 1 is greater than high -1',
    );
    expect(await start({ p: policy({ topic: '/j', type: ARRAY }, { clip: [5, 0] }) }, { l: { policy: 'p' } })).toBe(
      'test.yaml: policies.p.inputs.obs.sources[0].clip: [low, high]: low 5 is greater than high 0',
    );
  });

  it('refuses a Twist safe action that moves the robot unless allow_moving_safe_action is set', async () => {
    const message = await start(
      { p: policy({ topic: '/cmd_vel', type: TWIST }) },
      { l: { policy: 'p', safe_action: [0.5, 3] } },
    );
    expect(message).toMatch(
      /^test\.yaml: control\.loops\.l\.safe_action: \[0\.5,3\] commands \[0\.5,3\] on \/cmd_vel: the safe action, .* must stop the robot/,
    );
    // An offset moves a zero action too.
    expect(
      await start(
        { p: policy({ topic: '/cmd_vel', type: TWIST, offset: [0.1, 0] }) },
        { l: { policy: 'p', safe_action: [0, 0] } },
      ),
    ).toMatch(/commands \[0\.1,0\]/);
    // Allowed when said so; the check passes and the start goes on to create the loop.
    expect(
      await start(
        { p: policy({ topic: '/cmd_vel', type: TWIST }) },
        { l: { policy: 'p', safe_action: [0.5, 3], allow_moving_safe_action: true } },
      ),
    ).toBe('no loop may be created');
    expect(
      await start({ p: policy({ topic: '/cmd_vel', type: TWIST }) }, { l: { policy: 'p', safe_action: [0, 0] } }),
    ).toBe('no loop may be created');
  });

  it('refuses a loop whose policy names nothing in policies at load (config check said valid; the component then failed and retried forever)', async () => {
    const p = policy({ topic: '/cmd_vel', type: TWIST });
    expect(await start({ avoid: p }, { l: { policy: 'nope' } })).toBe(
      'test.yaml: control.loops.l.policy: no policy "nope" in policies (known: avoid)',
    );
    expect(await start({}, { l: { policy: 'nope', autostart: false } })).toBe(
      'test.yaml: control.loops.l.policy: no policy "nope" in policies (known: none)',
    );
  });

  it('refuses two autostart loops commanding one topic', async () => {
    const p = policy({ topic: '/cmd_vel', type: TWIST });
    expect(await start({ p, q: p }, { a: { policy: 'p' }, b: { policy: 'q' } })).toBe(
      'test.yaml: control.loops.b: commands /cmd_vel, as loop a does: two loops would interleave their commands; give each its own topic',
    );
    // An on-demand loop on the same topic is the agent's to run when asked.
    expect(await start({ p, q: p }, { a: { policy: 'p' }, b: { policy: 'q', autostart: false } })).toBe(
      'no loop may be created',
    );
  });
  it('refuses a safe action or an offset of the wrong length, or beyond float32, at config load', async () => {
    const twist = policy({ topic: '/cmd_vel', type: TWIST });
    expect(await start({ p: twist }, { l: { policy: 'p', safe_action: [0, 0, 0] } })).toBe(
      'test.yaml: control.loops.l.safe_action: has 3 values, an action of p has 2 (2 Twist fields)',
    );
    expect(
      await start({ p: policy({ topic: '/cmd_vel', type: TWIST, offset: [0, 0, 0] }) }, { l: { policy: 'p' } }),
    ).toBe('test.yaml: policies.p.outputs.actions.command.offset: has 3 values, the action has 2 (2 Twist fields)');
    // A Float64MultiArray declares no length: the safe action is held to the offset's.
    expect(
      await start(
        { p: policy({ topic: '/j', type: ARRAY, offset: [1, 2, 3] }) },
        { l: { policy: 'p', safe_action: [0, 0] } },
      ),
    ).toBe(
      'test.yaml: control.loops.l.safe_action: has 2 values, an action of p has 3 (policies.p.outputs.actions.command.offset)',
    );
    expect(await start({ p: policy({ topic: '/j', type: ARRAY }) }, { l: { policy: 'p', safe_action: [1e39] } })).toBe(
      'test.yaml: control.loops.l.safe_action: must hold finite float32 numbers (|x| < 3.4e38): [1e+39]',
    );
  });
});
