import { readFileSync } from 'node:fs';
import { McapIndexedReader } from '@mcap/core';
import { decompressHandlers } from '../../daemon/bags/decompress.ts';

/** An MCAP file opened by @mcap/core through its index: a file without a valid summary and footer throws. */
export async function openIndexedMcap(file: string): Promise<McapIndexedReader> {
  const bytes = readFileSync(file);
  return McapIndexedReader.Initialize({
    readable: { size: async () => BigInt(bytes.byteLength), read: async (o, l) => bytes.subarray(Number(o), Number(o + l)) },
    decompressHandlers: await decompressHandlers(),
  });
}

/** How many messages an MCAP file holds, read through its index. */
export async function mcapMessageCount(file: string): Promise<number> {
  let n = 0;
  for await (const _ of (await openIndexedMcap(file)).readMessages()) n++;
  return n;
}
