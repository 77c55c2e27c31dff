import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMetadata } from '../bags/metadata.ts';
import { applyRetention } from '../lakehouse/retention.ts';
import { RETENTION_DELETED_KEY } from './bag-writer.ts';
import { RECORDING_MARKER } from './recorder.ts';
import { readMcap, recorderFixture } from './recorder-fixture.ts';
import { tick, waitFor } from '../../test/helpers/wait.ts';

const { setup, codec } = recorderFixture();
const metadataOf = (bag: string) =>
  parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), join(bag, 'metadata.yaml'));

/**
 * Every split listed in a bag's metadata.yaml, read with @mcap/core: its messages, and its own `rosbag2` metadata
 * record.
 */
async function splitsOf(bag: string) {
  const meta = metadataOf(bag);
  const out = [];
  for (const f of meta.files) {
    const { reader, messages } = await readMcap(join(bag, f.path));
    const records = [];
    for await (const m of reader.readMetadata({ name: 'rosbag2' })) {
      // The record holds the BagMetadata mapping, as rosbag2 writes it: metadata.yaml's key around it to parse.
      const embedded = m.metadata.get('serialized_metadata')!.replace(/^/gm, '  ');
      records.push(parseMetadata(`rosbag2_bagfile_information:\n${embedded}`, f.path));
    }
    out.push({ file: f, messages, embedded: records });
  }
  return { meta, splits: out };
}

describe('Recorder bags over a long run', () => {
  it('starts a new bag directory every bag_max_splits splits; each split embeds only its own metadata, and a bag lists only topics it has messages of', async () => {
    // A split per message (split_max_duration_s of 10 ns), three splits a bag.
    const { bus, recorder } = setup({ split_max_duration_s: 1e-8, bag_max_splits: 3 });
    const a = bus.advertise('/a', 'std_msgs/msg/String', { source: 'test' });
    const b = bus.advertise('/b', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    b.publish(codec.encode('std_msgs/msg/String', { data: 'b in the first split only' }));
    await tick();
    for (let i = 0; i < 7; i++) {
      a.publish(codec.encode('std_msgs/msg/String', { data: `a ${i}` }));
      await tick();
    }
    await recorder.close();

    expect(recorder.bags.length).toBe(3);
    const bags = await Promise.all(recorder.bags.map(splitsOf));
    expect(bags.map((b) => b.meta.files.length)).toEqual([3, 3, 2]);
    expect(bags.map((b) => b.meta.messageCount)).toEqual([3, 3, 2]);
    expect(bags.map((b) => b.meta.topics.map((t) => [t.name, t.messageCount]))).toEqual([
      [
        ['/b', 1],
        ['/a', 2],
      ],
      [['/a', 3]],
      [['/a', 2]],
    ]);
    for (const [i, bag] of recorder.bags.entries()) {
      expect(existsSync(join(bag, RECORDING_MARKER))).toBe(false);
      expect(
        readdirSync(bag)
          .filter((f) => f.endsWith('.mcap'))
          .sort(),
      ).toEqual(bags[i]!.meta.files.map((f) => f.path).sort());
      for (const split of bags[i]!.splits) {
        expect(split.messages.length).toBe(split.file.messageCount);
        // The split's rosbag2 record: this split alone, whatever the bag's length.
        expect(split.embedded.length).toBe(1);
        expect(split.embedded[0]!.files.map((f) => f.path)).toEqual([split.file.path]);
        expect(split.embedded[0]!.messageCount).toBe(split.file.messageCount);
        expect(split.embedded[0]!.topics.map((t) => t.name)).toEqual([...new Set(split.messages.map((m) => m.topic))]);
      }
    }
  });

  it('starts a new bag once the bag spans bag_max_duration_s', async () => {
    const { bus, recorder } = setup({ bag_max_duration_s: 1e-8 });
    const a = bus.advertise('/a', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    for (let i = 0; i < 3; i++) {
      a.publish(codec.encode('std_msgs/msg/String', { data: `a ${i}` }));
      await tick();
    }
    await recorder.close();
    expect(recorder.bags.length).toBe(3);
    for (const bag of recorder.bags) {
      const { meta, splits } = await splitsOf(bag);
      expect(meta.messageCount).toBe(1);
      expect(splits.map((s) => s.messages.length)).toEqual([1]);
    }
  });

  it("splits that retention deleted from the bag being recorded stay off its metadata.yaml, with retention's note kept", async () => {
    const { dir, bus, recorder } = setup({ split_max_duration_s: 1e-8 });
    const a = bus.advertise('/a', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) {
        a.publish(codec.encode('std_msgs/msg/String', { data: `a ${i}` }));
        await tick();
      }
      await recorder.flush();
    };
    await send(4); // splits 0-2 closed, 3 open
    const bag = recorder.bags[0]!;
    await recorder.flush();
    const before = metadataOf(bag);
    expect(before.files.length).toBe(3);
    // Retention as the lakehouse runs it: everything older than a moment goes, except the split being recorded.
    const flushedAt = Date.now();
    await waitFor(() => Date.now() > flushedAt, 'the closed splits to be older than max_age_hours (3.6 us)');
    const report = await applyRetention({
      dataDir: dir,
      settings: { max_bytes: 0, max_age_hours: 1e-9, allow_unsynced_delete: true },
      syncRequired: false,
      keep: [recorder.currentFile!],
    });
    const deleted = report.deleted.map((d) => d.file.split('/').pop()!).sort();
    expect(deleted).toEqual(before.files.map((f) => f.path).sort());
    await send(3); // closes split 3, then 4 and 5
    await recorder.close();

    const after = metadataOf(bag);
    const onDisk = readdirSync(bag)
      .filter((f) => f.endsWith('.mcap'))
      .sort();
    expect(after.files.map((f) => f.path).sort()).toEqual(onDisk);
    expect(after.relativeFilePaths.sort()).toEqual(onDisk);
    expect(after.files.length).toBe(4);
    expect(after.customData[RETENTION_DELETED_KEY]!.split(',').sort()).toEqual(deleted);
    expect(after.messageCount).toBe(4);
    expect(after.topics.map((t) => [t.name, t.messageCount])).toEqual([['/a', 4]]);
    for (const f of after.files) expect(statSync(join(bag, f.path)).size).toBeGreaterThan(0);
  });
});
