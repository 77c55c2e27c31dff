import type { DecompressHandlers } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';

let loading: Promise<DecompressHandlers> | undefined;

const FATAL_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * MCAP's chunk decompressors (zstd, lz4, bz2: wasm, loaded once per process). Loading @foxglove/wasm-bz2
 * runs Emscripten's start-up, which adds process 'uncaughtException' and 'unhandledRejection' listeners
 * that rethrow: with them, any uncaught error or unhandled rejection would end the daemon, whatever
 * handler the daemon installed. The listeners the load added are taken off again.
 */
export function decompressHandlers(): Promise<DecompressHandlers> {
  loading ??= (async () => {
    const emitter: NodeJS.EventEmitter = process;
    const before = new Map(FATAL_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
    try {
      return await loadDecompressHandlers();
    } finally {
      for (const event of FATAL_EVENTS) {
        const kept = before.get(event)!;
        for (const listener of emitter.listeners(event)) if (!kept.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
      }
    }
  })();
  return loading;
}
