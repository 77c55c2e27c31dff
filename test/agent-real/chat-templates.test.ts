import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { newId } from '../../daemon/util/ids.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { BARE_DAEMON } from '../helpers/bare-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli } from '../helpers/cli.ts';
import { running, startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { madeModel } from './made-model.ts';
import {
  ENDPOINT_SETTINGS,
  MODEL_ID,
  SERVER_KINDS,
  startModelServer,
  type ModelServer,
  type ServerKind,
} from './model-servers.ts';

// Llama 3's, Qwen 2.5's and Mistral's chat templates join a turn's `message['content']` to strings, and
// llama-cpp-python's server hands a template the messages as they came: a turn sent as a list of text parts fails
// the request in Qwen's and Mistral's templates and prints the list's Python text into Llama 3's prompt. The made
// model carries templates written the way those families write theirs (test/peers/llm/make_model.py): an agent run,
// the bus query and `llm check` must pass through each, on both servers.

const shared = cleanupStack(afterAll);

const FAMILIES = ['llama3', 'qwen2.5', 'mistral'] as const;

/**
 * What the made model says within 8 tokens: "OK OK ..." after the newline that ends Llama 3's and Qwen's prompts; "}"
 * after Mistral's "[/INST]", and then "}" again on llama-server, while llama-cpp-python's repeat penalty (1.1) puts
 * "</tool_call>" over a second "}", and the model stops after that.
 */
function expectedReply(template: (typeof FAMILIES)[number], kind: ServerKind) {
  if (template !== 'mistral') return { content: 'OK OK OK', finish_reason: 'length' };
  return kind === 'llama-server'
    ? { content: '}}}}}}}}', finish_reason: 'length' }
    : { content: '}</tool_call>', finish_reason: 'stop' };
}

const SYSTEM = 'You are the planner of a robot.';
const ASK = 'Say OK.';

describe.each(FAMILIES)('a chat template written as %s writes its own', (template) => {
  const made = madeModel(template);
  const servers = new Map<ServerKind, ModelServer>();
  beforeAll(async () => {
    for (const kind of SERVER_KINDS) {
      const server = await startModelServer(kind, made.path);
      shared.push(() => server.close());
      servers.set(kind, server);
    }
  }, 120_000);

  describe.each(SERVER_KINDS)('on %s', (kind) => {
    let server: ModelServer;
    let daemon: Daemon;
    let agent: AgentComponent;

    beforeAll(async () => {
      server = servers.get(kind)!;
      const started = await startDaemon(
        {
          ...BARE_DAEMON,
          llm: {
            endpoints: [
              {
                name: 'local',
                base_url: server.baseUrl,
                model: MODEL_ID,
                max_tokens: 8,
                retries: 0,
                ...ENDPOINT_SETTINGS[kind],
              },
            ],
          },
        },
        'real-llm-template-',
      );
      shared.push(started.stop);
      daemon = started.daemon;
      agent = running(daemon, AgentComponent)!;
    }, 90_000);

    it("runs a natural-language intent, its skills offered as tools, to the model's answer", async () => {
      const { run_id } = await agent.submitIntent(
        {
          intent_id: newId(),
          type: 'natural_language',
          params: { text: ASK },
          policy_ctx: { actor: 'test', source: 'internal' },
          targets: [],
        },
        'internal',
      );
      await waitFor(() => ['succeeded', 'failed'].includes(agent.getRun(run_id)!.run.status), 'the run to end', 60_000);
      expect(agent.getRun(run_id)!.run, server.log().slice(-2000)).toMatchObject({
        status: 'succeeded',
        reason: expectedReply(template, kind).content,
      });
    }, 90_000);

    it('answers the ai/inference/llm query and passes llm check', async () => {
      const payload = new TextEncoder().encode(
        JSON.stringify({
          messages: [
            { role: 'system', content: SYSTEM },
            { role: 'user', content: ASK },
          ],
        }),
      );
      const reply = await daemon.bus.query(
        'ai/inference/llm/local',
        { encoding: 'application/json', payload },
        { timeoutMs: 60_000 },
      );
      expect(JSON.parse(new TextDecoder().decode(reply.payload))).toMatchObject(expectedReply(template, kind));
      const check = await runCli(['llm', 'check', '--base-url', server.baseUrl, '--model', MODEL_ID, '--json']);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, endpoints: [{ completion: { ok: true } }] });
    }, 90_000);
  });

  it("is handed a list of text parts as it is by llama-cpp-python's server, and as a string by llama-server", async () => {
    // Without this the tests above could not fail: each server asked for the same turn, as a string and as parts.
    const llamaServer = servers.get('llama-server')!;
    const llamaCppPython = servers.get('llama-cpp-python')!;
    const asString = await complete(llamaCppPython, ASK);
    const asParts = await complete(llamaCppPython, [{ type: 'text', text: ASK }]);
    expect(asString.status).toBe(200);
    if (template === 'llama3') {
      // Llama 3's template trims the content before joining it, which makes a list its Python text.
      expect(asParts.status).toBe(200);
      const listText = `[{'type': 'text', 'text': '${ASK}'}]`;
      // The made model's vocabulary is single characters: a token a character.
      expect(asParts.body.usage.prompt_tokens - asString.body.usage.prompt_tokens).toBe(listText.length - ASK.length);
    } else {
      expect(asParts.status).toBe(500);
      expect(JSON.stringify(asParts.body)).toContain('can only concatenate str (not \\"list\\") to str');
    }
    // llama-server joins the text parts before its template sees them: the same prompt either way.
    const [joined, plain] = await Promise.all([
      complete(llamaServer, [{ type: 'text', text: ASK }]),
      complete(llamaServer, ASK),
    ]);
    expect(joined.status).toBe(200);
    expect(joined.body.usage.prompt_tokens).toBe(plain.body.usage.prompt_tokens);
  }, 90_000);
});

/** One unstreamed chat completion of the system prompt and `content` as the user's turn, asked of `server` directly. */
async function complete(
  server: ModelServer,
  content: string | { type: 'text'; text: string }[],
): Promise<{ status: number; body: { usage: { prompt_tokens: number } } }> {
  const response = await fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: MODEL_ID,
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content },
      ],
      max_tokens: 1,
    }),
  });
  return { status: response.status, body: (await response.json()) as { usage: { prompt_tokens: number } } };
}
