import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tick, waitFor } from '../../test/helpers/wait.ts';
import { parseMetadata } from '../bags/metadata.ts';
import { RECORDING_MARKER } from './recorder.ts';
import { recorderFixture } from './recorder-fixture.ts';
import { fsSegmentIO, type FreeSpace, type SegmentIO } from './segment-io.ts';

const { setup, codec } = recorderFixture();

/** Calls that wait, while `held` is on, until the test lets them go. */
class Gate {
  held = false;
  #waiting: (() => void)[] = [];
  get waiting(): number {
    return this.#waiting.length;
  }
  pass(): Promise<void> {
    return this.held ? new Promise((resolve) => this.#waiting.push(resolve)) : Promise.resolve();
  }
  open(): void {
    this.held = false;
    for (const release of this.#waiting.splice(0)) release();
  }
}

/** A recorder started on `io` that has written one message to disk, and the splits it handed over. */
async function recordOne(io: SegmentIO) {
  const { bus, recorder, closed } = setup({ min_free_bytes: 1000 }, io);
  const pub = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
  await recorder.start();
  pub.publish(codec.encode('std_msgs/msg/String', { data: 'x' }));
  await tick();
  await recorder.flush();
  return { recorder, closed };
}

describe('Recorder.close() with a disk check under way', () => {
  it('a resume from a full disk that is repairing the abandoned bag when close() runs opens no bag after it', async () => {
    let space = 1e12;
    let refused = 0;
    // While the disk is "full" every write fails with ENOSPC, so the bag cannot be closed and is abandoned
    // (its marker kept); once there is room again, holding creates and metadata writes holds the repair of
    // that bag, and with it the resume that would open a new bag.
    const disk = new Gate();
    const full = async <T>(write: () => Promise<T>): Promise<T> => {
      await disk.pass();
      if (space === 0) {
        refused++;
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      }
      return write();
    };
    const io: SegmentIO = {
      ...fsSegmentIO,
      create: (path) => full(() => fsSegmentIO.create(path)),
      writeAtomic: (path, text) => full(() => fsSegmentIO.writeAtomic(path, text)),
      freeSpace: async () => ({ bytes: space, inodes: Infinity }),
    };
    const { recorder, closed } = await recordOne(io);
    space = 0;
    // The close of the bag failed on its metadata: the bag is abandoned (retention is told to leave it for
    // its repair), and the check that abandoned it runs to its end before the next check (the resume) starts.
    await waitFor(
      () => recorder.state === 'disk_full' && refused > 0 && recorder.active().bags.length === 1,
      'disk_full, and the bag abandoned',
    );
    const [bag] = recorder.bags;
    expect(existsSync(join(bag!, RECORDING_MARKER))).toBe(true);

    disk.held = true;
    space = 1e12;
    await waitFor(() => disk.waiting > 0, 'the resume to repair the abandoned bag');
    const stopped = recorder.close();
    disk.open();
    await stopped;
    // close() waited for the check: its repair is done, and the repaired split handed over for indexing.
    expect(existsSync(join(bag!, RECORDING_MARKER))).toBe(false);
    expect(closed).toEqual([join(bag!, `${basename(bag!)}_0.mcap`)]);
    await tick(); // whatever the resume would do after its repair, it has done by now

    expect(recorder.state).toBe('stopped');
    expect(recorder.bags).toEqual([bag]);
    expect(readdirSync(dirname(bag!))).toEqual([basename(bag!)]);
    expect(recorder.currentFile).toBeUndefined();
  });

  it('a check that finds the disk short while close() runs leaves the bag to close(), which closes it cleanly', async () => {
    let answer: ((space: FreeSpace) => void) | undefined;
    let calls = 0;
    // The first statfs is start()'s (room to record); the next ones are disk checks, answered by the test.
    const io: SegmentIO = {
      ...fsSegmentIO,
      freeSpace: () =>
        calls++ === 0
          ? Promise.resolve({ bytes: 1e12, inodes: Infinity })
          : new Promise((resolve) => (answer = resolve)),
    };
    const { recorder } = await recordOne(io);
    await waitFor(() => answer !== undefined, 'a disk check waiting on statfs');

    const stopped = recorder.close();
    answer!({ bytes: 0, inodes: Infinity });
    await stopped;

    const [bag] = recorder.bags;
    expect(recorder.state).toBe('stopped');
    expect(existsSync(join(bag!, RECORDING_MARKER))).toBe(false);
    const meta = parseMetadata(readFileSync(join(bag!, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(meta.messageCount).toBe(1);
  });
});
