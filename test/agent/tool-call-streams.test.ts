import { describe, expect, it } from 'vitest';
import { http } from '../api/http.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { apiDaemon, type ApiRun, type ApiRunEvent } from './api-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitForValue } from '../helpers/wait.ts';

// How OpenAI-compatible servers other than vLLM stream tool calls, as the agent meets them through the
// fallback chain (README: "a local vLLM first, then llama.cpp's server, Ollama or a cloud gateway").

const cleanups = cleanupStack();

const sse = (chunks: Record<string, unknown>[]) =>
  `${chunks.map((c) => `data: ${JSON.stringify({ id: 'chatcmpl-o', object: 'chat.completion.chunk', created: 1, model: 'scripted-model', ...c })}\n\n`).join('')}data: [DONE]\n\n`;
const choice = (delta: Record<string, unknown>, finish: string | null = null) => ({
  choices: [{ index: 0, delta, finish_reason: finish }],
});

type Run = ApiRun;
type RunEvent = ApiRunEvent;

async function agentDaemon(server: OpenAiSseServer, agent: Record<string, unknown> = {}) {
  return apiDaemon(
    { llm: { endpoints: [{ name: 'local', base_url: server.baseUrl, model: 'scripted-model', retries: 0 }] }, agent },
    'toolcalls-',
    cleanups,
  );
}

describe('tool calls streamed by an OpenAI-compatible server', () => {
  it(
    'runs two parallel calls that Ollama streams whole, each with its own id but both at index 0',
    { timeout: 30_000 },
    async () => {
      // ollama/ollama#15457 (and #15497 for models without a parser): every call of a batch comes whole in
      // its own chunk, with a fresh id, all at `index: 0`. Merged by index they make
      // `{"topic":...}{"topic":...}`, malformed: the batch failed on every retry and every fallback.
      const server = new OpenAiSseServer();
      await server.start();
      cleanups.push(() => server.close());
      const call = (id: string, data: string) => ({
        tool_calls: [
          {
            index: 0,
            id,
            type: 'function',
            function: {
              name: 'publish',
              arguments: JSON.stringify({ topic: '/note', type: 'std_msgs/msg/String', fields: { data } }),
            },
          },
        ],
      });
      server.enqueue(
        {
          raw: sse([
            choice({ role: 'assistant', content: '' }),
            choice(call('call_a1', 'one')),
            choice(call('call_b2', 'two')),
            choice({}, 'tool_calls'),
          ]),
          contentType: 'text/event-stream',
        },
        { text: 'Both notes are out.' },
      );
      const { url, until } = await agentDaemon(server);
      const created = await http(url, '/intents', {
        body: { type: 'natural_language', params: { text: 'post two notes' } },
      });
      expect(created.status, created.text).toBe(201);
      const { run, events } = await until((created.json.run as Run).run_id);
      expect(
        run,
        JSON.stringify(events.filter((e) => e.kind === 'tool.result' || e.kind === 'llm.message').slice(0, 4)),
      ).toMatchObject({ status: 'succeeded' });
      const calls = events.filter((e) => e.kind === 'tool.call').map((e) => e.payload);
      expect(calls).toEqual([
        expect.objectContaining({
          call_id: 'call_a1',
          tool: 'publish',
          input: expect.objectContaining({ fields: { data: 'one' } }),
        }),
        expect.objectContaining({
          call_id: 'call_b2',
          tool: 'publish',
          input: expect.objectContaining({ fields: { data: 'two' } }),
        }),
      ]);
      expect(server.chats).toHaveLength(2);
    },
  );

  it(
    'still joins a call whose later argument deltas carry no id, or the same id again (vLLM, llama.cpp)',
    { timeout: 30_000 },
    async () => {
      const server = new OpenAiSseServer();
      await server.start();
      cleanups.push(() => server.close());
      const args = JSON.stringify({ topic: '/note', type: 'std_msgs/msg/String', fields: { data: 'é one' } });
      const pieces = [args.slice(0, 10), args.slice(10, 30), args.slice(30)];
      server.enqueue(
        {
          raw: sse([
            choice({ role: 'assistant', content: '' }),
            choice({
              tool_calls: [{ index: 0, id: 'call_x', type: 'function', function: { name: 'publish', arguments: '' } }],
            }),
            choice({ tool_calls: [{ index: 0, function: { arguments: pieces[0] } }] }),
            choice({ tool_calls: [{ index: 0, id: 'call_x', function: { arguments: pieces[1] } }] }),
            choice({
              tool_calls: [
                { index: 0, id: 'call_x', type: 'function', function: { name: 'publish', arguments: pieces[2] } },
              ],
            }),
            choice({}, 'tool_calls'),
          ]),
          contentType: 'text/event-stream',
        },
        { text: 'Done.' },
      );
      const { url, until } = await agentDaemon(server);
      const created = await http(url, '/intents', {
        body: { type: 'natural_language', params: { text: 'post a note' } },
      });
      const { run, events } = await until((created.json.run as Run).run_id);
      expect(run.status).toBe('succeeded');
      expect(events.filter((e) => e.kind === 'tool.call').map((e) => e.payload)).toEqual([
        expect.objectContaining({ call_id: 'call_x', input: expect.objectContaining({ fields: { data: 'é one' } }) }),
      ]);
    },
  );

  it(
    'asks again for a second call of a skill that needs approval when the server sends no call ids',
    { timeout: 30_000 },
    async () => {
      // A server that sends a call with no id (the index alone) had it named call_0, in every turn: the
      // approval of the first publish (call_0) let the second one (call_0 again) run unapproved.
      const server = new OpenAiSseServer();
      await server.start();
      cleanups.push(() => server.close());
      const noId = (data: string) =>
        sse([
          choice({ role: 'assistant', content: '' }),
          choice({
            tool_calls: [
              {
                index: 0,
                type: 'function',
                function: {
                  name: 'publish',
                  arguments: JSON.stringify({ topic: '/note', type: 'std_msgs/msg/String', fields: { data } }),
                },
              },
            ],
          }),
          choice({}, 'tool_calls'),
        ]);
      server.enqueue(
        { raw: noId('one'), contentType: 'text/event-stream' },
        { raw: noId('two'), contentType: 'text/event-stream' },
        { text: 'Both notes are out.' },
      );
      const { url, until } = await agentDaemon(server, { require_approval: ['publish'] });
      const created = await http(url, '/intents', {
        body: { type: 'natural_language', params: { text: 'post two notes' } },
      });
      const runId = (created.json.run as Run).run_id;
      const paused = ['awaiting_approval', 'succeeded', 'failed', 'cancelled', 'interrupted'];
      expect((await until(runId, paused)).run.status).toBe('awaiting_approval');
      expect((await http(url, `/runs/${runId}/approve`, { body: { by: 'ada' } })).status).toBe(200);
      // The second publish waits for a person too.
      const found = await waitForValue(async () => {
        const now = (await http(url, `/runs/${runId}`)).json as { run: Run; events: RunEvent[] };
        // The second request is journaled a moment before the run's state says so: wait for both.
        const second =
          now.events.filter((e) => e.kind === 'approval.requested').length >= 2 &&
          now.run.status === 'awaiting_approval';
        return (second || ['succeeded', 'failed'].includes(now.run.status)) && now;
      }, 'the second approval request, or the run to end');
      expect(found.run.status).toBe('awaiting_approval');
      const published = found.events
        .filter((e) => e.kind === 'tool.call')
        .map((e) => (e.payload.input as { fields: unknown }).fields);
      expect(published).toEqual([{ data: 'one' }]);
      expect((await http(url, `/runs/${runId}/approve`, { body: { by: 'ada' } })).status).toBe(200);
      const { run, events } = await until(runId);
      expect(run.status).toBe('succeeded');
      const calls = events.filter((e) => e.kind === 'tool.call').map((e) => e.payload);
      expect(calls.map((c) => (c.input as { fields: unknown }).fields)).toEqual([{ data: 'one' }, { data: 'two' }]);
      expect(new Set(calls.map((c) => c.call_id)).size).toBe(2);
    },
  );
});
