import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TSchema } from 'typebox';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../daemon/config/load.ts';
import { EdgeConfigSchema } from '../../daemon/config/schema.ts';

// edge.example.yaml is the config's documentation: it must load as it is, and name every key the schema has.

const EXAMPLE = fileURLToPath(new URL('../../edge.example.yaml', import.meta.url));
const text = readFileSync(EXAMPLE, 'utf8');

/** Every key path of the schema, e.g. `recorder.queue.depth`, `llm.endpoints[].base_url`, `control.loops.*.rate_hz`. */
function keyPaths(schema: TSchema, at: string, out: string[]): string[] {
  const s = schema as TSchema & {
    properties?: Record<string, TSchema>;
    items?: TSchema;
    patternProperties?: Record<string, TSchema>;
    additionalProperties?: TSchema | boolean;
    anyOf?: TSchema[];
  };
  if (s.properties) {
    for (const [key, sub] of Object.entries(s.properties)) {
      const path = at === '' ? key : `${at}.${key}`;
      out.push(path);
      keyPaths(sub, path, out);
    }
  }
  if (s.items && typeof s.items === 'object') keyPaths(s.items, `${at}[]`, out);
  for (const sub of Object.values(s.patternProperties ?? {})) keyPaths(sub, `${at}.*`, out);
  if (typeof s.additionalProperties === 'object') keyPaths(s.additionalProperties, `${at}.*`, out);
  for (const sub of s.anyOf ?? []) keyPaths(sub, at, out);
  return out;
}

/** The key names written in the file, commented out or not (`  # first_token_timeout_ms: 20000` counts). */
function documentedKeys(yaml: string): Set<string> {
  const keys = new Set<string>();
  for (const line of yaml.split('\n')) {
    const m = /^[\s#-]*([A-Za-z_][A-Za-z0-9_]*):(\s|$)/.exec(line);
    if (m) keys.add(m[1]!);
    // Flow mappings (`queue: {policy: drop-oldest, depth: 10000}`, or an example in a comment) name their keys inline.
    for (const inline of line.matchAll(/[{,]\s*([A-Za-z_][A-Za-z0-9_]*):\s/g)) keys.add(inline[1]!);
  }
  return keys;
}

describe('edge.example.yaml', () => {
  it('loads as it is, with no unknown key and no value out of range', () => {
    expect(() => parseConfigText(text, 'edge.example.yaml', { ...process.env })).not.toThrow();
  });

  it('names every key of the schema', () => {
    const documented = documentedKeys(text);
    const paths = [...new Set(keyPaths(EdgeConfigSchema, '', []))];
    expect(paths.length).toBeGreaterThan(100);
    const missing = paths.filter((path) => !documented.has(path.split('.').at(-1)!.replace(/\[\]$/, '')));
    expect(missing).toEqual([]);
  });
});
