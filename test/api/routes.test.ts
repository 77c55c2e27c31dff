import { afterEach, describe, expect, it } from 'vitest';
import { PolicyRunner } from '../../daemon/system1/policy-runner.ts';
import { decodeTensors, encodeTensors, TENSOR_ENCODING } from '../../daemon/contract/tensor-codec.ts';
import { VlaService } from '../../daemon/system1/vla-service.ts';
import { QueryError } from '../../daemon/bus/errors.ts';
import type { MetricFamily, MetricsProvider } from '../../daemon/contract/services.ts';
import { newId } from '../../daemon/util/ids.ts';
import type { Component } from '../../daemon/lifecycle/component.ts';
import { FIXTURES } from '../helpers/cli.ts';
import { policySettings } from '../system1/models.ts';
import { FakeAgent } from './fakes/fake-agent.ts';
import { FakeLakehouse } from './fakes/fake-lakehouse.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { waitFor } from '../helpers/wait.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function withAgent(options: Parameters<typeof startHarness>[0] = {}) {
  const journal = new MemoryJournal();
  const agent = new FakeAgent({ journal, workMs: 30 });
  const lakehouse = new FakeLakehouse();
  h = await startHarness({ journal, components: [agent, lakehouse], ...options });
  return { h, agent, lakehouse, journal };
}

describe('health, readiness, status', () => {
  it('GET /healthz answers ok, and a bad query string is a 400 naming it', async () => {
    const { h } = await withAgent();
    const ok = await http(h.url, '/healthz');
    expect(ok.status).toBe(200);
    expect(ok.json.status).toBe('ok');
    const bad = await http(h.url, '/healthz?verbose=1');
    expect(bad.status).toBe(400);
    expect(bad.json.issues?.[0]?.path).toBe('querystring.verbose');
  });

  it('GET /readyz names each check, and fails on a failed component or too little disk', async () => {
    const broken: Component = {
      name: 'zenoh',
      start: async () => {},
      close: async () => {},
      health: () => ({ state: 'failed', reason: 'router tcp/10.0.0.1:7447 unreachable' }),
    };
    h = await startHarness({ components: [broken] });
    const r = await http(h.url, '/readyz');
    expect(r.status).toBe(503);
    const checks = r.json.checks as { name: string; status: string; reason: string; informational?: boolean }[];
    const byName = new Map(checks.map((c) => [c.name, c]));
    expect(byName.get('bus')?.status).toBe('pass');
    expect(byName.get('disk')?.status).toBe('pass');
    expect(byName.get('model_endpoint')?.status).toBe('skip');
    expect(byName.get('control_loops')?.status).toBe('skip');
    expect(byName.get('central_link')?.informational).toBe(true);
    expect(byName.get('adapter:zenoh')).toMatchObject({
      status: 'fail',
      reason: expect.stringContaining('unreachable'),
    });
    expect(r.json.ready).toBe(false);
    await h.close();

    h = await startHarness({ api: { ready: { min_free_bytes: Number.MAX_SAFE_INTEGER } } });
    const full = await http(h.url, '/readyz');
    expect(full.status).toBe(503);
    const disk = (full.json.checks as { name: string; status: string; reason: string }[]).find(
      (c) => c.name === 'disk',
    );
    expect(disk?.status).toBe('fail');
    expect(disk?.reason).toContain('api.ready.min_free_bytes');
  });

  it('GET /readyz fails model_endpoint only when an endpoint is configured and unreachable', async () => {
    const llm: Component = {
      name: 'llm',
      start: async () => {},
      close: async () => {},
      health: () => ({ state: 'degraded', reason: 'every model endpoint failed recently: local: ECONNREFUSED' }),
    };
    h = await startHarness({
      components: [llm],
      configText: 'llm:\n  endpoints:\n    - {name: local, base_url: "http://127.0.0.1:9/v1", model: m}\n',
    });
    const down = await http(h.url, '/readyz');
    expect(down.status).toBe(503);
    expect(
      (down.json.checks as { name: string; status: string; reason: string }[]).find((c) => c.name === 'model_endpoint'),
    ).toMatchObject({ status: 'fail', reason: expect.stringContaining('ECONNREFUSED') });
    await h.close();
    // With no endpoint configured the degraded llm is by design (skill intents only): ready.
    h = await startHarness({ components: [llm] });
    const none = await http(h.url, '/readyz');
    expect(none.status).toBe(200);
    expect(
      (none.json.checks as { name: string; status: string }[]).find((c) => c.name === 'model_endpoint')?.status,
    ).toBe('skip');
  });

  it('GET /readyz passes when every component runs', async () => {
    const { h } = await withAgent();
    const r = await http(h.url, '/readyz');
    expect(r.status).toBe(200);
    expect(r.json.ready).toBe(true);
  });

  it('GET /status has the topics with counts and the readiness', async () => {
    const { h } = await withAgent();
    const pub = h.bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    h.bus.subscribe({ name: 'reader', topic: '/chatter', handler: () => {} });
    pub.publish(new Uint8Array([0, 1, 0, 0, 1, 0, 0, 0, 0]));
    const r = await http(h.url, '/status');
    expect(r.status).toBe(200);
    const topics = r.json.topics as { topic: string; count: number }[];
    expect(topics.find((t) => t.topic === '/chatter')?.count).toBe(1);
    expect((r.json.readiness as { ready: boolean }).ready).toBe(true);
    expect((r.json.components as Record<string, { state: string }>).agent?.state).toBe('running');
  });
});

describe('GET /metrics', () => {
  it("renders bus topics, drops, runs by status and components' own families in Prometheus text", async () => {
    const recorder: Component & MetricsProvider = {
      name: 'recorder',
      start: async () => {},
      close: async () => {},
      health: () => ({ state: 'running' }),
      metrics: (): MetricFamily[] => [
        {
          name: 'auraison_recorder_bytes_total',
          help: 'Bytes written to bags.',
          type: 'counter',
          samples: [{ labels: { topic: '/scan' }, value: 4096 }],
        },
      ],
    };
    const journal = new MemoryJournal();
    const agent = new FakeAgent({ journal });
    h = await startHarness({ journal, components: [agent, recorder] });
    const pub = h.bus.advertise('/scan', 'sensor_msgs/msg/LaserScan', { source: 'test' });
    h.bus.subscribe({ name: 'slow', topic: '/scan', queue: { policy: 'drop-oldest', depth: 1 }, handler: () => {} });
    for (let i = 0; i < 5; i++) pub.publish(new Uint8Array(8)); // depth 1, delivered later: 4 drops
    await http(h.url, '/intents', {
      body: { type: 'navigate_to', params: { x: 1 }, policy_ctx: { requires_approval: true } },
    });

    const r = await http(h.url, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(r.text).toContain('# TYPE auraison_bus_messages_total counter');
    expect(r.text).toContain('auraison_bus_messages_total{topic="/scan",type="sensor_msgs/msg/LaserScan"} 5');
    expect(r.text).toContain('auraison_bus_drops_total{topic="/scan",type="sensor_msgs/msg/LaserScan"} 4');
    expect(r.text).toContain(
      'auraison_subscriber_dropped_total{subscriber="slow",topic="/scan",policy="drop-oldest"} 4',
    );
    expect(r.text).toContain('auraison_recorder_bytes_total{topic="/scan"} 4096');
    expect(r.text).toContain('auraison_runs{status="awaiting_approval"} 1');
    expect(r.text).toMatch(/auraison_api_requests_total\{method="POST",route="\/intents",code="201"\} 1/);
    expect(r.text).toContain('auraison_api_request_duration_seconds_bucket{route="/intents",le="+Inf"} 1');
  });
});

describe('intents and runs', () => {
  it('POST /intents fills the id and policy context and answers 201 with the run', async () => {
    const { h, agent } = await withAgent();
    const r = await http(h.url, '/intents', { body: { type: 'navigate_to', params: { goal: 'charging_dock' } } });
    expect(r.status).toBe(201);
    const run = r.json.run as { run_id: string; status: string; tree_ref: string };
    expect(run.tree_ref).toBe('navigate_to');
    const [intent, source] = agent.calls[0]!.args as [
      { intent_id: string; policy_ctx: { source: string; actor: string } },
      string,
    ];
    expect(source).toBe('http');
    expect(intent.intent_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(intent.policy_ctx).toEqual({ actor: 'anonymous', source: 'http' });
    const got = await http(h.url, `/runs/${run.run_id}`);
    expect(got.status).toBe(200);
    expect((got.json.events as { kind: string }[]).map((e) => e.kind)).toContain('run.created');
  });

  it('bad intents get a 400 naming the failing path', async () => {
    const { h, agent } = await withAgent();
    const cases: [unknown, string][] = [
      [{ type: 'Navigate To' }, 'body.type'],
      [{ type: 'navigate_to', targets: [7] }, 'body.targets[0]'],
      [{ type: 'navigate_to', policy_ctx: { max_tool_calls: 0 } }, 'body.policy_ctx.max_tool_calls'],
      [{ type: 'navigate_to', prams: {} }, 'body.prams'],
      [{ params: {} }, 'body.type'],
      [[], 'body'],
    ];
    for (const [body, path] of cases) {
      const r = await http(h.url, '/intents', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toBe('bad_request');
      expect(r.json.issues?.map((i) => i.path)).toContain(path);
      expect(r.json.message).toContain(path);
    }
    const typo = await http(h.url, '/intents', { body: { type: 'navigate_to', prams: {} } });
    expect(typo.json.message).toContain('did you mean "params"');
    const notJson = await http(h.url, '/intents', {
      raw: '{"type": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.json.issues?.[0]?.path).toBe('body');
    expect(agent.calls).toHaveLength(0);
  });

  it('enforces the body size limit (413) and JSON bodies only (415)', async () => {
    const { h } = await withAgent({ api: { body_limit_bytes: 2048 } });
    const big = await http(h.url, '/intents', { body: { type: 'say', params: { text: 'x'.repeat(4096) } } });
    expect(big.status).toBe(413);
    expect(big.json.message).toContain('api.body_limit_bytes');
    const form = await http(h.url, '/intents', {
      raw: 'type=say',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    const text = await http(h.url, '/intents', { raw: '{"type":"stop"}', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.json).toMatchObject({ error: 'unsupported_media_type' });
    expect(text.json.message).toContain('Content-Type: application/json');
  });

  it('lists runs with a status filter, and rejects a bad status or id by path', async () => {
    const { h } = await withAgent();
    await http(h.url, '/intents', { body: { type: 'a', policy_ctx: { requires_approval: true } } });
    await http(h.url, '/intents', { body: { type: 'b' } });
    const all = await http(h.url, '/runs');
    expect((all.json.runs as unknown[]).length).toBe(2);
    const waiting = await http(h.url, '/runs?status=awaiting_approval');
    expect((waiting.json.runs as { tree_ref: string }[]).map((r) => r.tree_ref)).toEqual(['a']);
    const limited = await http(h.url, '/runs?limit=1');
    expect((limited.json.runs as unknown[]).length).toBe(1);
    const badStatus = await http(h.url, '/runs?status=waiting');
    expect(badStatus.status).toBe(400);
    expect(badStatus.json.issues?.[0]?.path).toBe('querystring.status');
    const badLimit = await http(h.url, '/runs?limit=0');
    expect(badLimit.json.issues?.[0]?.path).toBe('querystring.limit');
    const badId = await http(h.url, '/runs/not-a-uuid');
    expect(badId.status).toBe(400);
    expect(badId.json.issues?.[0]?.path).toBe('params.id');
    const missing = await http(h.url, `/runs/${newId()}`);
    expect(missing.status).toBe(404);
  });

  it('approves a run awaiting approval (it resumes), and refuses to approve it twice', async () => {
    const { h, agent } = await withAgent();
    const created = await http(h.url, '/intents', {
      body: { type: 'navigate_to', policy_ctx: { requires_approval: true } },
    });
    const id = (created.json.run as { run_id: string; status: string }).run_id;
    expect((created.json.run as { status: string }).status).toBe('awaiting_approval');
    const approved = await http(h.url, `/runs/${id}/approve`, { method: 'POST', body: { by: 'operator' } });
    expect(approved.status).toBe(200);
    expect((approved.json.run as { status: string }).status).toBe('running');
    expect(agent.calls.at(-1)).toEqual({ method: 'approve', args: [id, 'operator'] });
    await waitFor(
      async () => ((await http(h.url, `/runs/${id}`)).json.run as { status: string }).status === 'succeeded',
      'the run to finish',
    );
    const again = await http(h.url, `/runs/${id}/approve`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.json.message).toContain('not awaiting_approval');
    const badBody = await http(h.url, `/runs/${id}/approve`, { body: { by: '' } });
    expect(badBody.status).toBe(400);
    expect(badBody.json.issues?.[0]?.path).toBe('body.by');
  });

  it('cancels a run, and refuses to cancel an ended one', async () => {
    const { h } = await withAgent();
    const created = await http(h.url, '/intents', {
      body: { type: 'navigate_to', policy_ctx: { requires_approval: true } },
    });
    const id = (created.json.run as { run_id: string }).run_id;
    const cancelled = await http(h.url, `/runs/${id}/cancel`, { body: { reason: 'wrong goal' } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.run).toMatchObject({ status: 'cancelled', reason: 'wrong goal' });
    const again = await http(h.url, `/runs/${id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
  });

  it('answers 503 with the reason when the agent is not running', async () => {
    h = await startHarness();
    for (const [path, body] of [
      ['/intents', { type: 'x' }],
      ['/runs', undefined],
      [`/runs/${newId()}/approve`, {}],
    ] as const) {
      const r = await http(h.url, path, body === undefined ? {} : { body });
      expect(r.status, path).toBe(503);
      expect(r.json.message).toContain('component agent is not running');
    }
  });
});

describe('POST /query', () => {
  it('runs read-only SQL with the row limit, and names body.sql when the lakehouse refuses', async () => {
    const { h, lakehouse } = await withAgent({ api: { query: { max_rows: 2 } } });
    const ok = await http(h.url, '/query', { body: { sql: 'SELECT * FROM topics', max_rows: 100 } });
    expect(ok.status).toBe(200);
    expect(ok.json.rows).toEqual([
      [1, 'scan'],
      [2, 'odom'],
    ]);
    expect(ok.json.truncated).toBe(true);
    expect(lakehouse.calls[0]!.options?.maxRows).toBe(2);
    const write = await http(h.url, '/query', { body: { sql: 'DROP TABLE topics' } });
    expect(write.status).toBe(400);
    expect(write.json.issues?.[0]?.path).toBe('body.sql');
    const empty = await http(h.url, '/query', { body: { sql: '' } });
    expect(empty.json.issues?.[0]?.path).toBe('body.sql');
  });

  it('answers 504 when the query outlives its time limit', async () => {
    const { h } = await withAgent({ api: { query: { timeout_ms: 50 } } });
    const r = await http(h.url, '/query', { body: { sql: 'SELECT sleep(60)', timeout_ms: 10_000 } });
    expect(r.status).toBe(504);
    expect(r.json.message).toContain('50 ms');
  });

  it('answers 503 when there is no lakehouse', async () => {
    h = await startHarness();
    const r = await http(h.url, '/query', { body: { sql: 'SELECT 1' } });
    expect(r.status).toBe(503);
    expect(r.json.message).toContain('component lakehouse');
  });
});

describe('POST /inference', () => {
  it('sends a JSON input to the VLA queryable and returns its JSON output', async () => {
    h = await startHarness();
    const seen: string[] = [];
    h.bus.serve('ai/inference/vla/pick_cube', async (req) => {
      seen.push(req.encoding);
      const input = JSON.parse(new TextDecoder().decode(req.payload)) as { obs: number[] };
      return {
        encoding: 'application/json',
        payload: new TextEncoder().encode(JSON.stringify({ actions: input.obs.map((v) => v * 2) })),
      };
    });
    const r = await http(h.url, '/inference/vla/pick_cube', { body: { input: { obs: [1, 2] } } });
    expect(r.status).toBe(200);
    expect(r.json.output).toEqual({ actions: [2, 4] });
    expect(seen).toEqual(['application/json']);
  });

  it('runs a real policy (mjlab_microban) from a JSON input and answers JSON outputs; the binary path is unchanged', async () => {
    h = await startHarness();
    const runner = await PolicyRunner.open(
      'microban',
      policySettings({ model: `${FIXTURES}/onnx/mjlab_microban/policy.onnx` }),
    );
    const service = new VlaService(h.bus, runner);
    try {
      const obs = Array.from({ length: 63 }, (_, i) => i / 100);
      const r = await http(h.url, '/inference/vla/microban', { body: { input: { obs } } });
      expect(r.status).toBe(200);
      expect(r.json.encoding).toBe('application/json');
      const output = r.json.output as { policy: string; outputs: { actions: { shape: number[]; data: number[][] } } };
      expect(output.policy).toBe('microban');
      expect(output.outputs.actions.shape).toEqual([1, 18]);
      const bytes = await http(h.url, '/inference/vla/microban', {
        body: {
          payload_base64: Buffer.from(
            encodeTensors([{ name: 'obs', shape: [1, 63], data: Float32Array.from(obs) }]),
          ).toString('base64'),
          encoding: TENSOR_ENCODING,
        },
      });
      expect(bytes.status).toBe(200);
      expect(bytes.json.encoding).toBe(TENSOR_ENCODING);
      const tensors = decodeTensors(Buffer.from(bytes.json.payload_base64 as string, 'base64')).tensors;
      expect(output.outputs.actions.data).toEqual([Array.from(tensors[0]!.data)]);
      const short = await http(h.url, '/inference/vla/microban', { body: { input: { obs: obs.slice(2) } } });
      expect([short.status, short.json.error]).toEqual([400, 'bad_shape']);
      expect(short.json.message).toContain('[61]');
      const nan = await http(h.url, '/inference/vla/microban', {
        body: { input: { obs: obs.map((v, i) => (i === 7 ? null : v)) } },
      });
      expect([nan.status, nan.json.error]).toEqual([400, 'not_finite']);
      const name = await http(h.url, '/inference/vla/microban', { body: { input: { observation: obs } } });
      expect([name.status, name.json.error]).toEqual([400, 'unknown_input']);
    } finally {
      await service.close();
      await runner.close();
    }
  });

  it('carries raw bytes as base64 and a model name with slashes', async () => {
    h = await startHarness();
    h.bus.serve('ai/inference/llm/Qwen/Qwen2.5-7B', async (req) => ({
      encoding: 'application/cdr',
      payload: Uint8Array.from([...req.payload].reverse()),
    }));
    const r = await http(h.url, '/inference/llm/Qwen/Qwen2.5-7B', {
      body: { payload_base64: Buffer.from([1, 2, 3]).toString('base64'), encoding: 'application/cdr' },
    });
    expect(r.status).toBe(200);
    expect(r.json.encoding).toBe('application/cdr');
    expect([...Buffer.from(r.json.payload_base64 as string, 'base64')]).toEqual([3, 2, 1]);
  });

  it('maps bad input to 400, a missing queryable to 503, a failing one to 502, a slow one to 504', async () => {
    h = await startHarness({ api: { inference: { timeout_ms: 50 } } });
    h.bus.serve('ai/inference/vla/broken', async () => {
      throw new Error('model not loaded');
    });
    h.bus.serve(
      'ai/inference/vla/slow',
      () => new Promise((_, reject) => setTimeout(() => reject(new QueryError('timeout', 'late')), 10_000)),
    );
    const none = await http(h.url, '/inference/vla/pick_cube', { body: { input: {} } });
    expect(none.status).toBe(503);
    expect(none.json.message).toContain('ai/inference/vla/pick_cube');
    const broken = await http(h.url, '/inference/vla/broken', { body: { input: {} } });
    expect(broken.status).toBe(502);
    expect(broken.json.message).toContain('model not loaded');
    const slow = await http(h.url, '/inference/vla/slow', { body: { input: {} } });
    expect(slow.status).toBe(504);
    const neither = await http(h.url, '/inference/vla/pick_cube', { body: {} });
    expect(neither.status).toBe(400);
    expect(neither.json.issues?.[0]?.path).toBe('body.input');
    const badName = await http(h.url, '/inference/vla/pick%20cube', { body: { input: {} } });
    expect(badName.status).toBe(400);
    expect(badName.json.issues?.[0]?.path).toBe('params.policy');
    const badModel = await http(h.url, '/inference/llm/qwen/', { body: { input: {} } });
    expect(badModel.status).toBe(400);
    expect(badModel.json.issues?.[0]?.path).toBe('params.model');
    const badTimeout = await http(h.url, '/inference/vla/pick_cube', { body: { input: {}, timeout_ms: -1 } });
    expect(badTimeout.json.issues?.[0]?.path).toBe('body.timeout_ms');
  });

  it('labels inference latency by name only for served names: made-up names share `unknown`', async () => {
    h = await startHarness();
    h.bus.serve('ai/inference/llm/served', async (req) => req);
    for (let i = 0; i < 20; i++)
      expect((await http(h.url, `/inference/llm/probe/${i}`, { body: { input: {} } })).status).toBe(503);
    expect((await http(h.url, '/inference/llm/served', { body: { input: {} } })).status).toBe(200);
    const text = (await http(h.url, '/metrics')).text;
    const series = new Set(
      text.split('\n').filter((l) => l.startsWith('auraison_api_inference_duration_seconds_count')),
    );
    expect(series).toEqual(
      new Set([
        'auraison_api_inference_duration_seconds_count{kind="llm",name="unknown",outcome="no_queryable"} 20',
        'auraison_api_inference_duration_seconds_count{kind="llm",name="served",outcome="ok"} 1',
      ]),
    );
  });
});

describe('auth and binding', () => {
  it('requires the bearer token on every route but the health checks and the page files', async () => {
    const { h } = await withAgent({ api: { token: 's3cret' } });
    for (const path of ['/status', '/metrics', '/runs', '/events']) {
      const none = await http(h.url, path);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toContain('Bearer');
      const wrong = await http(h.url, path, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status, path).toBe(401);
    }
    const post = await http(h.url, '/intents', { body: { type: 'x' } });
    expect(post.status).toBe(401);
    expect((await http(h.url, '/status', { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await http(h.url, '/healthz')).status).toBe(200);
    expect((await http(h.url, '/readyz')).status).toBe(200);
    expect((await http(h.url, '/')).status).toBe(200);
    expect((await http(h.url, '/page/app.js')).status).toBe(200);
  });

  it('refuses to bind off loopback without a token', async () => {
    await expect(startHarness({ api: { host: '0.0.0.0' } })).rejects.toThrow(/api\.token/);
  });

  it('binds off loopback with a token and then requires it', async () => {
    h = await startHarness({ api: { host: '0.0.0.0', token: 't' } });
    const url = h.url.replace('0.0.0.0', '127.0.0.1');
    expect((await http(url, '/status')).status).toBe(401);
    expect((await http(url, '/status', { headers: { authorization: 'Bearer t' } })).status).toBe(200);
  });

  it('on loopback, rejects a Host header that is not a loopback name (DNS rebinding)', async () => {
    h = await startHarness();
    const port = new URL(h.url).port;
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/status', headers: { host: `evil.example:${port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    expect((await http(h.url.replace('127.0.0.1', 'localhost'), '/status')).status).toBe(200);
  });

  it('answers an unknown route with a JSON 404', async () => {
    h = await startHarness();
    const r = await http(h.url, '/nope');
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ error: 'not_found', message: 'no route GET /nope' });
  });

  it('answers what fastify and node refuse before a route runs in the same {error, message} shape', async () => {
    h = await startHarness();
    const { connect } = await import('node:net');
    const { port } = new URL(h.url);
    // Raw bytes, so that nothing on the client side fixes the request up.
    const send = (bytes: string) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        let got = '';
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
        socket.on('data', (d) => (got += String(d)));
        socket.on('error', reject);
        socket.on('close', () =>
          resolve({ status: Number(got.split(' ')[1]), body: JSON.parse(got.slice(got.indexOf('\r\n\r\n') + 4)) }),
        );
      });
    const get = (path: string) => send(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    const long = await get(`/status?${'a'.repeat(20_000)}`);
    expect(long.status).toBe(431);
    expect(long.body).toEqual({
      error: 'headers_too_large',
      message: expect.stringContaining('send a shorter URL or fewer headers'),
    });
    const badUrl = await get('/runs/%zz');
    expect(badUrl).toEqual({
      status: 400,
      body: {
        error: 'bad_request',
        message: "url: '/runs/%zz' is not a valid url component (check its percent-encoding)",
      },
    });
    const longParam = await get(`/runs/${'a'.repeat(200)}`);
    expect(longParam.status).toBe(414);
    expect(longParam.body).toMatchObject({ error: 'uri_too_long', message: expect.stringMatching(/^url: /) });
    // The answer does not echo a long URL whole: its first 200 characters and its length.
    const veryLong = await get(`/runs/${'b'.repeat(5000)}`);
    expect(veryLong.status).toBe(414);
    expect(veryLong.body).toEqual({
      error: 'uri_too_long',
      message: `url: '/runs/${'b'.repeat(194)}...' (5006 characters) is exceeding the max param length: send a shorter path`,
    });
    const garbage = await send('HELLO\r\n\r\n');
    expect(garbage.status).toBe(400);
    expect(garbage.body).toEqual({
      error: 'bad_request',
      message: expect.stringMatching(/^malformed HTTP request \(HPE_/),
    });
  });
});
