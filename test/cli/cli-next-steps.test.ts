// Where a user following the README needs the CLI to say what to do next: each case says enough, and
// nothing wrong, about it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { newId } from '../../daemon/util/ids.ts';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { deadPort } from '../helpers/closed-port.ts';

const work = tempDir('cli-next-steps-');
afterAll(() => work.cleanup());
const cwd = work.path;

describe('auraison-edge config show', () => {
  it('hides a password written in a URL, as status and llm check do, and keeps a ${ENV} one as written', async () => {
    writeFileSync(
      join(cwd, 'urls.yaml'),
      [
        'llm:',
        '  endpoints:',
        '    - {name: gpu, base_url: "http://robot:hunter2@127.0.0.1:8000/v1", model: m}',
        '    - {name: env, base_url: "http://robot:${LLM_PW}@127.0.0.1:8001/v1", model: m}',
        '',
      ].join('\n'),
    );
    const r = await runMain(['config', 'show', '--config', 'urls.yaml'], {
      cwd,
      env: { LLM_PW: 'from-env', AURAISON_EDGE_CONFIG: undefined },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hunter2');
    expect(r.stdout).not.toContain('from-env');
    expect(r.stdout).toContain('base_url: http://robot:***@127.0.0.1:8000/v1');
    expect(r.stdout).toContain('base_url: http://robot:${LLM_PW}@127.0.0.1:8001/v1');
    const json = await runMain(['config', 'show', '--config', 'urls.yaml', '--json'], {
      cwd,
      env: { LLM_PW: 'from-env', AURAISON_EDGE_CONFIG: undefined },
    });
    expect(JSON.parse(json.stdout).llm.endpoints[0].base_url).toBe('http://robot:***@127.0.0.1:8000/v1');
  });
});

describe('auraison-edge intent and approve with no daemon to answer', () => {
  it('say that no daemon runs with this data dir and how to start one, not only ECONNREFUSED', async () => {
    const port = await deadPort();
    const config = join(cwd, 'nodaemon.yaml');
    writeFileSync(config, `data_dir: ./nodaemon\napi:\n  port: ${port}\n`);
    const intent = await runMain(['intent', 'stop', '--config', config], { cwd });
    expect(intent.code).toBe(1);
    expect(intent.stderr).toContain(`no answer from the API at http://127.0.0.1:${port}`);
    expect(intent.stderr).toContain(
      `no daemon is running with data dir ${join(cwd, 'nodaemon')}: start one (\`auraison-edge run\``,
    );
    const approve = await runMain(['approve', '01a1fe11-b117', '--config', config], { cwd });
    expect(approve.code).toBe(1);
    expect(approve.stderr).toContain(`no daemon is running with data dir ${join(cwd, 'nodaemon')}`);
    const byUrl = await runMain(['approve', '01a1fe11-b117', '--url', `http://127.0.0.1:${port}`], { cwd });
    expect(byUrl.code).toBe(1);
    expect(byUrl.stderr).toContain('is a daemon listening at that URL?');
  });
});

describe('auraison-edge runs list', () => {
  it('marks a reason it cuts short, so half a sentence is not read as the whole reason', async () => {
    const dir = join(cwd, 'runs');
    const journal = new DurableJournal({ dir: join(dir, 'data', 'log'), fsync: 'never' });
    const agent = new AgentComponent(componentContext({ agent: { read_topic: { timeout_ms: 20 } } }, { journal }));
    await agent.start();
    const topic = `/robot_arm/${'wrist_camera_'.repeat(6)}image_raw`;
    const run = await agent.submitIntent(
      {
        intent_id: newId(),
        type: 'read_topic',
        params: { topic },
        policy_ctx: { actor: 'ada', source: 'cli' },
        targets: [],
      },
      'cli',
    );
    await waitFor(() => agent.getRun(run.run_id)!.run.status === 'failed', 'the run to fail');
    const reason = agent.getRun(run.run_id)!.run.reason!;
    await agent.close();
    await journal.close();
    expect(reason.length).toBeGreaterThan(80);
    writeFileSync(join(dir, 'edge.yaml'), 'data_dir: ./data\n');
    const list = await runMain(['runs', '--config', join(dir, 'edge.yaml')], { cwd: dir });
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toBe(
      `ID${' '.repeat(13)}STATUS  INTENT      REASON\n${run.run_id.slice(0, 13)}  failed  read_topic  ${reason.slice(0, 77)}...\n`,
    );
  });

  it('cuts a reason of words after a word', async () => {
    const dir = join(cwd, 'runs-words');
    const journal = new DurableJournal({ dir: join(dir, 'data', 'log'), fsync: 'never' });
    const agent = new AgentComponent(componentContext({ agent: { read_topic: { timeout_ms: 60_000 } } }, { journal }));
    await agent.start();
    const run = await agent.submitIntent(
      {
        intent_id: newId(),
        type: 'read_topic',
        params: { topic: '/nobody' },
        policy_ctx: { actor: 'ada', source: 'cli' },
        targets: [],
      },
      'cli',
    );
    await agent.cancel(
      run.run_id,
      'ada',
      'the robot stopped at (6.19, 2.63) after 39.4 s, 5.10 m (straight line) from it',
    );
    await agent.close();
    await journal.close();
    writeFileSync(join(dir, 'edge.yaml'), 'data_dir: ./data\n');
    const list = await runMain(['runs', '--config', join(dir, 'edge.yaml')], { cwd: dir });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n')[1]).toMatch(
      / {2}cancelled by ada: the robot stopped at \(6\.19, 2\.63\) after 39\.4 s, 5\.10 m\.\.\.$/,
    );
  });
});

describe('auraison-edge install-service --output', () => {
  it('says to put the unit where systemd looks, since systemctl does not find it where it was written', async () => {
    const out = join(cwd, 'unit dir', 'auraison-edge.service');
    mkdirSync(join(cwd, 'unit dir'), { recursive: true });
    const config = join(cwd, 'svc.yaml');
    writeFileSync(config, 'data_dir: /var/lib/auraison-edge/data\n');
    const r = await runMain(['install-service', '--config', config, '--run-as', 'root', '--output', out], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `next: sudo cp '${out}' /etc/systemd/system/auraison-edge.service && systemctl daemon-reload && systemctl enable --now auraison-edge\n`,
    );
  });
});

describe('auraison-edge install-service with a working directory under /tmp', () => {
  it('says to move the --workdir, not data_dir, when a relative data_dir lands in /tmp through it', async () => {
    const config = join(cwd, 'relative.yaml');
    writeFileSync(config, 'data_dir: ./data\n');
    const r = await runMain(
      ['install-service', '--config', config, '--run-as', 'root', '--workdir', join(cwd, 'wd'), '--dry-run'],
      { cwd },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `warning: data_dir ${join(cwd, 'wd', 'data')} is under /tmp: the unit has PrivateTmp=yes`,
    );
    expect(r.stderr).toContain('Give a --workdir outside /tmp and /var/tmp (data_dir ./data is relative to it).');
    expect(r.stderr).not.toContain('leave it relative');
  });
});

describe('auraison-edge --help', () => {
  it("lists every exit code, bag import's 3 included", async () => {
    const r = await runMain(['--help'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('`bag import` also exits 3');
  });
});
