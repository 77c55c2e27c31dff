import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { BagError, BagTypeResolver, locateBag, readTopicWindow, type LocatedBag } from '../../../daemon/bags/index.ts';
import type { StorageMessage, StorageTopic } from '../../../daemon/bags/index.ts';
import { DefinitionsRegistry } from '../../../daemon/bus/index.ts';
import { cameraFrameSize, decodeCameraFrame, IMAGE_TYPES, type RawFrame } from './camera-frames.ts';
import { DatasetError } from './dataset-types.ts';
import { queryRows, sqlString } from './duckdb.ts';
import { errorText } from '../../../daemon/util/index.ts';

/** A time as both the forms --window takes: ISO 8601 (UTC) and ns since the epoch. */
export function nsText(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? `${new Date(ms).toISOString()} (${ns} ns)` : `${ns} ns`;
}

/**
 * A camera topic's messages in the export's span, as the lakehouse indexes them (its `messages` table: every
 * message, also those too large to decode into a topic table, as images are): their log times, ascending, and the
 * storage file each is in. The pixels are read from those files, the recorded bags, only when frames are encoded.
 */
export class CameraSamples {
  readonly topic: string;
  readonly type: string;
  readonly times: bigint[];
  #fileOf: number[];
  #files: string[];
  #resolver = new BagTypeResolver(new DefinitionsRegistry({ distro: 'jazzy' }));

  constructor(topic: string, type: string, rows: { t: bigint; path: string }[]) {
    this.topic = topic;
    this.type = type;
    this.#files = [...new Set(rows.map((r) => r.path))];
    const index = new Map(this.#files.map((f, i) => [f, i]));
    this.times = rows.map((r) => r.t);
    this.#fileOf = rows.map((r) => index.get(r.path)!);
  }

  /**
   * The frames of `picks` (sample indexes, ascending, a sample repeated while it is held), decoded from the bags.
   * Only the span the picks cover is read, and only the samples picked are decoded; a sample held for several
   * frames is decoded once.
   */
  async *frames(picks: readonly number[]): AsyncGenerator<RawFrame> {
    if (picks.length === 0) return;
    const lo = picks[0]!;
    const hi = picks[picks.length - 1]!;
    const files = [...new Set(this.#fileOf.slice(lo, hi + 1))].map((i) => this.#files[i]!);
    const messages = mergeByLogTime(
      files.map((f) => readTopicWindow(openedBag(f, this.topic), f, this.topic, this.times[lo]!, this.times[hi]!)),
    );
    let j = lo - 1;
    let held: RawFrame | undefined;
    try {
      let next = await messages.next();
      for (const pick of picks) {
        if (held && j === pick) {
          yield held;
          continue;
        }
        let found: { message: StorageMessage; topic: StorageTopic } | undefined;
        while (j < pick && !next.done) {
          found = next.value;
          j++;
          if (found.message.logTime !== this.times[j]) break;
          if (j < pick) next = await messages.next();
        }
        if (!found || j !== pick || found.message.logTime !== this.times[pick])
          throw this.#gone(this.times[Math.min(j, pick)]!, files);
        next = await messages.next();
        held = await this.#decode(found.message, found.topic);
        yield held;
      }
    } finally {
      // Also when the consumer stops early (an encoder failed): the bag files are closed.
      await messages.return(undefined);
    }
  }

  /**
   * Sample `pick`'s frame size, from its message's fields or its image's header, nothing decoded: a frame larger than
   * MAX_VIDEO_PIXELS is refused before the export starts.
   */
  async size(pick: number): Promise<{ width: number; height: number }> {
    const file = this.#files[this.#fileOf[pick]!]!;
    const t = this.times[pick]!;
    const messages = readTopicWindow(openedBag(file, this.topic), file, this.topic, t, t);
    let found: { message: StorageMessage; topic: StorageTopic } | undefined;
    try {
      for await (const m of messages) {
        if (m.message.logTime !== t) continue;
        found = m;
        break;
      }
    } finally {
      await messages.return(undefined);
    }
    if (found) return cameraFrameSize(this.type, this.#message(found.message, found.topic), this.#where(found.message));
    throw this.#gone(t, [file]);
  }

  #gone(t: bigint, files: readonly string[]): DatasetError {
    return new DatasetError(
      `${this.topic}: the bags no longer hold the message the lakehouse indexes at ${nsText(t)} (in ${files.join(', ')}): ` +
        'a bag was changed or replaced after it was imported; import it again (bag import) and export again',
    );
  }

  async #decode(message: StorageMessage, topic: StorageTopic): Promise<RawFrame> {
    return decodeCameraFrame(this.type, this.#message(message, topic), this.#where(message));
  }

  #where(message: StorageMessage): string {
    return `${this.topic} at ${nsText(message.logTime)}`;
  }

  /** The message's fields, decoded from its CDR. */
  #message(message: StorageMessage, topic: StorageTopic): unknown {
    const where = this.#where(message);
    const reader = this.#resolver.reader(topic.type, topic.schema);
    if (!reader) throw new DatasetError(`${where}: no definition of ${topic.type} to decode it with`);
    try {
      return reader.readMessage(message.data);
    } catch (error) {
      throw new DatasetError(
        `${where}: ${message.data.byteLength} bytes do not decode as ${topic.type}: ${errorText(error)}`,
      );
    }
  }
}

/**
 * The lakehouse's type of `topic` when it is a camera (sensor_msgs/msg/Image or CompressedImage), from its
 * `messages` table; a DatasetError naming the type when it is something else, and undefined when it has no messages.
 */
export async function cameraType(conn: DuckDBConnection, key: string, topic: string): Promise<string | undefined> {
  const rows = await queryRows(conn, `SELECT DISTINCT type FROM messages WHERE topic = ${sqlString(topic)}`);
  const types = rows.map((r) => String(r.type));
  if (types.length === 0) return undefined;
  const image = types.find((t) => IMAGE_TYPES.includes(t));
  if (!image || types.length > 1)
    throw new DatasetError(
      `feature ${key}: ${topic} is ${types.join(' and ')}; a feature without columns is a camera (${IMAGE_TYPES.join(' or ')}): give the columns of any other topic, KEY=${topic}:COLUMN[,COLUMN...]`,
    );
  return image;
}

/** The camera topic's samples between `startNs` and `endNs`, from the lakehouse's `messages` and `bags`. */
export async function readCameraSamples(
  conn: DuckDBConnection,
  key: string,
  topic: string,
  type: string,
  startNs: bigint,
  endNs: bigint,
): Promise<CameraSamples> {
  const rows = await queryRows(
    conn,
    `SELECT m.log_time AS t, b.path AS path FROM messages m JOIN bags b ON m.segment_id = b.segment_id
     WHERE m.topic = ${sqlString(topic)} AND m.log_time BETWEEN ${startNs} AND ${endNs} ORDER BY m.log_time`,
  );
  if (rows.length === 0) {
    const [span] = await queryRows(
      conn,
      `SELECT min(log_time) AS first, max(log_time) AS last FROM messages WHERE topic = ${sqlString(topic)}`,
    );
    throw new DatasetError(
      `feature ${key}: ${topic} has no messages between ${nsText(startNs)} and ${nsText(endNs)}; its messages run from ${nsText(BigInt(span!.first as bigint))} to ${nsText(BigInt(span!.last as bigint))}: give a window inside that`,
    );
  }
  return new CameraSamples(
    topic,
    type,
    rows.map((r) => ({ t: BigInt(r.t as bigint), path: String(r.path) })),
  );
}

/** The bag a storage file the lakehouse indexes is in: its directory when that is the bag, else the file alone. */
function openedBag(file: string, topic: string): LocatedBag {
  if (!existsSync(file))
    throw new DatasetError(
      `${file}, which the lakehouse indexes for ${topic}, is gone (retention deleted it, or it was moved): export a window of bags still on disk, or import the bag again from where it is now`,
    );
  const dir = dirname(file);
  try {
    if (existsSync(join(dir, 'metadata.yaml'))) {
      const bag = locateBag(dir);
      if (bag.files.includes(file)) return bag;
    }
    return locateBag(file);
  } catch (error) {
    if (error instanceof BagError) throw new DatasetError(error.message);
    throw error;
  }
}

/** Merges streams each in log-time order into one in log-time order (splits of one recording follow each other). */
async function* mergeByLogTime<T extends { message: StorageMessage }>(streams: AsyncGenerator<T>[]): AsyncGenerator<T> {
  const heads = await Promise.all(streams.map((s) => s.next()));
  try {
    for (;;) {
      let best = -1;
      heads.forEach((h, i) => {
        if (!h.done && (best < 0 || h.value.message.logTime < (heads[best]!.value as T).message.logTime)) best = i;
      });
      if (best < 0) return;
      yield heads[best]!.value as T;
      heads[best] = await streams[best]!.next();
    }
  } finally {
    await Promise.all(streams.map((s) => s.return(undefined)));
  }
}
