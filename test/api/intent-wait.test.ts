import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../daemon/cli/main.ts';
import { runMain } from '../helpers/cli.ts';
import { closedPort } from '../helpers/closed-port.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { waitFor } from '../helpers/wait.ts';
import { FakeAgent } from './fakes/fake-agent.ts';
import { startHarness, type Harness, type HarnessOptions } from './harness.ts';
import { http } from './http.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';

let h: Harness | undefined;
const cleanups: Cleanup[] = [];
afterEach(async () => {
  await runCleanups(cleanups);
  await h?.close();
  h = undefined;
});

/** The API with a fake agent whose runs take `workMs` once running, and a config the CLI finds it by. */
async function setup(workMs: number, options: HarnessOptions = {}) {
  const journal = new MemoryJournal();
  const agent = new FakeAgent({ journal, workMs });
  h = await startHarness({ journal, components: [agent], ...options });
  const config = join(h.dataDir, 'edge.yaml');
  writeFileSync(config, `data_dir: ${h.dataDir}\napi:\n  port: 0\n`);
  /** The CLI in this process, its output readable while it runs. */
  const start = (...args: string[]) => {
    const out = { stdout: '', stderr: '' };
    const io = {
      stdout: (t: string) => void (out.stdout += t),
      stderr: (t: string) => void (out.stderr += t),
      env: process.env,
      cwd: h!.dataDir,
    };
    const code = main([...args, '--config', config], io);
    return { out, code };
  };
  return { h, agent, config, start };
}

const LINE = /^ +\+\d+\.\d{3}s {2}\S+ +.*$/;

describe('auraison-edge intent --wait', () => {
  it('prints each event of the run as it happens, then the state the run ended in', async () => {
    const { h, agent, start } = await setup(600_000);
    const cli = start('intent', 'navigate_to', '--params', '{"goal":"dock"}', '--wait');
    // The run is running (it would for ten minutes): what it did so far is already on the terminal.
    await waitFor(() => /state +running/.test(cli.out.stdout), 'the running state printed');
    const runId = agent.listRuns()[0]!.run_id;
    expect(agent.getRun(runId)!.run.status).toBe('running');
    const lines = cli.out.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^run ${runId.slice(0, 13)}: running$`));
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ +\+0\.\d{3}s {2}run\.created {8}\{"intent":/),
      expect.stringMatching(/^ +\+0\.\d{3}s {2}state {14}running$/),
      expect.stringMatching(/^ +\+0\.\d{3}s {2}run\.status {9}\{"status":"running"\}$/),
    ]);

    await http(h.url, `/runs/${runId}/cancel`, { body: { by: 'ops', reason: 'wrong room' } });
    expect(await cli.code).toBe(1);
    const after = cli.out.stdout.trimEnd().split('\n');
    expect(after.slice(4)).toEqual([
      expect.stringMatching(/^ +\+\d+\.\d{3}s {2}state {14}cancelled: wrong room$/),
      `run ${runId.slice(0, 13)}: cancelled (wrong room)`,
    ]);
    expect(cli.out.stderr).toBe('');
  });

  it("prints each event a tool call's one journal record carries, in order, once", async () => {
    const { h, agent, start } = await setup(600_000);
    const cli = start('intent', 'navigate_to', '--params', '{"goal":"dock"}', '--wait');
    await waitFor(() => /state +running/.test(cli.out.stdout), 'the running state printed');
    const runId = agent.listRuns()[0]!.run_id;
    await agent.carried(
      runId,
      [
        { kind: 'tool.result', payload: { tool: 'get_pose', ok: true } },
        { kind: 'llm.message', payload: { role: 'assistant', text: 'driving to the dock' } },
      ],
      'tool.call',
      { tool: 'navigate_to', args: { goal: 'dock' } },
    );
    await waitFor(() => /tool\.call/.test(cli.out.stdout), 'the tool call printed');
    await http(h.url, `/runs/${runId}/cancel`, { body: { by: 'ops', reason: 'test over' } });
    expect(await cli.code).toBe(1);
    const kinds = cli.out.stdout
      .trimEnd()
      .split('\n')
      .slice(1)
      .filter((l) => LINE.test(l))
      .map((l) => l.trim().split(/ +/)[1]);
    expect(kinds).toEqual([
      'run.created',
      'state',
      'run.status',
      'tool.result',
      'llm.message',
      'tool.call',
      'state', // the wait ends at the cancelled state: the fake agent's run.status after it is not waited for
    ]);
  });

  it('--json prints one JSON line per event and state change, then {run}', async () => {
    const { start } = await setup(20);
    const cli = start('intent', 'stop', '--wait', '--json');
    expect(await cli.code, cli.out.stderr).toBe(0);
    const lines = cli.out.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, { status?: string; kind?: string }>);
    const final = lines.pop()!;
    expect(final.run).toMatchObject({ status: 'succeeded', reason: 'done' });
    // The wait ends at the run's last state: the fake agent's own run.status event after it is not waited for.
    expect(lines.map((l) => l.event?.kind ?? `state ${l.state?.status}`)).toEqual([
      'run.created',
      'state running',
      'run.status',
      'state succeeded',
    ]);
    for (const l of lines) expect(typeof l.t_s).toBe('number');
  });

  it('prints the events of a run that waits for approval from the start, and exits 0', async () => {
    const { start } = await setup(20);
    const cli = start('intent', 'navigate_to', '--approval', '--wait');
    expect(await cli.code, cli.out.stderr).toBe(0);
    const lines = cli.out.stdout.trimEnd().split('\n');
    expect(lines.slice(1, -1).every((l) => LINE.test(l))).toBe(true);
    expect(lines.slice(1, -1).map((l) => l.trim().split(/ +/)[1])).toEqual(['run.created', 'run.status']);
    expect(lines.at(-1)).toMatch(/^run [0-9a-f]{8}-[0-9a-f]{4}: awaiting_approval \(the intent requires approval\)$/);
  });

  it('polls the run when the API refuses another event stream, and still prints each event', async () => {
    const { h, start } = await setup(50, { api: { events: { max_clients: 1 } } });
    const taken = new AbortController();
    const held = await fetch(`${h.url}/events`, { signal: taken.signal });
    cleanups.push(() => taken.abort());
    expect(held.status).toBe(200);
    const cli = start('intent', 'stop', '--wait');
    expect(await cli.code, cli.out.stderr).toBe(0);
    expect(cli.out.stderr).toMatch(/^auraison-edge intent: no event stream \(.*\); polling the run instead\n$/);
    const kinds = cli.out.stdout
      .trimEnd()
      .split('\n')
      .slice(1, -1)
      .map((l) => l.trim().split(/ +/)[1]);
    // The last run.status may come after the state the poll ends at: the two before it are always there.
    expect(kinds.slice(0, 2)).toEqual(['run.created', 'run.status']);
    expect(cli.out.stdout).toMatch(/: succeeded \(done\)\n$/);
  });

  it('resumes the event stream after the API restarts, printing what happened meanwhile once', async () => {
    const port = await closedPort(); // free now: the API restarts on it
    const { h, agent, start } = await setup(600_000, { api: { port } });
    const cli = start('intent', 'stop', '--wait');
    await waitFor(() => /run\.status +\{"status":"running"\}/.test(cli.out.stdout), 'the running event printed');
    await h.api!.close();
    // While no API answers, the run goes on and ends: its records wait in the journal.
    const runId = agent.listRuns()[0]!.run_id;
    await agent.cancel(runId, 'ops', 'while the API was down');
    await waitFor(() => /reconnecting/.test(cli.out.stderr), 'the reconnecting notice');
    await h.api!.start();
    expect(await cli.code).toBe(1);
    const kinds = cli.out.stdout
      .trimEnd()
      .split('\n')
      .slice(1, -1)
      .map((l) => l.trim().split(/ +/)[1]);
    expect(kinds).toEqual(['run.created', 'state', 'run.status', 'state']);
    expect(cli.out.stdout).toMatch(
      /state +cancelled: while the API was down\nrun \S+: cancelled \(while the API was down\)\n$/,
    );
    expect(cli.out.stderr).toMatch(
      /^auraison-edge intent: the event stream ended \(no event stream from .*\); reconnecting\n$/,
    );
  });

  it('gives up after --timeout-s, naming the run and its state', async () => {
    const { start } = await setup(600_000);
    const cli = start('intent', 'stop', '--wait', '--timeout-s', '0.5');
    expect(await cli.code).toBe(1);
    expect(cli.out.stderr).toMatch(/^auraison-edge intent: run [0-9a-f]{8}-[0-9a-f]{4} still running after 0\.5 s\n$/);
  });

  it('without --wait prints the run by its short form at once', async () => {
    const { config } = await setup(20);
    const r = await runMain(['intent', 'stop', '--config', config]);
    expect(r.stdout).toMatch(/^run [0-9a-f]{8}-[0-9a-f]{4}: running\n$/);
  });
});
