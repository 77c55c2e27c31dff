import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { ZenohNetwork } from './zenoh-network.ts';

type LinkDetails = Record<string, number | string>;

/** Holds this process (the daemon's event loop) for `ms`, as a long GC pause or a starved CPU does. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: no timer, no socket read runs meanwhile
  }
}

describe("the Zenoh link while the daemon's own event loop stalls", () => {
  let net: ZenohNetwork;
  let started: Awaited<ReturnType<typeof startDaemon>>;
  const links = () => {
    const details = started.daemon.componentHealth().zenoh!.details as Record<string, LinkDetails>;
    return ['link', 'receive_link'].map((name) => details[name]!);
  };

  beforeAll(async () => {
    net = await ZenohNetwork.create();
    await net.start();
    started = await startDaemon({
      zenoh: { enabled: true, endpoint: net.wsUrl, keepalive_ms: 100, response_timeout_ms: 500 },
    });
    await waitFor(() => links().every((l) => l.state === 'up' && Number(l.keepalives) > 2), 'both links up');
  });

  afterAll(async () => {
    await started?.stop();
    await net?.close();
  });

  it('keeps a link whose keepalive answer came in time but was not read yet, since the loop was held', async () => {
    const before = links().map((l) => ({ opens: l.opens, losses: l.losses, keepalives: Number(l.keepalives) }));
    for (let i = 0; i < 3; i++) {
      // Held the moment a keepalive went out: the bridge answers within a millisecond, and its answer waits in the
      // socket while the loop is held past the 500 ms the link gives it.
      const sent = Number(links()[0]!.keepalives);
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (Number(links()[0]!.keepalives) === sent) return;
          clearInterval(poll);
          // From the check phase, as from a socket's callback: the loop's next turn runs timers before it reads.
          setImmediate(() => (stall(1200), resolve()));
        }, 1);
      });
    }
    // Some keepalives asked and were answered after the stalls.
    await waitFor(
      () => links().every((l, i) => Number(l.keepalives) > before[i]!.keepalives + 3),
      'keepalives after the stalls',
    );
    expect(links().map((l) => ({ state: l.state, opens: l.opens, losses: l.losses }))).toEqual(
      before.map((b) => ({ state: 'up', opens: b.opens, losses: b.losses })),
    );
  });

  it('still finds a bridge that stopped answering lost', async () => {
    const opens = links()[0]!.opens;
    net.signalBridge('SIGSTOP');
    try {
      await waitFor(() => links()[0]!.state !== 'up', 'the main link lost to a bridge that does not answer');
      expect(links()[0]!.reason).toMatch(/keepalive/);
    } finally {
      net.signalBridge('SIGCONT');
    }
    await waitFor(() => links()[0]!.state === 'up' && links()[0]!.opens !== opens, 'the link back once it answers');
  });
});
