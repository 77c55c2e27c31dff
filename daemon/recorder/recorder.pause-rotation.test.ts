import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMetadata } from '../bags/metadata.ts';
import { nowNs } from '../util/time.ts';
import { tick, waitFor } from '../../test/helpers/wait.ts';
import { recorderFixture } from './recorder-fixture.ts';

/** Recorder pause/resume across a bag rotation: the test failed before its fix. */
const { setup, readMcap, codec } = recorderFixture();
const text = (s: string) => codec.encode('std_msgs/msg/String', { data: s });
const bagContents = async (bag: string) => {
  const meta = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
  const out: string[] = [];
  for (const f of meta.files)
    for (const m of (await readMcap(join(bag, f.path))).messages)
      out.push(`${m.topic}:${(codec.decode('std_msgs/msg/String', m.data) as { data: string }).data}`);
  return out;
};

describe('recorder pause', () => {
  it('a latched message that came while paused is in the bag recorded after the resume, also when the bag rotated meanwhile', async () => {
    const { bus, recorder } = setup({ bag_max_duration_s: 0.3 });
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    const map = bus.advertise('/map_name', 'std_msgs/msg/String', {
      source: 'test',
      qos: { durability: 'transient_local' },
    });
    await recorder.start();
    const before = chatter.publish(text('before'));
    await tick();
    recorder.pause();
    map.publish(text('the map')); // early in a long pause
    await tick();
    // The pause outlasts bag_max_duration_s: the first message recorded after it goes to a new bag.
    await waitFor(() => nowNs() - before.logTime > 400_000_000n, 'the pause to outlast bag_max_duration_s');
    recorder.resume();
    chatter.publish(text('after'));
    await tick();
    await recorder.close();
    expect(recorder.bags).toHaveLength(2);
    expect(await bagContents(recorder.bags[0]!)).toEqual(['/chatter:before']);
    expect(await bagContents(recorder.bags[1]!)).toEqual(['/map_name:the map', '/chatter:after']);
  });
});
