import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { deadPort } from '../helpers/closed-port.ts';
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
      args: [BIN, 'mcp', '--url', `http://127.0.0.1:${await deadPort()}`],
      stderr: 'pipe',
    });
    await expect(connectClient(cleanups, transport)).rejects.toThrow(/did not answer/);
  });

  // The SDK's stdio transport never closes on stdin's end: the command ended with Node's 13 (an unsettled
  // top-level await), which a desktop agent reports as a crash. Its help promises 0.
  const INITIALIZE = `${JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pipe', version: '1' } },
  })}\n`;

  it('exits 0 when its input closes, with a daemon, after printing the answer to what came before', async () => {
    const { url } = await startMcpDaemon(cleanups, { mcp: { tools: ['read_topic'] } });
    const r = await runCli(['mcp', '--url', url], { input: INITIALIZE });
    expect(r.code, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout.split('\n')[0]!) as { id: number; result?: { serverInfo?: unknown } };
    expect(answer).toMatchObject({ id: 1, result: { serverInfo: expect.anything() } });
    expect(r.stderr).toBe('');
  });

  it('exits 0 when its input closes with no daemon, having said once what is wrong and what to do', async () => {
    const url = `http://127.0.0.1:${await deadPort()}`;
    const idle = await runCli(['mcp', '--url', url]);
    expect(idle.code).toBe(0);
    expect(idle.stderr.trim().split('\n')).toEqual([
      `auraison-edge mcp: no daemon answers at ${url}/mcp (connection refused): is a daemon listening at that URL? (\`auraison-edge status --url URL\` checks); until one does, each request is answered with an error`,
    ]);
    // Two requests: each answered with an error, the daemon's absence said once (it was twice per request).
    const tools = `${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })}\n`;
    const asked = await runCli(['mcp', '--url', url], { input: INITIALIZE + tools });
    expect(asked.code).toBe(0);
    const answers = asked.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; error?: { message: string } });
    expect(answers.map((a) => a.id).sort()).toEqual([1, 2]);
    for (const a of answers) expect(a.error?.message).toContain('did not answer: connection refused');
    expect(asked.stderr.match(/no daemon answers/g)).toHaveLength(1);
    expect(asked.stderr).not.toContain('fetch failed');
  });
});
