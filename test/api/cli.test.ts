import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SKILLS } from '../../daemon/agent/skills/index.ts';
import { approvalRequirement } from '../../daemon/policy/approval.ts';
import { newId } from '../../daemon/util/ids.ts';
import { runCli, runMain } from '../helpers/cli.ts';
import { FakeAgent } from './fakes/fake-agent.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { startHarness, type Harness, type HarnessOptions } from './harness.ts';
import { http } from './http.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The API up with a fake agent, and a config file that names its data dir (the CLI finds the API from it). */
async function setup(options: HarnessOptions = {}, extraYaml = '') {
  const journal = new MemoryJournal();
  const agent = new FakeAgent({ journal, workMs: 20 });
  h = await startHarness({ journal, components: [agent], ...options });
  const config = join(h.dataDir, 'edge.yaml');
  writeFileSync(config, `data_dir: ${h.dataDir}\napi:\n  port: 0\n${extraYaml}`);
  // Through the CLI's main() in this process; the first test runs one real process.
  const cli = async (...args: string[]) => {
    const r = await runMain([...args, '--config', config], { cwd: h!.dataDir });
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(r.stdout) as Record<string, unknown>;
    } catch {
      // human output: the test reads stdout
    }
    return { ...r, body };
  };
  return { h, agent, cli, config };
}

describe('auraison-edge intent --help', () => {
  it('lists every skill the agent runs with no model', async () => {
    const help = (await runMain(['intent', '--help'])).stdout.replace(/\s+/g, ' ');
    const listed = /A skill intent \(([^)]*)\) runs with no model/.exec(help)?.[1]?.split(', ');
    expect(listed?.sort()).toEqual(Object.keys(SKILLS).sort());
  });

  it('says which skills --approval leaves alone, as the approval rule does', async () => {
    const help = await runMain(['intent', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(
      '--approval every acting call waits for approval (policy_ctx.requires_approval); stop and read_topic are exempt',
    );
    const intent = {
      intent_id: newId(),
      type: 'stop',
      params: {},
      policy_ctx: { actor: 'ops', source: 'cli' as const, requires_approval: true },
      targets: [],
    };
    const rule = (tool: string) =>
      approvalRequirement({ tool, intent, requireApproval: new Set(), tainted: false, onSuspect: 'require_approval' });
    expect([rule('stop'), rule('read_topic')]).toEqual([undefined, undefined]);
    expect(rule('navigate_to')?.rule).toBe('intent.requires_approval');
  });
});

describe('auraison-edge status, intent and approve over the API', () => {
  it('status reads GET /status from the API the daemon advertised in run/api.json', async () => {
    const { cli, config } = await setup();
    const spawned = await runCli(['status', '--json', '--config', config], { cwd: h!.dataDir });
    expect(spawned.code, spawned.stderr).toBe(0);
    expect(JSON.parse(spawned.stdout)).toMatchObject({ running: true, source: 'api' });
    const r = await cli('status', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.body).toMatchObject({
      running: true,
      source: 'api',
      status: { components: { agent: { state: 'running' } }, readiness: { ready: true } },
    });
    const text = await cli('status');
    expect(text.stdout).toContain('readiness: ready');
    expect(text.stdout).toMatch(/daemon: \S+ \(pid \d+, api http:\/\/127\.0\.0\.1:\d+\)/);
  });

  it("status falls back to the status file when the API does not answer, and ignores another daemon's API", async () => {
    const { h: mine, cli } = await setup();
    const port = new URL(mine.url).port;
    await mine.api!.close(); // the API is gone (it removes run/api.json); the status file remains
    mkdirSync(join(mine.dataDir, 'run'), { recursive: true });
    const snapshot = mine.ctx.daemonStatus();
    writeFileSync(
      join(mine.dataDir, 'run', 'status.json'),
      JSON.stringify({ state: 'running', written_at: new Date().toISOString(), ...snapshot }),
    );
    const r = await cli('status', '--json');
    expect(r.code).toBe(0);
    expect(r.body).toMatchObject({ running: true, source: 'file' });

    // Another daemon now answers on the configured port: its status is not ours.
    const other = await startHarness({ api: { port: Number(port) } });
    try {
      const config = join(mine.dataDir, 'port.yaml');
      writeFileSync(config, `data_dir: ${mine.dataDir}\napi:\n  port: ${port}\n`);
      const s = await runMain(['status', '--json', '--config', config], { cwd: mine.dataDir });
      const body = JSON.parse(s.stdout) as { source: string; api: string };
      expect(body.source).toBe('file');
      expect(body.api).toContain(`belongs to the daemon of ${other.dataDir}`);
    } finally {
      await other.close();
    }
  });

  it('runs lists from GET /runs while the daemon runs, and from the journal when it does not', async () => {
    const { h: harness, cli } = await setup();
    const submitted = await cli('intent', 'stop', '--json');
    const runId = (submitted.body.run as { run_id: string }).run_id;
    const live = await cli('runs', '--json');
    expect(live.code, live.stderr).toBe(0);
    expect(live.body.source).toBe('api');
    expect((live.body.runs as { run_id: string }[]).map((r) => r.run_id)).toContain(runId);
    await harness.api!.close();
    // This harness journals in memory: with no journal files either, runs says so and fails.
    const none = await cli('runs', '--json');
    expect([none.code, none.stdout]).toEqual([1, '']);
    expect(none.stderr).toContain('no journal at');
    mkdirSync(join(harness.dataDir, 'log'));
    const offline = await cli('runs', '--json');
    expect(offline.code).toBe(0);
    expect(offline.body.source).toBe('journal');
  });

  it('intent submits over POST /intents (source cli) and prints the run; bad input names the path', async () => {
    const { cli, agent } = await setup();
    const r = await cli(
      'intent',
      'navigate_to',
      '--params',
      '{"x": 1.5, "y": 2}',
      '--approval',
      '--actor',
      'ops',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect((r.body.run as { status: string }).status).toBe('awaiting_approval');
    const [intent, source] = agent.calls[0]!.args as [{ params: unknown; policy_ctx: unknown }, string];
    expect(source).toBe('cli');
    expect(intent.params).toEqual({ x: 1.5, y: 2 });
    expect(intent.policy_ctx).toEqual({ actor: 'ops', source: 'cli', requires_approval: true });

    const bad = await cli('intent', 'Navigate');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('body.type');
    // Said once: the API's message holds the issue, and the CLI does not list it again.
    expect(bad.stderr.split('body.type')).toHaveLength(2);
  });

  it('approve resumes a waiting run, refuses a second approval, and --cancel cancels', async () => {
    const { h, cli } = await setup();
    const created = await http(h.url, '/intents', {
      body: { type: 'navigate_to', policy_ctx: { requires_approval: true } },
    });
    const id = (created.json.run as { run_id: string }).run_id;
    const ok = await cli('approve', id, '--by', 'ops', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect((ok.body.run as { status: string }).status).toBe('running');
    const twice = await cli('approve', id);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('not awaiting_approval');

    const other = await http(h.url, '/intents', {
      body: { type: 'navigate_to', policy_ctx: { requires_approval: true } },
    });
    const otherId = (other.json.run as { run_id: string }).run_id;
    // An id may be shortened to a unique prefix, as `runs show` takes it.
    const ambiguous = await cli('approve', otherId.slice(0, 4), '--cancel');
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain(
      `prefix ${otherId.slice(0, 4)} matches 2 runs: ${otherId}, ${id}; give more of the id`,
    );
    const none = await cli('approve', 'fffff', '--cancel');
    expect(none.stderr).toContain('no run fffff: list runs with GET /runs');
    const cancelled = await cli('approve', otherId.slice(0, -4), '--cancel', '--reason', 'wrong room', '--json');
    expect(cancelled.body.run).toMatchObject({ run_id: otherId, status: 'cancelled', reason: 'wrong room' });
  });

  it("sends the config's api.token, and --token overrides it", async () => {
    const { cli } = await setup({ api: { token: 'cli-secret' } }, '  token: cli-secret\n');
    const wrong = await cli('intent', 'stop', '--token', 'nope');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('wrong bearer token');
    const r = await cli('intent', 'stop', '--json');
    expect(r.code, r.stderr).toBe(0);
  });
});
