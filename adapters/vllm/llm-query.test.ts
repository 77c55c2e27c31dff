import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.ts';
import { QueryError } from '../../daemon/bus/errors.ts';
import { OpenAiSseServer } from '../../test/doubles/openai-sse-server.ts';
import { endpointSettings } from '../../test/agent/endpoint-settings.ts';
import { llmQueryHandler } from './llm-query.ts';
import { resolveEndpoint } from './model.ts';
import { errorText } from '../../daemon/util/index.ts';

const encoder = new TextEncoder();
const json = (value: unknown) => ({ encoding: 'application/json', payload: encoder.encode(JSON.stringify(value)) });

describe('the ai/inference/llm query handler', () => {
  let server: OpenAiSseServer;
  let bus: Bus;

  beforeEach(async () => {
    server = new OpenAiSseServer();
    await server.start();
    bus = new Bus();
    bus.serve(
      'ai/inference/llm/local',
      llmQueryHandler([resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl, max_tokens: 64 }))]),
    );
  });

  afterEach(async () => {
    bus.close();
    await server.close();
  });

  const ask = (request: { encoding: string; payload: Uint8Array }) =>
    bus.query('ai/inference/llm/local', request, { timeoutMs: 30_000 });

  it("answers a bad request as the caller's fault (bad_request, HTTP 400), not the handler's", async () => {
    const refused = [
      ask({ encoding: 'text/plain', payload: encoder.encode('hi') }),
      ask({ encoding: 'application/json', payload: encoder.encode('{"messages": [') }),
      ask(json({ messages: [] })),
      ask(json({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 0 })),
    ];
    const errors = await Promise.all(
      refused.map((p) =>
        p.then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    );
    for (const error of errors) expect(error).toBeInstanceOf(QueryError);
    expect(errors.map((e) => (e as QueryError).code)).toEqual([
      'bad_request',
      'bad_request',
      'bad_request',
      'bad_request',
    ]);
    expect(errorText(errors[0])).toMatch(/expected encoding application\/json, got text\/plain/);
    expect(errorText(errors[2])).toMatch(/llm query request: messages/);
    expect(server.chats).toHaveLength(0);
  });

  it('refuses a response schema it could not check a reply against as bad_request, before asking the model', async () => {
    const hi = [{ role: 'user', content: 'hi' }];
    const withSchema = (schema: string) => ({
      encoding: 'application/json',
      payload: encoder.encode(`{"messages":${JSON.stringify(hi)},"response_schema":{"name":"s","schema":${schema}}}`),
    });
    const failure = (request: { encoding: string; payload: Uint8Array }) =>
      ask(request).then(
        () => undefined,
        (error: QueryError) => `${error.code}: ${error.message}`,
      );
    expect(await failure(withSchema('{"type":"string","pattern":"("}'))).toBe(
      'bad_request: llm query request: response_schema.schema is not a schema the daemon can check replies against: Invalid regular expression: /(/u: Unterminated group',
    );
    // 100k levels would overflow the stack sending the request; like any HTTP body, past 64 is refused.
    expect(await failure(withSchema(`${'{"items":'.repeat(100_000)}{}${'}'.repeat(100_000)}`))).toBe(
      'bad_request: llm query request: response_schema: nested deeper than 64 levels',
    );
    expect(await failure(withSchema('{"__proto__":{"type":"string"}}'))).toBe(
      'bad_request: llm query request: response_schema.schema: key __proto__ is not allowed',
    );
    // The list's length is checked before the validator walks its items (200k took it seconds).
    expect(await failure(json({ messages: Array.from({ length: 200_000 }, () => hi[0]) }))).toBe(
      'bad_request: llm query request: messages: expected array of 1 to 256 items, got an array of 200000 items',
    );
    expect(server.chats).toHaveLength(0);
  });

  it('refuses a request the validator cannot describe (a top-level empty key) as bad_request, not handler_error', async () => {
    const request = {
      encoding: 'application/json',
      payload: encoder.encode('{"":1,"messages":[{"role":"user","content":"hi"}]}'),
    };
    await expect(ask(request)).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/^llm query request: /),
    });
    expect(server.chats).toHaveLength(0);
  });

  it("sends the caller's regular expressions to the server but checks the reply without them (one could stall the daemon)", async () => {
    // `^(a|a)*$` on forty a's and a b backtracks for hours, and the caller writes both the pattern and the
    // prompt. The reply here breaks the pattern at once (a b alone), so that checking it fails fast.
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', pattern: '^(a|a)*$' }, pattern: { type: 'integer' } },
      required: ['name', 'pattern'],
    };
    const request = json({
      messages: [{ role: 'user', content: 'say a forty times, then b' }],
      response_schema: { name: 's', schema },
    });
    server.enqueue({ text: JSON.stringify({ name: 'b', pattern: 3 }) });
    const reply = JSON.parse(new TextDecoder().decode((await ask(request)).payload)) as { parsed: unknown };
    expect(reply.parsed).toEqual({ name: 'b', pattern: 3 });
    expect((server.chats[0]!.body.response_format as { json_schema: { schema: unknown } }).json_schema.schema).toEqual(
      schema,
    );
    // The rest is still checked, a property named `pattern` included.
    server.enqueue({ text: JSON.stringify({ name: 'a', pattern: 'three' }) });
    await expect(ask(request)).rejects.toMatchObject({
      code: 'handler_error',
      message: expect.stringContaining('reply to response schema s: pattern: expected integer'),
    });
  });

  it('asks the endpoint for at most its own max_tokens', async () => {
    server.enqueue({ text: 'one' }, { text: 'two' });
    await ask(json({ messages: [{ role: 'user', content: 'talk' }], max_tokens: 100_000 }));
    await ask(json({ messages: [{ role: 'user', content: 'talk' }], max_tokens: 16 }));
    expect(server.chats.map((c) => c.body.max_tokens)).toEqual([64, 16]);
  });

  it('still reports an endpoint that fails as a handler error', async () => {
    server.enqueue({ status: 400, message: 'bad model' });
    await expect(ask(json({ messages: [{ role: 'user', content: 'hi' }] }))).rejects.toMatchObject({
      code: 'handler_error',
    });
  });

  it('stops a reply past llm.max_reply_bytes while it streams, content or one endless line, and does not ask that endpoint again', async () => {
    const limits = { max_tool_argument_bytes: 1000, max_reply_bytes: 1000 };
    bus.serve(
      'ai/inference/llm/small',
      llmQueryHandler(
        [resolveEndpoint(endpointSettings({ name: 'small', base_url: server.baseUrl, retries: 2 }))],
        limits,
      ),
    );
    const askSmall = () =>
      bus.query('ai/inference/llm/small', json({ messages: [{ role: 'user', content: 'talk' }] }), {
        timeoutMs: 30_000,
      });
    const failure = () =>
      askSmall().then(
        () => undefined,
        (error: QueryError) => ({ code: error.code, message: error.message }),
      );
    server.enqueue({ text: 'x'.repeat(5000) });
    expect(await failure()).toEqual({
      code: 'handler_error',
      message: expect.stringContaining('reply over 1000 bytes (llm.max_reply_bytes) from small'),
    });
    expect(server.chats).toHaveLength(1);
    server.enqueue({ raw: `data: ${'y'.repeat(200_000)}\n\n`, contentType: 'text/event-stream' });
    expect(await failure()).toEqual({
      code: 'handler_error',
      message: expect.stringContaining(
        `a line of the reply from small (${server.baseUrl}) passed ${1000 + 64 * 1024} bytes`,
      ),
    });
    expect(server.chats).toHaveLength(2);
  });
});
