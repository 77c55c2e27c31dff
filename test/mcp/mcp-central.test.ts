import { describe, expect, it } from 'vitest';
import { startCentralServe } from '../../central/serve.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { silentLogger } from '../../daemon/log.ts';
import { centralConfig, waitOnline } from '../central/central-harness.ts';
import { serveSettings } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { connectClient, httpTransport, startMcpDaemon } from './mcp-client.ts';

/**
 * What an outside agent did through MCP is the fleet's to read, as any run: the session's run (its answered calls,
 * its refusals, the count) goes from the robot's journal to central's `events` (central serve ingesting over a real
 * mosquitto), under the run's id and with the client's name.
 */
describe("an MCP session's run, followed to central", () => {
  const cleanups = cleanupStack();

  it("reaches central serve's events with its calls, its refusal, its count and its end", async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const lake = tempDir('mcp-central-');
    cleanups.push(lake.cleanup);
    const serve = await startCentralServe(serveSettings({ broker, dir: lake.path }), { log: silentLogger() });
    cleanups.push(() => serve.close());
    await waitFor(() => serve.intake.connected, 'central serve to connect');

    const { daemon, url } = await startMcpDaemon(
      cleanups,
      { robot: { id: 'r1', fleet: 'lab' }, central: centralConfig(broker.url) },
      { prefix: 'mcp-central-' },
    );
    await waitOnline(daemon);
    const transport = httpTransport(url);
    const client = await connectClient(cleanups, transport, 'fleet-agent');
    expect((await client.callTool({ name: 'graph', arguments: {} })).isError).toBeFalsy();
    expect((await client.callTool({ name: 'publish', arguments: { topic: '/cmd_vel' } })).isError).toBe(true);
    await transport.terminateSession(); // ends the session's window: its count, and its run's end

    const agent = daemon.ports.get(PORTS.agent)!;
    const session = await waitForValue(
      () => agent.listRuns({ limit: 10 }).find((r) => r.tree_ref === 'mcp:session'),
      "the session's run",
    );
    const kinds = await waitForValue(
      async () => {
        const { rows } = await serve.view.query(
          `SELECT json_extract_string(data, '$.kind') FROM events
           WHERE robot = 'r1' AND kind = 'agent_event' AND json_extract_string(data, '$.run_id') = '${session.run_id}'
           ORDER BY seq`,
        );
        const got = rows.map(([kind]) => kind as string);
        return got.includes('mcp.session.total') ? got : undefined;
      },
      "the session run's events in central's events",
      60_000,
    );
    expect(kinds).toEqual(expect.arrayContaining(['tool.call', 'tool.result', 'mcp.refused', 'mcp.session.total']));
    expect(kinds.filter((k) => k === 'tool.call')).toHaveLength(1);

    const ended = await waitForValue(
      async () => {
        const { rows } = await serve.view.query(
          `SELECT json_extract_string(data, '$.status'), json_extract_string(data, '$.reason') FROM events
           WHERE robot = 'r1' AND kind = 'run_state' AND json_extract_string(data, '$.run_id') = '${session.run_id}'
           ORDER BY seq`,
        );
        const last = rows.at(-1);
        return last && !String(last[1]).includes('window ends') ? last : undefined;
      },
      "the session run's end in central's events",
      60_000,
    );
    expect(ended).toEqual([
      'failed',
      'MCP calls from mcp:fleet-agent: 1 refused, 1 answered (graph 1, publish:unexposed 1)',
    ]);
  }, 120_000);
});
