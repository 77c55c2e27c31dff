import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach } from 'vitest';

/**
 * A scripted OpenAI-compatible server that speaks the way vLLM does: `GET /v1/models`, and
 * `POST /v1/chat/completions` streamed as SSE, tool calls first sent with their id and name and then
 * their arguments split across many deltas, a `finish_reason` chunk, a usage chunk and `[DONE]`.
 * Each request takes the next scripted reply; faults are replies too. Used only in tests.
 */

export interface ScriptedToolCall {
  name: string;
  /** Raw argument text as the model emits it: pass an object to have it stringified, or a (malformed) string. */
  arguments: Record<string, unknown> | string;
}

/**
 * `noUsage`: no usage chunk, as a server that ignores `stream_options.include_usage` sends. `holdAfterBytes`:
 * once that many bytes are handed to the socket, the rest waits until the client goes away, so what a client
 * that aborts at a limit was sent does not depend on how much the kernel's socket buffers took meanwhile.
 */
export type ScriptedReply =
  | { text: string; finish?: 'stop' | 'length'; noUsage?: boolean; holdAfterBytes?: number }
  /** `argumentChunk` overrides the server's characters of argument text per delta for this reply. */
  | {
      toolCalls: ScriptedToolCall[];
      text?: string;
      finish?: 'tool_calls' | 'length';
      argumentChunk?: number;
      noUsage?: boolean;
      holdAfterBytes?: number;
    }
  /** A non-streamed error response, in the nested OpenAI error body current vLLM sends. */
  | { status: number; message?: string; headers?: Record<string, string> }
  /** A 200 with this body and content type, as a proxy's error page is. */
  | { raw: string; contentType: string }
  /** Streams this reply's first `fraction` of bytes, then ends the response with no finish_reason and no [DONE]. */
  | { cut: ScriptedReply & ({ text: string } | { toolCalls: ScriptedToolCall[] }); fraction?: number }
  /** Sends headers and the first chunk, then nothing more: a stream that stalls mid-call. */
  | { stall: ScriptedReply & ({ text: string } | { toolCalls: ScriptedToolCall[] }) }
  /** Never sends a response at all. */
  | { hang: true };

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** Bytes of the streamed reply handed to the socket before the reply ended or the client went away. */
  bytesSent: number;
  /** The whole reply's size, bytes: more than bytesSent when the client stopped reading. */
  bytesTotal: number;
  /** The client went away before the whole reply was handed to the socket. */
  leftEarly: boolean;
}

export type ScriptStep = ScriptedReply | ((request: RecordedRequest) => ScriptedReply);

export interface OpenAiSseServerOptions {
  models?: string[];
  /** Characters of argument text per delta (vLLM sends a token or a few). */
  argumentChunk?: number;
}

export class OpenAiSseServer {
  readonly requests: RecordedRequest[] = [];
  /** `GET /v1/models` sends its headers (a Content-Length of 100) and then nothing: a server stuck mid-answer. */
  stallModels = false;
  #server: Server;
  #script: ScriptStep[] = [];
  #models: string[];
  #chunk: number;
  #sockets = new Set<Socket>();
  #counter = 0;

  constructor(options: OpenAiSseServerOptions = {}) {
    const { models = ['scripted-model'], argumentChunk = 3 } = options;
    this.#models = models;
    this.#chunk = argumentChunk;
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts listening on a free loopback port; resolves to the base URL (ending in /v1). */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return this.baseUrl;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  /** Adds replies for the next chat requests, in order. */
  enqueue(...steps: ScriptStep[]): void {
    this.#script.push(...steps);
  }

  get pending(): number {
    return this.#script.length;
  }

  /** Completion requests only. */
  get chats(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith('/chat/completions'));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '').split('?')[0]!;
    const request: RecordedRequest = {
      path,
      headers: req.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      bytesSent: 0,
      bytesTotal: 0,
      leftEarly: false,
    };
    this.requests.push(request);
    if (req.method === 'GET' && path === '/v1/models') {
      if (this.stallModels) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.flushHeaders();
        return;
      }
      const data = this.#models.map((id) => ({
        id,
        object: 'model',
        created: 1_700_000_000,
        owned_by: 'vllm',
        max_model_len: 32768,
      }));
      return json(res, 200, { object: 'list', data });
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions')
      return json(res, 404, errorBody(404, `no route ${req.method} ${path}`));
    const step = this.#script.shift();
    if (!step) return json(res, 500, errorBody(500, 'the scripted server has no reply left for this request'));
    const reply = typeof step === 'function' ? step(request) : step;
    await this.#reply(res, reply, String(request.body.model ?? this.#models[0]), request);
  }

  async #reply(res: ServerResponse, reply: ScriptedReply, model: string, request: RecordedRequest): Promise<void> {
    if ('hang' in reply) return;
    if ('status' in reply)
      return json(
        res,
        reply.status,
        errorBody(reply.status, reply.message ?? `scripted ${reply.status}`),
        reply.headers,
      );
    if ('raw' in reply) {
      res.writeHead(200, { 'content-type': reply.contentType });
      res.end(reply.raw);
      return;
    }
    const id = `chatcmpl-${++this.#counter}`;
    if ('stall' in reply) {
      const frames = this.#frames(reply.stall, id, model);
      sseHead(res);
      res.write(frames.slice(0, 2).join(''));
      return;
    }
    if ('cut' in reply) {
      const all = this.#frames(reply.cut, id, model).join('');
      const body = all.slice(0, Math.max(1, Math.floor(all.length * (reply.fraction ?? 0.5))));
      // End on a frame boundary inside the tool call, as a server that died between two writes does.
      const boundary = body.lastIndexOf('\n\n');
      sseHead(res);
      res.end(boundary > 0 ? body.slice(0, boundary + 2) : body);
      return;
    }
    sseHead(res);
    await streamFrames(res, this.#frames(reply, id, model), request, reply.holdAfterBytes ?? Infinity);
  }

  /** The SSE frames of a reply, vLLM style. */
  #frames(
    reply:
      | { text: string; finish?: string; noUsage?: boolean }
      | { toolCalls: ScriptedToolCall[]; text?: string; finish?: string; argumentChunk?: number; noUsage?: boolean },
    id: string,
    model: string,
  ): string[] {
    const created = Math.floor(Date.now() / 1000);
    const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    const frames = [frame({ role: 'assistant', content: '' })];
    let completionTokens = 0;
    const text = 'text' in reply ? reply.text : undefined;
    if (text) {
      for (const piece of split(text, 4)) {
        frames.push(frame({ content: piece }));
        completionTokens++;
      }
    }
    if ('toolCalls' in reply) {
      for (const [index, call] of reply.toolCalls.entries()) {
        const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
        frames.push(
          frame({
            tool_calls: [
              { index, id: `chatcmpl-tool-${this.#counter}-${index}`, type: 'function', function: { name: call.name } },
            ],
          }),
        );
        for (const piece of split(args, ('argumentChunk' in reply ? reply.argumentChunk : undefined) ?? this.#chunk)) {
          frames.push(frame({ tool_calls: [{ index, function: { arguments: piece } }] }));
          completionTokens++;
        }
      }
    }
    const finish = reply.finish ?? ('toolCalls' in reply ? 'tool_calls' : 'stop');
    frames.push(frame({}, finish));
    if (!reply.noUsage)
      frames.push(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: { prompt_tokens: 50, completion_tokens: completionTokens, total_tokens: 50 + completionTokens } })}\n\n`,
      );
    frames.push('data: [DONE]\n\n');
    return frames;
  }
}

function errorBody(status: number, message: string) {
  const type = status === 404 ? 'NotFoundError' : status < 500 ? 'BadRequestError' : 'InternalServerError';
  return { error: { message, type, param: null, code: status } };
}

function split(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
}

/**
 * Writes the frames in batches, waiting while the socket is full, and stops when the client goes away: so
 * `bytesSent` tells how much of a large reply a client read before it aborted. Past `holdAfterBytes` the
 * rest waits for the client to go away.
 */
async function streamFrames(
  res: ServerResponse,
  frames: string[],
  request: RecordedRequest,
  holdAfterBytes: number,
): Promise<void> {
  const batches: Buffer[] = [];
  let batch: string[] = [];
  let size = 0;
  for (const frame of frames) {
    batch.push(frame);
    size += frame.length;
    if (size >= 64 * 1024) {
      batches.push(Buffer.from(batch.join('')));
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) batches.push(Buffer.from(batch.join('')));
  request.bytesTotal = batches.reduce((n, b) => n + b.length, 0);
  let gone = false;
  const away = new Promise<void>((resolve) =>
    res.on('close', () => {
      gone = true;
      resolve();
    }),
  );
  for (const buffer of batches) {
    if (!gone && !res.destroyed && request.bytesSent >= holdAfterBytes) await away;
    if (gone || res.destroyed) {
      request.leftEarly = true;
      return;
    }
    request.bytesSent += buffer.length;
    if (!res.write(buffer)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!gone) res.end();
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * A primary and a backup server for each test of the describe it is called in: started before each test,
 * closed after it. `use` receives the new pair before each test.
 */
export function withServerPair(use: (server: OpenAiSseServer, backup: OpenAiSseServer) => void): void {
  let pair: [OpenAiSseServer, OpenAiSseServer] | undefined;
  beforeEach(async () => {
    pair = [new OpenAiSseServer(), new OpenAiSseServer()];
    await Promise.all(pair.map((s) => s.start()));
    use(...pair);
  });
  afterEach(async () => {
    await Promise.all(pair?.map((s) => s.close()) ?? []);
  });
}
