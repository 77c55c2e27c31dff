import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DurableJournal } from '../../daemon/journal/index.ts';
import { shortIds } from '../../daemon/util/index.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { sharedChromium } from './chromium.ts';
import { FakeAgent } from './fakes/fake-agent.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';

let h: Harness | undefined;
const chromium = sharedChromium();
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(() => chromium.close());

/** The API with a fake agent holding two runs that wait for approval, and the CLI pointed at it. */
async function twoWaitingRuns() {
  const journal = new MemoryJournal();
  const agent = new FakeAgent({ journal, workMs: 20 });
  h = await startHarness({ journal, components: [agent] });
  const config = join(h.dataDir, 'edge.yaml');
  writeFileSync(config, `data_dir: ${h.dataDir}\napi:\n  port: 0\n`);
  const cli = (...args: string[]) => runMain([...args, '--config', config], { cwd: h!.dataDir });
  const ids: string[] = [];
  for (const goal of ['dock', 'kitchen']) {
    const created = await http(h.url, '/intents', {
      body: { type: 'navigate_to', params: { goal }, policy_ctx: { requires_approval: true } },
    });
    ids.push((created.json.run as { run_id: string }).run_id);
  }
  // The prefix both ids share (at least the years both were made in): it names neither alone.
  let shared = 0;
  while (ids[0]![shared] === ids[1]![shared]) shared++;
  return { h, agent, cli, ids, both: ids[0]!.slice(0, shared) };
}

describe('a run id in its short form, the same in the CLI, the API and the status page', () => {
  it('runs list shows each run by its ms (13 characters) under a header; the API and approve take that', async () => {
    const { h, cli, ids } = await twoWaitingRuns();
    const list = await cli('runs');
    expect(list.code, list.stderr).toBe(0);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    expect(header).toBe(`ID${' '.repeat(13)}STATUS${' '.repeat(13)}INTENT${' '.repeat(7)}REASON`);
    // Newest first; the short form is the id's first 13 characters (no two runs were made in the same ms).
    expect(rows).toEqual(
      [ids[1]!, ids[0]!].map(
        (id) => `${id.slice(0, 13)}  awaiting_approval  navigate_to  the intent requires approval`,
      ),
    );

    const short = ids[0]!.slice(0, 13);
    const found = await http(h.url, `/runs/${short}`);
    expect([found.status, (found.json.run as { run_id: string }).run_id]).toEqual([200, ids[0]]);
    // Case does not matter, as in a hash.
    expect((await http(h.url, `/runs/${short.toUpperCase()}`)).status).toBe(200);

    const approved = await cli('approve', short, '--by', 'ops');
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toBe(`run ${short}: running (the intent requires approval)\n`);
    const cancelled = await http(h.url, `/runs/${ids[1]!.slice(0, 13)}/cancel`, { body: { reason: 'wrong room' } });
    expect([cancelled.status, (cancelled.json.run as { status: string }).status]).toEqual([200, 'cancelled']);
  });

  it('names every run a prefix of several matches (400, exit 1) and says when none matches (404, exit 1)', async () => {
    const { h, agent, cli, ids, both } = await twoWaitingRuns();
    const ambiguous = await http(h.url, `/runs/${both}/approve`, { body: {} });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.json).toEqual({
      error: 'ambiguous',
      message: `prefix ${both} matches 2 runs: ${ids[1]}, ${ids[0]}; give more of the id`,
    });
    const viaCli = await cli('approve', both, '--cancel');
    expect(viaCli.code).toBe(1);
    expect(viaCli.stderr).toContain(`prefix ${both} matches 2 runs: ${ids[1]}, ${ids[0]}; give more of the id`);
    expect(agent.calls.filter((c) => c.method !== 'submitIntent')).toEqual([]);

    const none = await http(h.url, '/runs/ffff');
    expect([none.status, none.json]).toEqual([
      404,
      { error: 'not_found', message: 'no run ffff: list runs with GET /runs' },
    ]);
    const noneCli = await cli('approve', 'ffff');
    expect([noneCli.code, noneCli.stderr]).toEqual([
      1,
      'auraison-edge approve: no run ffff: list runs with GET /runs\n',
    ]);
    // Not an id at all: bad usage, said before anything is asked.
    expect((await cli('approve', 'dock')).code).toBe(2);
    expect((await http(h.url, '/runs/dock')).status).toBe(400);
  });

  it('runs show and diff (the journal) take the short form, and name the runs of a prefix of several', async () => {
    const dir = tempDir('run-id-journal-');
    const journal = new DurableJournal({ dir: join(dir.path, 'data', 'log'), fsync: 'never' });
    const agent = new FakeAgent({ journal, workMs: 20 });
    const ids: string[] = [];
    for (const type of ['stop', 'navigate_to']) {
      const intent = { intent_id: `0190aaaa-0000-7000-8000-00000000000${ids.length}`, type, params: {} };
      ids.push(
        (await agent.submitIntent({ ...intent, targets: [], policy_ctx: { actor: 'ops', source: 'cli' } }, 'cli'))
          .run_id,
      );
    }
    await agent.close();
    await journal.close();
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, 'data_dir: ./data\n');
    const cli = (...args: string[]) => runMain([...args, '--config', config], { cwd: dir.path });
    try {
      // The short forms runs list shows: 13 characters, more when both runs began in the same millisecond.
      const short = shortIds(ids);
      const shown = await cli('runs', 'show', short.get(ids[0]!)!, '--json');
      expect(shown.code, shown.stderr).toBe(0);
      expect((JSON.parse(shown.stdout) as { run: { run_id: string } }).run.run_id).toBe(ids[0]);
      const diff = await cli('runs', 'diff', short.get(ids[0]!)!, short.get(ids[1]!)!, '--json');
      expect(JSON.parse(diff.stdout)).toMatchObject({ a: ids[0], b: ids[1] });
      let shared = 0;
      while (ids[0]![shared] === ids[1]![shared]) shared++;
      const both = ids[0]!.slice(0, shared);
      const ambiguous = await cli('runs', 'show', both);
      expect([ambiguous.code, ambiguous.stdout]).toEqual([1, '']);
      expect(ambiguous.stderr).toBe(
        `auraison-edge runs: prefix ${both} matches 2 runs: ${ids[0]}, ${ids[1]}; give more of the id\n`,
      );
    } finally {
      dir.cleanup();
    }
  });

  it('the status page shows each run and waiting approval by the same short form', async () => {
    const { h, ids } = await twoWaitingRuns();
    const context = await chromium.context();
    try {
      const page = await context.newPage();
      await page.goto(h.url);
      for (const id of ids) {
        await page.locator(`#runs tr[data-run="${id}"] code`, { hasText: id.slice(0, 13) }).waitFor();
        expect(await page.locator(`#runs tr[data-run="${id}"] code`).textContent()).toBe(id.slice(0, 13));
        expect(await page.locator(`#approvals li[data-run="${id}"] code`).textContent()).toBe(id.slice(0, 13));
      }
    } finally {
      await context.close();
    }
  });
});
