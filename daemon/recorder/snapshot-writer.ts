import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { BusMessage, TopicQos } from '../bus/index.ts';
import { BagWriter } from './bag-writer.ts';
import type { ChunkCompression, Compressor } from './chunk-compression.ts';
import { repairBag } from './repair.ts';
import type { SegmentIO } from './segment-io.ts';
import type { SnapshotBag } from '../contract/index.ts';
import { errorText } from '../util/index.ts';

/**
 * Where snapshot bags are written before they are renamed into `<data_dir>/bags`: a bag named `snapshot_*`
 * there is always whole. Not a bag itself (no metadata.yaml), so the recorder's start, the lakehouse's
 * scan and `bag import bags/*` pass it by; what a killed daemon left in it is finished at the next start.
 */
export const SNAPSHOT_STAGING = '.snapshot-partial';

/** Data handed to the writer between two yields to the event loop (the bus handler runs in between). */
const STEP_BYTES = 4 * 1024 * 1024;
const STEP_MESSAGES = 4096;

export interface SnapshotWriteOptions {
  bagsDir: string;
  io: SegmentIO;
  compression: ChunkCompression;
  compressor: Compressor | undefined;
  chunkSize: number;
  chunkCrc: boolean;
  schemaText: (type: string) => string | undefined;
  typeHash: (type: string) => string | undefined;
  /** A topic's QoS, for metadata.yaml and the MCAP channel (the type comes with each message). */
  topicQos: (topic: string) => TopicQos | undefined;
  /** Called with the bag directory being written, as soon as it exists (retention must leave it alone). */
  onStaging?: (dir: string) => void;
}

const DEFAULT_QOS: TopicQos = { reliability: 'reliable', durability: 'volatile', depth: 10 };

/**
 * Writes `messages` (in log-time order) into a new rosbag2 bag `<bagsDir>/snapshot_<date>-<time>`: one MCAP
 * split and its metadata.yaml, written in SNAPSHOT_STAGING and renamed into place once closed. Each entry of
 * `messages` is cleared once handed to the writer, so the messages the buffer lets go meanwhile are freed.
 * It yields to the event loop every few MiB, waiting for the disk as it goes. On failure the partial bag is
 * removed (it would only take space on a disk that may be full) and the error is thrown.
 */
export async function writeSnapshotBag(
  messages: (BusMessage | undefined)[],
  o: SnapshotWriteOptions,
): Promise<SnapshotBag> {
  const staging = join(o.bagsDir, SNAPSHOT_STAGING);
  mkdirSync(staging, { recursive: true });
  const name = uniqueName(o.bagsDir, staging);
  const dir = join(staging, name);
  mkdirSync(dir);
  o.onStaging?.(dir);
  const types = new Map<string, string>();
  const writer = new BagWriter({
    dir,
    io: o.io,
    compression: o.compression,
    compressor: o.compressor,
    chunkSize: o.chunkSize,
    chunkCrc: o.chunkCrc,
    splitMaxBytes: 0,
    splitMaxDurationNs: 0n,
    schemaText: o.schemaText,
    typeHash: o.typeHash,
    topicInfo: (topic) => ({ type: types.get(topic)!, qos: o.topicQos(topic) ?? DEFAULT_QOS }),
  });
  const topics: Record<string, number> = {};
  let start: bigint | undefined;
  let end: bigint | undefined;
  let count = 0;
  try {
    let step = 0;
    let stepMessages = 0;
    for (let i = 0; i < messages.length; i++) {
      const msg = messages[i]!;
      messages[i] = undefined;
      if (!types.has(msg.topic)) types.set(msg.topic, msg.type);
      writer.write(msg.topic, msg.logTime, msg.publishTime, msg.data);
      topics[msg.topic] = (topics[msg.topic] ?? 0) + 1;
      if (start === undefined || msg.logTime < start) start = msg.logTime;
      if (end === undefined || msg.logTime > end) end = msg.logTime;
      count++;
      step += msg.data.byteLength;
      if (step >= STEP_BYTES || ++stepMessages >= STEP_MESSAGES) {
        step = 0;
        stepMessages = 0;
        await writer.drain();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await writer.close();
  } catch (error) {
    await writer.abandon().catch(() => undefined); // the write's error is the one to report
    rmSync(dir, { recursive: true, force: true });
    removeIfEmpty(staging);
    throw error;
  }
  let bag = join(o.bagsDir, name);
  for (let i = 1; existsSync(bag); i++) bag = join(o.bagsDir, `${name}_${i}`);
  renameSync(dir, bag);
  removeIfEmpty(staging);
  return {
    bag,
    file: join(bag, `${name}_0.mcap`),
    messages: count,
    start_ns: String(start ?? 0n),
    end_ns: String(end ?? 0n),
    topics,
  };
}

/**
 * Finishes the snapshot bags a daemon stopped while writing (left in SNAPSHOT_STAGING): each is repaired
 * (`bag repair`: what it holds up to where it was cut) and renamed into `bagsDir`, and its split handed
 * to `onBag`. One that holds no message is removed; one that can't be repaired is left there, logged.
 */
export async function finishLeftoverSnapshots(o: {
  bagsDir: string;
  io: SegmentIO;
  log: Logger;
  onBag: (file: string, bag: string) => void;
  stop: () => boolean;
  busy: Set<string>;
}): Promise<void> {
  const { bagsDir, io, log, onBag, stop, busy } = o;
  const staging = join(bagsDir, SNAPSHOT_STAGING);
  if (!existsSync(staging)) return;
  for (const name of readdirSync(staging)) {
    if (stop()) return;
    const dir = join(staging, name);
    // Being written by a Snapshotter of this process (the one a reload stopped, still finishing): no leftover.
    if (busy.has(dir)) continue;
    busy.add(dir);
    try {
      if (!statSync(dir).isDirectory()) continue;
      if (!readdirSync(dir).some((f) => f.endsWith('.mcap') && statSync(join(dir, f)).size > 0)) {
        rmSync(dir, { recursive: true, force: true });
        log.warn({ bag: dir }, 'snapshot: removed a snapshot bag a daemon stopped before it wrote any message');
        continue;
      }
      const report = await repairBag(dir, { io, ownMetadata: true });
      let bag = join(bagsDir, name);
      for (let i = 1; existsSync(bag); i++) bag = join(bagsDir, `${name}_${i}`);
      renameSync(dir, bag);
      log.warn(
        { bag, messages: report.messageCount },
        'snapshot: finished a snapshot bag a daemon stopped while writing it (what it held up to there)',
      );
      for (const f of report.files) if (f.messages > 0) onBag(join(bag, basename(f.file)), bag);
    } catch (error) {
      log.error(
        { bag: dir, err: errorText(error) },
        'snapshot: could not finish a snapshot bag a daemon stopped while writing it; left as it is (`auraison-edge bag repair` says why)',
      );
    } finally {
      busy.delete(dir);
    }
  }
  removeIfEmpty(staging);
}

/** `snapshot_YYYY_MM_DD-HH_MM_SS` (UTC, as rosbag2 names bags `rosbag2_...`), with a suffix when taken. */
function uniqueName(bagsDir: string, staging: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const base = `snapshot_${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}-${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
  let name = base;
  for (let i = 1; existsSync(join(bagsDir, name)) || existsSync(join(staging, name)); i++) name = `${base}_${i}`;
  return name;
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir); // refuses a directory that is not empty: another snapshot's bag is being written there
  } catch {
    // not empty, or gone: left as it is
  }
}
