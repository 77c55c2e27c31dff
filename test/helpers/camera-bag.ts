import { writeFileSync } from 'node:fs';
import { McapWriter } from '@mcap/core';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';

/** A message to write: its topic, type, log time and fields (encoded as CDR with the type's jazzy definition). */
export interface BagMessage {
  topic: string;
  type: string;
  logTime: bigint;
  message: unknown;
}

/** A sensor_msgs/msg/Image of `width` x `height` in `encoding`, its rows `step` bytes apart. */
export function imageMessage(
  width: number,
  height: number,
  encoding: string,
  data: Uint8Array,
  step = data.length / height,
): unknown {
  return {
    header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'camera' },
    height,
    width,
    encoding,
    is_bigendian: 0,
    step,
    data,
  };
}

/**
 * A bare .mcap file (rosbag2's profile, chunked and indexed) of the messages given, in their order, each type's
 * schema the ros2msg text rosbag2 writes.
 */
export async function writeBag(file: string, messages: readonly BagMessage[]): Promise<void> {
  const registry = new DefinitionsRegistry({ distro: 'jazzy' });
  const codec = new MessageCodec(registry);
  const chunks: Uint8Array[] = [];
  let position = 0n;
  const writable = {
    position: () => position,
    write: async (b: Uint8Array) => void (chunks.push(b.slice()), (position += BigInt(b.byteLength))),
  };
  const writer = new McapWriter({ writable, useChunks: true, chunkSize: 256 * 1024 });
  await writer.start({ profile: 'ros2', library: 'test' });
  const schemas = new Map<string, number>();
  const channels = new Map<string, number>();
  for (const [i, m] of messages.entries()) {
    let schemaId = schemas.get(m.type);
    if (schemaId === undefined)
      schemas.set(
        m.type,
        (schemaId = await writer.registerSchema({
          name: m.type,
          encoding: 'ros2msg',
          data: new TextEncoder().encode(registry.schemaText(m.type)),
        })),
      );
    let channelId = channels.get(m.topic);
    if (channelId === undefined)
      channels.set(
        m.topic,
        (channelId = await writer.registerChannel({
          topic: m.topic,
          schemaId,
          messageEncoding: 'cdr',
          metadata: new Map(),
        })),
      );
    await writer.addMessage({
      channelId,
      sequence: i,
      logTime: m.logTime,
      publishTime: m.logTime,
      data: codec.encode(m.type, m.message),
    });
  }
  await writer.end();
  writeFileSync(file, Buffer.concat(chunks));
}
