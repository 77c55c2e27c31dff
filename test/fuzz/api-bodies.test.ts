import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { newId } from '../../daemon/util/ids.ts';
import { startHarness, type Harness } from '../api/harness.ts';
import { http } from '../api/http.ts';
import { fuzz, replaying, type Gen } from './fuzz-kit.ts';

/**
 * The HTTP API's request bodies fuzzed against the real API server and the real edge agent, in-process:
 * POST /intents, /runs/:id/approve and /runs/:id/cancel. Whatever the body (random JSON, nesting 100k deep,
 * numbers past the double range, prototype keys, duplicate keys, lone surrogates, bytes that are not UTF-8,
 * other content types), the answer is a 4xx in the API's error shape, never a 5xx; the good requests sent
 * between them all succeed, and no body reaches Object.prototype.
 */

let h: Harness;
let agent: AgentComponent;

beforeAll(async () => {
  h = await startHarness();
  agent = new AgentComponent(h.ctx);
  await agent.start();
  h.components.set('agent', agent);
});
afterAll(async () => {
  await agent.close();
  await h.close();
});

interface Sent {
  path: string;
  contentType: string | undefined;
  body: Uint8Array | string | undefined;
}

async function send({ path, contentType, body }: Sent): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: contentType ? { 'content-type': contentType } : {},
    body,
  });
  const text = await response.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // checked below: every answer here is JSON
    json = { unparsed: text.slice(0, 200) };
  }
  return { status: response.status, json };
}

const encoder = new TextEncoder();
const TYPES = ['stop', 'navigate_to', 'read_topic', 'publish', 'natural_language', 'call_service', 'run_policy'];

/** An intent body with some of its fields made random. */
function intentLike(gen: Gen): Record<string, unknown> {
  const body: Record<string, unknown> = { type: gen.pick(TYPES) };
  for (let n = 1 + gen.int(3); n > 0; n--) {
    const key = gen.pick(['intent_id', 'type', 'params', 'targets', 'policy_ctx', 'created_at', gen.string()]);
    body[key] = gen.pick([
      gen.json(3),
      gen.string(),
      gen.number(),
      { requires_approval: gen.json(1), max_tool_calls: gen.number(), actor: gen.string() },
      { goal: gen.string(), x: gen.number(), y: gen.number() },
    ]);
  }
  return body;
}

/**
 * The text of a body: JSON no serializer writes, or a random value, an intent-like one, or one with a hazard spliced
 * in.
 */
function bodyText(gen: Gen): string {
  return gen.pick([
    () => gen.jsonText(),
    () => JSON.stringify(gen.json(5)),
    () => JSON.stringify(intentLike(gen)),
    () => `{"type":"stop","params":${gen.jsonText()}}`,
    () => `{"type":"stop","params":{"a":1},"params":${gen.jsonText()}}`,
    () =>
      `{"type":"navigate_to","params":{"x":${gen.pick(['1e309', '-1e400', '1e-400', '123456789012345678901234567890', '0x10', 'NaN', '01'])},"y":0}}`,
    () =>
      `{"type":"stop","policy_ctx":{"actor":"\\ud800","${gen.pick(['__proto__', 'constructor', 'prototype'])}":{"requires_approval":true}}}`,
  ])();
}

/** A request to one of the routes, its body damaged one way or another. */
function draw(gen: Gen, runId: string): Sent {
  const path = gen.pick(['/intents', '/intents', `/runs/${runId}/approve`, `/runs/${runId}/cancel`]);
  const text =
    path === '/intents' || gen.bool(0.5)
      ? bodyText(gen)
      : JSON.stringify(
          gen.pick([
            { by: gen.string() },
            { by: gen.json(1) },
            { by: 'ops', reason: gen.string() },
            { by: 'ops', [gen.string()]: 1 },
            {},
          ]),
        );
  const contentType = gen.pick([
    'application/json',
    'application/json',
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    undefined,
  ]);
  const body = gen.pick<() => Uint8Array | string | undefined>([
    () => text,
    () => text,
    () => gen.mutate(encoder.encode(text)),
    () => undefined,
    () => '',
  ])();
  return { path, contentType, body };
}

/**
 * Whether the approve or cancel route takes this body, written out apart from the route's schema: none at all
 * (or JSON null), or a JSON object of `by` (1 to 128 characters) and, to cancel, `reason` (at most 1024), always
 * under the JSON Content-Type.
 */
function takesBody({ path, contentType, body }: Sent): boolean | undefined {
  // A change needs the JSON type, also with no body (the API's guard against web pages); no body under it is none.
  if (body === undefined || body.length === 0) return contentType?.startsWith('application/json') === true;
  if (!/^application\/json(; charset=utf-8)?$/.test(contentType ?? '')) return false;
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return false;
  }
  if (value === null) return true; // JSON null reads as no body, as fastify gives a route none
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  const { by, reason, ...rest } = value as Record<string, unknown>;
  const text = (v: unknown, min: number, max: number) => typeof v === 'string' && v.length >= min && v.length <= max;
  if (Object.keys(rest).length > 0 || !(by === undefined || text(by, 1, 128))) return false;
  return reason === undefined || (path.endsWith('/cancel') && text(reason, 0, 1024));
}

/**
 * Statuses a bad request may get: bad request, not found (a run id), not allowed, conflict (an intent id), too large,
 * media type.
 */
const CLIENT_ERRORS = new Set([400, 404, 405, 409, 413, 415]);

describe('fuzz: HTTP API request bodies', () => {
  it("answers every damaged body with a 4xx in the API's error shape, and every good request between them succeeds", async () => {
    const awaiting = await http(h.url, '/intents', {
      body: { type: 'navigate_to', params: { x: 1, y: 1 }, policy_ctx: { requires_approval: true } },
    });
    expect(awaiting.status).toBe(201);
    const awaitingId = (awaiting.json.run as { run_id: string }).run_id;
    const good: string[] = [];
    const statuses = new Map<number, number>();
    await fuzz('api bodies', { seed: 0xa91, cases: 300 }, async (gen, note) => {
      if (gen.bool(0.05)) {
        const id = newId();
        good.push(id);
        // Not a stop: the stop skill is the operator's stop, which would cancel the waiting run.
        const r = await http(h.url, '/intents', {
          body: { intent_id: id, type: 'read_topic', params: { topic: '/fuzz' } },
        });
        expect(r.status, r.text).toBe(201);
        return;
      }
      // Approvals go to a run that does not exist, or to the waiting run with a body the route must refuse.
      const toWaiting = gen.bool(0.3);
      const sent = draw(gen, toWaiting ? awaitingId : newId());
      note({
        ...sent,
        body: sent.body instanceof Uint8Array ? `bytes ${Buffer.from(sent.body).toString('hex')}` : sent.body,
      });
      const takes = sent.path === '/intents' ? undefined : takesBody(sent);
      if (toWaiting && takes !== false) return;
      const { status, json } = await send(sent);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (takes === true) expect(status, 'a good approval body for a run that does not exist').toBe(404);
      if (takes === false)
        expect([400, 415], `a bad approval body: ${JSON.stringify(json).slice(0, 300)}`).toContain(status);
      if (status === 201 || status === 200) return; // an intent the damage left good (the agent took it)
      expect(CLIENT_ERRORS, `status ${status}: ${JSON.stringify(json).slice(0, 300)}`).toContain(status);
      expect(typeof json.error, JSON.stringify(json).slice(0, 300)).toBe('string');
      expect(typeof json.message).toBe('string');
      expect((json.message as string).length).toBeLessThan(8000);
    });
    // The prototypes are as they were, the waiting run still waits, and approving it works.
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(agent.getRun(awaitingId)!.run.status).toBe('awaiting_approval');
    const approved = await http(h.url, `/runs/${awaitingId}/approve`, { body: { by: 'fuzz' } });
    expect(approved.status, approved.text).toBe(200);
    for (const id of good)
      expect(
        agent.listRuns({ limit: 1000 }).some((r) => r.intent_id === id),
        `a run for intent ${id}`,
      ).toBe(true);
    // The fuzzer reached each kind of refusal.
    if (!replaying)
      for (const status of [400, 404, 415])
        expect(statuses.get(status) ?? 0, `answers with ${status}`).toBeGreaterThan(5);
  });
});

describe('bodies the fuzzer found answered 500', () => {
  it('refuses a body with an empty key with a 400, not a 500 (describing the issue threw)', async () => {
    for (const [path, raw] of [
      ['/intents', '{"":1,"type":"stop"}'],
      [`/runs/${newId()}/approve`, '{"":"ops"}'],
    ] as const) {
      const r = await http(h.url, path, { raw, headers: { 'content-type': 'application/json' } });
      expect(r.status, r.text).toBe(400);
      expect(r.json.error).toBe('bad_request');
      expect(r.json.message).toMatch(/^body/);
    }
  });
});
