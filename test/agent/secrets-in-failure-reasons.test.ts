import { describe, expect, it } from 'vitest';
import { http } from '../api/http.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { apiDaemon } from './api-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// A base_url may hold a proxy's password (http://user:pw@proxy/v1); README: it shows as *** in /status and
// error messages. The agent's stream reader named the endpoint by its raw base_url in the reasons of the
// failures it finds itself (a proxy's HTML page, a stream cut before its finish_reason, an empty reply), so
// the password went into the run's failure reason, its journaled events (synced to central), /status and
// the fallback warning.

const cleanups = cleanupStack();

const PASSWORD = 'hunter2-pw';

describe('a proxy password in base_url, in the failures the agent finds in a reply', () => {
  it('is *** in the run, its events and /status', { timeout: 30_000 }, async () => {
    const server = new OpenAiSseServer();
    await server.start();
    cleanups.push(() => server.close());
    const baseUrl = server.baseUrl.replace('http://', `http://probe:${PASSWORD}@`);
    const { url, submit, until } = await apiDaemon(
      { llm: { endpoints: [{ name: 'local', base_url: baseUrl, model: 'scripted-model', retries: 2 }] } },
      'secrets-',
      cleanups,
    );
    server.enqueue(
      { cut: { toolCalls: [{ name: 'stop', arguments: {} }] }, fraction: 0.5 },
      { text: '' },
      { raw: '<html><body>502 Bad Gateway</body></html>', contentType: 'text/html' },
    );
    const found = await until((await submit({ type: 'natural_language', params: { text: 'stop' } })).run.run_id);
    expect(found.run.status).toBe('failed');
    // The three failures are named, each with the endpoint as it may be shown.
    expect(found.run.reason).toContain('ended before the model finished');
    expect(found.run.reason).toContain('sent an empty completion');
    expect(found.run.reason).toContain('answered text/html');
    expect(found.run.reason).toContain('http://probe:***@127.0.0.1');
    expect(JSON.stringify(found)).not.toContain(PASSWORD);
    expect((await http(url, '/status')).text).not.toContain(PASSWORD);
  });
});
