import wsProtocol from '@foxglove/ws-protocol';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { foxgloveTestBed, serverHasRead } from './foxglove-harness.ts';

// Status messages to a client are throttled to ten a second of each kind (the daemon's own, the protocol
// library's); what is held back used to be told only with the client's next status, which may never come.
// It is told once the throttle's second is over. The bridge runs on the real clock here: a summary is due
// a second after the flood, which the test waits for (a condition, not a bound on how long it takes).

const { start, connectReady } = foxgloveTestBed();

const UNKNOWN_OP = 'unknown op "dance" (this server takes subscribe, unsubscribe, advertise, unadvertise)';

describe('status messages held back by the per-client throttle', () => {
  it('are told in a summary status once the second is over, with no new status to carry the count', async () => {
    const { bridge } = await start();
    const c = await connectReady(bridge.url!);
    // 50 unknown subscription ids: the library answers each (its own statuses); 15 unknown ops: the daemon's own.
    c.ws.send(JSON.stringify({ op: 'unsubscribe', subscriptionIds: Array.from({ length: 50 }, (_, i) => 1000 + i) }));
    for (let i = 0; i < 15; i++) c.ws.send('{"op":"dance"}');
    await serverHasRead(c);
    const suppressed = () =>
      bridge.metrics().find((f) => f.name === 'auraison_foxglove_statuses_suppressed_total')!.samples[0]!.value;
    expect(suppressed()).toBe(45);

    const summaries = () => c.statuses.filter((st) => /^\d+ more /.test(st.message));
    await waitFor(() => summaries().length === 2, 'the two summaries', 10_000);
    expect(c.statuses).toHaveLength(22); // ten of each kind, then the summaries
    expect(summaries()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: wsProtocol.StatusLevel.WARNING,
          message: '40 more status messages held back since the last one (at most 10 a second)',
        }),
        expect.objectContaining({
          level: wsProtocol.StatusLevel.WARNING,
          message: '5 more problems not reported since the last status (at most 10 a second)',
        }),
      ]),
    );

    // Told once: the next status carries no count, and nothing more is held.
    c.ws.send('{"op":"dance"}');
    await waitFor(() => c.statuses.length === 23, 'the next status');
    expect(c.statuses[22]!.message).toBe(UNKNOWN_OP);
    expect(suppressed()).toBe(45);
  });
});
