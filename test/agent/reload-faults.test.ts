import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { SYSTEM2_COMPONENTS } from '../../daemon/components/system2.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { EdgeConfig } from '../../daemon/config/schema.ts';
import { newId } from '../../daemon/util/ids.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { running } from '../helpers/daemon.ts';

/** A SIGHUP that changes only the sim's speed reaches the agent's navigator, which is made once and kept. */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('agent on a sim.speed reload', () => {
  it('gives its running navigator the new speed, without a restart', async () => {
    const dir = tempDir('agent-speed-');
    const spec = SYSTEM2_COMPONENTS.find((s) => s.name === 'agent')!;
    // The sim component itself is not run: only the agent, as the daemon builds it.
    const config = parseConfigText(
      stringify({ data_dir: './data', sim: { enabled: true, speed: 0.5 } }),
      'edge.yaml',
      {},
    );
    const daemon = new Daemon({ config, log: silentLogger(), cwd: dir.path, specs: [spec] });
    await daemon.start();
    cleanups.push(dir.cleanup, () => daemon.close());
    const agent = running(daemon, AgentComponent)!;
    // The navigator is made on the first navigate_to; the goal is cancelled once it acts (no map comes).
    const run = await agent.submitIntent(
      {
        intent_id: newId(),
        type: 'navigate_to',
        params: { x: 1, y: 1 },
        policy_ctx: { actor: 't', source: 'internal' },
        targets: [],
      },
      'http',
    );
    await waitFor(
      () => agent.getRun(run.run_id)!.events.some((e) => e.kind === 'tool.call'),
      'navigate_to to act',
      20_000,
    );
    await agent.cancel(run.run_id, 'tester');
    expect(agent.health().details).toMatchObject({ navigator_time_scale: 0.5 });

    const next: EdgeConfig = structuredClone(config);
    next.sim.speed = 0.25;
    expect(await daemon.reload(next)).toEqual([]);
    expect(running(daemon, AgentComponent)).toBe(agent);
    expect(agent.health().details).toMatchObject({ navigator_time_scale: 0.25 });
  });
});
