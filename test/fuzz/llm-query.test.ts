import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llmQueryHandler } from '../../adapters/vllm/llm-query.ts';
import { resolveEndpoint } from '../../adapters/vllm/model.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { QueryError } from '../../daemon/bus/errors.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { endpointSettings } from '../agent/endpoint-settings.ts';
import { fuzz, replaying, type Gen } from './fuzz-kit.ts';

/**
 * `ai/inference/llm/<name>` fuzzed in-process, in front of a scripted OpenAI-compatible server: a request the
 * contract refuses is a `bad_request` (HTTP 400) before any model is asked; one it takes reaches the model and
 * is answered. Nothing a caller sends makes a `handler_error` (HTTP 502, the endpoint blamed).
 */

const NAME = 'ai/inference/llm/local';
const encoder = new TextEncoder();
let server: OpenAiSseServer;
const bus = new Bus();

beforeAll(async () => {
  server = new OpenAiSseServer();
  await server.start();
  // retries: 0, so a request wrongly sent on is asked once and the count of chats shows it.
  bus.serve(
    NAME,
    llmQueryHandler([
      resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl, max_tokens: 64, retries: 0 })),
    ]),
  );
});
afterAll(async () => {
  bus.close();
  await server.close();
});

interface Case {
  encoding: string;
  text: string;
  /** Whether the contract takes it (then it must be answered), else it must be a bad_request. */
  valid: boolean;
  /** A response schema was asked for: the scripted reply is JSON matching `{type: object}`. */
  structured?: boolean;
}

const ROLES = ['system', 'user', 'assistant'];

function validChat(gen: Gen): Record<string, unknown> {
  const chat: Record<string, unknown> = {
    messages: Array.from({ length: 1 + gen.int(4) }, () => ({ role: gen.pick(ROLES), content: gen.string() })),
  };
  if (gen.bool(0.3)) chat.max_tokens = 1 + gen.int(100_000);
  if (gen.bool(0.3)) chat.temperature = gen.pick([0, 2, gen.float() * 2]);
  return chat;
}

/** Schemas the daemon cannot check a reply against, or will not take from outside. */
const BAD_SCHEMAS = [
  '{"type":"string","pattern":"("}',
  '{"type":"object","patternProperties":{"[":{}}}',
  `${'{"items":'.repeat(100_000)}{}${'}'.repeat(100_000)}`,
  `${'{"items":'.repeat(70)}{}${'}'.repeat(70)}`,
  '{"__proto__":{"type":"string"}}',
  '{"type":"object","properties":{"constructor":{"prototype":{}}}}',
  '{"type":"number","maximum":1e309}',
];

/** One way of getting a request wrong (each is a bad_request). */
function invalid(gen: Gen): Case {
  const chat = validChat(gen);
  const messages = chat.messages as Record<string, unknown>[];
  const json = (value: unknown): Case => ({ encoding: 'application/json', text: JSON.stringify(value), valid: false });
  switch (gen.int(12)) {
    case 0:
      messages[gen.int(messages.length)]!.role = gen.pick(['', 'tool', 'User', 'developer', null, 1, gen.string()]);
      return json(chat);
    case 1:
      messages[gen.int(messages.length)]!.content = gen.pick([null, 1, [], {}, true, undefined]);
      return json(chat);
    case 2:
      messages[gen.int(messages.length)]![gen.pick(['name', 'tool_calls', '__proto__x', gen.string()])] = gen.json(2);
      return json(chat);
    case 3:
      chat.messages = gen.pick([
        [],
        null,
        'hi',
        {},
        Array.from({ length: gen.pick([257, 5000]) }, () => ({ role: 'user', content: 'x' })),
      ]);
      return json(chat);
    case 4:
      chat.max_tokens = gen.pick([0, -1, 1.5, '5', null, [], -(2 ** 53)]);
      return json(chat);
    case 5: {
      // Put first: a duplicate key later in the text would win (JSON.parse keeps the last).
      const key = gen.pick(['max_tokens', 'temperature']);
      delete chat[key];
      return {
        encoding: 'application/json',
        text: JSON.stringify(chat).replace(/^\{/, `{"${key}":${gen.pick(['1e309', '-1e309'])},`),
        valid: false,
      };
    }
    case 6:
      chat.temperature = gen.pick([-0.001, 2.001, 1e308, '1', null]);
      return json(chat);
    case 7:
      chat.response_schema = gen.pick([
        { name: '', schema: {} },
        { name: 'a b', schema: {} },
        { name: 'x'.repeat(65), schema: {} },
        { name: 'x', schema: [] },
        { name: 'x' },
        { schema: {} },
        { name: 'x', schema: {}, strict: true },
      ]);
      return json(chat);
    case 8:
      return {
        encoding: 'application/json',
        text: JSON.stringify(chat).replace(/\}$/, `,"response_schema":{"name":"s","schema":${gen.pick(BAD_SCHEMAS)}}}`),
        valid: false,
      };
    case 9:
      return {
        encoding: 'application/json',
        text: gen.pick([gen.jsonText(), JSON.stringify(gen.json()), `{"messages":${gen.jsonText()}}`]),
        valid: false,
      };
    case 10:
      return {
        encoding: gen.pick(['text/plain', 'application/JSON', '', 'application/json; charset=utf-8', gen.string()]),
        text: JSON.stringify(chat),
        valid: false,
      };
    default: {
      const bytes = gen.mutate(encoder.encode(JSON.stringify(chat)));
      // Damage that leaves a request the contract takes is a valid case (a flipped letter inside a content).
      const text = new TextDecoder().decode(bytes);
      return { encoding: 'application/json', text, valid: isValid(text) };
    }
  }
}

/**
 * The contract, written out independently of the daemon's validator: one to 256 messages of exactly a role
 * and a string content; an integer max_tokens >= 1; a temperature from 0 to 2; nothing else.
 */
function isValid(text: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return false;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const { messages, max_tokens, temperature, ...rest } = v as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || !Array.isArray(messages) || messages.length < 1 || messages.length > 256)
    return false;
  const okMessage = (m: unknown) =>
    m !== null &&
    typeof m === 'object' &&
    !Array.isArray(m) &&
    Object.keys(m).sort().join() === 'content,role' &&
    ROLES.includes((m as { role: string }).role) &&
    typeof (m as { content: unknown }).content === 'string';
  if (!messages.every(okMessage)) return false;
  if (max_tokens !== undefined && !(Number.isInteger(max_tokens) && (max_tokens as number) >= 1)) return false;
  return temperature === undefined || (typeof temperature === 'number' && temperature >= 0 && temperature <= 2);
}

function draw(gen: Gen): Case {
  if (gen.bool(0.75)) return invalid(gen);
  const chat = validChat(gen);
  const structured = gen.bool(0.3);
  if (structured)
    chat.response_schema = { name: 'reply', schema: { type: 'object', properties: { ok: { type: 'boolean' } } } };
  return { encoding: 'application/json', text: JSON.stringify(chat), valid: true, structured };
}

describe('fuzz: ai/inference/llm/<name> requests', () => {
  it('refuses every request the contract does not take as bad_request before asking the model, and answers every one it takes', async () => {
    let answered = 0;
    let refused = 0;
    await fuzz('llm query request', { seed: 0x11a, cases: 400 }, async (gen, note) => {
      const c = draw(gen);
      note(c);
      const chatsBefore = server.chats.length;
      if (c.valid) server.enqueue({ text: c.structured ? '{"ok":true}' : 'fine' });
      const outcome = await bus
        .query(NAME, { encoding: c.encoding, payload: encoder.encode(c.text) }, { timeoutMs: 30_000 })
        .then(
          (reply) => ({ reply }),
          (error: unknown) => ({ error }),
        );
      if ('error' in outcome) {
        expect(outcome.error).toBeInstanceOf(QueryError);
        const { code, message } = outcome.error as QueryError;
        expect(`${code}: ${message}`.slice(0, 300)).toMatch(/^bad_request: /);
        expect(c.valid, `a request the contract takes was refused: ${message}`).toBe(false);
        expect(server.chats.length, 'the model was asked').toBe(chatsBefore);
        refused++;
        return;
      }
      expect(c.valid, 'a request the contract refuses was answered').toBe(true);
      const body = JSON.parse(new TextDecoder().decode(outcome.reply.payload)) as { content: string; parsed?: unknown };
      expect(body.content).toBe(c.structured ? '{"ok":true}' : 'fine');
      if (c.structured) expect(body.parsed).toEqual({ ok: true });
      expect(server.chats.length).toBe(chatsBefore + 1);
      answered++;
    });
    // No scripted reply was left unused (each valid case took its own), and both sides were exercised.
    expect(server.pending).toBe(0);
    if (replaying) return;
    expect(answered).toBeGreaterThan(40);
    expect(refused).toBeGreaterThan(200);
  });
});
