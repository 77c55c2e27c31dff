import { createRequire } from 'node:module';
import type { DecompressHandlers } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';

let loading: Promise<DecompressHandlers> | undefined;

const FATAL_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * MCAP's chunk decompressors (zstd, lz4, bz2: wasm, loaded once per process), with two faults of theirs
 * worked around:
 * - Loading @foxglove/wasm-bz2 runs Emscripten's start-up, which adds process 'uncaughtException' and
 *   'unhandledRejection' listeners that rethrow: with them, any uncaught error or unhandled rejection would
 *   end the daemon, whatever handler the daemon installed. The listeners the load added are taken off again.
 * - @foxglove/wasm-lz4 keeps one decompression context for the process and never resets it after an
 *   error: once a damaged chunk has failed, every later lz4 chunk fails too, good ones included. See
 *   `resettingLz4`.
 */
export function decompressHandlers(): Promise<DecompressHandlers> {
  loading ??= (async () => {
    const emitter: NodeJS.EventEmitter = process;
    const before = new Map(FATAL_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
    try {
      const handlers = await loadDecompressHandlers();
      return handlers.lz4 ? { ...handlers, lz4: resettingLz4(handlers.lz4) } : handlers;
    } finally {
      for (const event of FATAL_EVENTS) {
        const kept = before.get(event)!;
        for (const listener of emitter.listeners(event))
          if (!kept.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
      }
    }
  })();
  return loading;
}

type Decompress = DecompressHandlers[string];

/**
 * lz4 through the wasm decoder (about 5x faster than lz4-napi on 1 MiB chunks) until it first fails; from
 * then on through lz4-napi, which keeps no state between calls, the failed chunk included, so its verdict
 * (damaged or not) is lz4-napi's.
 */
function resettingLz4(wasm: Decompress): Decompress {
  let poisoned = false;
  let napi: Decompress | undefined;
  return (data, size) => {
    if (!poisoned) {
      try {
        return wasm(data, size);
      } catch {
        poisoned = true;
      }
    }
    napi ??= (() => {
      const { decompressFrameSync } = createRequire(import.meta.url)('lz4-napi') as {
        decompressFrameSync: (data: Uint8Array) => Uint8Array;
      };
      return (bytes: Uint8Array) => decompressFrameSync(bytes);
    })();
    return napi(data, size);
  };
}
