import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMetadata } from '../bags/metadata.ts';
import { recorderFixture } from './recorder-fixture.ts';
import { tick } from '../../test/helpers/wait.ts';

const { setup, readMcap, codec } = recorderFixture();
const text = (s: string) => codec.encode('std_msgs/msg/String', { data: s });
const decoded = async (file: string) =>
  (await readMcap(file)).messages.map((m) => [
    m.topic,
    (codec.decode('std_msgs/msg/String', m.data) as { data: string }).data,
  ]);

describe('Recorder pause and resume (rosbag2 ~/pause, ~/resume)', () => {
  it("writes nothing while paused, counts it as not recorded (no drop), and records a latched topic's last message at resume", async () => {
    const { bus, recorder } = setup();
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    const map = bus.advertise('/map_name', 'std_msgs/msg/String', {
      source: 'test',
      qos: { durability: 'transient_local' },
    });
    await recorder.start();
    chatter.publish(text('before'));
    await tick();
    expect(recorder.pause()).toMatchObject({ paused: true, changed: true, not_recorded: 0 });
    expect(recorder.pause()).toMatchObject({ paused: true, changed: false });
    chatter.publish(text('during-1'));
    map.publish(text('map-old'));
    chatter.publish(text('during-2'));
    map.publish(text('map-new'));
    await tick();
    expect(recorder.health()).toMatchObject({
      state: 'running',
      reason: expect.stringMatching(/^paused since .+: `auraison-edge bag resume` records again$/),
      details: { paused: true, not_recorded_while_paused: 4, dropped: 0 },
    });
    expect(recorder.metrics().find((m) => m.name === 'auraison_recorder_paused')!.samples[0]!.value).toBe(1);
    expect(recorder.resume()).toEqual({ paused: false, since_ns: null, not_recorded: 4, changed: true });
    expect(recorder.resume()).toMatchObject({ changed: false });
    chatter.publish(text('after'));
    await tick();
    await recorder.close();

    const bag = recorder.bags[0]!;
    const meta = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(await decoded(join(bag, meta.files[0]!.path))).toEqual([
      ['/chatter', 'before'],
      ['/map_name', 'map-new'],
      ['/chatter', 'after'],
    ]);
    expect(Object.values(recorder.drops()).every((n) => n === 0)).toBe(true);
    const metric = (name: string) => recorder.metrics().find((m) => m.name === name)!.samples[0]!.value;
    expect(metric('auraison_recorder_not_recorded_paused_total')).toBe(4);
    expect(metric('auraison_recorder_paused')).toBe(0);
  });

  it('starts paused with recorder.start_paused (ros2 bag record --start-paused) and records from the resume on', async () => {
    const { bus, recorder } = setup({ start_paused: true });
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    expect(recorder.pauseState()).toMatchObject({ paused: true });
    chatter.publish(text('early'));
    await tick();
    recorder.resume();
    chatter.publish(text('late'));
    await tick();
    await recorder.close();
    const bag = recorder.bags[0]!;
    const meta = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(meta.messageCount).toBe(1);
    expect(await decoded(join(bag, meta.files[0]!.path))).toEqual([['/chatter', 'late']]);
  });

  it('serves recorder/pause, recorder/resume and recorder/split as bus queries while it runs', async () => {
    const { bus, recorder } = setup();
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    const ask = async (name: string) => {
      const reply = await bus.query(name, { encoding: 'application/json', payload: new Uint8Array() });
      expect(reply.encoding).toBe('application/json');
      return JSON.parse(new TextDecoder().decode(reply.payload)) as Record<string, unknown>;
    };
    expect(await ask('recorder/pause')).toMatchObject({ paused: true, changed: true });
    chatter.publish(text('skipped'));
    await tick();
    expect(await ask('recorder/resume')).toMatchObject({ paused: false, not_recorded: 1 });
    chatter.publish(text('kept'));
    await tick();
    const { split } = (await ask('recorder/split')) as { split: { file: string; messages: number } };
    expect(split.messages).toBe(1);
    expect(await decoded(split.file)).toEqual([['/chatter', 'kept']]);
    await recorder.close();
    await expect(
      bus.query('recorder/split', { encoding: 'application/json', payload: new Uint8Array() }),
    ).rejects.toMatchObject({ code: 'no_queryable' });
  });
});
