import { describe, expect, it } from 'vitest';
import { runMain } from '../helpers/cli.ts';

describe('llm check of an endpoint on a port fetch blocks', () => {
  it('says fetch refuses that port and to serve the endpoint on another, not "bad port"', async () => {
    // Port 9 (discard) is on the Fetch standard's blocked list: fetch fails before it dials.
    const r = await runMain(['llm', 'check', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm']);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/failed: bad port/);
    expect(r.stdout).toContain("failed: the URL's port is one fetch refuses to connect to");
    expect(r.stdout).toContain('serve the endpoint on another port');
  });
});
