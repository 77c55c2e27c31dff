import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { BIN, ROOT } from '../helpers/cli.ts';
import { metric, startMcpDaemon } from './mcp-client.ts';

const INSPECTOR = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector-cli', 'build', 'cli.js');
const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const TOKEN = 'inspector-token';

interface ToolResult {
  content: { text: string }[];
  isError?: boolean;
}

/** The MCP Inspector's CLI mode against a URL: its JSON answer on stdout. */
async function inspect(url: string, token: string, ...args: string[]): Promise<unknown> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [INSPECTOR, '--cli', url, '--transport', 'http', '--header', `Authorization: Bearer ${token}`, ...args],
    // Its index.js checks `../package.json` against the working directory but imports it from its own folder:
    // from its build folder the two agree (run elsewhere, 1.0.3 fails "Cannot find module .../package.json").
    { timeout: 60_000, cwd: dirname(INSPECTOR) },
  );
  return JSON.parse(stdout) as unknown;
}

describe("the MCP Inspector's CLI against the daemon's /mcp", () => {
  it('lists the tools and calls one', async () => {
    const { url } = await startMcpDaemon(cleanups, { api: { enabled: true, port: 0, token: TOKEN } });
    const listed = (await inspect(`${url}/mcp`, TOKEN, '--method', 'tools/list')) as {
      tools: { name: string }[];
    };
    expect(listed.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['read_topic', 'graph', 'stop']));
    const called = (await callTool(url, 'read_topic', 'topic=/odom')) as ToolResult;
    expect(called.isError).toBeFalsy();
    expect(called.content[0]!.text).toMatch(/^\{"untrusted":true/);
    expect(called.content[0]!.text).toContain('nav_msgs/msg/Odometry');
  });

  it("reads the graph, and stops the robot: the API shows the latch, by the Inspector's name", async () => {
    const { url } = await startMcpDaemon(cleanups, { api: { enabled: true, port: 0, token: TOKEN } });
    const graph = (await callTool(url, 'graph')) as ToolResult;
    expect(graph.isError).toBeFalsy();
    expect(graph.content[0]!.text).toMatch(/^\{"untrusted":true/);
    expect(graph.content[0]!.text).toContain('"/cmd_vel"');

    expect(await latchedBy(url)).toBeNull();
    const stop = (await callTool(url, 'stop', 'reason=inspector test')) as ToolResult;
    expect(stop.isError).toBeFalsy();
    expect(await latchedBy(url)).toBe('mcp:inspector-cli');
  });

  it('is refused publish, which the default config does not expose, and the refusal is counted', async () => {
    const { url } = await startMcpDaemon(cleanups, { api: { enabled: true, port: 0, token: TOKEN } });
    const refused = (await callTool(url, 'publish', 'topic=/cmd_vel', 'fields={"linear":{"x":5}}')) as ToolResult;
    expect(refused.isError).toBe(true);
    expect(refused.content[0]!.text).toMatch(/^publish is not exposed here: this gateway offers /);
    const gateway = (await inspect(
      `${url}/mcp`,
      TOKEN,
      '--method',
      'resources/read',
      '--uri',
      'auraison://mcp/gateway',
    )) as {
      contents: { text: string }[];
    };
    expect(JSON.parse(gateway.contents[0]!.text)).toMatchObject({ refused: { 'publish:unexposed': 1 } });
    expect(await metric(url, 'auraison_mcp_refused_total{tool="publish",reason="unexposed"}', TOKEN)).toBe(1);
  });
});

/** A tools/call through the Inspector, with `key=value` arguments. */
function callTool(url: string, tool: string, ...args: string[]): Promise<unknown> {
  const toolArgs = args.length > 0 ? ['--tool-arg', ...args] : [];
  return inspect(`${url}/mcp`, TOKEN, '--method', 'tools/call', '--tool-name', tool, ...toolArgs);
}

/** Who holds the stop latch, as GET /status tells the operator; null when none is held. */
async function latchedBy(url: string): Promise<string | null> {
  const response = await fetch(`${url}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const status = (await response.json()) as {
    components: Record<string, { details?: { stop_latch?: { by: string } | null } }>;
  };
  const latch = status.components.stop?.details?.stop_latch ?? status.components.agent?.details?.stop_latch;
  return latch?.by ?? null;
}

describe("the MCP Inspector's CLI over stdio, through auraison-edge mcp", () => {
  it('runs as docs/mcp.md writes it: the daemon config by -e AURAISON_EDGE_CONFIG', async () => {
    // The Inspector takes --config itself (its own servers file): ours would be swallowed, so it goes by the variable.
    const { dir } = await startMcpDaemon(cleanups, { api: { enabled: true, port: 0, token: TOKEN } });
    const config = join(dir, 'edge.yaml');
    writeFileSync(config, `data_dir: ${join(dir, 'data')}\napi:\n  port: 0\n  token: ${TOKEN}\n`);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        INSPECTOR,
        '--cli',
        '-e',
        `AURAISON_EDGE_CONFIG=${config}`,
        process.execPath,
        BIN,
        'mcp',
        '--method',
        'tools/list',
      ],
      { timeout: 60_000, cwd: dirname(INSPECTOR) },
    );
    const listed = JSON.parse(stdout) as { tools: { name: string }[] };
    expect(listed.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['read_topic', 'stop']));
  });
});
