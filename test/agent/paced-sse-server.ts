import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A chat-completions server that streams its deltas in time, one every `paceMs`, as a loaded vLLM does
 * (the scripted double in test/doubles writes a reply at once): for timeouts that depend on a stream
 * flowing. Every request gets the same reply; with `finish: null` the stream then stalls (no finish_reason,
 * no end). Push `close` onto the test's cleanups.
 */
export async function pacedSseServer(
  deltas: readonly Record<string, unknown>[],
  options: { paceMs: number; finish?: string | null },
): Promise<{ baseUrl: string; readonly chats: number; close: () => Promise<void> }> {
  const { paceMs, finish = 'stop' } = options;
  let chats = 0;
  const chunk = (body: Record<string, unknown>) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-paced', object: 'chat.completion.chunk', created: 1, model: 'm', ...body })}\n\n`;
  const frame = (delta: Record<string, unknown>, reason: string | null = null) =>
    chunk({ choices: [{ index: 0, delta, logprobs: null, finish_reason: reason }] });
  const answer = async (res: ServerResponse) => {
    chats++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(frame({ role: 'assistant', content: '' }));
    for (const delta of deltas) {
      // A stream paced on purpose: its timing is what the stream timeouts and quotas are tested against.
      // eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
      await new Promise((resolve) => setTimeout(resolve, paceMs));
      if (res.destroyed) return;
      res.write(frame(delta));
    }
    if (finish === null) return;
    res.write(frame({}, finish));
    res.write(
      chunk({
        choices: [],
        usage: { prompt_tokens: 5, completion_tokens: deltas.length, total_tokens: 5 + deltas.length },
      }),
    );
    res.end('data: [DONE]\n\n');
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => void answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    get chats() {
      return chats;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
