import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import type { NavigationService } from '../../daemon/agent/services.ts';
import { provideAgent, SYSTEM2_COMPONENTS } from '../../daemon/components/system2.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { EdgeConfig } from '../../daemon/config/schema.ts';
import { newId } from '../../daemon/util/ids.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { running } from '../helpers/daemon.ts';

const cleanups = cleanupStack();

const intent = (type: string, params: Record<string, unknown>) => ({
  intent_id: newId(),
  type,
  params,
  policy_ctx: { actor: 'tester', source: 'internal' },
  targets: [],
});

/** A daemon running the real agent component (as the daemon builds it) with a navigation that never arrives. */
async function daemonWithAgent() {
  const dir = tempDir('agent-reload-');
  const navigation: NavigationService = { navigateTo: () => new Promise(() => {}) };
  const spec = SYSTEM2_COMPONENTS.find((s) => s.name === 'agent')!;
  const config = parseConfigText(stringify({ data_dir: './data' }), 'edge.yaml', {});
  const daemon = new Daemon({
    config,
    log: silentLogger(),
    cwd: dir.path,
    specs: [{ ...spec, create: (ctx) => provideAgent(ctx, new AgentComponent(ctx, { navigation })) }],
  });
  await daemon.start();
  cleanups.push(dir.cleanup, () => daemon.close());
  const agent = () => running(daemon, AgentComponent)!;
  return { daemon, config, agent };
}

async function publishedLinearX(agent: AgentComponent): Promise<number> {
  const run = await agent.submitIntent(intent('publish', { topic: '/cmd_vel', fields: { linear: { x: 5 } } }), 'http');
  await waitFor(() => agent.getRun(run.run_id)!.run.status === 'succeeded', 'the publish run to succeed');
  const result = agent.getRun(run.run_id)!.events.find((e) => e.kind === 'tool.result')!;
  return (result.payload.result as { output: { sent: { linear: { x: number } } } }).output.sent.linear.x;
}

describe('agent on a config reload', () => {
  it('takes policy.* changes live: a run in progress goes on, and the new limit holds for the next Twist', async () => {
    const { daemon, config, agent } = await daemonWithAgent();
    const before = agent();
    const nav = await before.submitIntent(intent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(() => before.getRun(nav.run_id)!.run.status === 'running', 'navigate_to to run');
    expect(await publishedLinearX(before)).toBe(config.motion.velocity.max_linear_x);

    const next: EdgeConfig = structuredClone(config);
    next.motion.velocity.max_linear_x = 0.1;
    expect(await daemon.reload(next)).toEqual([]);
    expect(agent()).toBe(before);
    expect(before.getRun(nav.run_id)!.run.status).toBe('running');
    expect(await publishedLinearX(before)).toBe(0.1);
  });

  it('a restart for a reload ends the run in progress as interrupted, naming the reload and the keys that changed', async () => {
    const { daemon, config, agent } = await daemonWithAgent();
    const nav = await agent().submitIntent(intent('navigate_to', { x: 1, y: 1 }), 'http');
    await waitFor(() => agent().getRun(nav.run_id)!.run.status === 'running', 'navigate_to to run');
    const next: EdgeConfig = structuredClone(config);
    next.agent.approval_timeout_s = 7;
    expect(await daemon.reload(next)).toEqual(['agent']);
    const { run } = agent().getRun(nav.run_id)!;
    expect(run.status).toBe('interrupted');
    expect(run.reason).toBe(
      'the agent component restarted for a config reload (agent.approval_timeout_s changed) while the run was running; submit the intent again to retry',
    );
  });
});
