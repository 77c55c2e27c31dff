// POST /recorder/split and `auraison-edge bag split`: rosbag2's ~/split_bagfile, so what was just recorded is
// queryable without waiting for split_max_duration_s. A real recorder hands its split to a real lakehouse.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Component } from '../../daemon/lifecycle/component.ts';
import { runMain } from '../helpers/cli.ts';
import { recordingFixture } from './recording-harness.ts';
import { http } from './http.ts';

const { recording, plain } = recordingFixture();

describe('POST /recorder/split', () => {
  it('closes the split being recorded and answers once it is indexed: its messages are in queries at once', async () => {
    const { harness, recorder, publish, count } = await recording();
    await publish(40);
    expect(await count()).toEqual([[0]]); // recorded, but the split is still open
    const r = await http(harness.url, '/recorder/split', { body: {} });
    expect(r.status).toBe(200);
    const bag = recorder.bags[0]!;
    expect(r.json).toMatchObject({
      split: { bag, file: join(bag, `${bag.split('/').pop()}_0.mcap`), messages: 40 },
      indexing: { state: 'indexed' },
    });
    expect(await count()).toEqual([[40]]);

    // Nothing since: nothing closed; the last split, which holds the last message, and its indexing are said.
    expect((await http(harness.url, '/recorder/split', { body: {} })).json).toEqual({
      split: { ...(r.json.split as object), closed_now: false },
      indexing: { state: 'indexed' },
    });
    // Not waited for: answered as soon as the split is listed.
    await publish(3);
    expect((await http(harness.url, '/recorder/split', { body: { wait: false } })).json).toMatchObject({
      split: { messages: 3 },
      indexing: { state: 'not_waited' },
    });
    const bad = await http(harness.url, '/recorder/split', { body: { wait: 'yes' } });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('body.wait');
  });

  it('says the split is not indexed when lakehouse.index_recordings is off, and 503 with the reason without a recorder', async () => {
    const { harness, publish, count } = await recording({ indexRecordings: false });
    await publish(5);
    const r = await http(harness.url, '/recorder/split', { body: {} });
    expect(r.json).toMatchObject({
      split: { messages: 5 },
      indexing: { state: 'off', reason: expect.stringContaining('index_recordings is false') },
    });
    expect(await count()).toEqual([[0]]);
    // The config has a lakehouse, but it is not running (failed, restarting): not indexed yet, exit 3.
    harness.components.delete('lakehouse');
    await publish(2);
    const noLakehouse = await runMain(['bag', 'split', '--url', harness.url], { cwd: harness.dataDir });
    expect(noLakehouse.code).toBe(3);
    expect(noLakehouse.stdout).toContain(
      '\nnot indexed yet: component lakehouse is not running (not enabled in the config); its next start indexes it\n',
    );
    harness.components.delete('recorder');
    const absent = await http(harness.url, '/recorder/split', { body: {} });
    expect(absent.status).toBe(503);
    expect(absent.json.message).toBe(
      'the recorder is unavailable: component recorder is not running (not enabled in the config)',
    );
  });

  it('answers 409 with the reason when the recorder is not recording', async () => {
    const h = await plain();
    const refusing = {
      name: 'recorder',
      start: async () => {},
      close: async () => {},
      health: () => ({ state: 'degraded' as const }),
      pause: () => ({}),
      resume: () => ({}),
      split: async () =>
        Promise.reject(
          Object.assign(new Error('the recorder is not recording (disk_full: 12 MB free)'), {
            statusCode: 409,
            code: 'not_recording',
          }),
        ),
    };
    h.components.set('recorder', refusing);
    const r = await http(h.url, '/recorder/split', { body: {} });
    expect(r.status).toBe(409);
    expect(r.json).toEqual({
      error: 'not_recording',
      message: 'the recorder is not recording (disk_full: 12 MB free)',
    });
    const cli = await runMain(['bag', 'split', '--url', h.url], { cwd: h.dataDir });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toBe('auraison-edge bag split: the recorder is not recording (disk_full: 12 MB free)\n');
  });
});

describe('auraison-edge bag split', () => {
  it('prints the closed split and that it is queryable, or that nothing was recorded since; --json prints the reply', async () => {
    const { harness, recorder, publish } = await recording();
    await publish(12);
    const done = await runMain(['bag', 'split', '--url', harness.url], { cwd: harness.dataDir });
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    const bag = recorder.bags[0]!.split('/').pop()!;
    expect(done.stdout).toMatch(
      new RegExp(
        `^closed bags/${bag}/${bag}_0\\.mcap: 12 message\\(s\\) over \\d+\\.\\d s, from \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z; recording goes on in the next split\\nindexed: its messages are in \`auraison-edge query\` now\\n$`,
      ),
    );

    const none = await runMain(['bag', 'split', '--url', harness.url], { cwd: harness.dataDir });
    expect(none).toMatchObject({
      code: 0,
      stdout: `nothing was recorded since bags/${bag}/${bag}_0.mcap closed: no split to close (recording goes on)\nindexed: its messages are in \`auraison-edge query\` now\n`,
    });

    await publish(2);
    const json = await runMain(['bag', 'split', '--url', harness.url, '--json', '--no-wait'], { cwd: harness.dataDir });
    expect(JSON.parse(json.stdout)).toMatchObject({
      split: { messages: 2, file: join(recorder.bags[0]!, `${bag}_1.mcap`) },
      indexing: { state: 'not_waited' },
    });
  });

  it('exits 1 when the indexing failed, 2 on bad usage, and says what to do when no daemon answers', async () => {
    const h = await plain();
    const split = {
      file: '/data/bags/b/b_0.mcap',
      bag: '/data/bags/b',
      messages: 3,
      start_ns: '1000000000',
      end_ns: '2000000000',
    };
    h.components.set('recorder', {
      name: 'recorder',
      start: async () => {},
      close: async () => {},
      health: () => ({ state: 'running' as const }),
      pause: () => ({}),
      resume: () => ({}),
      split: async () => split,
    } as unknown as Component);
    h.components.set('lakehouse', {
      name: 'lakehouse',
      start: async () => {},
      close: async () => {},
      health: () => ({ state: 'running' as const }),
      query: async () => ({}),
      splitIndexing: async () => ({ state: 'failed', error: 'No space left on device', retry_in_ms: 4000 }),
    } as unknown as Component);
    const failed = await runMain(['bag', 'split', '--url', h.url], { cwd: h.dataDir });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe(
      'closed /data/bags/b/b_0.mcap: 3 message(s) over 1.0 s, from 1970-01-01T00:00:01.000Z; recording goes on in the next split\nindexing FAILED (retried in 4 s): No space left on device\n',
    );

    // Not indexed within --timeout: closed, but a query right after would not see it (exit 3).
    h.components.set('lakehouse', {
      name: 'lakehouse',
      start: async () => {},
      close: async () => {},
      health: () => ({ state: 'running' as const }),
      query: async () => ({}),
      splitIndexing: () => new Promise(() => {}),
    } as unknown as Component);
    const slow = await runMain(['bag', 'split', '--url', h.url, '--timeout', '0.05'], { cwd: h.dataDir });
    expect(slow.code).toBe(3);
    expect(slow.stdout).toContain(
      "\nnot indexed yet: not indexed within 50 ms (the lakehouse's queue is behind); it goes on\n",
    );

    expect(await runMain(['bag', 'split', '--timeout', '0'], { cwd: h.dataDir })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--timeout'),
    });
    expect(await runMain(['bag', 'split', 'extra'], { cwd: h.dataDir })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("Unexpected argument 'extra'"),
    });
    const dead = join(h.dataDir, 'edge.yaml');
    writeFileSync(dead, `data_dir: ${join(h.dataDir, 'none')}\napi:\n  port: 9\n`);
    const gone = await runMain(['bag', 'split', '--config', dead], { cwd: h.dataDir });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('no daemon is running with data dir');
  });
});

describe('POST /recorder/pause and /recorder/resume, auraison-edge bag pause|resume', () => {
  it('pauses and resumes the recorder: nothing recorded meanwhile, counted, and said so', async () => {
    const { harness, recorder, publish, count } = await recording();
    await publish(4);
    const paused = await runMain(['bag', 'pause', '--url', harness.url], { cwd: harness.dataDir });
    expect(paused).toMatchObject({
      code: 0,
      stdout: 'recording paused: nothing is written until `auraison-edge bag resume`\n',
    });
    await publish(6);
    const again = await http(harness.url, '/recorder/pause', { method: 'POST' });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({
      paused: true,
      changed: false,
      not_recorded: 6,
      since_ns: expect.stringMatching(/^\d+$/),
    });
    const status = await http(harness.url, '/status');
    expect(
      (status.json.components as Record<string, { reason?: string; details: { paused: boolean } }>).recorder,
    ).toMatchObject({ reason: expect.stringContaining('paused since'), details: { paused: true } });
    const resumed = await runMain(['bag', 'resume', '--url', harness.url, '--json'], { cwd: harness.dataDir });
    expect(JSON.parse(resumed.stdout)).toEqual({ paused: false, since_ns: null, not_recorded: 6, changed: true });
    expect((await runMain(['bag', 'resume', '--url', harness.url], { cwd: harness.dataDir })).stdout).toBe(
      'not paused: the recorder was recording already\n',
    );
    await publish(2);
    expect((await http(harness.url, '/recorder/split', { body: {} })).json).toMatchObject({
      split: { messages: 6 },
      indexing: { state: 'indexed' },
    });
    expect(await count()).toEqual([[6]]);
    expect(recorder.pauseState().paused).toBe(false);
    harness.components.delete('recorder');
    expect(await runMain(['bag', 'pause', '--url', harness.url], { cwd: harness.dataDir })).toMatchObject({
      code: 1,
      stderr:
        'auraison-edge bag pause: the recorder is unavailable: component recorder is not running (not enabled in the config)\n',
    });
  });
});

describe('Lakehouse.splitIndexing', () => {
  it('says failed, with the error, for a split that does not import, and pending for one it was never handed', async () => {
    const { harness, lakehouse } = await recording();
    const broken = join(harness.dataDir, 'broken.mcap');
    writeFileSync(broken, 'not an mcap file');
    lakehouse.indexRecordedSplit(broken, harness.dataDir);
    const failed = await lakehouse.splitIndexing(broken);
    expect(failed).toMatchObject({ state: 'failed', error: expect.any(String) });
    expect((failed as { retry_in_ms: number }).retry_in_ms).toBeGreaterThan(0);
    expect(await lakehouse.splitIndexing(join(harness.dataDir, 'other.mcap'))).toMatchObject({ state: 'pending' });
  });
});
