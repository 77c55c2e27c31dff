import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { BARE_DAEMON } from '../helpers/bare-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { ENDPOINT_SETTINGS, MODEL_ID, SERVER_KINDS, startModelServer, type ModelServer } from './model-servers.ts';
import { madeModel } from './made-model.ts';

// Structured output from real servers through the bus query ai/inference/llm/<endpoint>: the server's grammar
// makes the made model's reply fit the schema, and the daemon checks it anyway. It fails closed where the reply
// does not fit: cut off at max_tokens, or a schema keyword the server's grammar does not enforce (multipleOf).

const shared = cleanupStack(afterAll);
const made = madeModel();

const MOVE = {
  name: 'move',
  schema: {
    type: 'object',
    properties: { direction: { enum: ['west', 'north'] }, speed: { type: 'number' } },
    required: ['direction', 'speed'],
    additionalProperties: false,
  },
};

const bare = BARE_DAEMON;

function ask(daemon: Daemon, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const payload = new TextEncoder().encode(
    JSON.stringify({ messages: [{ role: 'user', content: 'Which way, how fast?' }], ...body }),
  );
  return daemon.bus
    .query('ai/inference/llm/local', { encoding: 'application/json', payload }, { timeoutMs: 60_000 })
    .then((r) => JSON.parse(new TextDecoder().decode(r.payload)) as Record<string, unknown>);
}

describe.each(SERVER_KINDS)('structured output from %s', (kind) => {
  let server: ModelServer;
  let daemon: Daemon;

  beforeAll(async () => {
    server = await startModelServer(kind, made.path);
    shared.push(() => server.close());
    const started = await startDaemon(
      {
        ...bare,
        llm: {
          endpoints: [
            { name: 'local', base_url: server.baseUrl, model: MODEL_ID, retries: 0, ...ENDPOINT_SETTINGS[kind] },
          ],
        },
      },
      'real-llm-structured-',
    );
    shared.push(started.stop);
    daemon = started.daemon;
  }, 90_000);

  it('answers JSON that matches the schema, parsed', async () => {
    const reply = await ask(daemon, { response_schema: MOVE });
    // The grammar leaves the made model two words; it ranks n over w, and a number is 1.5 to it.
    expect(reply).toMatchObject({
      endpoint: 'local',
      parsed: { direction: 'north', speed: 1.5 },
      finish_reason: 'stop',
    });
    expect(JSON.parse(reply.content as string)).toEqual(reply.parsed);
  }, 60_000);

  it('fails closed when the reply is cut off at max_tokens: half a JSON object is no answer', async () => {
    await expect(ask(daemon, { response_schema: MOVE, max_tokens: 4 })).rejects.toMatchObject({
      code: 'handler_error',
      message: expect.stringContaining('the reply is not JSON though a response schema was asked for'),
    });
  }, 60_000);

  it("fails closed on a keyword the server's grammar does not enforce (multipleOf): the reply is checked, not trusted", async () => {
    const even = {
      name: 'even',
      schema: { type: 'object', properties: { speed: { type: 'number', multipleOf: 2 } }, required: ['speed'] },
    };
    await expect(ask(daemon, { response_schema: even })).rejects.toMatchObject({
      code: 'handler_error',
      message: expect.stringMatching(/reply to response schema even.*speed/),
    });
  }, 60_000);
});

describe("llama-cpp-python's server and the response_format forms", () => {
  it('answers json_schema, the OpenAI form, with HTTP 500, which the daemon reports as the endpoint failing', async () => {
    const server = await startModelServer('llama-cpp-python', made.path);
    shared.push(() => server.close());
    const { daemon, stop } = await startDaemon(
      {
        ...bare,
        llm: {
          endpoints: [
            {
              name: 'local',
              base_url: server.baseUrl,
              model: MODEL_ID,
              retries: 0,
              structured_outputs: 'response_format',
            },
          ],
        },
      },
      'real-llm-form-',
    );
    shared.push(stop);
    await expect(ask(daemon, { response_schema: MOVE })).rejects.toMatchObject({
      code: 'handler_error',
      message: expect.stringMatching(/local attempt 1: 500/),
    });
  }, 90_000);
});
