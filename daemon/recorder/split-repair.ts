import { constants, existsSync } from 'node:fs';
import { copyFile, link, open, rename, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import type { DecompressHandlers } from '@mcap/core';
import {
  recoverMcap,
  type McapChannel,
  type McapDamage,
  type McapSchema,
  type RecoveredRecord,
} from '../bags/index.ts';
import { McapSegmentWriter } from './mcap-segment-writer.ts';
import type { SegmentIO } from './segment-io.ts';
import { formatBytes } from '../util/index.ts';

export interface FileRepair {
  file: string;
  /**
   * `intact`: whole, every CRC checks, left as it is; `repaired`: rewritten from the records it holds;
   * `empty`: 0 bytes, left as it is and not listed in metadata.yaml; `created`: the empty split of a bag in
   * which nothing was recorded, written (or written over a 0-byte split) so that the bag lists one, as rosbag2's do.
   */
  state: 'intact' | 'repaired' | 'empty' | 'created';
  messages: number;
  /** Bytes of the original that held no readable record (cut off or damaged): not in the repaired file. */
  droppedBytes: number;
  /** Messages read whose channel record was lost with the damage, so they could not be written. */
  droppedMessages: number;
  /** The stretches skipped, with why (repaired files). */
  damage: McapDamage[];
  /** Where the original was kept before the rewrite; none when the rewrite carried everything over. */
  backup?: string;
}

/** What a first read of a split found: whatever can be read out of it, and where it is damaged. */
export interface Scan {
  size: number;
  complete: boolean;
  header: boolean;
  damage: McapDamage[];
  attachments: number;
  schemas: Map<number, McapSchema>;
  channels: Map<number, McapChannel>;
  counts: Map<number, number>;
  start: Map<number, bigint>;
  end: Map<number, bigint>;
}

/**
 * Leaves a whole or 0-byte split as it is, or rewrites it from the records it holds (a backup of the
 * original first, unless the rewrite carries every message over).
 */
export async function repairSplit(
  path: string,
  scan: Scan,
  decompress: DecompressHandlers,
  io: SegmentIO,
  doing: { what: string },
): Promise<FileRepair> {
  if (scan.size === 0) {
    // Created and never written (a crash at a split's start): nothing to read or to lose.
    return { file: path, state: 'empty', messages: 0, droppedBytes: 0, droppedMessages: 0, damage: [] };
  }
  const messages = messageCount(scan);
  if (scan.complete) return { file: path, state: 'intact', messages, droppedBytes: 0, droppedMessages: 0, damage: [] };
  const droppedMessages = [...scan.counts].reduce((n, [id, c]) => n + (scan.channels.has(id) ? 0 : c), 0);
  const droppedBytes = scan.damage.reduce((n, d) => n + d.length, 0);
  const lossless = scan.damage.every((d) => d.indexOnly) && droppedMessages === 0 && scan.attachments === 0;
  doing.what = `rewriting ${basename(path)} (${formatBytes(scan.size)}), which takes about as much free space again until the copy replaces the original`;
  const backup = lossless ? undefined : await keepBackup(path);
  try {
    await rewrite(path, scan, decompress, io);
  } catch (error) {
    // The original is untouched, so its backup is only another name for it (or a copy): a repair retried
    // on a full disk every minute must not leave `.orig`, `.orig.1`, ... behind each time.
    if (backup) await unlink(backup).catch(() => undefined);
    throw error;
  }
  return {
    file: path,
    state: 'repaired',
    messages,
    droppedBytes,
    droppedMessages,
    damage: scan.damage,
    ...(backup ? { backup } : {}),
  };
}

export function messageCount(scan: Scan): number {
  let n = 0;
  for (const [id, c] of scan.counts) if (scan.channels.has(id)) n += c;
  return n;
}

/**
 * Keeps the file at `path` as `<path>.orig` (the first of `.orig`, `.orig.1`, ... that is free), as a
 * hard link where the file system has them (no copy, and `path` is replaced by a rename afterwards).
 */
export async function keepBackup(path: string): Promise<string> {
  for (let i = 0; ; i++) {
    const backup = i === 0 ? `${path}.orig` : `${path}.orig.${i}`;
    if (existsSync(backup)) continue;
    try {
      await link(path, backup);
      return backup;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw error;
    }
    try {
      await copyFile(path, backup, constants.COPYFILE_EXCL); // no hard links here (vfat, some FUSE file systems)
      return backup;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      await unlink(backup).catch(() => undefined); // a copy cut short (a full disk): ours, since the copy made it
      throw error;
    }
  }
}

export async function scanFile(path: string, decompress: DecompressHandlers): Promise<Scan> {
  const scan: Scan = {
    size: 0,
    complete: false,
    header: false,
    damage: [],
    attachments: 0,
    schemas: new Map(),
    channels: new Map(),
    counts: new Map(),
    start: new Map(),
    end: new Map(),
  };
  const fh = await open(path, 'r');
  try {
    scan.size = (await fh.stat()).size;
    if (scan.size === 0) return scan;
    const recovery = await recoverMcap(fh, scan.size, decompress, (r) => {
      if (r.type === 'schema') {
        if (!scan.schemas.has(r.schema.id)) scan.schemas.set(r.schema.id, r.schema);
      } else if (r.type === 'channel') {
        if (!scan.channels.has(r.channel.id)) scan.channels.set(r.channel.id, r.channel);
      } else if (r.type === 'message') {
        const id = r.channelId;
        scan.counts.set(id, (scan.counts.get(id) ?? 0) + 1);
        const lo = scan.start.get(id);
        if (lo === undefined || r.logTime < lo) scan.start.set(id, r.logTime);
        const hi = scan.end.get(id);
        if (hi === undefined || r.logTime > hi) scan.end.set(id, r.logTime);
      }
    });
    Object.assign(scan, recovery);
    return scan;
  } finally {
    await fh.close();
  }
}

/**
 * Writes what the scan found readable into a new file and puts it in place of the old one by a rename.
 * Channels (and their schemas) are the first definitions the scan met, wherever in the file, so messages
 * whose chunk lost its channel record to the damage are kept when the summary still has it.
 */
async function rewrite(path: string, scan: Scan, decompress: DecompressHandlers, io: SegmentIO): Promise<void> {
  const tmp = `${path}.repairing`;
  if (existsSync(tmp)) await unlink(tmp);
  const writer = new McapSegmentWriter({ file: io.create(tmp), library: 'auraison-edge repair' });
  const schemaIds = new Map<number, number>();
  const channelIds = new Map<number, number>();
  const channelOf = (id: number): number | undefined => {
    const known = channelIds.get(id);
    if (known !== undefined) return known;
    const channel = scan.channels.get(id);
    if (!channel) return undefined;
    const schema = scan.schemas.get(channel.schemaId);
    let schemaId = 0; // none: the channel's schema was lost, or it never had one
    if (schema) {
      schemaId =
        schemaIds.get(schema.id) ??
        writer.addSchema({ name: schema.name, encoding: schema.encoding, data: schema.data });
      schemaIds.set(schema.id, schemaId);
    }
    const created = writer.addChannel({
      topic: channel.topic,
      schemaId,
      messageEncoding: channel.messageEncoding,
      metadata: channel.metadata,
    });
    channelIds.set(id, created);
    return created;
  };
  try {
    const fh = await open(path, 'r');
    try {
      await recoverMcap(fh, scan.size, decompress, async (r: RecoveredRecord) => {
        if (r.type === 'message') {
          const channel = channelOf(r.channelId);
          if (channel === undefined) return; // counted in the scan's droppedMessages
          writer.addMessage(channel, r.logTime, r.publishTime, r.data);
          if (writer.pendingBytes > 64 * 1024 * 1024) await writer.flush();
        } else if (r.type === 'metadata') writer.addMetadata(r.name, r.metadata);
      });
    } finally {
      await fh.close();
    }
    await writer.end();
  } catch (error) {
    // The original is untouched: drop the half-written copy (and its open file: the recorder lives on).
    await writer.abandon().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await rename(tmp, path);
}
