// Recorder.split (rosbag2 ~/split_bagfile) racing a bag rotation: when split()
// resolves, everything recorded before the call must have been handed to onSplitClosed (the lakehouse),
// or POST /recorder/split answers `indexed` while the last minutes of the bag before are not in queries.
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recorderFixture } from './recorder-fixture.ts';
import { fsSegmentIO, type SegmentIO } from './segment-io.ts';
import { tick } from '../../test/helpers/wait.ts';

const { setup, codec } = recorderFixture();
const text = (s: string) => codec.encode('std_msgs/msg/String', { data: s });

/** fsSegmentIO whose fsyncs of the first bag's files wait until `release()`: a slow disk under a big split. */
function slowFirstBag() {
  let firstBag: string | undefined;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const io: SegmentIO = {
    ...fsSegmentIO,
    async create(path) {
      const bag = basename(path).replace(/_\d+\.mcap$/, '');
      firstBag ??= bag;
      const file = await fsSegmentIO.create(path);
      if (bag !== firstBag) return file;
      return {
        writev: (p, at) => file.writev(p, at),
        sync: async () => (await released, file.sync()),
        close: () => file.close(),
      };
    },
  };
  return { io, release };
}

describe('Recorder.split racing a bag rotation', () => {
  it('resolves only once the split the rotation is closing is handed over too', async () => {
    const { io, release } = slowFirstBag();
    // A split per message and one split per bag: the second message rotates into a new bag.
    const { bus, recorder, closed } = setup(
      { include: ['/chatter'], split_max_duration_s: 1e-8, bag_max_splits: 1 },
      io,
    );
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    chatter.publish(text('in the first bag'));
    await tick();
    chatter.publish(text('in the second bag: the first is closing in the background'));
    await tick();
    expect(recorder.bags).toHaveLength(2);
    let resolved = false;
    const splitting = recorder.split().then((s) => ((resolved = true), s));
    // The first bag's close is held up (its fsync): split() closes the second bag's split meanwhile.
    await expect.poll(() => closed.length === 1 || resolved).toBe(true);
    const handedOverWhenResolved = resolved ? [...closed] : undefined;
    release();
    const split = await splitting;
    expect(split?.messages).toBe(1);
    // Before the fix split() resolved with only the second bag's split handed over: the message in the
    // first bag was recorded before the request and not yet on its way to the lakehouse.
    expect(handedOverWhenResolved).toBeUndefined();
    expect(closed).toHaveLength(2);
    await recorder.close();
  });
});
