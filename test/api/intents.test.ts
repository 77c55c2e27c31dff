import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { newId } from '../../daemon/util/ids.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';
import { waitFor } from '../helpers/wait.ts';

/** POST /intents and the intents topic in front of the real edge agent: what a sender is told, and when. */

let h: Harness | undefined;
let agent: AgentComponent | undefined;
afterEach(async () => {
  await agent?.close();
  await h?.close();
  agent = undefined;
  h = undefined;
});

/** The API with the real agent (its warnings kept in `logged`). */
async function withAgent() {
  h = await startHarness();
  const logged: { msg: string; err?: string }[] = [];
  const log = pino(
    { level: 'warn' },
    { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string; err?: string }) },
  );
  agent = new AgentComponent({ ...h.ctx, log });
  await agent.start();
  h.components.set('agent', agent);
  return { h, agent, logged };
}

const json = (raw: string) => ({ raw, headers: { 'content-type': 'application/json' } });
const nested = (levels: number, inner = '1') => `${'{"a":'.repeat(levels)}${inner}${'}'.repeat(levels)}`;

describe('POST /intents with the edge agent', () => {
  it('refuses JSON nested deeper than 64 levels with a 400 naming the key, on HTTP and on the intents topic', async () => {
    const { h, agent, logged } = await withAgent();
    for (const levels of [100, 5000]) {
      const r = await http(h.url, '/intents', json(`{"type":"stop","params":${nested(levels)}}`));
      expect(r.status, `${levels} levels`).toBe(400);
      expect(r.json.message).toBe('body.params: nested deeper than 64 levels');
      expect(r.json.issues).toEqual([{ path: 'body.params', message: 'nested deeper than 64 levels' }]);
    }
    // 64 levels under params is within the limit: the skill's own validation answers.
    const within = await http(h.url, '/intents', json(`{"type":"stop","params":${nested(63, '{}')}}`));
    expect(within.status).toBe(400);
    expect(within.json.message).not.toContain('nested deeper');
    // Any route's body: the limit is the API's, before validation.
    const query = await http(h.url, '/query', json(`{"sql":${nested(5000, '"x"')}}`));
    expect(query.status).toBe(400);
    expect(query.json.message).toBe('body.sql: nested deeper than 64 levels');

    const codec = new MessageCodec(h.definitions);
    const topic = h.bus.advertise('/auraison/intents', 'std_msgs/msg/String', { source: 'test' });
    topic.publish(
      codec.encode('std_msgs/msg/String', {
        data: `{"intent_id":"01a1ff93-0000-7000-8000-000000000001","type":"stop","params":${nested(5000)},"policy_ctx":{"actor":"t","source":"ros"},"targets":[]}`,
      }),
    );
    await waitFor(() => logged.some((l) => l.msg === 'intent from the topic refused'), 'the refusal to be logged');
    expect(logged.find((l) => l.msg === 'intent from the topic refused')!.err).toBe(
      'intent: params: nested deeper than 64 levels',
    );
    // The agent is still taking intents, and made no run of the refused one.
    expect(agent.listRuns()).toEqual([]);
    const ok = await http(h.url, '/intents', { body: { type: 'stop' } });
    expect(ok.status).toBe(201);
  });

  it('says "non-finite number" for a number too large for a double, rather than "got null"', async () => {
    const { h } = await withAgent();
    const r = await http(h.url, '/intents', json('{"type":"navigate_to","params":{"x":1e309,"y":0}}'));
    expect(r.status).toBe(400);
    expect(r.json.issues).toEqual([
      { path: 'body.params.x', message: 'non-finite number: JSON numbers must fit a double (|x| < 1.8e308)' },
    ]);
    const negative = await http(h.url, '/query', json('{"sql":"SELECT 1","max_rows":-1e400}'));
    expect(negative.json.message).toContain('body.max_rows: non-finite number');
  });

  it('refuses a __proto__ key by name: it is valid JSON', async () => {
    const { h, agent } = await withAgent();
    const inParams = await http(h.url, '/intents', json('{"type":"stop","params":{"__proto__":{"polluted":true}}}'));
    expect(inParams.status).toBe(400);
    expect(inParams.json.message).toBe('body.params: key __proto__ is not allowed');
    const atTop = await http(h.url, '/intents', json('{"__proto__":{},"type":"stop"}'));
    expect(atTop.json.message).toBe('body: key __proto__ is not allowed');
    const ctor = await http(h.url, '/intents', json('{"type":"stop","params":{"constructor":{"prototype":{}}}}'));
    expect(ctor.json.message).toBe('body.params: key constructor.prototype is not allowed');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(agent.listRuns()).toEqual([]);
    // Still: JSON that does not parse is named as such.
    const broken = await http(h.url, '/intents', json('{"type": '));
    expect(broken.status).toBe(400);
    expect(broken.json.message).toMatch(/^body: not valid JSON: /);
  });

  it('names a bad param by its full path, body.params.<key>', async () => {
    const { h } = await withAgent();
    const cases: [unknown, string, string][] = [
      [{ type: 'navigate_to', params: { x: 'far', y: 0 } }, 'body.params.x', 'expected number'],
      [{ type: 'navigate_to', params: { x: 1, y: 0, speed: 2 } }, 'body.params.speed', 'unknown key'],
      [
        { type: 'natural_language', params: { text: 'x'.repeat(8001) } },
        'body.params.text',
        'expected string of 1 to 8000 characters',
      ],
      [
        { type: 'stop', params: { validators: [{ type: 'goal_reached', tolerance_m: 'near' }] } },
        'body.params.validators[0].tolerance_m',
        'expected number',
      ],
    ];
    for (const [body, path, message] of cases) {
      const r = await http(h.url, '/intents', { body });
      expect(r.status, path).toBe(400);
      expect(r.json.issues?.[0]?.path, JSON.stringify(r.json)).toBe(path);
      expect(r.json.message).toContain(`${path}: ${message}`);
    }
  });

  it('answers a repeated intent_id with its run as 200, and 409 when the intent differs', async () => {
    const { h, agent } = await withAgent();
    const intent_id = newId();
    const first = { intent_id, type: 'read_topic', params: { topic: '/a' } };
    // Sent at once: one run; exactly one reply says it was created.
    const replies = await Promise.all(Array.from({ length: 8 }, () => http(h.url, '/intents', { body: first })));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    const runId = (replies[0]!.json.run as { run_id: string }).run_id;
    expect(new Set(replies.map((r) => (r.json.run as { run_id: string }).run_id))).toEqual(new Set([runId]));
    const again = await http(h.url, '/intents', { body: { params: { topic: '/a' }, type: 'read_topic', intent_id } });
    expect(again.status).toBe(200);
    expect((again.json.run as { run_id: string }).run_id).toBe(runId);

    const moved = await http(h.url, '/intents', { body: { ...first, params: { topic: '/b' } } });
    expect(moved.status).toBe(409);
    expect(moved.json).toEqual({
      error: 'conflict',
      message: `intent_id ${intent_id} already used with different params (run ${runId}): send a new intent_id, or the same intent to get that run`,
    });
    const other = await http(h.url, '/intents', { body: { intent_id, type: 'stop' } });
    expect(other.status).toBe(409);
    expect(other.json.message).toContain('already used with different type/params');
    expect(agent.listRuns().map((r) => r.run_id)).toEqual([runId]);
  });
});
