import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/index.ts';
import { PORTS, type JournalRecord } from '../../daemon/contract/index.ts';
import { HaltLine } from '../../daemon/halt/index.ts';
import { blockThisLoopUntil, requestFromThread } from '../helpers/blocked-loop.ts';
import { tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { postJson } from '../helpers/post-json.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { useZenohNetwork } from '../zenoh/zenoh-network.ts';

// The Zenoh graph's zero Twist from the stop listener's own session: an eclipse-zenoh node subscribed to /cmd_vel
// (test/peers/zenoh/ros_peer.py, its events written to a file this test reads without an event loop) hears it while
// the daemon's main thread, which this test shares, is blocked on purpose.

/** A zero Twist's CDR, as hex: the little-endian encapsulation header, then six zero float64. */
const ZERO_TWIST_HEX = `00010000${'00'.repeat(48)}`;

describe("the operator's stop on the stop listener, to a Zenoh graph, with the daemon's event loop blocked", () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;

  it(
    "puts the zero Twist on /cmd_vel's key from its own session before the main thread runs again",
    { timeout: 120_000 },
    async () => {
      const { daemon, stop } = await startDaemon(
        {
          api: { port: 0 },
          motion: { stop: { listener: true } },
          foxglove: { enabled: false },
          zenoh: { enabled: true, endpoint: zn.net.wsUrl, publish: ['/cmd_vel'] },
        },
        'stop-listener-zenoh-',
      );
      cleanups.push(stop);
      const apiUrl = daemon.ports.get(PORTS.api)!.url!;
      const stopUrl = readApiFile(daemon.dataDir)!.stop_url!;
      const events: Record<string, unknown>[] = [];
      daemon.journal.subscribe((record: JournalRecord) => {
        const data = record.data as { kind?: string; payload?: Record<string, unknown> };
        if (data.kind === 'stop.engaged') events.push(data.payload!);
      });

      // The robot's base: a Zenoh node subscribed to /cmd_vel, its events in a file.
      const dir = tempDir('stop-listener-zenoh-peer-');
      cleanups.push(async () => dir.cleanup());
      const file = join(dir.path, 'base.jsonl');
      const out = openSync(file, 'w');
      const base = spawn(
        zn.net.peers.python,
        [
          zn.net.peers.peerScript,
          JSON.stringify({
            router: zn.net.routerEndpoint,
            node: 'base',
            subscribe: { topic: '/cmd_vel', type: 'geometry_msgs/msg/Twist' },
          }),
        ],
        { stdio: ['pipe', out, 'inherit'] },
      );
      closeSync(out);
      cleanups.push(async () => void base.kill('SIGKILL'));
      const heard = () =>
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { event: string; payload?: string; attachment?: { gid: string } | null });
      const zeros = () => heard().filter((e) => e.event === 'sample' && e.payload === ZERO_TWIST_HEX);
      await waitFor(() => heard().some((e) => e.event === 'ready'), 'the base node to be ready');

      const line = new HaltLine(daemon.haltAuthority.haltLine);
      // Once, with the main thread free: the stop's session is up and its samples reach the base.
      await waitFor(
        async () => {
          const answer = await postJson(stopUrl, '/stop', { by: 'warm-up' });
          expect(answer.status).toBe(200);
          return zeros().length > 0;
        },
        "the stop listener's first zero to reach the base",
        60_000,
      );
      await waitFor(async () => {
        await postJson(apiUrl, '/stop/release', { by: 'warm-up' });
        return line.pending === 0 && daemon.haltAuthority.latch.state === undefined && events.length > 0;
      }, 'the warm-up stops taken and released');
      // The main thread's own zero Twists of the warm-up (on the bus, then its main session) have all come: none
      // arrives while it is blocked below and passes for the listener's.
      let seen = -1;
      let since = performance.now();
      await waitFor(() => {
        if (zeros().length !== seen) [seen, since] = [zeros().length, performance.now()];
        return performance.now() - since > 1000;
      }, 'the zeros heard to settle');
      const zerosBefore = zeros().length;

      const operator = requestFromThread(`${stopUrl}/stop`, { body: JSON.stringify({ by: 'ada' }) });
      // Blocked from here: nothing of the daemon's main thread runs, nor its main Zenoh session's callbacks.
      const both = blockThisLoopUntil(() => operator.reply() !== undefined && zeros().length > zerosBefore, 60_000);
      const whileBlocked = { reply: operator.reply(), zeros: zeros().length, pending: line.pending };
      expect(both, JSON.stringify(whileBlocked)).toBe(true);
      expect(whileBlocked.pending).toBe(1); // the main thread had not taken it
      expect(whileBlocked.reply).toMatchObject({ status: 200 });
      const answer = JSON.parse((whileBlocked.reply as { body: string }).body) as { zeroed: string[] };
      expect(answer.zeroed).toEqual(['line', 'zenoh /cmd_vel']);
      // rmw_zenoh's attachment, with the GID of the stop's own publisher.
      expect(zeros().at(-1)!.attachment?.gid).toMatch(/^[0-9a-f]{32}$/);

      await waitFor(() => daemon.haltAuthority.latch.state?.by === 'ada', 'the main thread to latch it');
      const event = await waitForValue(() => events.find((e) => e.by === 'ada'), 'the stop.engaged event');
      expect(event).toMatchObject({ off_loop: { zeroed: ['line', 'zenoh /cmd_vel'], failed: {} } });
      await operator.done;
      base.stdin!.end();
    },
  );
});
