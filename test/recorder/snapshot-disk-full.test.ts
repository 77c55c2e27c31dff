// A snapshot on a real disk that fills while it is written (a small tmpfs): a clear error, the partial bag
// removed (its space given back), the buffer kept; once there is room the same window is written whole.
import { existsSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import type { RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { readMcap } from '../../daemon/recorder/recorder-fixture.ts';
import { Snapshotter } from '../../daemon/recorder/snapshot.ts';
import { canMountTmpfs, mountSmallTmpfs } from '../helpers/small-tmpfs.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const registry = new DefinitionsRegistry();
const codec = new MessageCodec(registry);
const cleanups = cleanupStack();

describe.skipIf(!canMountTmpfs())('snapshot on a full disk', () => {
  it('fails with the reason, leaves nothing behind, keeps the buffer, and writes it all once there is room', async () => {
    const disk = mountSmallTmpfs('256k');
    cleanups.push(disk.cleanup);
    const bus = new Bus();
    const recorder = {
      ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
      compression: 'none' as const,
      chunk_size_bytes: 16 * 1024,
    };
    const snap = new Snapshotter({
      bus,
      definitions: registry,
      log: pino({ level: 'silent' }),
      bagsDir: join(disk.path, 'bags'),
      settings: { ...recorder.snapshot, enabled: true },
      writing: recorder,
    });
    cleanups.push(async () => {
      await snap.close();
      bus.close();
    });
    await snap.start();
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    for (let i = 0; i < 400; i++)
      chatter.publish(codec.encode('std_msgs/msg/String', { data: `${i} `.padEnd(2000, 'x') })); // 800 KB: more than the disk
    const free = () => statfsSync(disk.path).bavail;
    const before = free();

    const error = await snap.snapshot().catch((e: unknown) => e as NodeJS.ErrnoException);
    expect(error).toMatchObject({
      code: 'ENOSPC',
      message: expect.stringMatching(
        /^no snapshot written: the disk holding .+\/bags is full \(\d+ KiB free of 256 KiB\) \(ENOSPC: .+\); the buffer is kept \(400 messages\)\. Free space there \(delete old bags, or lower retention\.max_bytes\) and ask again$/,
      ),
    });
    expect(readdirSync(join(disk.path, 'bags'))).toEqual([]);
    expect(free()).toBe(before);
    expect(snap.health()).toMatchObject({ state: 'degraded', details: { messages: 400 } });

    disk.resize('4m');
    const ok = await snap.snapshot();
    expect(ok).toMatchObject({ messages: 400, topics: { '/chatter': 400 } });
    expect(existsSync(join(ok!.bag, 'metadata.yaml'))).toBe(true);
    const { messages } = await readMcap(ok!.file);
    expect(
      messages.map((m) => (codec.decode('std_msgs/msg/String', m.data) as { data: string }).data.split(' ')[0]),
    ).toEqual(Array.from({ length: 400 }, (_, i) => String(i)));
    expect(snap.health().state).toBe('running');
  });
});
