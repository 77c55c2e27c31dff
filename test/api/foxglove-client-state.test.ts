import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { PolicyHook } from '../../daemon/contract/policy-hook.ts';
import { waitFor } from '../helpers/wait.ts';
import { foxgloveTestBed, policyAgent, topicStats, twist } from './foxglove-harness.ts';

// What the bridge's per-client throttles (ClientFeedback, on LogBurst: a Map, not a WeakMap) hold must not
// grow with the clients that came and went: each that leaves is flushed, also when a status for it comes late.

const { start, connectReady } = foxgloveTestBed();

describe('the per-client throttles of the Foxglove bridge', () => {
  it('hold nothing once the clients that made them speak have left, however many came', async () => {
    const { bridge } = await start();
    for (let round = 0; round < 3; round++) {
      const clients = await Promise.all(Array.from({ length: 10 }, () => connectReady(bridge.url!)));
      for (const c of clients) {
        c.ws.send('garbage'); // refused: a status (the daemon's own) and a log line
        c.ws.send(JSON.stringify({ op: 'unsubscribe', subscriptionIds: [1000] })); // the protocol library's own status
      }
      await waitFor(() => clients.every((c) => c.statuses.length === 2), 'both statuses to every client');
      expect(bridge.feedbackHeld).toBe(30); // three throttles, ten clients
      for (const c of clients) c.ws.terminate();
      await waitFor(() => bridge.feedbackHeld === 0, 'the throttles to forget the clients that left');
    }
  });

  it('hold nothing for a client that left while a policy hook decided on its command, when the refusal comes', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let asked = 0;
    // The second command waits with the hooks until after the client has gone; it is then refused (the
    // channel is gone), which is told to the client: a status for a client that left.
    const slow: PolicyHook = {
      name: 'slow',
      beforeToolCall: async (_ctx, input) => {
        if (++asked === 2) await held;
        return { action: 'rewrite', rule: 'noop', reason: 'marks the line', value: input };
      },
    };
    const lines: { msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { h, bridge, codec } = await start(
      { components: [policyAgent(() => [slow])], foxglove: { client_publish: { enabled: true } } },
      {},
      { log },
    );
    const { ws, client } = await connectReady(bridge.url!);
    const channel = client.advertise({ topic: '/cmd_vel', encoding: 'cdr', schemaName: 'geometry_msgs/msg/Twist' });
    await waitFor(() => topicStats(h, '/cmd_vel')?.publishers === 1, "the client's publisher");
    const fired = () => lines.filter((l) => l.msg === 'policy hook fired on a foxglove publish').length;
    client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(0.2)));
    await waitFor(() => fired() === 1, 'the first command through the hooks');
    client.sendMessage(channel, codec.encode('geometry_msgs/msg/Twist', twist(0.3)));
    await waitFor(() => asked === 2, 'the second command with the hooks');
    ws.terminate();
    await waitFor(() => topicStats(h, '/cmd_vel')?.publishers === 0, 'the client gone');
    expect(bridge.feedbackHeld).toBe(0);
    release();
    // Logged just before the refusal is told, in the same turn.
    await waitFor(() => fired() === 2, 'the late decision');
    expect(bridge.feedbackHeld).toBe(0);
  });
});
