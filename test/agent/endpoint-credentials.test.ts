import { streamSimple } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { resolveEndpoint } from '../../adapters/vllm/model.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { LlmEndpointSettings } from '../../daemon/config/sections/system2.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { runCli, runMain } from '../helpers/cli.ts';
import { errorText } from '../../daemon/util/index.ts';

// A base_url with credentials (a proxy with basic auth in front of vLLM): Node's fetch refuses such a URL,
// so they travel as an Authorization: Basic header, on both paths to the endpoint (pi-ai for the agent,
// the openai client for llm check and the bus query).

const servers: OpenAiSseServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function server(): Promise<OpenAiSseServer> {
  const s = new OpenAiSseServer({ models: ['m'] });
  await s.start();
  servers.push(s);
  return s;
}

const withCredentials = (baseUrl: string): string => baseUrl.replace('://', '://robot:pa%20ss@');
const BASIC = `Basic ${Buffer.from('robot:pa ss').toString('base64')}`;

function endpoint(baseUrl: string): LlmEndpointSettings {
  const config = parseConfigText(
    stringify({ llm: { endpoints: [{ name: 'proxy', base_url: baseUrl, model: 'm' }] } }),
    'edge.yaml',
    {},
  );
  return config.llm.endpoints[0]!;
}

describe('credentials in an endpoint base_url', () => {
  it('go to the endpoint as Authorization: Basic from llm check (models and completion), never in the URL', async () => {
    const s = await server();
    s.enqueue({ text: 'ok' });
    const r = await runCli(['llm', 'check', '--base-url', withCredentials(s.baseUrl), '--json']);
    expect(r.stdout + r.stderr).not.toContain('pa%20ss');
    expect(r.code).toBe(0);
    expect(s.requests.map((q) => [q.path, q.headers.authorization])).toEqual([
      ['/v1/models', BASIC],
      ['/v1/chat/completions', BASIC],
    ]);
  });

  it('go to the endpoint as Authorization: Basic from the agent path (pi-ai)', async () => {
    const s = await server();
    s.enqueue({ text: 'hello' });
    const resolved = resolveEndpoint(endpoint(withCredentials(s.baseUrl)), {});
    expect(resolved.model.baseUrl).toBe(s.baseUrl);
    const reply = await streamSimple(
      resolved.model,
      { messages: [{ role: 'user', content: 'hi', timestamp: Date.now() }] },
      { apiKey: resolved.apiKey },
    ).result();
    expect(reply.stopReason).toBe('stop');
    expect(s.chats[0]!.headers.authorization).toBe(BASIC);
  });

  it('are refused beside api_key_env (both would be the Authorization header), and a base_url that is no http URL is refused at start', async () => {
    const refused = (base_url: string, extra: Record<string, string> = {}) => {
      try {
        parseConfigText(
          stringify({ llm: { endpoints: [{ name: 'e', base_url, model: 'm', ...extra }] } }),
          'edge.yaml',
          {},
        );
        return '';
      } catch (error) {
        return errorText(error);
      }
    };
    expect(refused('http://u:secret@127.0.0.1:8000/v1', { api_key_env: 'VLLM_API_KEY' })).toBe(
      'edge.yaml: llm.endpoints[0].api_key_env: set, and base_url holds credentials too: both go in the Authorization header (Bearer and Basic); keep one',
    );
    expect(refused('localhost:8000/v1')).toBe(
      'edge.yaml: llm.endpoints[0].base_url: expected an http:// or https:// URL, got "localhost:8000/v1" (did you mean "http://localhost:8000/v1"?)',
    );
    expect(refused('http//localhost:8000/v1')).toBe(
      'edge.yaml: llm.endpoints[0].base_url: "http//localhost:8000/v1" is not a URL: write it in full, e.g. http://localhost:8000/v1',
    );
    expect(refused('http://127.0.0.1:8000/v1')).toBe('');
    const cli = await runMain(['llm', 'check', '--base-url', 'localhost:8000']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain(
      '--base-url: expected an http:// or https:// URL, got "localhost:8000" (did you mean "http://localhost:8000"?)',
    );
  });
});
