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

const navigate = (x: number, y: number) => ({ intent_id: newId(), type: 'navigate_to', params: { x, y }, policy_ctx: { actor: 'test', source: 'internal' }, targets: [] });

describe('one motion at a time', () => {
  it('a new goal supersedes the running one, whose run names the run that took over; stop names itself', async () => {
    const dir = tempDir('preempt-');
    cleanups.push(dir.cleanup);
    const config = parseConfigText(stringify({ data_dir: './data', sim: { enabled: true, speed: 1 }, api: { enabled: false }, foxglove: { enabled: false } }), 'edge.yaml', {});
    const daemon = new Daemon({ config, log: pino({ level: 'silent' }), cwd: dir.path });
    await daemon.start();
    cleanups.push(() => daemon.stop());
    const agent = daemon.components.get('agent') as AgentComponent;
    const dock = (daemon.components.get('sim') as unknown as { namedPoses: Record<string, { x: number; y: number }> }).namedPoses.charging_dock!;
    const ended = (runId: string) => ['succeeded', 'failed', 'cancelled'].includes(agent.getRun(runId)!.run.status);

    // The dock is far from the start: at speed 1 the first goal is still being driven when the second comes.
    const first = await agent.submitIntent(navigate(dock.x, dock.y), 'internal');
    await waitFor(() => agent.getRun(first.run_id)!.events.some((e) => e.kind === 'tool.call'), 'the first goal to be driven', 30_000);
    const second = await agent.submitIntent(navigate(dock.x, dock.y), 'internal');
    await waitFor(() => ended(first.run_id), 'the first run to end', 30_000);
    expect(agent.getRun(first.run_id)!.run).toMatchObject({ status: 'failed', reason: expect.stringContaining(`failed (cancelled): superseded by navigate_to of run ${second.run_id}`) });

    await waitFor(() => agent.getRun(second.run_id)!.events.some((e) => e.kind === 'tool.call'), 'the second goal to be driven', 30_000);
    const stop = await agent.submitIntent({ ...navigate(0, 0), type: 'stop', params: {} }, 'internal');
    await waitFor(() => ended(second.run_id) && ended(stop.run_id), 'the second run and the stop to end', 30_000);
    expect(agent.getRun(second.run_id)!.run).toMatchObject({ status: 'failed', reason: expect.stringContaining('failed (cancelled): stopped by the stop skill') });
  });
});
