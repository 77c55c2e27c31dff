import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../test/helpers/paths.ts';
import { MessageCodec } from './codec.ts';
import { DefinitionsRegistry } from './definitions.ts';
import { errorText } from '../util/index.ts';

const registry = new DefinitionsRegistry({ distro: 'jazzy', dirs: [join(FIXTURES, 'msgs')] });
const codec = new MessageCodec(registry);

/** Types `{}` cannot round-trip for a reason of their own, not the codec's. */
function cannotRoundTrip(type: string): string | undefined {
  const [root] = registry.resolve(type).definitions;
  if (root!.definitions.length > 0 && root!.definitions.every((f) => f.isConstant))
    return 'only constants: no message is ever sent';
  if (registry.resolve(type).definitions.some((d) => d.definitions.some((f) => f.type === 'wstring')))
    return 'wstring: the writer does not support it';
  return undefined;
}

describe('MessageCodec defaults', () => {
  const types = registry.types();

  it("round-trips {} over every type of the fixtures and the built-in set, with each sequence's default in place", () => {
    const failures: string[] = [];
    let checked = 0;
    for (const type of types) {
      if (cannotRoundTrip(type)) continue;
      try {
        const bytes = codec.encode(type, {});
        const decoded = codec.decode<Record<string, unknown>>(type, bytes);
        // Stable: what was decoded encodes to the same bytes.
        expect(Buffer.from(codec.encode(type, decoded)).equals(Buffer.from(bytes))).toBe(true);
        for (const f of registry.resolve(type).definitions[0]!.definitions) {
          if (f.isConstant || f.defaultValue === undefined) continue;
          const got = decoded[f.name];
          expect(
            ArrayBuffer.isView(got) || Array.isArray(got) ? Array.from(got as ArrayLike<unknown>) : got,
            `${type}.${f.name}`,
          ).toEqual(f.defaultValue);
        }
        checked++;
      } catch (error) {
        failures.push(`${type}: ${errorText(error)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(250);
    expect(types.filter(cannotRoundTrip).length).toBeLessThan(10);
  });

  it('writes a missing sequence with a default so the fields after it decode right', () => {
    const own = new DefinitionsRegistry({ distro: 'none' });
    own.addMessageText(
      'odd_msgs/msg/D',
      'uint8[] a [1, 2, 3]\nint64[] big [-1, 9223372036854775807]\nint32 after\n',
      'test',
    );
    const c = new MessageCodec(own);
    const decoded = c.decode<{ a: Uint8Array; big: BigInt64Array; after: number }>(
      'odd_msgs/msg/D',
      c.encode('odd_msgs/msg/D', { after: 7 }),
    );
    expect([Array.from(decoded.a), Array.from(decoded.big), decoded.after]).toEqual([
      [1, 2, 3],
      [-1n, 2n ** 63n - 1n],
      7,
    ]);
    // Given, the value is taken as it is.
    expect(c.decode<{ a: Uint8Array }>('odd_msgs/msg/D', c.encode('odd_msgs/msg/D', { a: [9], after: 7 })).a).toEqual(
      new Uint8Array([9]),
    );
    // Nested, and in every element of a fixed array of such messages.
    own.addMessageText('odd_msgs/msg/Outer', 'D one\nD[2] two\nint32 tail\n', 'test');
    const outer = c.decode<{ one: { a: Uint8Array }; two: { a: Uint8Array; after: number }[]; tail: number }>(
      'odd_msgs/msg/Outer',
      c.encode('odd_msgs/msg/Outer', { two: [{ after: 5 }, {}], tail: 9 }),
    );
    expect([Array.from(outer.one.a), Array.from(outer.two[1]!.a), outer.two[0]!.after, outer.tail]).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      5,
      9,
    ]);
  });
});

describe('MessageCodec after a definitions reload', () => {
  it('encodes and decodes a type overridden by addDirectory with the new layout, in a codec made before', () => {
    const own = new DefinitionsRegistry({ distro: 'jazzy' });
    const c = new MessageCodec(own);
    expect(c.encode('std_msgs/msg/String', { data: 'x' }).byteLength).toBe(10);
    const dir = mkdtempSync(join(tmpdir(), 'auraison-defs-'));
    mkdirSync(join(dir, 'std_msgs', 'msg'), { recursive: true });
    writeFileSync(join(dir, 'std_msgs', 'msg', 'String.msg'), 'string data\nint32 extra\n');
    const generation = own.generation;
    own.addDirectory(dir);
    expect(own.generation).toBeGreaterThan(generation);
    const bytes = c.encode('std_msgs/msg/String', { data: 'x', extra: 7 });
    expect(bytes).toEqual(new MessageCodec(own).encode('std_msgs/msg/String', { data: 'x', extra: 7 }));
    expect(c.decode('std_msgs/msg/String', bytes)).toEqual({ data: 'x', extra: 7 });
    expect(c.validator('std_msgs/msg/String').check({ extra: 1 })).toMatchObject({ ok: true });
  });
});
