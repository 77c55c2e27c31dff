import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/index.ts';
import { blockThisLoopUntil, requestFromThread } from '../helpers/blocked-loop.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { BIN } from '../helpers/cli.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { connectClient, gatewayCounters, httpTransport, untrustedData } from '../mcp/mcp-client.ts';
import { listenerDaemon, stopEvents } from './listener-daemon.ts';

// MCP's stop tool takes the stop listener's path: an MCP client is sent to the listener's /mcp (mcp_url), whose thread
// takes a stop tool call's stop at once (the stop line: the control loops' threads and the sim hold) while the
// daemon's main thread is blocked on purpose (this test's own thread, which the in-process daemon shares), then relays
// the request to the API's /mcp, whose gateway answers it with that stop's report once the main thread runs. Every
// other call passes through unchanged, and the listener's /mcp is held to the API's gate.

const cleanups = cleanupStack();
const TOKEN = 'mcp-s3cret';

/** A JSON-RPC request of a session, as an MCP client sends it over streamable HTTP. */
function rpcHeaders(session: string, token?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-session-id': session,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

const stopCall = (id: number, reason: string) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'stop', arguments: { reason } } });

/** The JSON-RPC message of an answer's body: JSON, or the `data:` of an event stream's message. */
function rpcAnswer(body: string): { id: number; result?: { content: { text: string }[]; isError?: boolean } } {
  const data = body.startsWith('{')
    ? body
    : body
        .split('\n')
        .find((l) => l.startsWith('data: '))!
        .slice(6);
  return JSON.parse(data) as ReturnType<typeof rpcAnswer>;
}

/** A daemon with its listener, and an MCP session named `name` opened on the listener's /mcp (its mcp_url). */
async function listenerSession(prefix: string, name: string, config: Record<string, unknown> = {}, token?: string) {
  const started = await listenerDaemon(cleanups, prefix, config);
  const mcpUrl = readApiFile(started.daemon.dataDir)!.mcp_url!;
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
    ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
  });
  const client = await connectClient(cleanups, transport, name);
  return { ...started, mcpUrl, client, session: transport.sessionId! };
}

describe("MCP's stop tool on the stop listener", () => {
  it(
    'holds the line before the main thread runs, then answers with the stop taken once',
    { timeout: 180_000 },
    async () => {
      const { daemon, stopUrl, mcpUrl, session, line } = await listenerSession('stop-mcp-blocked-', 'desk-agent');
      expect(mcpUrl).toBe(`${stopUrl}/mcp`);
      const events = stopEvents(daemon);
      const asked = requestFromThread(mcpUrl, { headers: rpcHeaders(session), body: stopCall(7, 'hands off') });
      // Blocked from here: the call reaches the listener's thread, whose stop holds the line without this thread.
      const held = blockThisLoopUntil(() => line.stops === 1, 30_000);
      const whileBlocked = {
        pending: line.pending,
        holds: line.holds,
        latch: daemon.haltAuthority.latch.state,
        answered: asked.reply(),
      };
      expect(held).toBe(true);
      // The answer is the gateway's, on the main thread: it has not come.
      expect(whileBlocked).toEqual({ pending: 1, holds: true, latch: undefined, answered: undefined });

      // The main thread's part (the gateway, the daemon's stop, the relayed request): slow on a loaded machine.
      await waitFor(() => asked.reply() !== undefined, 'the stop tool call answered', 90_000);
      const reply = asked.reply()!;
      if ('error' in reply) throw new Error(reply.error);
      expect(reply.status).toBe(200);
      const answer = rpcAnswer(reply.body);
      expect(answer.id).toBe(7);
      expect(answer.result?.isError).toBeFalsy();
      expect(untrustedData(answer.result).data).toMatchObject({
        topic: '/cmd_vel',
        latched: { by: 'mcp:desk-agent', reason: 'hands off' },
      });
      const event = await waitForValue(() => events[0], 'the stop.engaged event');
      expect(event).toMatchObject({ by: 'mcp:desk-agent', reason: 'hands off', off_loop: { zeroed: ['line'] } });
      // One stop: the listener's, which the gateway kept for the call rather than taking it again.
      expect(events).toHaveLength(1);
      expect(daemon.haltAuthority.counters.stops).toBe(1);
      expect(line.pending).toBe(0);
      await asked.done;
    },
  );

  it('takes every stop call once, and still when a client sends the skip header itself', async () => {
    const { daemon, apiUrl, client, line } = await listenerSession('stop-mcp-forged-', 'desk-agent');
    const events = stopEvents(daemon);
    const forgedHeaders = { 'x-auraison-stop-taken': 'guessed' };
    const first = await client.callTool({ name: 'stop', arguments: { reason: 'one' } });
    expect(untrustedData(first).data).toMatchObject({ latched: { by: 'mcp:desk-agent', reason: 'one' } });
    // Straight to the API's /mcp, claiming the listener took its stop: the gateway takes it all the same.
    const direct = await connectClient(
      cleanups,
      new StreamableHTTPClientTransport(new URL(`${apiUrl}/mcp`), { requestInit: { headers: forgedHeaders } }),
      'forger',
    );
    const second = await direct.callTool({ name: 'stop', arguments: { reason: 'two' } });
    expect(second.isError).toBeFalsy();
    expect(untrustedData(second).data).toHaveProperty('topic', '/cmd_vel');
    // Through the listener: a client's own header is not passed on, and its stop is the listener's.
    const viaListener = await connectClient(
      cleanups,
      new StreamableHTTPClientTransport(new URL(readApiFile(daemon.dataDir)!.mcp_url!), {
        requestInit: { headers: forgedHeaders },
      }),
      'forger-2',
    );
    const third = await viaListener.callTool({ name: 'stop', arguments: { reason: 'three' } });
    expect(third.isError).toBeFalsy();

    await waitFor(() => events.length === 3, 'three stop.engaged events');
    expect(events.map((e) => [e.by, e.reason, 'off_loop' in e])).toEqual([
      ['mcp:desk-agent', 'one', true],
      ['mcp:forger', 'two', false],
      ['mcp:forger-2', 'three', true],
    ]);
    expect(daemon.haltAuthority.counters.stops).toBe(3);
    expect(line.stops).toBe(3);
  });

  it("takes a stop sent to the API's /mcp with a forged skip header, even where one of its id is kept", async () => {
    const { daemon, apiUrl } = await listenerDaemon(cleanups, 'stop-mcp-stale-');
    const events = stopEvents(daemon);
    const transport = httpTransport(apiUrl);
    await connectClient(cleanups, transport, 'forger');
    const headers = rpcHeaders(transport.sessionId!);
    // A stop its gateway took as it read the body, whose call the SDK then refused (406: not an accepted type): kept,
    // unclaimed, under id 5.
    const unclaimed = await fetch(`${apiUrl}/mcp`, {
      method: 'POST',
      headers: { ...headers, accept: 'text/plain' },
      body: stopCall(5, 'one'),
    });
    expect(unclaimed.status).toBe(406);
    await waitFor(() => events.length === 1, 'the first stop.engaged event');
    await daemon.haltAuthority.release('test');
    // The same id again, saying the listener took it: were that believed, the kept stop would answer and none be taken.
    const forged = await fetch(`${apiUrl}/mcp`, {
      method: 'POST',
      headers: { ...headers, 'x-auraison-stop-taken': 'guessed' },
      body: stopCall(5, 'two'),
    });
    expect(forged.status).toBe(200);
    expect(daemon.haltAuthority.latch.state).toMatchObject({ by: 'mcp:forger', reason: 'two' });
    await waitFor(() => events.length === 2, 'the second stop.engaged event');
  });

  it('is where `auraison-edge mcp` relays a desktop agent to, its stop taken there', { timeout: 60_000 }, async () => {
    const { daemon } = await listenerDaemon(cleanups, 'stop-mcp-stdio-');
    const events = stopEvents(daemon);
    const config = join(daemon.dataDir, '..', 'cli.yaml');
    writeFileSync(config, `data_dir: ${daemon.dataDir}\napi:\n  port: 0\n`);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--config', config],
      stderr: 'pipe',
    });
    const client = await connectClient(cleanups, transport, 'claude-desktop');
    const stop = await client.callTool({ name: 'stop', arguments: {} });
    expect(untrustedData(stop).data).toMatchObject({ latched: { by: 'mcp:claude-desktop' } });
    // off_loop: taken on the listener's thread, the API's /mcp told so.
    const event = await waitForValue(() => events[0], 'the stop.engaged event');
    expect(event).toMatchObject({ by: 'mcp:claude-desktop', off_loop: { zeroed: ['line'] } });
    expect(daemon.haltAuthority.counters.stops).toBe(1);
  });
});

describe("the stop listener's /mcp", () => {
  it('relays every other call unchanged: tools, resources, the session and its end', async () => {
    const { daemon, apiUrl, client } = await listenerSession('stop-mcp-relay-', 'relayed', {
      mcp: { tools: ['graph', 'runs', 'stop'] },
    });
    const direct = await connectClient(cleanups, httpTransport(apiUrl), 'direct');
    expect((await client.listTools()).tools).toEqual((await direct.listTools()).tools);
    const graph = await client.callTool({ name: 'graph', arguments: {} });
    expect(graph.isError).toBeFalsy();
    expect(untrustedData(graph).data).toHaveProperty('topics');
    expect(await gatewayCounters(client)).toMatchObject({ sessions: 2, calls: { graph: 1 } });
    // DELETE ends the session at the gateway, through the listener.
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    expect(await gatewayCounters(direct)).toMatchObject({ sessions: 1 });
    expect(daemon.haltAuthority.counters.stops).toBe(0);
    const status = (await (await fetch(`${apiUrl}/status`)).json()) as {
      components: { api: { details: { stop_url: string; mcp_url: string } } };
    };
    const { stop_url: stopUrl, mcp_url: mcpUrl } = status.components.api.details;
    expect(mcpUrl).toBe(`${stopUrl}/mcp`);
  });

  it('refuses a page on another origin and a wrong token, and stops nothing', async () => {
    const { daemon, mcpUrl, session, line } = await listenerSession(
      'stop-mcp-gate-',
      'operator',
      {
        api: { token: TOKEN },
      },
      TOKEN,
    );
    const refused: [string, Record<string, string>, number, string][] = [
      ['a page on another origin', { ...rpcHeaders(session, TOKEN), origin: 'http://evil.example' }, 403, 'cross_site'],
      [
        'a browser saying cross-site',
        { ...rpcHeaders(session, TOKEN), 'sec-fetch-site': 'cross-site' },
        403,
        'cross_site',
      ],
      ['a form post', { ...rpcHeaders(session, TOKEN), 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
      ['no token', rpcHeaders(session), 401, 'unauthorized'],
      ['a wrong token', rpcHeaders(session, 'guessed'), 401, 'unauthorized'],
    ];
    for (const [what, headers, status, error] of refused) {
      const reply = await fetch(mcpUrl, { method: 'POST', headers, body: stopCall(1, what) });
      expect([what, reply.status, ((await reply.json()) as { error: string }).error]).toEqual([what, status, error]);
    }
    const preflight = await fetch(mcpUrl, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(line.stops).toBe(0);
    expect(daemon.haltAuthority.counters.stops).toBe(0);
    expect(daemon.haltAuthority.latch.state).toBeUndefined();
  });
});
