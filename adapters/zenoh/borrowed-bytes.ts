import type { ZBytes } from '@eclipse-zenoh/zenoh-ts';
import type { ZenohModule } from './zenoh-runtime.ts';

const EMPTY = new Uint8Array(0);

/**
 * A put's payload as a ZBytes over the caller's bytes: zenoh-ts's own `new ZBytes(Uint8Array)` copies them
 * (Uint8Array.from) before it serializes the put, which copies them again into the message, so a 1 MiB put made
 * two copies of 1 MiB where one is needed. zenoh-ts 1.10.1 reads a ZBytes it is given (it keeps the same bytes)
 * only while the put is serialized, before its first await, so the caller's bytes, which nobody writes (a bus
 * message's), are read once. Where a later zenoh-ts keeps its bytes under another name, the payload is handed
 * over as it is and zenoh-ts copies it as before.
 */
export function borrowedZBytes(zenoh: ZenohModule, payload: Uint8Array): ZBytes | Uint8Array {
  const bytes = new zenoh.ZBytes(EMPTY);
  (bytes as unknown as { buffer_: Uint8Array }).buffer_ = payload;
  return bytes.toBytes() === payload && bytes.len() === payload.length ? bytes : payload;
}
