// isolated: fakes the wall clock (vitest.config.ts)
import type { Context } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointChain } from '../../adapters/vllm/endpoint-chain.ts';
import { resolveEndpoint } from '../../adapters/vllm/model.ts';
import { type OpenAiSseServer, withServerPair } from '../doubles/openai-sse-server.ts';
import { endpointSettings } from '../agent/endpoint-settings.ts';
import { waitFor } from '../helpers/wait.ts';
import { HOUR_MS, SteppedWallClock } from './clock-steps-clock.ts';

/** The model endpoints' cooldowns when the wall clock steps: they run on the monotonic clock. */

const clock = new SteppedWallClock();
afterEach(() => clock.uninstall());

const context: Context = {
  systemPrompt: 'plan',
  messages: [{ role: 'user', content: 'go to the dock', timestamp: 0 }],
};

describe('endpoint cooldowns when the wall clock steps', () => {
  let server: OpenAiSseServer;
  withServerPair((s) => (server = s));

  it('a step back of an hour does not keep a failed endpoint cooling down an hour', async () => {
    clock.install();
    server.enqueue({ status: 500 });
    const chain = new EndpointChain({
      endpoints: [
        resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl, retries: 0, cooldown_ms: 300 })),
      ],
    });
    expect((await chain.stream(context).result()).stopReason).toBe('error');
    expect(chain.health()[0]!.cooling_down).toBe(true);
    await clock.step(-HOUR_MS);
    await waitFor(() => !chain.health()[0]!.cooling_down, 'the 300 ms cooldown to end');
    expect(chain.available()).toEqual({ ok: true });
  });

  it("a 429's Retry-After date is read against the server's Date, not a clock that still reads 1970", async () => {
    clock.install();
    await clock.set(Date.UTC(1970, 0, 1, 0, 5));
    // The server's clock is set (new Date() is not stepped by the test): it asks for 2 s.
    server.enqueue({
      status: 429,
      message: 'slow down',
      headers: { 'retry-after': new Date(new Date().getTime() + 2000).toUTCString() },
    });
    const chain = new EndpointChain({
      endpoints: [
        resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl, retries: 1, cooldown_ms: 0 })),
      ],
    });
    expect((await chain.stream(context).result()).stopReason).toBe('error');
    // Longer than the backoff budget (2 ms in these settings): the endpoint cools down as asked, not 56 years.
    expect(chain.health()[0]!.cooling_down).toBe(true);
    await waitFor(() => !chain.health()[0]!.cooling_down, 'the 2 s Retry-After to pass');
    expect(server.chats).toHaveLength(1);
  });
});
