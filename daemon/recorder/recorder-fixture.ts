import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader } from '@mcap/core';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { afterEach } from 'vitest';
import { decompressHandlers } from '../bags/index.ts';
import { Bus } from '../bus/index.ts';
import { MessageCodec } from '../bus/index.ts';
import { DefinitionsRegistry } from '../bus/index.ts';
import { RecorderConfig } from '../config/index.ts';
import { Recorder, type RecorderOptions, type RecorderSettings } from './recorder.ts';
import { fsSegmentIO, type FreeSpace, type SegmentIO } from './segment-io.ts';

/**
 * What the recorder's tests share: a recorder on a fresh bus and temporary data dir (removed after each
 * test), fault injection through SegmentIO, and a reader that checks each file with @mcap/core.
 * Call it at the top of a test file (it registers an afterEach).
 */
export function recorderFixture() {
  const registry = new DefinitionsRegistry();
  const codec = new MessageCodec(registry);
  const log = pino({ level: 'silent' });
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((f) => f()));

  function setup(overrides: Partial<RecorderSettings> = {}, io?: SegmentIO, extra: Partial<RecorderOptions> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'recorder-'));
    const bus = new Bus();
    cleanups.push(() => {
      bus.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const settings = { ...(Value.Default(RecorderConfig, {}) as RecorderSettings), enabled: true, ...overrides };
    const closed: string[] = [];
    const recorder = new Recorder({
      bus,
      definitions: registry,
      log,
      bagsDir: join(dir, 'bags'),
      settings,
      io,
      onSplitClosed: (f) => closed.push(f),
      diskCheckMs: 20,
      ...extra,
    });
    return { dir, bus, recorder, closed };
  }

  return { registry, codec, setup, faultyIO, readMcap };
}

/** Reads every message of an MCAP file with @mcap/core's indexed reader (summary, chunk CRCs, indexes). */
export async function readMcap(path: string) {
  const file = readFileSync(path);
  const reader = await McapIndexedReader.Initialize({
    readable: {
      size: async () => BigInt(file.byteLength),
      read: async (o, l) => file.subarray(Number(o), Number(o + l)),
    },
    decompressHandlers: await decompressHandlers(),
  });
  const messages = [];
  for await (const m of reader.readMessages())
    messages.push({ topic: reader.channelsById.get(m.channelId)!.topic, data: m.data, logTime: m.logTime });
  return { reader, messages };
}

/**
 * fsSegmentIO with writes (and, with `creates`, file and directory creation) that fail with `error()`'s
 * code while it returns one, and the free space `free()` says (a number is bytes, with inodes to spare).
 */
export function faultyIO(
  error: () => string | undefined,
  free: () => number | FreeSpace = () => 1e12,
  creates = false,
): SegmentIO {
  const fail = (what: string) => {
    const code = error();
    if (code) throw Object.assign(new Error(`${code}: injected, ${what}`), { code });
  };
  return {
    ...fsSegmentIO,
    async create(path) {
      if (creates) fail('create');
      const file = await fsSegmentIO.create(path);
      return {
        writev: async (pieces, position) => {
          fail('write');
          await file.writev(pieces, position);
        },
        sync: () => file.sync(),
        close: () => file.close(),
      };
    },
    async writeAtomic(path, text) {
      if (creates) fail('create');
      await fsSegmentIO.writeAtomic(path, text);
    },
    freeSpace: async () => {
      const f = free();
      return typeof f === 'number' ? { bytes: f, inodes: Infinity } : f;
    },
  };
}
