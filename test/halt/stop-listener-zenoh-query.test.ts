import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import type { JournalRecord } from '../../daemon/contract/index.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { HaltLine } from '../../daemon/halt/index.ts';
import { blockThisLoopUntil } from '../helpers/blocked-loop.ts';
import { tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { useZenohNetwork } from '../zenoh/zenoh-network.ts';

// agent/stop over Zenoh (a plain queryable and a ROS 2 service with rmw_zenoh keys) is served on the stop listener's
// thread: eclipse-zenoh callers (test/peers/zenoh/ros_peer.py, their replies written to a file this test reads
// without an event loop) are answered while the daemon's main thread, which this test shares, is blocked on purpose.

const MSGS = resolve('test/fixtures/msgs/common_interfaces');
const TRIGGER = 'std_srvs/srv/Trigger';

type Reply = { ok: boolean; payload: string; encoding?: string };

describe('agent/stop over Zenoh, with the stop listener on', () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;

  /** A one-shot caller (a `get` or a service `call`) whose replies this thread reads from a file, blocked or not. */
  function caller(spec: Record<string, unknown>): () => Reply[] | undefined {
    const dir = tempDir('stop-zenoh-caller-');
    cleanups.push(async () => dir.cleanup());
    const file = join(dir.path, 'out.jsonl');
    const out = openSync(file, 'w');
    const child = spawn(
      zn.net.peers.python,
      [zn.net.peers.peerScript, JSON.stringify({ router: zn.net.routerEndpoint, ...spec })],
      { stdio: ['ignore', out, 'inherit'] },
    );
    closeSync(out);
    cleanups.push(async () => void child.kill('SIGKILL'));
    return () => {
      if (!existsSync(file)) return undefined;
      const line = readFileSync(file, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('{"event": "replies"'));
      return line ? (JSON.parse(line) as { replies: Reply[] }).replies : undefined;
    };
  }

  const get = (payload: string) => caller({ get: { key: 'agent/stop', payload } });

  async function startStopDaemon(stopListener: boolean) {
    const started = await startDaemon(
      {
        api: { port: 0 },
        motion: { stop: { listener: stopListener } },
        foxglove: { enabled: false },
        bus: { definitions: { dirs: [MSGS] } },
        zenoh: {
          enabled: true,
          endpoint: zn.net.wsUrl,
          publish: ['/cmd_vel'],
          queries: ['agent/stop'],
          services: { serve: [{ query: 'agent/stop', service: '/auraison/stop', type: TRIGGER }] },
        },
      },
      'stop-zenoh-query-',
    );
    // Stopped by the test (two daemons on one graph would both answer) or after it, once.
    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= started.stop());
    cleanups.push(stop);
    const engaged: Record<string, unknown>[] = [];
    started.daemon.journal.subscribe((record: JournalRecord) => {
      const data = record.data as { kind?: string; payload?: Record<string, unknown> };
      if (data.kind === 'stop.engaged') engaged.push(data.payload!);
    });
    return { ...started, stop, engaged, line: new HaltLine(started.daemon.haltAuthority.haltLine) };
  }

  async function release(daemon: Daemon, line: HaltLine): Promise<void> {
    await daemon.haltAuthority.release('test');
    expect(line.pending).toBe(0);
  }

  it(
    "answers a get and a ROS 2 service call on the listener's thread while the main loop is blocked, and the daemon takes each stop once",
    { timeout: 180_000 },
    async () => {
      const { daemon, codec, engaged, line, stop } = await startStopDaemon(true);
      // Once, with the main thread free: the listener's session is up and answers.
      await waitFor(
        async () => {
          const replies = await waitForValue(get('{"by": "warm-up"}'), 'the warm-up reply', 30_000);
          return replies.length === 1 && replies[0]!.ok && JSON.parse(replies[0]!.payload).stopped === true;
        },
        "the stop listener's agent/stop to answer",
        90_000,
      );
      await waitFor(() => engaged.some((e) => e.by === 'warm-up') && line.pending === 0, 'the warm-up taken');
      await release(daemon, line);

      const replies = get('{"by": "ada", "reason": "e-stop button"}');
      const stopsBefore = line.stops;
      // Blocked from here: nothing of the daemon's main thread runs, nor its main Zenoh session's callbacks.
      const answered = blockThisLoopUntil(() => replies() !== undefined, 60_000);
      const whileBlocked = { replies: replies(), pending: line.pending, stops: line.stops, holds: line.holds };
      expect(answered, JSON.stringify(whileBlocked)).toBe(true);
      expect(whileBlocked).toMatchObject({ pending: 1, stops: stopsBefore + 1, holds: true });
      expect(whileBlocked.replies).toHaveLength(1);
      const [reply] = whileBlocked.replies!;
      expect(reply).toMatchObject({ ok: true, encoding: 'application/json' });
      expect(JSON.parse(reply!.payload)).toMatchObject({
        stopped: true,
        by: 'ada',
        reason: 'e-stop button',
        zeroed: ['line', 'zenoh /cmd_vel'],
        not_zeroed: {},
      });

      // The main thread takes it once: its latch, one stop.engaged with what the thread did.
      await waitFor(
        () => daemon.haltAuthority.latch.state?.by === 'ada' && line.pending === 0,
        'the main thread to latch it',
      );
      await waitFor(() => engaged.some((e) => e.by === 'ada'), 'the stop.engaged event');
      expect(engaged.filter((e) => e.by === 'ada')).toEqual([
        expect.objectContaining({
          reason: 'e-stop button',
          off_loop: expect.objectContaining({ zeroed: ['line', 'zenoh /cmd_vel'] }),
        }),
      ]);
      await release(daemon, line);

      // A ROS 2 client's call (rmw_zenoh's get with its attachment), with the main loop blocked.
      const hash = typeDescriptionHash(daemon.definitions, TRIGGER)!;
      const request = Buffer.from(codec.encode(`${TRIGGER}_Request`, {})).toString('hex');
      const call = caller({ call: { key: `0/auraison/stop/std_srvs::srv::dds_::Trigger_/${hash}`, request } });
      const called = blockThisLoopUntil(() => call() !== undefined, 60_000);
      expect(called).toBe(true);
      expect(line.pending).toBe(1);
      const [response] = call()!;
      expect(response!.ok).toBe(true);
      const trigger = codec.decode<{ success: boolean; message: string }>(
        `${TRIGGER}_Response`,
        Buffer.from(response!.payload, 'hex'),
      );
      expect(trigger.success).toBe(true);
      expect(JSON.parse(trigger.message)).toMatchObject({
        stopped: true,
        by: 'bus',
        zeroed: ['line', 'zenoh /cmd_vel'],
      });
      await waitFor(
        () => engaged.filter((e) => e.by === 'bus').length === 1 && line.pending === 0,
        'the service stop taken',
      );
      expect(engaged.filter((e) => e.by === 'bus')).toHaveLength(1);
      await stop(); // the next test's daemon serves agent/stop on this graph alone
    },
  );

  it(
    "refuses a request that is not a stop with the main path's error, and stops nothing; with the listener off the main loop answers as before",
    { timeout: 180_000 },
    async () => {
      const on = await startStopDaemon(true);
      await waitFor(
        async () => {
          const replies = await waitForValue(get('{"by": "warm-up"}'), 'the warm-up reply', 30_000);
          return replies.length === 1 && replies[0]!.ok && JSON.parse(replies[0]!.payload).stopped === true;
        },
        "the stop listener's agent/stop to answer",
        90_000,
      );
      await waitFor(() => on.engaged.some((e) => e.by === 'warm-up') && on.line.pending === 0, 'the warm-up taken');
      await release(on.daemon, on.line);
      const stopsBefore = on.line.stops;
      const refusedOffLoop = await waitForValue(get('{"by": 7}'), 'the refusal');
      expect(on.line.stops).toBe(stopsBefore);
      await on.stop();

      const off = await startStopDaemon(false);
      const refusedOnLoop = await waitForValue(
        async () => {
          const replies = await waitForValue(get('{"by": 7}'), 'a reply', 30_000);
          return replies.length === 1 && replies;
        },
        'the main loop to answer',
        90_000,
      );
      expect(refusedOffLoop).toEqual(refusedOnLoop);
      expect(refusedOnLoop[0]).toMatchObject({ ok: false, encoding: 'application/json' });
      expect(JSON.parse(refusedOnLoop[0]!.payload)).toMatchObject({
        code: 'handler_error',
        message: expect.stringContaining('The robot was NOT stopped'),
      });
      expect(off.line.stops).toBe(0);

      // The main path's own answer: the daemon's report, its latch in it.
      const stopped = await waitForValue(get('{"by": "grace"}'), 'the stop');
      expect(stopped).toHaveLength(1);
      expect(JSON.parse(stopped[0]!.payload)).toMatchObject({ latched: { by: 'grace' } });
      expect(off.engaged.filter((e) => e.by === 'grace')).toHaveLength(1);
    },
  );
});
