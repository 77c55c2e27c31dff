import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';

// A reasoning model on vLLM (`--reasoning-parser`, Qwen3, DeepSeek-R1) streams its thinking as
// `delta.reasoning_content` (`delta.reasoning` in newer vLLM) before any `delta.content`: tokens flow the
// whole time. The bus query counted only content as a token, so a model that thought for longer than
// first_token_timeout_ms was cut off as silent ("no first token") while it streamed, and retried from the
// start, paying for the thinking again.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A vLLM-like server whose model thinks for `thinkMs` (a reasoning chunk every 50 ms), then answers. */
async function thinkingServer(thinkMs: number, field: 'reasoning_content' | 'reasoning'): Promise<{ baseUrl: string; chats: number; server: Server }> {
  const state = { baseUrl: '', chats: 0, server: undefined as unknown as Server };
  state.server = createServer((req, res) => {
    req.resume();
    req.on('end', () => void answer(res));
  });
  const answer = async (res: ServerResponse) => {
    state.chats++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
      res.write(`data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`);
    frame({ role: 'assistant', content: '' });
    for (let t = 0; t < thinkMs; t += 50) {
      if (res.destroyed) return;
      frame({ [field]: 'hmm ' });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (res.destroyed) return;
    frame({ content: 'the dock is at (1, 2)' });
    frame({}, 'stop');
    res.write(`data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } })}\n\n`);
    res.end('data: [DONE]\n\n');
  };
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.baseUrl = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}/v1`;
  cleanups.push(() => new Promise<void>((resolve) => state.server.close(() => resolve())));
  return state;
}

describe('the ai/inference/llm bus query with a reasoning model', () => {
  for (const field of ['reasoning_content', 'reasoning'] as const) {
    it(`takes delta.${field} as tokens: a model thinking past first_token_timeout_ms is answered, not cut off`, { timeout: 20_000 }, async () => {
      const server = await thinkingServer(900, field);
      const endpoint = { name: 'local', base_url: server.baseUrl, model: 'm', retries: 0, first_token_timeout_ms: 300, idle_timeout_ms: 300 };
      const { daemon, stop } = await startDaemon(
        { sim: { enabled: false }, foxglove: { enabled: false }, api: { enabled: false }, lakehouse: { enabled: false }, retention: { enabled: false }, llm: { endpoints: [endpoint] } },
        'review-s21-reasoning-',
      );
      cleanups.push(stop);
      const payload = new TextEncoder().encode(JSON.stringify({ messages: [{ role: 'user', content: 'where is the dock?' }] }));
      const reply = await daemon.bus.query('ai/inference/llm/local', { encoding: 'application/json', payload }, { timeoutMs: 10_000 });
      expect(JSON.parse(new TextDecoder().decode(reply.payload))).toMatchObject({ endpoint: 'local', content: 'the dock is at (1, 2)', finish_reason: 'stop' });
      expect(server.chats).toBe(1);
    });
  }

  it('still gives up on a stream that goes silent while the model thinks', { timeout: 20_000 }, async () => {
    // Thinking counts as tokens, not as a licence to stall: one reasoning chunk, then nothing, is cut off
    // by the idle timeout, long before the first-token timeout.
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { reasoning_content: 'hmm' }, finish_reason: null }] })}\n\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const endpoint = { name: 'local', base_url: baseUrl, model: 'm', retries: 0, first_token_timeout_ms: 5000, idle_timeout_ms: 300 };
    const { daemon, stop } = await startDaemon(
      { sim: { enabled: false }, foxglove: { enabled: false }, api: { enabled: false }, lakehouse: { enabled: false }, retention: { enabled: false }, llm: { endpoints: [endpoint] } },
      'review-s21-reasoning-',
    );
    cleanups.push(stop);
    const payload = new TextEncoder().encode(JSON.stringify({ messages: [{ role: 'user', content: 'where is the dock?' }] }));
    await expect(daemon.bus.query('ai/inference/llm/local', { encoding: 'application/json', payload }, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'handler_error',
      message: expect.stringContaining('the stream went silent (300 ms)'),
    });
  });
});
