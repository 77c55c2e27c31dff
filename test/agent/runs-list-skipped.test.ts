import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../../daemon/util/ids.ts';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { shortIds } from '../../daemon/util/index.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { componentContext } from '../helpers/component-context.ts';
import { forgetAgent, settled, startAgent, stopAgents } from './agent-harness.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  await stopAgents();
  await runCleanups(cleanups);
});

const intent = () => ({
  intent_id: newId(),
  type: 'stop',
  params: {},
  policy_ctx: { actor: 'tester', source: 'internal' },
  targets: [],
});

describe('runs (list) from a journal with odd and damaged records', () => {
  it('lists the runs it can, says how many records it skipped and why (stderr; skipped and unreadable in --json), and exits 0', async () => {
    const dir = tempDir('runs-list-skipped-');
    cleanups.push(dir.cleanup);
    const log = join(dir.path, 'data', 'log');
    const journal = new DurableJournal({ dir: log, fsync: 'never' });
    const agent = await startAgent(componentContext({}, { journal }));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await agent.submitIntent(intent(), 'cli');
      await settled(agent, run.run_id);
      ids.push(run.run_id);
    }
    await agent.close();
    forgetAgent(agent);
    const [a, b, lost] = ids as [string, string, string];
    // Records as a bug, another version or a hand edit may leave them.
    await journal.append('agent_event', { run_id: a, kind: 'tool.call' });
    await journal.append('run_state', { run_id: a, status: 'weird' });
    await journal.append('run_state', null);
    const lostStates = journal
      .read(1, 10_000)
      .filter((r) => r.kind === 'run_state' && (r.data as { run_id?: string } | null)?.run_id === lost).length;
    await journal.close();
    // Bytes of one run's intent.accepted event flipped on disk: its CRC fails, and the run has no intent to list.
    const segment = join(
      log,
      readdirSync(log).find((f) => f.endsWith('.log'))!,
    );
    const bytes = readFileSync(segment);
    const at = bytes.indexOf(`"run_id":"${lost}","kind":"intent.accepted"`);
    expect(at).toBeGreaterThan(0);
    bytes[at + 2] ^= 0xff;
    writeFileSync(segment, bytes);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, 'data_dir: ./data\n');

    const json = await runMain(['runs', '--json', '--config', config], { cwd: dir.path });
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout) as {
      source: string;
      runs: { run_id: string }[];
      skipped: string[];
      unreadable: string[];
    };
    expect(body.source).toBe('journal');
    expect(body.runs.map((r) => r.run_id).sort()).toEqual([a, b].sort());
    const notIntent = `run ${lost} has no valid intent.accepted event, skipped`;
    expect(body.skipped.filter((w) => w.endsWith(notIntent))).toHaveLength(lostStates);
    expect(body.skipped.filter((w) => !w.endsWith(notIntent))).toEqual([
      expect.stringMatching(/^journal record \d+: not an AgentEvent, skipped$/),
      expect.stringMatching(/^journal record \d+: not a RunState, skipped$/),
      expect.stringMatching(/^journal record \d+: not a RunState, skipped$/),
    ]);
    expect(body.unreadable).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${segment.slice(log.length + 1)}: \\d+ bytes of corrupt record\\(s\\) at byte \\d+ skipped; read on from byte \\d+$`,
        ),
      ),
    ]);

    const text = await runMain(['runs', '--config', config], { cwd: dir.path });
    expect(text.code).toBe(0);
    expect(
      text.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0])
        .sort(),
    ).toEqual(['ID', ...shortIds([a, b]).values()].sort());
    expect(text.stderr).toMatch(/^auraison-edge runs: \S+\.log: \d+ bytes of corrupt record\(s\) at byte \d+ skipped/m);
    expect(text.stderr).toContain(
      `auraison-edge runs: ${body.skipped.length} journal record(s) skipped, each for the reason below`,
    );
    for (const why of body.skipped) expect(text.stderr).toContain(`\n  ${why}\n`);
  });

  it('shows the first ten reasons and how many more on stderr; --json lists every one', async () => {
    const dir = tempDir('runs-list-many-');
    cleanups.push(dir.cleanup);
    const journal = new DurableJournal({ dir: join(dir.path, 'data', 'log'), fsync: 'never' });
    for (let i = 0; i < 12; i++) await journal.append('agent_event', { run_id: `r${i}` });
    await journal.close();
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, 'data_dir: ./data\n');
    const text = await runMain(['runs', '--config', config], { cwd: dir.path });
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(`no runs in ${join(dir.path, 'data', 'log')}\n`);
    const lines = text.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^auraison-edge runs: 12 journal record\(s\) skipped, each for the reason below/);
    expect(lines.slice(1)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `  journal record ${i + 1}: not an AgentEvent, skipped`),
      '  and 2 more (--json lists them all)',
    ]);
    const json = await runMain(['runs', '--json', '--config', config], { cwd: dir.path });
    const body = JSON.parse(json.stdout) as { runs: unknown[]; skipped: string[]; unreadable: string[] };
    expect(body).toMatchObject({ runs: [], unreadable: [] });
    expect(body.skipped).toHaveLength(12);

    // The file mid-edit (a reload of it rejected): runs still reads the journal of the data_dir it names.
    writeFileSync(config, 'data_dir: ./data\nsim:\n  speed: fast\n');
    const invalid = await runMain(['runs', '--json', '--config', config], { cwd: dir.path });
    expect(invalid.code).toBe(0);
    expect((JSON.parse(invalid.stdout) as { skipped: string[] }).skipped).toHaveLength(12);
    expect(invalid.stderr).toContain('edge.yaml is not a valid config');
  });
});
