import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../daemon/agent/errors.ts';
import { API_ERRORS, type ApiErrorEntry } from '../../daemon/api/error-codes.ts';
import { HttpError } from '../../daemon/api/http-error.ts';
import { API_REFERENCE } from '../../daemon/api/api-reference.ts';
import { ROOT } from '../helpers/cli.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';

const CATALOGUE: Record<string, ApiErrorEntry> = API_ERRORS;

/** Whether the catalogue lists `code` with `status`. */
function listed(code: string, status: number): boolean {
  const entry = CATALOGUE[code];
  return entry !== undefined && (entry.status === status || entry.alsoStatus?.status === status);
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the error catalogue', () => {
  it("lists each code with its status in docs/api-reference.md's Error codes", () => {
    const doc = readFileSync(join(ROOT, API_REFERENCE), 'utf8');
    const table = doc.slice(doc.indexOf('\n## Error codes\n'));
    expect(Object.keys(API_ERRORS).length).toBeGreaterThan(40); // not vacuous
    for (const [code, { status }] of Object.entries(CATALOGUE))
      expect(table, code).toMatch(new RegExp(`^\\| \`${code}\` \\| ${status}\\b`, 'm'));
  });

  it('gives an HttpError its status, and refuses a code it does not list', () => {
    expect(new HttpError('stopped', 'latched')).toMatchObject({ statusCode: 409, code: 'stopped' });
    // @ts-expect-error: a code the catalogue does not list does not type-check
    expect(() => new HttpError('no_such_code', 'x')).toThrow();
  });

  it("holds the agent's own statuses for its codes", () => {
    for (const code of ['forbidden', 'not_found', 'conflict', 'wrong_target'] as const)
      expect(new AgentError(code, 'x').statusCode, code).toBe(API_ERRORS[code].status);
  });

  it("finds a started API's error replies in it, with the same status", async () => {
    h = await startHarness({ api: { token: 'secret' } });
    const auth = { authorization: 'Bearer secret' };
    const replies = [
      await http(h.url, '/status'), // 401
      await http(h.url, '/nope', { headers: auth }), // 404
      await http(h.url, '/healthz?verbose=1'), // 400
      await http(h.url, '/runs?status=nope', { headers: auth }), // 400
      await http(h.url, '/page/app.js', { method: 'PUT', headers: auth }), // 405
      await http(h.url, '/intents', { raw: 'x', headers: { ...auth, 'content-type': 'text/plain' } }), // 415
      await http(h.url, '/query', { body: { sql: 'SELECT 1' }, headers: auth }), // 503: no lakehouse
    ];
    expect(replies.map((r) => r.status)).toEqual([401, 404, 400, 400, 405, 415, 503]);
    for (const r of replies) {
      expect(r.json.message, JSON.stringify(r.json)).toBeTruthy();
      expect(listed(r.json.error!, r.status), `${r.json.error} ${r.status}`).toBe(true);
    }
  });
});
