import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMetadata } from '../bags/metadata.ts';
import { recorderFixture } from './recorder-fixture.ts';
import { tick } from '../../test/helpers/wait.ts';

const { setup, faultyIO, readMcap, codec } = recorderFixture();
const text = (s: string) => codec.encode('std_msgs/msg/String', { data: s });

describe('Recorder.split (rosbag2 ~/split_bagfile)', () => {
  it('closes the open split with what was published so far, lists it, hands it over, and goes on in the next split of the same bag', async () => {
    const { bus, recorder, closed } = setup({ include: ['/chatter'] });
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    for (let i = 0; i < 5; i++) {
      chatter.publish(text(`a${i}`));
      await tick();
    }
    chatter.publish(text('a5')); // still in the recorder's queue when split() is called: it belongs in this split
    const split = await recorder.split();
    expect(split).toBeDefined();
    const bag = recorder.bags[0]!;
    expect(split!.bag).toBe(bag);
    expect(split!.file).toBe(join(bag, `${bag.split('/').pop()}_0.mcap`));
    expect(split!.messages).toBe(6);
    expect(BigInt(split!.end_ns)).toBeGreaterThanOrEqual(BigInt(split!.start_ns));
    // Handed to onSplitClosed (the lakehouse) before split() resolved, and listed in metadata.yaml.
    expect(closed).toEqual([split!.file]);
    const meta = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(meta.files.map((f) => [f.path, f.messageCount])).toEqual([[`${bag.split('/').pop()}_0.mcap`, 6]]);
    const { messages } = await readMcap(split!.file);
    expect(messages.map((m) => codec.decode('std_msgs/msg/String', m.data))).toEqual(
      ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'].map((data) => ({ data })),
    );

    // Nothing since: nothing to close, and no empty split is written; the split holding the last message is said.
    expect(await recorder.split()).toEqual({ ...split, closed_now: false });
    chatter.publish(text('b0'));
    await tick();
    await recorder.close();
    const after = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(recorder.bags).toEqual([bag]);
    expect(after.files.map((f) => f.messageCount)).toEqual([6, 1]);
    expect((await readMcap(join(bag, after.files[1]!.path))).messages).toHaveLength(1);
  });

  it('refuses with 409 and the reason while the recorder is stopped for a full disk', async () => {
    const { bus, recorder } = setup(
      { include: ['/chatter'] },
      faultyIO(
        () => 'ENOSPC',
        () => 0,
        true,
      ),
    );
    bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    expect(recorder.state).toBe('disk_full');
    await expect(recorder.split()).rejects.toMatchObject({
      statusCode: 409,
      code: 'not_recording',
      message: expect.stringMatching(/not recording \(disk_full: .+\)/),
    });
    await recorder.close();
    await expect(recorder.split()).rejects.toMatchObject({
      statusCode: 409,
      message: expect.stringContaining('(stopped)'),
    });
  });

  it('rejects with the I/O error that stopped the close, and recording stops with that reason', async () => {
    let failing: string | undefined;
    const { bus, recorder } = setup(
      { include: ['/chatter'] },
      faultyIO(() => failing),
    );
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    chatter.publish(text('x'));
    await tick();
    failing = 'EIO';
    await expect(recorder.split()).rejects.toMatchObject({ code: 'EIO' });
    failing = undefined;
    await expect.poll(() => recorder.state).toBe('failed');
    await recorder.close();
  });
});
