import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { newId } from '../../daemon/util/ids.ts';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { shortIds } from '../../daemon/util/index.ts';
import { runCli, runMain, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();

describe('auraison-edge runs, from the journal files with no daemon', () => {
  it('exits 1 with one message when the data dir has no journal, for list as for show', async () => {
    const dir = tempDir('runs-cli-none-');
    cleanups.push(dir.cleanup);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, 'data_dir: ./data\n');
    for (const args of [['runs'], ['runs', 'list', '--json'], ['runs', 'show', 'abc']]) {
      const r = await runMain([...args, '--config', config], { cwd: dir.path });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `auraison-edge runs: no journal at ${join(dir.path, 'data', 'log')}: has a daemon run with this data dir?\n`,
      );
    }
  });

  it('lists runs, replays one, and diffs two side by side', async () => {
    const dir = tempDir('runs-cli-');
    cleanups.push(dir.cleanup);
    const journal = new DurableJournal({ dir: join(dir.path, 'data', 'log') });
    const agent = new AgentComponent(componentContext({ agent: { read_topic: { timeout_ms: 20 } } }, { journal }));
    await agent.start();
    const submit = async (type: string, params: Record<string, unknown>) => {
      const run = await agent.submitIntent(
        { intent_id: newId(), type, params, policy_ctx: { actor: 'ada', source: 'cli' }, targets: [] },
        'cli',
      );
      await waitFor(() => ['succeeded', 'failed'].includes(agent.getRun(run.run_id)!.run.status), 'the run to end');
      return run.run_id;
    };
    const a = await submit('stop', {});
    const b = await submit('read_topic', { topic: '/nothing' });
    await agent.close();
    await journal.close();
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, 'data_dir: ./data\n');

    const list = await runCli(['runs', '--config', config], { cwd: dir.path });
    expect(list.code).toBe(0);
    const [header, newest] = list.stdout.split('\n');
    expect(header).toMatch(/^ID +STATUS +INTENT +REASON$/);
    expect(newest).toMatch(
      new RegExp(`^${shortIds([a, b]).get(b)}  failed +read_topic +read_topic: no message on /nothing within 20 ms`),
    );

    const show = await runMain(['runs', 'show', a.slice(0, 24), '--config', config], { cwd: dir.path });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/intent.accepted +stop \{\} from cli by ada/);
    expect(show.stdout).toMatch(/tool.result +stop ok \{"stopped":true,"cancelled":null\} in [\d.]+ ms/);
    expect(show.stdout).toMatch(/state +succeeded/);

    const diff = await runMain(['runs', 'diff', a, b, '--config', config, '--json'], { cwd: dir.path });
    const body = JSON.parse(diff.stdout) as {
      facts: { name: string; a: string; b: string; same: boolean }[];
      calls: { a: string; b: string; same: boolean }[];
    };
    expect(body.facts.find((f) => f.name === 'status')).toMatchObject({ a: 'succeeded', b: 'failed', same: false });
    expect(body.facts.find((f) => f.name === 'tool_errors')).toMatchObject({ a: '0', b: '1' });
    expect(body.calls).toEqual([{ index: 1, a: 'stop {}', b: 'read_topic {"topic":"/nothing"}', same: false }]);

    const missing = await runMain(['runs', 'show', newId(), '--config', config], { cwd: dir.path });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no run .* in the journal \(2 runs\)/);
    expect((await runMain(['runs', 'show'], { cwd: dir.path })).code).toBe(2);
  });
});
