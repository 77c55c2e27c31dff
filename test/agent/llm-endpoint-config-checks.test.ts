import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runMain, tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// An endpoint's timeouts are setTimeout delays, and Node fires one past 2^31-1 ms (24.8 days) after 1 ms
// (a TimeoutOverflowWarning). A config that meant "no limit" with a big number (request_timeout_ms:
// 3000000000) passed the check, and then every request was aborted at once ("no whole reply within
// request_timeout_ms (3000000000 ms)"): System 2 down, with a valid config.

const cleanups = cleanupStack();

describe('llm.endpoints[] timeouts past what a timer can hold', () => {
  for (const key of [
    'connect_timeout_ms',
    'first_token_timeout_ms',
    'idle_timeout_ms',
    'request_timeout_ms',
    'backoff_ms',
    'backoff_max_ms',
  ]) {
    it(`refuses ${key} over 2^31-1 ms at the config check, naming the key`, async () => {
      const dir = tempDir('llm-endpoint-timeouts-');
      cleanups.push(dir.cleanup);
      const file = join(dir.path, 'edge.yaml');
      writeFileSync(
        file,
        stringify({
          llm: {
            endpoints: [{ name: 'local', base_url: 'http://127.0.0.1:8000/v1', model: 'm', [key]: 3_000_000_000 }],
          },
        }),
      );
      const r = await runMain(['config', 'check', '--config', file]);
      expect(r.code, r.stdout).toBe(2);
      expect(r.stdout).toContain(`llm.endpoints[0].${key}: expected`);
      expect(r.stdout).toContain('2147483647');
    });
  }
});

describe('llm.endpoints[] names', () => {
  // Each endpoint is the bus query ai/inference/llm/<name>, its health and its metrics' label: two of one
  // name passed the check, and then the llm component failed at every start ("query
  // ai/inference/llm/local is already served"), System 2 down with no key named.
  it('refuses two endpoints of one name at the config check, naming the key', async () => {
    const dir = tempDir('llm-endpoint-names-');
    cleanups.push(dir.cleanup);
    const file = join(dir.path, 'edge.yaml');
    const endpoint = (port: number) => ({ name: 'local', base_url: `http://127.0.0.1:${port}/v1`, model: 'm' });
    writeFileSync(file, stringify({ llm: { endpoints: [endpoint(8000), endpoint(8001)] } }));
    const r = await runMain(['config', 'check', '--config', file]);
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toContain('llm.endpoints[1].name: "local" is the name of llm.endpoints[0] too');
  });
});
