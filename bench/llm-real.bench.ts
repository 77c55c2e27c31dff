import type { Context, Tool } from '@mariozechner/pi-ai';
import OpenAI from 'openai';
import Type from 'typebox';
import { chatOnce, EndpointChain, resolveEndpoint } from '../adapters/vllm/index.ts';
import type { Daemon } from '../daemon/daemon.ts';
import { startDaemon } from '../test/helpers/daemon.ts';
import { endpointSettings } from '../test/agent/endpoint-settings.ts';
import { MODEL_ID, startModelServer, writeTestModel, type ModelServer } from '../test/agent-real/model-servers.ts';
import { percentile, spread, tail, type BenchResult } from './bench.ts';
import { errorText } from '../daemon/util/index.ts';

// System 2's own cost on a real server: llama.cpp's llama-server on the tests' made model (test/peers/llm), each
// figure beside the OpenAI SDK talking to the same server in the same run, interleaved call by call so both see the
// same machine. Ours, per LLM call: the bus query ai/inference/llm/local (request validation, the fallback chain,
// the streamed reply read and measured, the JSON answer). Per tool-call round trip: the agent's endpoint chain
// (pi-ai's message conversion, the stream parsed and buffered, the call's arguments checked) returning the server's
// parsed navigate_to call.
// Tokens per second: a 2,000-token reply streamed through the adapter and through the SDK alone.

const CALLS = Number(process.env.LLM_BENCH_CALLS ?? 200);
const TOOL_CALLS = Number(process.env.LLM_BENCH_TOOL_CALLS ?? 100);
const STREAM_RUNS = 5;
const STREAM_TOKENS = 2000;
const GOAL = 'within 1.2x of the SDK alone, or under 2 ms added, at p50';

const NAVIGATE: Tool = {
  name: 'navigate_to',
  description: 'Drive to a point of the map.',
  parameters: Type.Object({ x: Type.Number(), y: Type.Number() }),
};

export async function run(): Promise<BenchResult[]> {
  let written: Awaited<ReturnType<typeof writeTestModel>>;
  try {
    written = await writeTestModel();
  } catch (error) {
    // No peer, no figures: one row saying so, and the other benches run.
    return [
      {
        name: 'llm-real: skipped',
        ours: NaN,
        unit: 'ms',
        better: 'lower',
        notes: [`skipped: ${errorText(error).split('\n')[0]}`],
      },
    ];
  }
  const server = await startModelServer('llama-server', written.path);
  const { daemon, stop } = await startDaemon(
    {
      sim: { enabled: false },
      foxglove: { enabled: false },
      api: { enabled: false },
      lakehouse: { enabled: false },
      retention: { enabled: false },
      llm: { endpoints: [{ name: 'local', base_url: server.baseUrl, model: MODEL_ID, max_tokens: STREAM_TOKENS }] },
    },
    'bench-llm-real-',
  );
  try {
    return [await perCall(server, daemon), await perToolCall(server), ...(await tokensPerSecond(server))];
  } finally {
    await stop();
    await server.close();
    written.cleanup();
  }
}

/** The SDK alone: one streamed chat completion read to its end, the text kept. */
async function sdkChat(client: OpenAI, body: Record<string, unknown>): Promise<{ text: string; tools: number }> {
  const stream = await client.chat.completions.create({
    model: MODEL_ID,
    stream: true,
    ...body,
  } as OpenAI.ChatCompletionCreateParamsStreaming);
  let text = '';
  let tools = 0;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta;
    text += delta?.content ?? '';
    tools += delta?.tool_calls?.filter((t) => t.function?.name).length ?? 0;
  }
  return { text, tools };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function comparison(name: string, ours: number[], sdk: number[], extra: string[]): BenchResult {
  ours.sort((a, b) => a - b);
  sdk.sort((a, b) => a - b);
  const p50 = percentile(ours, 50);
  const base = percentile(sdk, 50);
  return {
    name,
    ours: p50,
    baseline: { name: 'OpenAI SDK alone, p50', value: base },
    unit: 'ms',
    better: 'lower',
    goal: GOAL,
    met: p50 <= base * 1.2 || p50 - base < 2,
    notes: [`ours ${tail(ours)}`, `SDK ${tail(sdk)}`, `added at p50: ${(p50 - base).toFixed(2)} ms`, ...extra],
  };
}

async function perCall(server: ModelServer, daemon: Daemon): Promise<BenchResult> {
  const client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'none', maxRetries: 0 });
  const messages = [{ role: 'user', content: 'Say OK' }];
  const payload = new TextEncoder().encode(JSON.stringify({ messages, max_tokens: 8 }));
  const viaDaemon = async () => {
    const reply = await daemon.bus.query('ai/inference/llm/local', { encoding: 'application/json', payload });
    const { content } = JSON.parse(new TextDecoder().decode(reply.payload)) as { content: string };
    if (content !== 'OK OK OK') throw new Error(`the daemon's reply was ${JSON.stringify(content)}, not "OK OK OK"`);
  };
  const direct = async () => {
    const { text } = await sdkChat(client, { messages, max_tokens: 8, temperature: 0 });
    if (text !== 'OK OK OK') throw new Error(`the server's reply was ${JSON.stringify(text)}, not "OK OK OK"`);
  };
  for (let i = 0; i < 20; i++) {
    await viaDaemon();
    await direct();
  }
  const ours: number[] = [];
  const sdk: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    ours.push(await timed(viaDaemon));
    sdk.push(await timed(direct));
  }
  return comparison('LLM call (8 tokens), bus query ai/inference/llm/local', ours, sdk, [
    `${CALLS} calls each, interleaved, after 20 of each to warm up; llama-server, one slot, one thread`,
  ]);
}

async function perToolCall(server: ModelServer): Promise<BenchResult> {
  const client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'none', maxRetries: 0 });
  const chain = new EndpointChain({
    endpoints: [
      resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl, model: MODEL_ID, max_tokens: 256 })),
    ],
  });
  const context: Context = {
    systemPrompt: 'You drive a robot.',
    messages: [{ role: 'user', content: 'Drive to x 1.5, y 1.5.', timestamp: Date.now() }],
    tools: [NAVIGATE],
  };
  const viaChain = async () => {
    let calls = 0;
    for await (const event of chain.stream(context)) if (event.type === 'toolcall_end') calls++;
    if (calls !== 1) throw new Error(`the chain returned ${calls} tool calls, not 1`);
  };
  const tools = [
    {
      type: 'function',
      function: { name: NAVIGATE.name, description: NAVIGATE.description, parameters: NAVIGATE.parameters },
    },
  ];
  const sdkMessages = [
    { role: 'system', content: 'You drive a robot.' },
    { role: 'user', content: 'Drive to x 1.5, y 1.5.' },
  ];
  const direct = async () => {
    const { tools: calls } = await sdkChat(client, { messages: sdkMessages, tools, max_tokens: 256, temperature: 0 });
    if (calls !== 1) throw new Error(`the server streamed ${calls} tool calls, not 1`);
  };
  for (let i = 0; i < 10; i++) {
    await viaChain();
    await direct();
  }
  const ours: number[] = [];
  const sdk: number[] = [];
  for (let i = 0; i < TOOL_CALLS; i++) {
    ours.push(await timed(viaChain));
    sdk.push(await timed(direct));
  }
  return comparison("tool-call round trip (navigate_to), the agent's endpoint chain", ours, sdk, [
    `${TOOL_CALLS} calls each, interleaved, after 10 of each to warm up`,
  ]);
}

async function tokensPerSecond(server: ModelServer): Promise<BenchResult[]> {
  const client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'none', maxRetries: 0 });
  const endpoint = resolveEndpoint(
    endpointSettings({ name: 'local', base_url: server.baseUrl, model: MODEL_ID, max_tokens: STREAM_TOKENS }),
  );
  const messages = [{ role: 'user' as const, content: 'Say OK' }];
  const ours: number[] = [];
  const sdk: number[] = [];
  for (let i = 0; i < STREAM_RUNS; i++) {
    let tokens = 0;
    const t1 = await timed(async () => {
      const reply = await chatOnce(endpoint, { messages });
      tokens = reply.usage?.completion_tokens ?? 0;
    });
    ours.push((tokens / t1) * 1000);
    let text = '';
    const t2 = await timed(async () => {
      ({ text } = await sdkChat(client, { messages, max_tokens: STREAM_TOKENS, temperature: 0 }));
    });
    // The made model's reply is one character a token.
    sdk.push((text.length / t2) * 1000);
  }
  const best = (xs: number[]) => Math.max(...xs);
  return [
    {
      name: `tokens/s streamed, ${STREAM_TOKENS}-token reply, through the adapter`,
      ours: best(ours),
      baseline: { name: 'OpenAI SDK alone, best run', value: best(sdk) },
      unit: 'tokens/s',
      better: 'higher',
      notes: [`ours ${spread(ours, 0, 'higher')}`, `SDK ${spread(sdk, 0, 'higher')}`],
    },
  ];
}
