import { readFileSync, writeFileSync } from 'node:fs';
import { McapIndexedReader, McapWriter } from '@mcap/core';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { decompressHandlers } from '../../daemon/bags/decompress.ts';

/** An MCAP file opened by @mcap/core through its index: a file without a valid summary and footer throws. */
export async function openIndexedMcap(file: string): Promise<McapIndexedReader> {
  const bytes = readFileSync(file);
  return McapIndexedReader.Initialize({
    readable: {
      size: async () => BigInt(bytes.byteLength),
      read: async (o, l) => bytes.subarray(Number(o), Number(o + l)),
    },
    decompressHandlers: await decompressHandlers(),
  });
}

/**
 * An MCAP file of std_msgs/msg/String messages, [topic, log time ns, text] each, in the order given;
 * `compress` stores each message's CDR as it returns it (rosbag2's compression_mode MESSAGE); `chunkSize` as
 * @mcap/core's (its default: 1 MiB).
 */
export async function writeStringMcap(
  file: string,
  messages: [string, bigint, string][],
  compress: (cdr: Uint8Array) => Uint8Array = (cdr) => cdr,
  chunkSize?: number,
): Promise<void> {
  const type = 'std_msgs/msg/String';
  await writeMessagesMcap(
    file,
    messages.map(([topic, logTime, data]) => ({ topic, type, logTime, fields: { data } })),
    { compress, schemas: { [type]: 'string data\n' }, ...(chunkSize === undefined ? {} : { chunkSize }) },
  );
}

/**
 * An MCAP file (rosbag2's profile) of messages of any types the daemon's Jazzy definitions know, CDR-encoded from
 * their fields, in the order given: a channel per topic, a schema per type (its `ros2msg` text from `schemas`, else
 * empty: the player reads a known type's definition from the daemon, not the bag).
 */
export async function writeMessagesMcap(
  file: string,
  messages: { topic: string; type: string; logTime: bigint; fields: Record<string, unknown> }[],
  options: { compress?: (cdr: Uint8Array) => Uint8Array; schemas?: Record<string, string>; chunkSize?: number } = {},
): Promise<void> {
  const { compress = (cdr) => cdr, schemas = {}, chunkSize } = options;
  const codec = new MessageCodec(new DefinitionsRegistry({ distro: 'jazzy' }));
  const chunks: Uint8Array[] = [];
  let position = 0n;
  const writable = {
    position: () => position,
    write: async (b: Uint8Array) => void (chunks.push(b.slice()), (position += BigInt(b.byteLength))),
  };
  const writer = new McapWriter({ writable, useChunks: true, ...(chunkSize === undefined ? {} : { chunkSize }) });
  await writer.start({ profile: 'ros2', library: 'test' });
  const schemaIds = new Map<string, number>();
  const channels = new Map<string, number>();
  for (const [i, { topic, type, logTime, fields }] of messages.entries()) {
    let schemaId = schemaIds.get(type);
    if (schemaId === undefined) {
      const data = new TextEncoder().encode(schemas[type] ?? '');
      schemaIds.set(type, (schemaId = await writer.registerSchema({ name: type, encoding: 'ros2msg', data })));
    }
    let channelId = channels.get(topic);
    if (channelId === undefined)
      channels.set(
        topic,
        (channelId = await writer.registerChannel({ topic, schemaId, messageEncoding: 'cdr', metadata: new Map() })),
      );
    await writer.addMessage({
      channelId,
      sequence: i,
      logTime,
      publishTime: logTime,
      data: compress(codec.encode(type, fields)),
    });
  }
  await writer.end();
  writeFileSync(file, Buffer.concat(chunks));
}

/** How many messages an MCAP file holds, read through its index. */
export async function mcapMessageCount(file: string): Promise<number> {
  let n = 0;
  for await (const _ of (await openIndexedMcap(file)).readMessages()) n++;
  return n;
}
