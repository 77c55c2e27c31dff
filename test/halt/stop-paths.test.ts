import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedChromium } from '../api/chromium.ts';
import { blockThisLoopUntil } from '../helpers/blocked-loop.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli } from '../helpers/cli.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { connectClient, httpTransport, metric, untrustedData } from '../mcp/mcp-client.ts';
import { listenerDaemon, stopEvents } from './listener-daemon.ts';

// Every stop a person presses takes the stop listener's path: the CLI's `stop` and the status page's STOP reach the
// stop line (the control loops' threads and the sim hold) and the listener's zero commands while the daemon's main
// thread is blocked on purpose (this test's own thread, which the in-process daemon shares, waits in Atomics.wait),
// and each still prints the daemon's full report once the main thread runs again (MCP's stop tool on the listener:
// stop-mcp-listener.test.ts). MCP's stop tool sent to the API's own /mcp and the bus query agent/stop (ROS 2's and
// Zenoh's services) come in on the main thread: they stop the robot in the tick their request is read, the line
// first, before anything that can wait.

const cleanups = cleanupStack();
const chromium = sharedChromium();
afterAll(() => chromium.close());

/** The daemon's config as a file, for a CLI in another process to find it by (its data dir, its run/api.json). */
function cliConfig(dataDir: string): string {
  const path = join(dataDir, '..', 'cli.yaml');
  writeFileSync(path, `data_dir: ${dataDir}\napi:\n  port: 0\n`);
  return path;
}

describe("the stops a person presses, with the daemon's main thread blocked", () => {
  it(
    "auraison-edge stop holds the line before the main thread runs, then prints the daemon's report",
    { timeout: 120_000 },
    async () => {
      const { daemon, line } = await listenerDaemon(cleanups, 'stop-path-cli-');
      const events = stopEvents(daemon);
      const config = cliConfig(daemon.dataDir);
      const cli = runCli(['stop', '--by', 'ada', '--reason', 'person in the aisle', '--config', config]);
      // Blocked from here until the CLI's stop is on the line: its process starts, finds the listener in
      // run/api.json and sends there, none of which waits for this thread.
      const held = blockThisLoopUntil(() => line.stops === 1, 90_000);
      const whileBlocked = {
        pending: line.pending,
        holds: line.holds,
        latch: daemon.haltAuthority.latch.state,
        refusal: daemon.haltAuthority.latch.refusal(),
      };
      expect(held).toBe(true);
      expect(whileBlocked).toMatchObject({ pending: 1, holds: true, latch: undefined });
      expect(whileBlocked.refusal).toMatch(/stop listener/);

      const { code, stdout, stderr } = await cli;
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout.split('\n')).toEqual([
        expect.stringMatching(/^daemon: .* \(pid \d+, http:\/\/127\.0\.0\.1:\d+\)$/),
        'stopped: zero Twist on /cmd_vel',
        'no run was active',
        'latched: nothing the daemon governs moves the robot until released (`auraison-edge stop --release`)',
        '',
      ]);
      expect(daemon.haltAuthority.latch.state).toMatchObject({ by: 'ada', reason: 'person in the aisle' });
      expect(line.pending).toBe(0);
      const event = await waitForValue(() => events[0], 'the stop.engaged event');
      expect(event).toMatchObject({ by: 'ada', off_loop: { zeroed: ['line'], failed: {} } });
      expect(daemon.haltAuthority.counters.stops).toBe(1);
    },
  );

  it(
    'auraison-edge stop says NOT confirmed, and what it zeroed, when the main thread does not take it in 3 s',
    { timeout: 120_000 },
    async () => {
      const { daemon, line } = await listenerDaemon(cleanups, 'stop-path-cli-stuck-');
      const cli = runCli(['stop', '--by', 'ada', '--config', cliConfig(daemon.dataDir), '--json']);
      expect(blockThisLoopUntil(() => line.stops === 1, 90_000)).toBe(true);
      // Held past the listener's wait for the daemon's report: the listener answers the CLI with its own.
      blockThisLoopUntil(() => false, 3500);
      const { code, stdout } = await cli;
      expect(code).toBe(1);
      expect(JSON.parse(stdout)).toMatchObject({ stopped: true, by: 'ada', zeroed: ['line'], report: null });
      // The main thread takes it all the same once it runs.
      await waitFor(() => daemon.haltAuthority.latch.state?.by === 'ada', 'the latch');
    },
  );

  it(
    "the status page's STOP holds the line before the main thread runs, then shows the daemon's report",
    { timeout: 120_000 },
    async () => {
      const { daemon, apiUrl, line } = await listenerDaemon(cleanups, 'stop-path-page-');
      const browser = await chromium.context();
      cleanups.push(() => browser.close());
      const page: Page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(apiUrl);
      await page.locator('#ready', { hasText: 'ready' }).waitFor(); // /status read: the page knows the listener
      // The click comes from the page's own timer, while this thread (the daemon's main one) is blocked.
      await page.evaluate("setTimeout(() => document.getElementById('stop').click(), 300)");
      const held = blockThisLoopUntil(() => line.stops === 1, 30_000);
      const whileBlocked = { pending: line.pending, latch: daemon.haltAuthority.latch.state };
      expect(held).toBe(true);
      expect(whileBlocked).toEqual({ pending: 1, latch: undefined });

      const result = page.locator('#stop-result');
      await result.locator('.stopped').waitFor();
      expect(await result.textContent()).toMatch(/^stopped \S.*: zero Twist on \/cmd_vel, no run was active$/);
      await page.locator('#stop-latch', { hasText: 'STOPPED (latched) by status-page' }).waitFor();
      expect(daemon.haltAuthority.latch.state?.by).toBe('status-page');
      expect(daemon.haltAuthority.counters.stops).toBe(1);
      expect(errors).toEqual([]);
    },
  );
});

describe('the stops that come in on the main thread', () => {
  it("MCP's stop tool stops the robot once, as its request is read, and answers with that stop's report", async () => {
    const { daemon, apiUrl, line } = await listenerDaemon(cleanups, 'stop-path-mcp-');
    const events = stopEvents(daemon);
    const client = await connectClient(cleanups, httpTransport(apiUrl), 'desk-agent');
    const result = await client.callTool({ name: 'stop', arguments: { reason: 'hands off' } });
    expect(result.isError).toBeFalsy();
    expect(untrustedData(result).data).toMatchObject({ topic: '/cmd_vel', latched: { by: 'mcp:desk-agent' } });
    expect(line.stops).toBe(1);
    expect(daemon.haltAuthority.latch.state).toMatchObject({ by: 'mcp:desk-agent', reason: 'hands off' });
    await waitForValue(() => events[0], 'the stop.engaged event');
    expect(daemon.haltAuthority.counters.stops).toBe(1);
    expect(events).toHaveLength(1);
    // Taken by the gateway as it read the call, not by a second pass through the API's POST /stop.
    expect(await metric(apiUrl, 'auraison_api_requests_total{method="POST",route="/stop",code="200"}')).toBeUndefined();
  });

  it('agent/stop (the query ROS 2 and Zenoh services call) stops the robot in the tick it is asked', async () => {
    const { daemon, line } = await listenerDaemon(cleanups, 'stop-path-query-');
    const asked = daemon.bus.query('agent/stop', {
      encoding: 'application/json',
      payload: new TextEncoder().encode(JSON.stringify({ by: 'ros-button' })),
    });
    // Nothing awaited yet: the line, the zero command and the latch are there already.
    expect({ stops: line.stops, holds: line.holds, latch: daemon.haltAuthority.latch.state?.by }).toEqual({
      stops: 1,
      holds: true,
      latch: 'ros-button',
    });
    const reply = await asked;
    expect(JSON.parse(new TextDecoder().decode(reply.payload))).toMatchObject({ topic: '/cmd_vel' });
  });
});
