import { describe, expect, it } from 'vitest';
import { deadPort } from '../../test/helpers/closed-port.ts';
import { loadZenoh } from './zenoh-runtime.ts';
import { tick } from '../../test/helpers/wait.ts';

describe("zenoh-ts's WebSocket on Node 20", () => {
  it('lets a socket that zenoh-ts made and never listened to fail without an uncaught exception', async () => {
    await loadZenoh();
    const thrown: unknown[] = [];
    const onUncaught = (error: unknown) => void thrown.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      // As zenoh-ts's RemoteLink.new does when it retries an open: a socket with no handler of its own.
      const ws = new globalThis.WebSocket(`ws://127.0.0.1:${await deadPort()}/`);
      // Its error event comes before its close event: once the close is dispatched and a turn has passed, an error
      // that nothing handled would have been thrown.
      await new Promise((resolve) => ws.addEventListener('close', resolve));
      await tick();
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(thrown).toEqual([]);
  });
});
