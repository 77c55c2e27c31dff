import { pino } from 'pino';
import type { Sample } from '@eclipse-zenoh/zenoh-ts';
import { describe, expect, it } from 'vitest';
import { READ_ACK_KEY } from '../../adapters/zenoh/read-acks.ts';
import { openOffLoopZero } from '../../adapters/zenoh/halt-zero.ts';
import { ZenohLink } from '../../adapters/zenoh/zenoh-link.ts';
import { loadZenoh } from '../../adapters/zenoh/zenoh-runtime.ts';
import type { OffLoopTake } from '../../daemon/contract/index.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

// The stop listener's own Zenoh session (halt-zero.ts) serves agent/stop and asks nothing: the remote-api bridge, which
// leaves Nagle on, would hold a query behind a keepalive's answer that Linux has not yet acknowledged. The session
// acknowledges what it reads at once, where the daemon's other sessions do only while a get of theirs is open, but the
// main session while it serves agent/stop itself (no stop listener).

type Figures = { state: string; keepalives: number; readAcks: number; queries: number; open_queries: number };

describe("the stop listener's Zenoh session", () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;
  const log = pino({ level: 'silent' });
  // Keepalives every 50 ms: the frames read that no query of the session's own is open for.
  const link = () => ({ endpoint: zn.net.wsUrl, keepaliveMs: 50 });

  it('acknowledges the keepalives it reads with no query of its own open, and serves agent/stop', async () => {
    const taken: string[] = [];
    const take: OffLoopTake = async ({ by }) => {
      taken.push(by);
      return { at: '1', zeroed: ['line'], failed: {} };
    };
    const stop = await openOffLoopZero(
      { link: link(), targets: [], attachments: false, doors: { query: true, services: [] } },
      log,
      take,
    );
    cleanups.push(() => stop.close());
    // The daemon's other sessions, as a baseline on the same bridge: keepalives answered, none acknowledged.
    const plain = new ZenohLink({ ...link(), log });
    cleanups.push(() => plain.close());
    plain.start();
    const figures = () => stop.details() as Figures;
    await waitFor(() => figures().state === 'up' && plain.state === 'up', 'both sessions to be up');

    const zenoh = await loadZenoh();
    const other = await zenoh.Session.open(new zenoh.Config(zn.net.wsUrl));
    cleanups.push(() => other.close());
    const heard: string[] = [];
    await other.declareSubscriber(READ_ACK_KEY, { handler: (s: Sample) => void heard.push(s.keyexpr().toString()) });

    await waitFor(
      () => figures().keepalives >= 5 && figures().readAcks >= 5,
      "the stop's session to acknowledge its keepalives' answers",
    );
    await waitFor(() => plain.counters.keepalives >= 5, "the plain session's keepalives");
    expect(plain.counters.readAcks).toBe(0);

    const payload = new TextEncoder().encode('{"by":"e-stop"}');
    const [reply] = await plain.get('agent/stop', { payload, timeoutMs: 10_000, firstReply: true });
    if (!reply?.ok) throw new Error(`agent/stop was not answered: ${JSON.stringify(reply)}`);
    expect(JSON.parse(reply.sample.payload().toString())).toMatchObject({ stopped: true, by: 'e-stop' });
    expect(taken).toEqual(['e-stop']);
    // Its acks stay in the bridge: no other session hears them.
    expect(heard).toEqual([]);
  });

  it("acknowledges every read on the daemon's main session while agent/stop is served there (no stop listener)", async () => {
    const { daemon, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, keepalive_ms: 50, queries: ['agent/stop'] },
    });
    cleanups.push(stop);
    const main = () => (daemon.status().components.zenoh!.details as { link: Figures }).link;
    await waitFor(() => main().state === 'up', 'the link up');
    // Past the start's own gets (discovery): the keepalives' answers are read with no get open. A get sent or open
    // in the window starts it again.
    let from = main();
    await waitFor(() => {
      const now = main();
      if (from.open_queries > 0 || now.queries !== from.queries) {
        from = now;
        return false;
      }
      return now.keepalives >= from.keepalives + 5 && now.readAcks >= from.readAcks + 5;
    }, "the main session to acknowledge its keepalives' answers with no get open");
    const caller = new ZenohLink({ ...link(), log });
    cleanups.push(() => caller.close());
    caller.start();
    await waitFor(() => caller.state === 'up', 'the caller up');
    const payload = new TextEncoder().encode('{"by":"e-stop"}');
    const [reply] = await caller.get('agent/stop', { payload, timeoutMs: 10_000, firstReply: true });
    if (!reply?.ok) throw new Error(`agent/stop was not answered: ${JSON.stringify(reply)}`);
    expect(JSON.parse(reply.sample.payload().toString())).toMatchObject({ by: 'e-stop' });
  });
});
