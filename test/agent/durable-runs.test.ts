import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { DaemonProcess } from './daemon-process.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitForValue } from '../helpers/wait.ts';

const cleanups = cleanupStack();

async function setup(agent: Record<string, unknown>, endpoint: Record<string, unknown> = {}) {
  const dir = tempDir('system2-');
  const server = new OpenAiSseServer();
  await server.start();
  cleanups.push(dir.cleanup, () => server.close());
  const config = join(dir.path, 'edge.yaml');
  writeFileSync(
    config,
    stringify({
      data_dir: './data',
      sim: { enabled: false },
      api: { port: 0 },
      foxglove: { enabled: false },
      journal: { fsync: 'always' },
      llm: {
        endpoints: [
          { name: 'local', base_url: server.baseUrl, model: 'scripted-model', retries: 1, backoff_ms: 5, ...endpoint },
        ],
      },
      agent,
    }),
  );
  const start = async () => {
    const daemon = new DaemonProcess(dir.path, config);
    cleanups.push(() => void daemon.child.kill('SIGKILL'));
    await daemon.running();
    return daemon;
  };
  /** The same daemon in this process, where the process boundary is not what a test is about. */
  const startInProcess = async () => {
    const daemon = new Daemon({
      config: loadConfigFile(config).config,
      configFile: config,
      log: silentLogger(),
      cwd: dir.path,
    });
    cleanups.push(() => daemon.close());
    await daemon.start();
    return daemon;
  };
  // The CLI's clients (intent, approve, runs, status) run in this process: the daemon is the process here.
  const cli = async (...args: string[]) => {
    const result = await runMain([...args, '--config', config, '--json'], { cwd: dir.path });
    // intent --wait --json prints a line per event first: the run is its last line.
    const body = result.stdout
      ? (JSON.parse(result.stdout.trimEnd().split('\n').at(-1)!) as Record<string, unknown>)
      : {};
    return { ...result, body };
  };
  /** GET from the running daemon's API (where it wrote run/api.json), for polling without spawning the CLI. */
  const api = async <T>(path: string): Promise<T> => {
    const { url } = JSON.parse(readFileSync(join(dir.path, 'data', 'run', 'api.json'), 'utf8')) as { url: string };
    return (await (await fetch(`${url}${path}`)).json()) as T;
  };
  const until = async (
    runId: string,
    done: (found: { run: Run; events: { kind: string }[] }) => boolean,
    timeoutMs = 30_000,
  ) => {
    let status: string | undefined;
    try {
      return await waitForValue(
        async () => {
          const found = await api<{ run: Run; events: { kind: string }[] }>(`/runs/${runId}`);
          status = found.run.status;
          return done(found) && found;
        },
        `run ${runId}`,
        timeoutMs,
      );
    } catch {
      throw new Error(`run ${runId} never got there (is ${status})`);
    }
  };
  return { dir, server, config, start, startInProcess, cli, until };
}

type Run = { run_id: string; status: string; reason?: string };

describe('durable runs of the edge agent (a real daemon, a vLLM-style SSE server)', () => {
  it('keeps a run awaiting approval across kill -9, and resumes it from the paused call when approved', async () => {
    const t = await setup({ require_approval: ['stop'] });
    // vLLM streams the tool call with its arguments split across deltas.
    t.server.enqueue({ toolCalls: [{ name: 'stop', arguments: {} }] });
    const daemon = await t.start();
    const submitted = await t.cli('intent', '--text', 'stop the robot', '--wait');
    const run = submitted.body.run as Run;
    expect(run).toMatchObject({
      status: 'awaiting_approval',
      reason: expect.stringMatching(/^skill.requires_approval/),
    });
    await daemon.kill();

    // With no daemon, the journal still tells the story.
    const shown = await t.cli('runs', 'show', run.run_id.slice(0, 20));
    expect(shown.code).toBe(0);
    expect((shown.body.run as Run).status).toBe('awaiting_approval');

    t.server.enqueue({ text: 'The robot is stopped.' });
    // The daemon after the crash in this process: the kill -9 above is the one that must be a real process.
    const resumed = await t.startInProcess();
    const listed = await t.cli('runs', '--status', 'awaiting_approval');
    expect((listed.body.runs as Run[]).map((r) => r.run_id)).toEqual([run.run_id]);
    const approved = await t.cli('approve', run.run_id, '--by', 'ada');
    expect(approved.code).toBe(0);
    const { run: final } = await t.until(run.run_id, (f) => ['succeeded', 'failed'].includes(f.run.status));
    expect(final).toMatchObject({ status: 'succeeded', reason: 'The robot is stopped.' });
    // The model was asked once before the restart and once after: the paused message was not asked again.
    expect(t.server.chats).toHaveLength(2);
    const replay = (await t.cli('runs', 'show', run.run_id)).body as { entries: { kind: string; text: string }[] };
    const kinds = replay.entries.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'tool.call')).toHaveLength(1);
    expect(kinds).toEqual(expect.arrayContaining(['approval.requested', 'approval.granted', 'tool.result']));
    await resumed.close();
  });

  it('brings a run that was acting at kill -9 back as interrupted, with every acknowledged event', async () => {
    const t = await setup({ read_topic: { timeout_ms: 60_000 } });
    t.server.enqueue({ toolCalls: [{ name: 'read_topic', arguments: { topic: '/never' } }] });
    const daemon = await t.start();
    const submitted = await t.cli('intent', '--text', 'read /never');
    const run = submitted.body.run as Run;
    const acting = await t.until(run.run_id, (f) => f.events.some((e) => e.kind === 'tool.call'));
    expect(acting.run.status).toBe('running');
    await daemon.kill();

    // The daemon after the crash in this process: the kill -9 above is the one that must be a real process.
    const restarted = await t.startInProcess();
    const shown = await t.cli('runs', 'show', run.run_id);
    expect(shown.body.run).toMatchObject({
      status: 'interrupted',
      reason: expect.stringMatching(/daemon stopped while the run was running/),
    });
    expect((shown.body as { entries: { kind: string }[] }).entries.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['intent.accepted', 'llm.message', 'tool.call']),
    );
    await restarted.close();
  });

  it('degrades with no reachable model: natural-language intents fail fast with the reason, skill intents run', async () => {
    // A long cooldown: the checks below take several CLI calls, which must all see the endpoint still down.
    const t = await setup({}, { connect_timeout_ms: 300, retries: 0, cooldown_ms: 600_000 });
    t.server.enqueue({ hang: true });
    const daemon = await t.startInProcess();
    const nl = await t.cli('intent', '--text', 'go somewhere', '--wait', '--timeout-s', '20');
    expect(nl.code).toBe(1);
    expect(nl.body.run).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/local attempt 1: no response from the server \(300 ms\)/),
    });
    // The endpoint is now known down: the next one fails at once, without a request.
    const requests = t.server.chats.length;
    const again = await t.cli('intent', '--text', 'go somewhere else');
    expect(again.body.run).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^System 2 unavailable: every model endpoint failed recently/),
    });
    expect(t.server.chats).toHaveLength(requests);
    const skill = await t.cli('intent', 'stop', '--wait');
    expect(skill.body.run).toMatchObject({ status: 'succeeded' });
    const status = await t.cli('status');
    expect((status.body.status as { components: Record<string, { state: string }> }).components.agent).toMatchObject({
      state: 'degraded',
    });
    await daemon.close();
  });
});
