import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { ROOT } from '../helpers/cli.ts';
import { startMcpDaemon } from './mcp-client.ts';

const INSPECTOR = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector-cli', 'build', 'cli.js');
const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

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
    const { url } = await startMcpDaemon(cleanups, { api: { enabled: true, port: 0, token: 'inspector-token' } });
    const listed = (await inspect(`${url}/mcp`, 'inspector-token', '--method', 'tools/list')) as {
      tools: { name: string }[];
    };
    expect(listed.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['read_topic', 'graph', 'stop']));
    const called = (await inspect(
      `${url}/mcp`,
      'inspector-token',
      ...['--method', 'tools/call', '--tool-name', 'read_topic', '--tool-arg', 'topic=/odom'],
    )) as { content: { text: string }[]; isError?: boolean };
    expect(called.isError).toBeFalsy();
    expect(called.content[0]!.text).toMatch(/^\{"untrusted":true/);
    expect(called.content[0]!.text).toContain('nav_msgs/msg/Odometry');
  });
});
