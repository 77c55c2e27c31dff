import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { newId } from '../../daemon/contract/ids.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from './agent-context.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the agent driving a sim slower than real time', () => {
  it('takes /odom that comes less often per wall second for a slow robot, not a dead one', async () => {
    const dir = tempDir('slow-sim-');
    cleanups.push(dir.cleanup);
    // At 0.05x the sim's 30 Hz /odom comes every 0.67 wall seconds: past the navigator's 500 ms watchdog at 1x.
    const config = parseConfigText(stringify({ data_dir: './data', sim: { enabled: true, speed: 0.05 }, api: { enabled: false }, foxglove: { enabled: false } }), 'edge.yaml', {});
    const daemon = new Daemon({ config, log: pino({ level: 'silent' }), cwd: dir.path });
    await daemon.start();
    cleanups.push(() => daemon.stop());
    const agent = daemon.components.get('agent') as AgentComponent;
    const dock = (daemon.components.get('sim') as unknown as { namedPoses: Record<string, { x: number; y: number }> }).namedPoses.charging_dock!;
    const intent = { intent_id: newId(), type: 'navigate_to', params: { x: dock.x, y: dock.y }, policy_ctx: { actor: 'test', source: 'internal' }, targets: [] };
    const { run_id } = await agent.submitIntent(intent, 'internal');
    await waitFor(() => agent.getRun(run_id)!.events.some((e) => e.kind === 'tool.call'), 'the goal to be driven', 30_000);
    // Three more /odom messages, 0.67 wall seconds apart: a watchdog that did not stretch has ended the goal by then.
    let odom = 0;
    daemon.bus.subscribe({ name: 'test-odom', topic: '/odom', handler: () => void odom++ });
    await waitFor(() => odom >= 3, 'three /odom messages', 30_000);
    expect(agent.getRun(run_id)!.run).toMatchObject({ status: 'running' });
    const stop = await agent.submitIntent({ ...intent, intent_id: newId(), type: 'stop', params: {} }, 'internal');
    await waitFor(() => agent.getRun(run_id)!.run.status !== 'running' && agent.getRun(stop.run_id)!.run.status === 'succeeded', 'the stop', 30_000);
  });
});
