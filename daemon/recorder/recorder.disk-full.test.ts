import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tick, waitFor } from '../../test/helpers/wait.ts';
import { parseMetadata } from '../bags/metadata.ts';
import { readFileSync } from 'node:fs';
import { RECORDING_MARKER } from './recorder.ts';
import { readMcap, recorderFixture } from './recorder-fixture.ts';
import type { FreeSpace } from './segment-io.ts';

const { setup, faultyIO, codec } = recorderFixture();
const metadataOf = (bag: string) => parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');

describe('Recorder on a full disk', () => {
  it('with min_free_bytes 0 (statfs always says there is room) a failed resume backs off, and the abandoned bag is repaired once the disk has room', async () => {
    let full = false;
    let clock = 1_000_000;
    let checks = 0;
    // Writes and creates fail while full: repairing the abandoned bag fails too.
    const io = faultyIO(
      () => (full ? 'ENOSPC' : undefined),
      () => 0,
      true,
    );
    const { bus, recorder } = setup({ flush_interval_ms: 10_000, min_free_bytes: 0 }, io, {
      retryMs: { first: 1000, max: 60_000 },
      now: () => (checks++, clock),
    });
    const waitChecks = async (n: number) => {
      const from = checks;
      await waitFor(() => checks >= from + n, `${n} disk checks`);
    };
    const pub = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    const data = codec.encode('std_msgs/msg/String', { data: 'x' });
    await recorder.start();
    for (let i = 0; i < 5; i++) pub.publish(data);
    await tick();
    await recorder.flush();

    full = true;
    pub.publish(data);
    await tick();
    await recorder.flush();
    expect(recorder.state).toBe('disk_full');
    // The first resume comes at the next check, finds the disk still full, and backs off.
    await waitFor(() => /failure 1 in a row/.test(recorder.health().reason ?? ''), 'a failed resume');
    expect(recorder.health().reason).toMatch(
      /^disk full: recording stopped at \S+ \(ENOSPC: injected, write\); resuming failed at \S+ \(ENOSPC: injected, create; repairing rosbag2_\S+: rewriting rosbag2_\S+_0\.mcap \(1 KiB\), which takes about as much free space again until the copy replaces the original, with 0 bytes and Infinity inodes free\); retrying in 1000 ms \(failure 1 in a row\), and resumes once 0 bytes and 16 inodes are free$/,
    );
    await waitChecks(3);
    expect(recorder.state).toBe('disk_full');
    expect(recorder.health().reason).toMatch(/failure 1 in a row/); // no retry before the backoff runs out
    clock += 1000;
    await waitFor(
      () => /retrying in 2000 ms \(failure 2 in a row\)/.test(recorder.health().reason ?? ''),
      'the second failed resume',
    );
    expect(recorder.bags.length).toBe(1); // no bag directory per attempt
    expect(existsSync(join(recorder.bags[0]!, RECORDING_MARKER))).toBe(true);

    full = false;
    clock += 2000;
    await waitFor(() => recorder.state === 'recording', 'the resume once the disk has room');
    pub.publish(data);
    await tick();
    await recorder.close();
    expect(recorder.bags.length).toBe(2);
    // The repair that failed on the full disk was tried again, and worked.
    const first = recorder.bags[0]!;
    expect(existsSync(join(first, RECORDING_MARKER))).toBe(false);
    const meta = metadataOf(first);
    expect(meta.messageCount).toBe(5);
    expect((await readMcap(join(first, meta.files[0]!.path))).messages.length).toBe(5);
    expect(metadataOf(recorder.bags[1]!).messageCount).toBe(1);
  });

  it('stops when the file system runs out of inodes, says so, and resumes once there are some', async () => {
    let space: FreeSpace = { bytes: 1e12, inodes: 1e6 };
    const { bus, recorder } = setup(
      { min_free_bytes: 1000 },
      faultyIO(
        () => undefined,
        () => space,
      ),
    );
    const pub = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    const data = codec.encode('std_msgs/msg/String', { data: 'x' });
    await recorder.start();
    pub.publish(data);
    await tick();
    await recorder.flush();
    space = { bytes: 1e12, inodes: 3 };
    await waitFor(() => recorder.state === 'disk_full', 'disk_full');
    expect(recorder.health().reason).toMatch(
      /^disk full: recording stopped at \S+ \(ENOSPC: only 3 inodes free, below 16\); resumes once 1000 bytes and 16 inodes are free$/,
    );
    pub.publish(data);
    await tick();
    expect(recorder.drops()['/chatter']).toBe(1);
    space = { bytes: 1e12, inodes: 1e6 };
    await waitFor(() => recorder.state === 'recording', 'the resume');
    pub.publish(data);
    await tick();
    await recorder.close();
    expect(recorder.bags.length).toBe(2);
    expect(recorder.bags.map((b) => metadataOf(b).messageCount)).toEqual([1, 1]);
    expect(
      recorder.bags.every((b) => readdirSync(b).includes('metadata.yaml') && !existsSync(join(b, RECORDING_MARKER))),
    ).toBe(true);
  });
});
