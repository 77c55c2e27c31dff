import { basename } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../daemon/contract/schemas.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectClient, gatewayCounters, httpTransport, startMcpDaemon, text, untrustedData } from './mcp-client.ts';

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

interface FollowedRun {
  run: { run_id: string; status: string };
  events: AgentEvent[];
}

const resultOf = (followed: FollowedRun) =>
  followed.events.find((e) => e.kind === 'tool.result')?.payload.result as { ok: boolean; output?: unknown };

/** A query reply's rows (positional, as POST /query answers) as objects by column name. */
function records(reply: Record<string, unknown>): Record<string, unknown>[] {
  const { columns, rows } = reply as { columns: { name: string }[]; rows: unknown[][] };
  return rows.map((row) => Object.fromEntries(columns.map((c, i) => [c.name, row[i]])));
}

/** A resource's wrapped data, as a client reads it. */
async function resource(client: Awaited<ReturnType<typeof connectClient>>, uri: string) {
  const read = await client.readResource({ uri });
  return JSON.parse((read.contents[0] as { text: string }).text) as { untrusted: boolean; data: unknown };
}

describe('the MCP tools on the sim', () => {
  it("calls an allowed service (the sim's sim/pause) and refuses a publish to a topic off the allow list", async () => {
    const { url, sim } = await startMcpDaemon(cleanups, {
      mcp: { tools: ['call_service', 'publish'] },
      agent: {
        rules: { topics: { allow: ['/cmd_vel', '/odom'], deny: [] }, services: { allow: ['sim/*'], deny: [] } },
      },
    });
    const client = await connectClient(cleanups, httpTransport(url), 'operator-helper');

    const paused = await client.callTool({ name: 'call_service', arguments: { name: 'sim/pause' } });
    expect(paused.isError).toBeFalsy();
    const call = untrustedData(paused).data as unknown as FollowedRun;
    expect(call.run.status).toBe('succeeded');
    expect(resultOf(call)).toMatchObject({ ok: true, output: { service: 'sim/pause', encoding: 'text/plain' } });
    expect(sim.paused).toBe(true);
    expect((await client.callTool({ name: 'call_service', arguments: { name: 'sim/unpause' } })).isError).toBeFalsy();
    expect(sim.paused).toBe(false);

    const publish = await client.callTool({
      name: 'publish',
      arguments: { topic: '/chatter', type: 'std_msgs/msg/String', fields: { data: 'hi' } },
    });
    expect(publish.isError).toBe(true);
    const refused = untrustedData(publish).data as unknown as FollowedRun;
    expect(refused.run.status).toBe('failed');
    expect(refused.events.filter((e) => e.kind === 'policy.decision').map((e) => e.payload)).toContainEqual(
      expect.objectContaining({
        rule: 'topics.allow',
        action: 'deny',
        reason: '/chatter is not in agent.rules.topics.allow',
      }),
    );
    expect((await gatewayCounters(client)).refused).toEqual({ 'publish:topics.allow': 1 });
  });

  it('keeps query to the API limits: a write, an ATTACH and a file outside the lakehouse refused, rows cut at the cap', async () => {
    // A minute for a query, as startMcpDaemon gives: the first starts the query process.
    const api = { enabled: true, port: 0, query: { max_rows: 20, timeout_ms: 60_000 } };
    const { url } = await startMcpDaemon(cleanups, { api });
    const client = await connectClient(cleanups, httpTransport(url), 'analyst');
    const query = (sql: string, more: Record<string, unknown> = {}) =>
      client.callTool({ name: 'query', arguments: { sql, ...more } });

    const copy = await query("COPY (SELECT 42 AS answer) TO '/tmp/mcp-copy.csv'");
    expect(copy.isError).toBe(true);
    expect(text(copy)).toContain('the lakehouse is read-only here: only SELECT statements run');
    const attach = await query("ATTACH '/tmp/mcp-attach.duckdb' AS elsewhere");
    expect(attach.isError).toBe(true);
    expect(text(attach)).toContain('read-only');
    const passwd = await query("SELECT * FROM read_csv('/etc/passwd')");
    expect(passwd.isError).toBe(true);
    expect(text(passwd)).toMatch(/Permission Error|external access|not allowed/i);

    // The config's cap holds whatever the client asks; a lower ask is kept.
    const capped = untrustedData(await query('SELECT range AS n FROM range(100)', { max_rows: 1000 })).data;
    expect(capped).toMatchObject({ truncated: true, truncated_by: 'max_rows' });
    expect(records(capped)).toHaveLength(20);
    expect(String(capped.truncated_reason)).toContain('more than 20 rows (api.query.max_rows');
    const asked = untrustedData(await query('SELECT range AS n FROM range(100)', { max_rows: 5 })).data;
    expect(records(asked)).toHaveLength(5);

    expect((await gatewayCounters(client)).refused).toEqual({ 'query:query_failed': 3 });
  }, 180_000);

  it("lists the bags the lakehouse indexed, and one bag's splits, with bag_info", async () => {
    const { url } = await startMcpDaemon(cleanups, { recorder: { enabled: true } });
    const client = await connectClient(cleanups, httpTransport(url), 'analyst');
    const split = async () => {
      const reply = await fetch(`${url}/recorder/split`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ wait: true }),
      });
      const body = (await reply.json()) as { split: { bag: string } | null; indexing: { state: string } | null };
      return body;
    };
    let closed: Awaited<ReturnType<typeof split>> | undefined;
    await waitFor(async () => (closed = await split()).split !== null, 'a split with messages');
    expect(closed!.indexing).toMatchObject({ state: 'indexed' });
    // The split names its bag's folder; the catalog, its name.
    const bag = basename(closed!.split!.bag);

    const all = records(untrustedData(await client.callTool({ name: 'bag_info', arguments: {} })).data);
    expect(all).toContainEqual(expect.objectContaining({ bag, splits: '1' }));
    expect(Number(all.find((r) => r.bag === bag)!.messages)).toBeGreaterThan(0);
    const one = records(untrustedData(await client.callTool({ name: 'bag_info', arguments: { bag } })).data);
    expect(one).toHaveLength(1);
    expect(JSON.stringify(one[0]!.topics)).toContain('/odom');
    // A name with a quote is a name, not SQL.
    const odd = untrustedData(await client.callTool({ name: 'bag_info', arguments: { bag: "x' OR '1'='1" } })).data;
    expect(records(odd)).toEqual([]);
  }, 180_000);

  it("reads the graph and runs resources: the sim's topics with their types, the runs an MCP call made", async () => {
    const { url, agent } = await startMcpDaemon(cleanups);
    const client = await connectClient(cleanups, httpTransport(url), 'reader');
    const graph = await resource(client, 'auraison://robot/graph');
    expect(graph.untrusted).toBe(true);
    expect(JSON.stringify(graph.data)).toMatch(/"\/odom".*nav_msgs\/msg\/Odometry|nav_msgs\/msg\/Odometry.*"\/odom"/);
    expect(JSON.stringify(graph.data)).toContain('sim/pause');

    await client.callTool({ name: 'read_topic', arguments: { topic: '/odom' } });
    const [run] = agent.listRuns({ limit: 1 });
    const runs = (await resource(client, 'auraison://robot/runs')).data as { runs: { run_id: string }[] };
    expect(runs.runs.map((r) => r.run_id)).toContain(run!.run_id);
    expect(runs.runs.length).toBeLessThanOrEqual(20);
  });
});
