import { join } from 'node:path';
import type { RecorderActivity } from '../lakehouse/index.ts';
import { defineComponent, type ComponentSpec } from '../lifecycle/index.ts';
import { PORTS } from '../contract/index.ts';

/**
 * The recording components, in start order: the lakehouse first, so the recorder and the snapshot buffer can hand it
 * closed splits.
 */
export const BAGS_COMPONENTS: readonly ComponentSpec[] = [
  defineComponent({
    name: 'lakehouse',
    enabled: (config) => config.lakehouse.enabled,
    provides: [PORTS.lakehouse, PORTS.splitIndexer],
    // What is being recorded, left alone by retention and the index: none while no recorder runs.
    uses: [PORTS.recording],
    settings: (config) => ({
      lakehouse: config.lakehouse,
      retention: config.retention,
      robot: config.robot.id,
      data_dir: config.data_dir,
      min_free_bytes: config.recorder.enabled ? config.recorder.min_free_bytes : null,
      sync:
        config.central.enabled && config.central.sync.enabled
          ? { kinds: config.central.sync.kinds, bags: config.central.sync.bags }
          : null,
    }),
    create: async (ctx) => {
      const { Lakehouse } = await import('../lakehouse/index.ts');
      const { syncRequired } = await import('../lakehouse/index.ts');
      const lakehouse = new Lakehouse({
        dataDir: ctx.dataDir,
        robot: ctx.config.robot.id,
        definitions: ctx.definitions,
        log: ctx.log,
        journal: ctx.journal,
        settings: ctx.config.lakehouse,
        retention: ctx.config.retention,
        syncRequired: syncRequired(ctx.config),
        ...(syncRequired(ctx.config)
          ? { sync: { kinds: ctx.config.central.sync.kinds, ...ctx.config.central.sync.bags } }
          : {}),
        // Found at call time, as onSplitClosed below: the recorder may be restarting or disabled.
        // The snapshot bag being written is left alone as the recorder's open bag is.
        recording: (): RecorderActivity => {
          const active = ctx.ports.all(PORTS.recording).map((r) => r.active());
          return {
            files: active.flatMap((a) => a.files),
            bags: active.flatMap((a) => a.bags),
            closing: active.flatMap((a) => a.closing),
          };
        },
        // Retention keeps the free space the recorder needs to go on recording (none without a recorder).
        minFreeBytes: ctx.config.recorder.enabled ? ctx.config.recorder.min_free_bytes : undefined,
      });
      ctx.provide(PORTS.lakehouse, lakehouse);
      ctx.provide(PORTS.splitIndexer, lakehouse);
      return lakehouse;
    },
  }),
  defineComponent({
    name: 'recorder',
    enabled: (config) => config.recorder.enabled,
    provides: [PORTS.recorder, PORTS.recorderBags, PORTS.recording],
    // Closed splits go to the lakehouse's index when it runs; without it they are recorded all the same.
    uses: [PORTS.splitIndexer],
    // recorder.snapshot is the snapshot component's: changing it does not restart the recorder.
    settings: (config) => ({ recorder: { ...config.recorder, snapshot: undefined }, data_dir: config.data_dir }),
    create: async (ctx) => {
      const { Recorder } = await import('../recorder/index.ts');
      const recorder = new Recorder({
        bus: ctx.bus,
        definitions: ctx.definitions,
        log: ctx.log,
        bagsDir: join(ctx.dataDir, 'bags'),
        settings: ctx.config.recorder,
        // Found at call time: the lakehouse may be restarting or disabled, and the recorder carries on.
        onSplitClosed: (file, bagDir, byStop) =>
          ctx.ports.get(PORTS.splitIndexer)?.indexRecordedSplit(file, bagDir, byStop),
      });
      ctx.provide(PORTS.recorder, recorder);
      ctx.provide(PORTS.recorderBags, recorder);
      ctx.provide(PORTS.recording, recorder);
      return recorder;
    },
  }),
  defineComponent({
    // Its own component, so that it runs with the recorder off, and neither fails with the other.
    name: 'snapshot',
    enabled: (config) => config.recorder.snapshot.enabled,
    provides: [PORTS.snapshot, PORTS.recording],
    uses: [PORTS.splitIndexer],
    settings: (config) => {
      const { snapshot, compression, chunk_size_bytes, chunk_crc, queue } = config.recorder;
      return { snapshot, writing: { compression, chunk_size_bytes, chunk_crc, queue }, data_dir: config.data_dir };
    },
    create: async (ctx) => {
      const { Snapshotter } = await import('../recorder/index.ts');
      const { snapshot, compression, chunk_size_bytes, chunk_crc, queue } = ctx.config.recorder;
      const snapshotter = new Snapshotter({
        bus: ctx.bus,
        definitions: ctx.definitions,
        log: ctx.log,
        bagsDir: join(ctx.dataDir, 'bags'),
        settings: snapshot,
        writing: { compression, chunk_size_bytes, chunk_crc, queue },
        onBag: (file, bagDir) => ctx.ports.get(PORTS.splitIndexer)?.indexRecordedSplit(file, bagDir),
      });
      ctx.provide(PORTS.snapshot, snapshotter);
      ctx.provide(PORTS.recording, snapshotter);
      return snapshotter;
    },
  }),
];
