import { describe, expect, it } from 'vitest';
import { deadPort } from '../../test/helpers/closed-port.ts';
import { loadZenoh } from './zenoh-runtime.ts';
import { sleep } from '../../daemon/util/index.ts';

describe("zenoh-ts's WebSocket on Node 20", () => {
  it('lets a socket that zenoh-ts made and never listened to fail without an uncaught exception', async () => {
    await loadZenoh();
    const thrown: unknown[] = [];
    const onUncaught = (error: unknown) => void thrown.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      // As zenoh-ts's RemoteLink.new does when it retries an open: a socket with no handler of its own.
      const ws = new globalThis.WebSocket(`ws://127.0.0.1:${await deadPort()}/`);
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (ws.readyState === 3) resolve(clearInterval(poll));
        }, 10);
      });
      await sleep(50);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(thrown).toEqual([]);
  });
});
