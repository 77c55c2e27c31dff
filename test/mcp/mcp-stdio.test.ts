import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { BIN } from '../helpers/cli.ts';
import { closedPort } from '../helpers/closed-port.ts';
import { connectClient, startMcpDaemon, text, untrustedData } from './mcp-client.ts';

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

describe('auraison-edge mcp (stdio)', () => {
  it('relays a desktop agent to the daemon: tools, /odom, an intent followed to its end, the stop', async () => {
    const { url, agent } = await startMcpDaemon(cleanups, { mcp: { tools: ['read_topic', 'submit_intent', 'runs'] } });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--url', url],
      stderr: 'pipe',
    });
    const client = await connectClient(cleanups, transport, 'claude-desktop');

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['read_topic', 'runs', 'stop', 'submit_intent']);

    const odom = await client.callTool({ name: 'read_topic', arguments: { topic: '/odom' } });
    expect(JSON.stringify(untrustedData(odom).data)).toContain('pose');

    const submitted = await client.callTool({
      name: 'submit_intent',
      arguments: { type: 'read_topic', params: { topic: '/scan' } },
    });
    const followed = untrustedData(submitted).data as { run: { run_id: string; status: string } };
    expect(followed.run.status).toBe('succeeded');
    expect(agent.getRun(followed.run.run_id)!.run.status).toBe('succeeded');
    const shown = await client.callTool({ name: 'runs', arguments: { run_id: followed.run.run_id } });
    expect(text(shown)).toContain('mcp:claude-desktop');

    const stop = await client.callTool({ name: 'stop', arguments: {} });
    expect(stop.isError).toBeFalsy();
    expect(untrustedData(stop).data).toHaveProperty('topic', '/cmd_vel');
  });

  it('answers a call with an error naming the daemon when none runs at the URL', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--url', `http://127.0.0.1:${await closedPort()}`],
      stderr: 'pipe',
    });
    await expect(connectClient(cleanups, transport)).rejects.toThrow(/did not answer/);
  });
});
