import { join } from 'node:path';
import { CdrWriter, EncapsulationKind } from '@foxglove/cdr';
import type { MessageDefinition } from '@foxglove/message-definition';
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { fixtureBagDirs } from '../../test/helpers/fixture-bags.ts';
import { describe, expect, it } from 'vitest';
import { BagTypeResolver } from '../bags/message-types.ts';
import { locateBag, openStorageFile } from '../bags/open-bag.ts';
import { DefinitionsRegistry } from '../bus/definitions.ts';
import { FIXTURES } from '../../test/helpers/paths.ts';
import { columnStore, listMarks, rollbackLists, setValue, type ColumnStore, type ListColumn } from './column-batch.ts';
import { compileColumnarDecoder } from './columnar-decoder.ts';
import { flattenColumns } from './flatten.ts';
import { errorText } from '../util/index.ts';

const registry = new DefinitionsRegistry({ dirs: [join(FIXTURES, 'msgs')] });

/** Row `row` of the stores as plain values, to compare the two decoding paths. */
function rowOf(stores: readonly ColumnStore[], row: number): unknown[] {
  return stores.map((c) => {
    if (c.kind === 'fixed') return c.nulls?.[row] ? null : c.d[row];
    if (c.kind === 'list')
      return Array.from(c.child.subarray(c.offs[row]!, c.offs[row]! + c.lens[row]!) as ArrayLike<unknown>);
    if (c.kind === 'time')
      return c.nulls?.[row] ? null : `{"sec":${c.d[2 * row + 1]},"nanosec":${c.d[2 * row]! >>> 0}}`;
    if (c.kind === 'blob') return c.d[row] == null ? null : Array.from(c.d[row] as Uint8Array);
    return c.d[row] instanceof Object ? String(c.d[row]) : c.d[row];
  });
}

/** Decodes `data` both ways; returns undefined when the generated decoder gives up (MessageReader then decides). */
function bothWays(
  definitions: readonly MessageDefinition[],
  data: Uint8Array,
): { fast: unknown[]; reference: unknown[] } | undefined {
  const columns = flattenColumns(definitions);
  const fast = compileColumnarDecoder(definitions, 0);
  if (!fast) return undefined;
  const a = columns.map((c) => columnStore(c.sql, c.time));
  const b = columns.map((c) => columnStore(c.sql, c.time));
  try {
    fast(data, 0, a);
  } catch {
    return undefined;
  }
  const value = new MessageReader(definitions as MessageDefinition[]).readMessage(data);
  columns.forEach((c, i) => setValue(b[i]!, 0, c.get(value)));
  return { fast: rowOf(a, 0), reference: rowOf(b, 0) };
}

function bagDirs(): string[] {
  return fixtureBagDirs().filter((d) => !/wrong_rmw_test/.test(d));
}

/** Random values for a type, of the shapes MessageReader gives back. */
function randomValue(
  definitions: readonly MessageDefinition[],
  name: string,
  rnd: () => number,
): Record<string, unknown> {
  const def = definitions.find((d) => d.name === name)!;
  const out: Record<string, unknown> = {};
  const prim = (type: string): unknown => {
    const r = rnd();
    switch (type) {
      case 'bool':
        return r < 0.5;
      case 'int8':
        return Math.floor(r * 256) - 128;
      case 'uint8':
        return Math.floor(r * 256);
      case 'int16':
        return Math.floor(r * 65536) - 32768;
      case 'uint16':
        return Math.floor(r * 65536);
      case 'int32':
        return Math.floor(r * 2 ** 32) - 2 ** 31;
      case 'uint32':
        return Math.floor(r * 2 ** 32);
      case 'int64':
        return BigInt(Math.floor(r * 2 ** 53)) * (r < 0.5 ? -1n : 1n);
      case 'uint64':
        return BigInt(Math.floor(r * 2 ** 53)) * 1024n;
      case 'float32':
        return Math.fround((r - 0.5) * 1e6);
      case 'float64':
        return (r - 0.5) * 1e12;
      case 'time':
      case 'duration':
        return { sec: Math.floor(r * 2 ** 32) - 2 ** 31, nanosec: Math.floor(rnd() * 2 ** 32) };
      case 'string':
        return ['', 'odom', 'base_footprint', 'ünïcödé ✓', 'x'.repeat(Math.floor(r * 100))][Math.floor(r * 5)];
      default:
        throw new Error(type);
    }
  };
  for (const f of def.definitions) {
    if (f.isConstant) continue;
    const one = () => (f.isComplex ? randomValue(definitions, f.type, rnd) : prim(f.type));
    out[f.name] = f.isArray ? Array.from({ length: f.arrayLength ?? Math.floor(rnd() * 5) }, one) : one();
  }
  return out;
}

/** A CDR encoder for both endiannesses (MessageWriter writes little endian only). */
function encode(
  definitions: readonly MessageDefinition[],
  name: string,
  value: Record<string, unknown>,
  kind: EncapsulationKind,
): Uint8Array {
  const w = new CdrWriter({ kind });
  const write = (defName: string, v: Record<string, unknown>): void => {
    const def = definitions.find((d) => d.name === defName)!;
    const fields = def.definitions.filter((f) => !f.isConstant);
    if (fields.length === 0) w.uint8(0);
    for (const f of fields) {
      const items = f.isArray ? (v[f.name] as unknown[]) : [v[f.name]];
      if (f.isArray && f.arrayLength === undefined) w.sequenceLength(items.length);
      for (const x of items) {
        if (f.isComplex) write(f.type, x as Record<string, unknown>);
        else if (f.type === 'bool') w.int8(x ? 1 : 0);
        else if (f.type === 'string') w.string(x as string);
        else if (f.type === 'time' || f.type === 'duration') {
          w.int32((x as { sec: number }).sec);
          w.uint32((x as { nanosec: number }).nanosec);
        } else (w as unknown as Record<string, (x: unknown) => void>)[f.type]!(x);
      }
    }
  };
  write(name, value);
  return w.data;
}

describe('compileColumnarDecoder', () => {
  it('gives what MessageReader gives for every message of every fixture bag it covers', async () => {
    const resolver = new BagTypeResolver(registry);
    const covered = new Set<string>();
    let compared = 0;
    for (const dir of bagDirs()) {
      const bag = locateBag(dir);
      for (const file of bag.files) {
        const reader = await openStorageFile(file, bag.storage);
        try {
          for await (const m of reader.messages()) {
            const topic = reader.topics().get(m.topic)!;
            const r = resolver.resolve(topic.type, topic.schema);
            if ('error' in r) continue;
            const both = bothWays(r.definitions, m.data);
            if (!both) continue;
            expect(both.fast, `${file} ${m.topic}`).toEqual(both.reference);
            covered.add(topic.type);
            compared++;
          }
        } catch (error) {
          if (!/corrupt|truncated/i.test(errorText(error))) throw error;
        } finally {
          await reader.close();
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
    expect([...covered]).toContain('test_msgs/msg/BasicTypes'); // Arrays holds arrays of messages: MessageReader's path
    expect(covered.size).toBeGreaterThan(20);
  });

  it('gives what MessageReader gives for random values, little and big endian', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const types = [
      'nav_msgs/msg/Odometry',
      'sensor_msgs/msg/LaserScan',
      'sensor_msgs/msg/Imu',
      'test_msgs/msg/BasicTypes',
      'test_msgs/msg/Arrays',
      'test_msgs/msg/UnboundedSequences',
      'std_msgs/msg/Empty',
    ];
    let compared = 0;
    for (const type of types) {
      const definitions = registry.resolve(type).definitions;
      if (!compileColumnarDecoder(definitions, 0)) {
        expect(type, 'only types with arrays of messages keep the MessageReader path').toMatch(
          /Arrays|UnboundedSequences/,
        );
        continue;
      }
      for (let i = 0; i < 50; i++) {
        const value = randomValue(definitions, definitions[0]!.name!, rnd);
        for (const kind of [EncapsulationKind.CDR_LE, EncapsulationKind.CDR_BE]) {
          const both = bothWays(definitions, encode(definitions, definitions[0]!.name!, value, kind));
          expect(both, `${type} kind ${kind}`).toBeDefined();
          expect(both!.fast, `${type} kind ${kind}`).toEqual(both!.reference);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThanOrEqual(400);
  });

  it('gives what MessageReader gives for builtin time fields (a bag schema parsed as ros2msg), little and big endian', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    // As an imported bag's schema text parses: builtin_interfaces/Time becomes the primitive `time`.
    const definitions = parse(registry.schemaText('nav_msgs/msg/Odometry'), { ros2: true });
    expect(
      flattenColumns(definitions)
        .filter((c) => c.time)
        .map((c) => c.name),
    ).toEqual(['header.stamp']);
    for (let i = 0; i < 50; i++) {
      const value = randomValue(definitions, definitions[0]!.name!, rnd);
      for (const kind of [EncapsulationKind.CDR_LE, EncapsulationKind.CDR_BE]) {
        const both = bothWays(definitions, encode(definitions, definitions[0]!.name!, value, kind));
        expect(both!.fast, `kind ${kind}`).toEqual(both!.reference);
        expect(both!.fast[0]).toBe(JSON.stringify((value.header as { stamp: unknown }).stamp));
      }
    }
  });

  it('shares the elements of a list that repeats the last one taken, and of nothing a failed row gave back', () => {
    const definitions = registry.resolve('nav_msgs/msg/Odometry').definitions;
    const name = definitions[0]!.name!;
    const columns = flattenColumns(definitions);
    const fast = compileColumnarDecoder(definitions, 0)!;
    const stores = columns.map((c) => columnStore(c.sql, c.time));
    const cov = columns.findIndex((c) => c.name === 'pose.covariance');
    const list = stores[cov] as ListColumn;
    let seed = 3;
    const value = randomValue(definitions, name, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const other = structuredClone(value);
    (other.pose as { covariance: number[] }).covariance[35] = 1.5;
    const middle = structuredClone(value);
    (middle.pose as { covariance: number[] }).covariance[10] = -2.5; // first and last elements as the last list's
    const le = encode(definitions, name, value, EncapsulationKind.CDR_LE);
    const messages = [
      le,
      le,
      encode(definitions, name, other, EncapsulationKind.CDR_LE),
      encode(definitions, name, value, EncapsulationKind.CDR_BE),
      le,
      encode(definitions, name, middle, EncapsulationKind.CDR_LE),
    ];
    messages.forEach((m, row) => fast(m, row, stores));
    // rows 3 (big endian) and 4 hold the same values
    expect([...list.offs.subarray(0, 6)]).toEqual([0, 0, 36, 72, 72, 108]);
    expect(list.n).toBe(144);
    const reference = new MessageReader(definitions as MessageDefinition[]);
    const covariance = (m: Uint8Array) =>
      Array.from(reference.readMessage<{ pose: { covariance: ArrayLike<number> } }>(m).pose.covariance);
    messages.forEach((m, row) => expect(rowOf(stores, row)[cov]).toEqual(covariance(m)));

    // -0 is not 0, and a NaN is never the same as another: those lists keep their own elements.
    const zero = structuredClone(value);
    (zero.pose as { covariance: number[] }).covariance.fill(0);
    const negative = structuredClone(zero);
    (negative.pose as { covariance: number[] }).covariance[3] = -0;
    const nan = structuredClone(zero);
    (nan.pose as { covariance: number[] }).covariance[3] = NaN;
    const fresh = columns.map((c) => columnStore(c.sql, c.time));
    const lists = fresh[cov] as ListColumn;
    [zero, negative, nan, nan, zero].forEach((v, row) =>
      fast(encode(definitions, name, v, EncapsulationKind.CDR_LE), row, fresh),
    );
    expect([...lists.offs.subarray(0, 5)]).toEqual([0, 36, 72, 108, 144]);
    expect(Object.is(lists.child[36 + 3], -0)).toBe(true);
    expect(Number.isNaN(lists.child[108 + 3])).toBe(true);

    // A row that fails after its lists were taken gives them back; the next row must not point at them.
    const marks = listMarks(stores);
    expect(() =>
      fast(encode(definitions, name, other, EncapsulationKind.CDR_LE).subarray(0, le.byteLength - 8), 6, stores),
    ).toThrow();
    rollbackLists(stores, marks);
    fast(encode(definitions, name, other, EncapsulationKind.CDR_LE), 6, stores);
    expect([list.offs[6], list.n]).toEqual([144, 180]);
    expect(rowOf(stores, 6)[cov]).toEqual(covariance(encode(definitions, name, other, EncapsulationKind.CDR_LE)));
  });

  it('throws on a message cut short, so the caller falls back to MessageReader', () => {
    const definitions = registry.resolve('nav_msgs/msg/Odometry').definitions;
    const data = encode(
      definitions,
      definitions[0]!.name!,
      randomValue(definitions, definitions[0]!.name!, Math.random),
      EncapsulationKind.CDR_LE,
    );
    const fast = compileColumnarDecoder(definitions, 0)!;
    const stores = flattenColumns(definitions).map((c) => columnStore(c.sql, c.time));
    expect(() => fast(data.subarray(0, data.byteLength - 8), 0, stores)).toThrow();
    expect(() => fast(data, 0, stores)).not.toThrow();
  });
});
