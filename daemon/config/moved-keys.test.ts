import { describe, expect, it } from 'vitest';
import { checkConfigText } from './load.ts';

describe('a key that moved', () => {
  it('is refused at its old place, naming its new one', () => {
    const { config, issues } = checkConfigText(
      [
        'policy:',
        '  joints: {urdf: arm.urdf}',
        '  quotas: {max_tool_calls: 3}',
        'api: {stop_port: 7500}',
        'agent: {stop_latch: false}',
        'central: {stop_connection: false}',
        'ros: {stop_service: {process: true}}',
      ].join('\n'),
      {},
    );
    expect(config).toBeUndefined();
    expect(issues.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: 'policy.joints', message: 'moved: write it as motion.joints' },
      { path: 'policy.quotas', message: 'moved: write it as agent.rules.quotas' },
      { path: 'api.stop_port', message: 'moved: write it as motion.stop.port' },
      { path: 'agent.stop_latch', message: 'moved: write it as motion.stop.latch' },
      { path: 'central.stop_connection', message: 'moved: write it as motion.stop.central_connection' },
      { path: 'ros.stop_service', message: 'moved: write it as motion.stop.ros_service' },
    ]);
  });

  it('leaves policy itself unknown, pointing to motion, agent.rules and policies, for a key that never was', () => {
    const { issues } = checkConfigText('policy: {model: act.onnx}\n', {});
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'policy' });
    expect(issues[0]!.message).toMatch(/no longer a section: .*motion .*agent\.rules .*`policies`/);
  });

  it('takes the keys at their new places', () => {
    const { config, issues } = checkConfigText(
      'motion: {velocity: {max_linear_x: 0.1}, stop: {latch: false, port: 7500}}\nagent: {rules: {quotas: {max_tool_calls: 3}}}\n',
      {},
    );
    expect(issues).toEqual([]);
    expect(config!.motion.velocity.max_linear_x).toBe(0.1);
    expect(config!.motion.stop).toMatchObject({ latch: false, port: 7500, listener: true });
    expect(config!.agent.rules.quotas.max_tool_calls).toBe(3);
  });
});
