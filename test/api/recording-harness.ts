import { join } from 'node:path';
import { Value } from 'typebox/value';
import { afterEach } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import type { Component } from '../../daemon/lifecycle/component.ts';
import { Lakehouse, type LakehouseOptions } from '../../daemon/lakehouse/lakehouse.ts';
import { silentLogger } from '../../daemon/log.ts';
import { Recorder, type RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';
import { tick } from '../helpers/wait.ts';

export interface RecordingOptions {
  indexRecordings?: boolean;
  catalogWaitMs?: number;
  retryMs?: LakehouseOptions['retryMs'];
}

/**
 * TEST ONLY. The API harness with a real recorder (of /chatter) handing its splits to a real lakehouse, as
 * in the daemon; `publish(n)` puts n std_msgs/String messages on /chatter, `count()` queries how many the
 * lakehouse has, and `close()` stops both and the harness.
 */
export async function startRecording(options: RecordingOptions = {}) {
  const harness: Harness = await startHarness();
  const lakehouse = new Lakehouse({
    dataDir: harness.dataDir,
    robot: 'r1',
    definitions: harness.definitions,
    log: silentLogger(),
    journal: undefined,
    settings: { ...harness.config.lakehouse, index_recordings: options.indexRecordings ?? true },
    retention: { ...harness.config.retention, enabled: false },
    syncRequired: false,
    ...(options.catalogWaitMs ? { catalogWaitMs: options.catalogWaitMs } : {}),
    ...(options.retryMs ? { retryMs: options.retryMs } : {}),
  });
  const settings = { ...(Value.Default(RecorderConfig, {}) as RecorderSettings), enabled: true, include: ['/chatter'] };
  const recorder = new Recorder({
    bus: harness.bus,
    definitions: harness.definitions,
    log: silentLogger(),
    bagsDir: join(harness.dataDir, 'bags'),
    settings,
    onSplitClosed: (file, bag) => lakehouse.indexRecordedSplit(file, bag),
  });
  const started: Component[] = [];
  for (const c of [lakehouse, recorder]) {
    await c.start();
    harness.components.set(c.name, c);
    started.push(c);
  }
  await lakehouse.idle(); // its start's catalog work done: the catalog exists, and no job holds it
  const codec = new MessageCodec(harness.definitions);
  const chatter = harness.bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
  const publish = async (n: number) => {
    for (let i = 0; i < n; i++) {
      chatter.publish(codec.encode('std_msgs/msg/String', { data: `m${i}` }));
      await tick();
    }
  };
  const count = async () =>
    (
      await http(harness.url, '/query', {
        body: { sql: "SELECT count(*)::INTEGER FROM messages WHERE topic = '/chatter'" },
      })
    ).json.rows;
  const close = async () => {
    for (const c of started.reverse()) await c.close();
    await harness.close();
  };
  return { harness, lakehouse, recorder, publish, count, close };
}

/**
 * TEST ONLY. Call at the top of a test file: `recording()` starts a recording harness, `plain()` an API
 * harness alone (for fake components), and whatever a test started is closed after it.
 */
export function recordingFixture() {
  const open: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });
  return {
    recording: async (options: RecordingOptions = {}) => {
      const rec = await startRecording(options);
      open.push(rec);
      return rec;
    },
    plain: async (): Promise<Harness> => {
      const h = await startHarness();
      open.push(h);
      return h;
    },
  };
}
