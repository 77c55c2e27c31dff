// An openpi server that stalls, closes, lies or floods (test/peers/python/openpi_server.py's faults, on the real wire):
// each costs the loop a hold, counted, with its reason in status, and nothing else; the loop drives again once the
// server does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteFailure } from '../../daemon/system1/remote/chunk-check.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { startOpenpiServer, type OpenpiFault, type OpenpiServer } from '../peers/openpi.ts';
import { loopHarness } from './loop-harness.ts';

const cleanups = cleanupStack(afterAll);
const STATE = { obs: { shape: [2], sources: [{ topic: '/obs', field: 'data' }] } };

/** A loop at 50 Hz on `url`, fed its state until the file ends; quick to give up and to reconnect. */
/**
 * remote.timeout_ms: past what a loaded machine takes to pass a megabyte from the server (the huge case must be refused
 * for its size, not time out first), short enough that the stall case's wait is a couple of seconds.
 */
const TIMEOUT_MS = 2000;

async function remoteLoop(url: string, remote: Record<string, unknown> = {}) {
  const harness = loopHarness(
    '',
    { rate_hz: 50, on_underrun: 'hold' },
    {
      inputs: STATE,
      remote: {
        settings: { openpi: url, timeout_ms: TIMEOUT_MS, reconnect_min_ms: 50, reconnect_max_ms: 200, ...remote },
        chunk: [10, 2],
      },
    },
  );
  const { bus, control, publishing } = harness;
  await control.start();
  cleanups.push(() => bus.close());
  cleanups.push(() => control.close());
  cleanups.push(publishing([0.5, -0.5]));
  return harness;
}

describe('a loop on an openpi server that fails', () => {
  let server: OpenpiServer;
  let loop: Awaited<ReturnType<typeof remoteLoop>>;
  beforeAll(async () => {
    server = await startOpenpiServer({ policy: 'ramp', chunk: 10, actionDim: 2 });
    cleanups.push(() => server.close());
    loop = await remoteLoop(server.url);
    await waitFor(() => loop.control.stats().chunks >= 2, 'two chunks before any fault');
  }, 60_000);

  const cases: [OpenpiFault, RemoteFailure, RegExp][] = [
    ['stall', 'timeout', /^timeout: no reply within remote\.timeout_ms \(2000 ms\)$/],
    ['close', 'closed', /^closed: the server closed the connection \(1000\)$/],
    ['shape', 'shape', /^shape: actions of shape \[10,3\], not the declared \[10,2\]$/],
    ['dtype', 'dtype', /^dtype: actions of dtype "<i8": a chunk is float32 or float64/],
    ['nan', 'non_finite', /^non_finite: action 1 element 0 is NaN as float32: the chunk is refused$/],
    ['garbage', 'malformed', /^malformed: not msgpack as openpi writes it/],
    ['text', 'server_error', /^server_error: the server failed: RuntimeError: the policy failed on purpose/],
    ['huge', 'too_large', /^too_large: a message over remote\.max_reply_bytes \(1048576 bytes\) was refused unread$/],
  ];

  it.each(cases)(
    '%s: the loop holds, counts a %s failure and says why, then drives again',
    async (fault, reason, why) => {
      const { control, commands } = loop;
      const before = control.stats();
      const failedBefore = before.remote!.failures[reason] ?? 0;
      await server.fault(fault);
      await waitFor(() => (control.stats().remote!.failures[reason] ?? 0) > failedBefore, `a ${reason} failure`);
      expect(control.stats().remote!.lastError).toMatch(why);
      // No chunk came since: the queue ran dry and the loop held (on_underrun: hold), counted.
      await waitFor(() => control.stats().underruns > before.underruns, 'a held tick');
      expect(control.alive()).toBe(true);
      await server.fault('none');
      await drivesAgain(commands.length);
    },
  );

  it('unasked: a message no observation asked for loses the connection, which is made anew', async () => {
    const { control, commands } = loop;
    const { connects } = control.stats().remote!;
    await server.fault('unasked');
    await waitFor(() => control.stats().remote!.connects > connects, 'a new connection');
    expect(control.stats().remote!.lastError).toBe('malformed: the server sent a message no observation asked for');
    await server.fault('none');
    await drivesAgain(commands.length);
  });

  /** Chunks come again and drive the robot (commands from `sent` on), the link up. */
  async function drivesAgain(sent: number): Promise<void> {
    const { control, commands } = loop;
    const chunks = control.stats().chunks;
    await waitFor(() => control.stats().chunks >= chunks + 2, 'chunks again once the server behaves');
    expect(commands.slice(sent).some((c) => !c.safe)).toBe(true);
    expect(control.stats().remote!.state).toBe('up');
  }

  it('keeps one failure from costing more than its request: every other chunk was taken', () => {
    const { remote, errors } = loop.control.stats();
    const failures = Object.values(remote!.failures).reduce((a, b) => a + b, 0);
    // One request may be in flight now.
    expect(remote!.requests - (remote!.chunks + failures)).toBeLessThanOrEqual(1);
    // Every failure reached the loop as a failed request, none as a crash.
    expect(errors).toBe(failures);
  });
});

describe('an openpi server that never says its metadata, or is not there', () => {
  it('starts the loop anyway, holding, and says why in status: the connection made anew after its backoff', async () => {
    const server = await startOpenpiServer({ policy: 'ramp', chunk: 10, actionDim: 2, fault: 'metadata' });
    cleanups.push(() => server.close());
    const { control, commands } = await remoteLoop(server.url);
    await waitFor(() => (control.stats().remote?.failures.unreachable ?? 0) > 0, 'a request while it connects');
    await waitFor(() => server.connections >= 2, 'a second connection after the first gave up on its metadata');
    const { remote, fault, chunks } = control.stats();
    expect(remote!.state).not.toBe('up');
    expect(fault).toMatch(/^remote policy openpi ws:\/\/127\.0\.0\.1:\d+ is (connecting|down)/);
    expect(chunks).toBe(0);
    expect(commands.every((c) => c.safe)).toBe(true);
    expect(control.alive()).toBe(true);
  });

  it('drives once a server comes up where there was none', async () => {
    const gone = await startOpenpiServer({ policy: 'ramp', chunk: 10, actionDim: 2 });
    const port = gone.port;
    await gone.close();
    const { control } = await remoteLoop(`ws://127.0.0.1:${port}`);
    await waitFor(() => control.stats().remote?.reason?.includes('ECONNREFUSED') ?? false, 'connections refused');
    expect(control.stats().fault).toMatch(/is (down|connecting)/);
    const server = await startOpenpiServer({ policy: 'ramp', chunk: 10, actionDim: 2, port });
    cleanups.push(() => server.close());
    await waitFor(() => control.stats().chunks >= 2, 'chunks once the server is up');
    expect(control.stats().remote!.state).toBe('up');
    expect(control.stats().fault).toBeUndefined();
  });
});
