import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_NOTED } from '../../daemon/mcp/session-run.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { connectClient, httpTransport, startMcpDaemon, text, untrustedData } from './mcp-client.ts';

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

describe('the MCP gateway over streamable HTTP', () => {
  it('lists the read-only tools by default, reads /odom as a run of the caller, and stops the robot', async () => {
    const { url, agent } = await startMcpDaemon(cleanups);
    const client = await connectClient(cleanups, httpTransport(url), 'desk-agent');

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['bag_info', 'graph', 'query', 'read_topic', 'runs', 'stop']);

    const read = await client.callTool({ name: 'read_topic', arguments: { topic: '/odom' } });
    expect(read.isError).toBeFalsy();
    const odom = untrustedData(read);
    expect(odom.untrusted).toBe(true);
    expect(JSON.stringify(odom.data)).toContain('nav_msgs/msg/Odometry');
    const [run] = agent.listRuns({ limit: 1 });
    expect(run!.tree_ref).toBe('skill:read_topic');
    const intent = agent.getRun(run!.run_id)!;
    expect(JSON.stringify(intent)).toContain('mcp:desk-agent');

    const query = await client.callTool({ name: 'query', arguments: { sql: 'SELECT 42 AS answer' } });
    expect(JSON.stringify(untrustedData(query).data)).toContain('42');

    const stop = await client.callTool({ name: 'stop', arguments: { reason: 'test' } });
    expect(stop.isError).toBeFalsy();
    expect(untrustedData(stop).data).toMatchObject({ topic: '/cmd_vel' });
    expect(text(stop)).toContain('mcp:desk-agent');
  });
});

describe("the session's run", () => {
  it('journals a read answered through the API as a tool call of the caller, and ends with the count', async () => {
    const { url, agent } = await startMcpDaemon(cleanups);
    const transport = httpTransport(url);
    const client = await connectClient(cleanups, transport, 'analyst');
    const before = agent.listRuns({ limit: 1000 }).length;
    await client.callTool({ name: 'query', arguments: { sql: 'SELECT 42 AS answer' } });
    const session = await waitForValue(
      () => agent.listRuns({ limit: 1000 }).find((r) => r.tree_ref === 'mcp:session'),
      "the session's run",
    );
    await waitFor(() => agent.getRun(session.run_id)!.events.length === 3, 'the call and its result in the run');
    const [accepted, call, result] = agent.getRun(session.run_id)!.events;
    expect(accepted!.payload).toMatchObject({ intent: { type: 'mcp_session', policy_ctx: { actor: 'mcp:analyst' } } });
    expect(call).toMatchObject({
      kind: 'tool.call',
      payload: { tool: 'query', input: { sql: 'SELECT 42 AS answer' } },
    });
    expect(result).toMatchObject({ kind: 'tool.result', payload: { tool: 'query', result: { ok: true } } });
    expect(JSON.stringify(result!.payload)).toContain('42');

    // A long SQL is journaled as its start and its length: ten such calls a minute must not grow the journal by MBs.
    const long = `SELECT 1 -- ${'x'.repeat(10_000)}`;
    await client.callTool({ name: 'query', arguments: { sql: long } });
    await waitFor(() => agent.getRun(session.run_id)!.events.length === 5, 'the second call in the run');
    const { input } = agent.getRun(session.run_id)!.events[3]!.payload as { input: Record<string, unknown> };
    expect(input).toEqual({ json_start: JSON.stringify({ sql: long }).slice(0, 4096), json_chars: long.length + 10 });

    await transport.terminateSession();
    await waitFor(() => !agent.getRun(session.run_id)!.run.reason!.includes('window ends'), 'the window to end');
    expect(agent.getRun(session.run_id)!.run).toMatchObject({
      status: 'succeeded',
      reason: 'MCP calls from mcp:analyst: 2 answered (query 2)',
    });
    expect(agent.listRuns({ limit: 1000 })).toHaveLength(before + 1);
  });
});

describe("the session's run under many calls", () => {
  it('journals every answered call, past the refusals it notes one by one, so runs show all an outside agent did', async () => {
    const { url, agent } = await startMcpDaemon(cleanups);
    const transport = httpTransport(url);
    const client = await connectClient(cleanups, transport, 'busy');
    const calls = MAX_NOTED + 5;
    for (let i = 0; i < calls; i++) await client.callTool({ name: 'runs', arguments: { limit: i + 1 } });
    const session = await waitForValue(
      () => agent.listRuns({ limit: 1000 }).find((r) => r.tree_ref === 'mcp:session'),
      "the session's run",
    );
    const inputs = () =>
      agent
        .getRun(session.run_id)!
        .events.filter((e) => e.kind === 'tool.call')
        .map((e) => e.payload.input);
    await waitFor(() => inputs().length === calls, 'every call in the run');
    expect(inputs().map((input) => (input as { limit: number }).limit)).toEqual(
      Array.from({ length: calls }, (_, i) => i + 1),
    );
    await transport.terminateSession();
    await waitFor(
      () =>
        agent.getRun(session.run_id)!.run.status === 'succeeded' &&
        !agent.getRun(session.run_id)!.run.reason!.includes('window ends'),
      'the window to end',
    );
    expect(agent.getRun(session.run_id)!.events.at(-1)).toMatchObject({
      kind: 'mcp.session.total',
      payload: { calls, refused: 0, by: { runs: calls }, noted_refused: 0 },
    });
  });
});

describe('the MCP gateway behind the API token', () => {
  it('refuses a client without the token, as every API route does, and serves one with it', async () => {
    const { url } = await startMcpDaemon(cleanups, { api: { enabled: true, port: 0, token: 's3cret' } });
    await expect(connectClient(cleanups, httpTransport(url))).rejects.toThrow(/401|unauthorized|bearer/i);
    await expect(connectClient(cleanups, httpTransport(url, 'wrong'))).rejects.toThrow(/401|wrong bearer/i);
    const client = await connectClient(cleanups, httpTransport(url, 's3cret'));
    expect((await client.callTool({ name: 'runs', arguments: {} })).isError).toBeFalsy();
  });
});

describe('MCP sessions past mcp.max_sessions', () => {
  it('closes the session idle longest for a new client, which is not locked out', async () => {
    const { url } = await startMcpDaemon(cleanups, { mcp: { max_sessions: 2 } });
    const first = await connectClient(cleanups, httpTransport(url), 'first');
    const second = await connectClient(cleanups, httpTransport(url), 'second');
    await first.callTool({ name: 'runs', arguments: {} }); // now the second is idle longest
    const third = await connectClient(cleanups, httpTransport(url), 'third');
    expect((await third.callTool({ name: 'runs', arguments: {} })).isError).toBeFalsy();
    expect((await first.callTool({ name: 'runs', arguments: {} })).isError).toBeFalsy();
    await expect(second.callTool({ name: 'runs', arguments: {} })).rejects.toThrow(/404|not open here/);
    const gateway = await third.readResource({ uri: 'auraison://mcp/gateway' });
    const counters = JSON.parse((gateway.contents[0] as { text: string }).text) as Record<string, unknown>;
    expect(counters).toMatchObject({ sessions: 2, refused: { 'session:evicted': 1 } });
  });
});

describe('the status resource', () => {
  it('tells a subscriber when the stop latches, and refuses a subscription to another resource', async () => {
    const { url } = await startMcpDaemon(cleanups);
    const client = await connectClient(cleanups, httpTransport(url));
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: 'auraison://robot/status' });
    await expect(client.subscribeResource({ uri: 'auraison://robot/runs' })).rejects.toThrow(/only auraison/);
    await client.callTool({ name: 'stop', arguments: {} });
    await waitFor(() => updated.length > 0, 'a resources/updated notification after the stop');
    expect(updated).toEqual(['auraison://robot/status']);
    const status = await client.readResource({ uri: 'auraison://robot/status' });
    expect((status.contents[0] as { text: string }).text).toContain('"stop_latch":{');
  });
});
