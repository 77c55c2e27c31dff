// POST /recorder/snapshot and `auraison-edge bag snapshot` in front of a real snapshot buffer: the reply,
// a request that comes while a snapshot is being written (it gets that bag), an empty buffer, a full disk
// (507, the buffer kept) and bad usage. The whole daemon, the lakehouse included, is snapshot-daemon.test.ts.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { silentLogger } from '../../daemon/log.ts';
import type { RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { faultyIO } from '../../daemon/recorder/recorder-fixture.ts';
import { fsSegmentIO, type SegmentIO } from '../../daemon/recorder/segment-io.ts';
import { Snapshotter } from '../../daemon/recorder/snapshot.ts';
import { startHarness, type Harness } from '../api/harness.ts';
import { http } from '../api/http.ts';
import { runMain } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

/** Counts the triggers it gets (to know when a second request has reached it). */
class CountingSnapshotter extends Snapshotter {
  calls = 0;
  override snapshot() {
    this.calls++;
    return super.snapshot();
  }
}

const open = cleanupStack();

async function serve(io?: SegmentIO): Promise<{ h: Harness; snap: CountingSnapshotter; publish: (n: number) => void }> {
  // no lakehouse: the reply says the bag is not indexed (off)
  const h = await startHarness({ configText: 'lakehouse:\n  enabled: false\n' });
  const recorder = Value.Default(RecorderConfig, {}) as RecorderSettings;
  const snap = new CountingSnapshotter({
    bus: h.bus,
    definitions: h.definitions,
    log: silentLogger(),
    bagsDir: join(h.dataDir, 'bags'),
    settings: { ...recorder.snapshot, enabled: true },
    writing: recorder,
    io,
  });
  await snap.start();
  h.components.set('snapshot', snap);
  open.push(async () => {
    await snap.close();
    await h.close();
  });
  const codec = new MessageCodec(h.definitions);
  const chatter = h.bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
  return {
    h,
    snap,
    publish: (n) =>
      Array.from({ length: n }, (_, i) => chatter.publish(codec.encode('std_msgs/msg/String', { data: `m${i}` }))),
  };
}

describe('POST /recorder/snapshot, auraison-edge bag snapshot', () => {
  it('answers with the bag; a request while one is being written gets that bag; the CLI prints it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // The split's file opens only once released: the first snapshot is being written until then.
    const { h, snap, publish } = await serve({
      ...fsSegmentIO,
      create: async (path) => (await gate, fsSegmentIO.create(path)),
    });
    publish(3);
    const first = http(h.url, '/recorder/snapshot', { body: { wait: false } });
    const second = runMain(['bag', 'snapshot', '--url', h.url], { cwd: h.dataDir });
    await waitFor(() => snap.calls === 2, 'both requests to reach the snapshot buffer');
    release();
    const r = await first;
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      snapshot: {
        messages: 3,
        topics: { '/chatter': 3 },
        joined: false,
        bag: expect.stringContaining(`${h.dataDir}/bags/snapshot_`),
      },
      indexing: { state: 'not_waited' },
    });
    const bag = (r.json.snapshot as { bag: string }).bag;
    const cli = await second;
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(
      new RegExp(
        `^a snapshot was being written when asked: wrote ${bag.slice(h.dataDir.length + 1)}: 3 message\\(s\\) over \\d\\.\\d s, from \\S+Z\\n  /chatter: 3\\nnot indexed yet: component lakehouse is not running \\(not enabled in the config\\)\\n$`,
      ),
    );
    expect(readdirSync(join(h.dataDir, 'bags'))).toEqual([bag.split('/').pop()]);

    const bad = await http(h.url, '/recorder/snapshot', { body: { wait: 'yes' } });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('body.wait');
    expect(await runMain(['bag', 'snapshot', '--timeout', '0'], { cwd: h.dataDir })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--timeout'),
    });
    expect(await runMain(['bag', 'snapshot', 'now'], { cwd: h.dataDir })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("Unexpected argument 'now'"),
    });
  });

  it('says so when the buffer is empty, and answers 507 on a full disk with the buffer kept (CLI exit 1)', async () => {
    let failing: string | undefined;
    const { h, snap, publish } = await serve(faultyIO(() => failing));
    const empty = await runMain(['bag', 'snapshot', '--url', h.url], { cwd: h.dataDir });
    expect(empty).toMatchObject({
      code: 0,
      stdout:
        'the snapshot buffer holds no message yet (no selected topic has published since it started): no bag written\n',
    });
    expect((await http(h.url, '/recorder/snapshot', { body: {} })).json).toEqual({ snapshot: null, indexing: null });

    publish(4);
    failing = 'ENOSPC';
    const full = await http(h.url, '/recorder/snapshot', { body: {} });
    expect(full.status).toBe(507);
    expect(full.json).toMatchObject({
      error: 'insufficient_storage',
      message: expect.stringMatching(
        /^no snapshot written: the disk holding .+ is full.+; the buffer is kept \(4 messages\)\. Free space there/,
      ),
    });
    const cli = await runMain(['bag', 'snapshot', '--url', h.url], { cwd: h.dataDir });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(
      /^auraison-edge bag snapshot: no snapshot written: the disk holding .+ and ask again\n$/,
    );
    const status = await http(h.url, '/status');
    expect((status.json.components as Record<string, unknown>).snapshot).toMatchObject({
      state: 'degraded',
      details: { messages: 4, failed: 2 },
    });
    const metrics = await http(h.url, '/metrics');
    expect(metrics.text).toMatch(/^auraison_snapshot_buffered_messages 4$/m);
    expect(metrics.text).toMatch(/^auraison_snapshot_failed_total 2$/m);

    failing = undefined;
    const ok = await runMain(['bag', 'snapshot', '--url', h.url, '--json'], { cwd: h.dataDir });
    expect(JSON.parse(ok.stdout)).toMatchObject({ snapshot: { messages: 4 } });
    expect(snap.health().state).toBe('running');
  });
});
