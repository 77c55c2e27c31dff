import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { listValue } from '@duckdb/node-api';
import { reserveList, type ColumnStore } from './column-batch.ts';

/**
 * Decodes one CDR message (4-byte encapsulation header first) straight into row `row` of the column stores, one store
 * per flattened column from `base` on, in `flattenColumns` order (`columnStore(c.sql, c.time)`). Throws on anything it
 * can't read; the caller then takes the row back and decodes the message with @foxglove/rosmsg2-serialization's
 * MessageReader, which has the last word.
 */
export type ColumnarDecode = (bytes: Uint8Array, row: number, stores: readonly ColumnStore[]) => void;

const SIZES: Record<string, { size: number; get: string }> = {
  int8: { size: 1, get: 'getInt8' },
  uint8: { size: 1, get: 'getUint8' },
  int16: { size: 2, get: 'getInt16' },
  uint16: { size: 2, get: 'getUint16' },
  int32: { size: 4, get: 'getInt32' },
  uint32: { size: 4, get: 'getUint32' },
  int64: { size: 8, get: 'getBigInt64' },
  uint64: { size: 8, get: 'getBigUint64' },
  float32: { size: 4, get: 'getFloat32' },
  float64: { size: 8, get: 'getFloat64' },
};

const SIZE_OF: Record<string, number> = Object.fromEntries(Object.values(SIZES).map((t) => [t.get, t.size]));

const HOST_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

class Unsupported extends Error {}

/**
 * Generates (once per type; cache the result) a decoder that walks the CDR bytes with a DataView and
 * writes each leaf field into its column: the same values MessageReader gives, without building the message
 * object or a DuckDB value per field. Plain CDR only (encapsulation 0x00 0x00 big endian, 0x00 0x01 little
 * endian); returns undefined for types it doesn't cover (arrays of messages, wstring, arrays of
 * time/duration, byte/char), which keep the MessageReader path.
 */
export function compileColumnarDecoder(
  definitions: readonly MessageDefinition[],
  base: number,
): ColumnarDecode | undefined {
  try {
    return generate(definitions, base);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

function generate(definitions: readonly MessageDefinition[], base: number): ColumnarDecode {
  const root = definitions.find(
    (d) => !(d.definitions.length > 0 && d.definitions.every((f) => f.isConstant === true)),
  );
  if (!root || root !== definitions[0]) throw new Unsupported('root');
  const emitted = new DecoderLines(definitions, base);
  emitted.walk(root, 0);
  const factory = new Function('reserve', 'listValue', decoderSource(emitted)) as (
    r: typeof reserveList,
    l: typeof listValue,
  ) => ColumnarDecode;
  return factory(reserveList, listValue);
}

/** The decoder's source: its string caches and list comparers, then the decode function around the lines. */
function decoderSource({ lines, strings, sames }: DecoderLines): string {
  return `
    const caches = [];
    for (let i = 0; i < ${strings}; i++) caches.push({ bytes: new Uint8Array(0), text: '' });
    const decoder = new TextDecoder();
    let bytes, view, viewBuffer, b, len, le;
    ${[...sames]
      .map(
        (get) => `
    // True when the list at o holds exactly the elements at c.shareOff: the same values, and zeros of the
    // same sign (a NaN is never the same, so it is copied: its bits stay its own).
    const same_${get} = (c, o, n) => {
      const ch = c.child;
      for (let i = 0, j = c.shareOff; i < n; i++, j++) {
        const x = view.${get}(b + o + i * ${SIZE_OF[get]}, le);
        const y = ch[j];
        if (x !== y || (x === 0 && 1 / x !== 1 / y)) return false;
      }
      return true;
    };`,
      )
      .join('')}
    // A string field mostly repeats (frame ids): compare with the last one before decoding.
    const str = (slot, o, n) => {
      if (n <= 1) return '';
      if (o + n > len) throw new RangeError('string past the end');
      const m = n - 1;
      if (slot >= 0 && m <= 64) {
        const c = caches[slot];
        const last = c.bytes;
        if (last.length === m) {
          let i = 0;
          while (i < m && last[i] === bytes[o + i]) i++;
          if (i === m) return c.text;
        }
        c.bytes = bytes.slice(o, o + m);
        c.text = decoder.decode(c.bytes);
        return c.text;
      }
      return decoder.decode(bytes.subarray(o, o + m));
    };
    return function decode(input, row, S) {
      bytes = input;
      len = bytes.byteLength;
      if (len < 4) throw new Error('Invalid CDR data size ' + len + ', must contain at least a 4-byte header');
      const kind = bytes[1];
      if (bytes[0] !== 0 || kind > 1) throw new Error('not plain CDR');
      le = kind === 1;
      // One DataView per buffer (a chunk's messages share one), read at b + o: reads past the message but
      // inside the buffer are caught by the checks on lengths and the last one below.
      if (bytes.buffer !== viewBuffer) {
        viewBuffer = bytes.buffer;
        view = new DataView(viewBuffer);
      }
      b = bytes.byteOffset;
      let o = 4;
      let n = 0;
      ${lines.join('\n      ')}
      if (o > len) throw new RangeError('the message is shorter than its type');
    };`;
}

/** The decoder's statements, field by field: what `generate` wraps into a function. */
class DecoderLines {
  readonly lines: string[] = [];
  /** The next column to fill. */
  column: number;
  /** String fields, each with its cache of the last value. */
  strings = 0;
  /** DataView getters of the lists whose elements may be shared, each with its compare function. */
  readonly sames = new Set<string>();
  readonly #byName: Map<string, MessageDefinition>;

  constructor(definitions: readonly MessageDefinition[], base: number) {
    this.#byName = new Map(definitions.map((d) => [d.name!, d]));
    this.column = base;
  }

  /** A scalar field into its column. */
  scalar(field: MessageDefinitionField): void {
    const k = this.column++;
    if (field.type === 'bool') {
      this.lines.push(`S[${k}].d[row] = view.getInt8(b + o) !== 0 ? 1 : 0; o += 1;`);
    } else if (field.type === 'time' || field.type === 'duration') {
      // MessageReader gives {sec, nanosec}; the column (a TimeColumn) holds nanosec, then sec, as int32 words.
      this.#align(4);
      this.lines.push(
        `{ const d = S[${k}].d; d[2 * row] = view.getUint32(b + o + 4, le); d[2 * row + 1] = view.getInt32(b + o, le); } o += 8;`,
      );
    } else if (field.type === 'string') {
      this.#align(4);
      this.lines.push(`n = view.getUint32(b + o, le); o += 4; S[${k}].d[row] = str(${this.strings++}, o, n); o += n;`);
    } else {
      const t = SIZES[field.type];
      if (!t) throw new Unsupported(field.type);
      this.#align(t.size);
      this.lines.push(`S[${k}].d[row] = view.${t.get}(b + o${t.size > 1 ? ', le' : ''}); o += ${t.size};`);
    }
  }

  /** An array field into its list (or bytes) column. */
  array(field: MessageDefinitionField): void {
    const k = this.column++;
    if (field.arrayLength !== undefined) this.lines.push(`n = ${field.arrayLength};`);
    else {
      this.#align(4);
      this.lines.push(
        "n = view.getUint32(b + o, le); o += 4; if (o > len) throw new RangeError('a length past the end');",
      );
    }
    if (field.type === 'uint8') {
      this.lines.push(
        `if (o + n > len) throw new RangeError('array past the end'); S[${k}].d[row] = bytes.slice(o, o + n); o += n;`,
      );
    } else if (field.type === 'bool') {
      this.lines.push(
        `{ if (o + n > len) throw new RangeError('array past the end'); const c = S[${k}]; const ch = reserve(c, n); for (let i = 0; i < n; i++) ch[c.n + i] = bytes[o + i] !== 0 ? 1 : 0; c.offs[row] = c.n; c.n += n; c.lens[row] = n; o += n; }`,
      );
    } else if (field.type === 'string') {
      this.lines.push(
        `{ const a = new Array(n); for (let i = 0; i < n; i++) { o += (4 - o) & 3; const m = view.getUint32(b + o, le); o += 4; a[i] = str(-1, o, m); o += m; } S[${k}].d[row] = listValue(a); }`,
      );
    } else {
      const t = SIZES[field.type];
      if (!t) throw new Unsupported(`${field.type}[]`);
      // MessageReader aligns only a non-empty array.
      const pad = t.size > 1 ? `o += (4 - o) & ${t.size - 1}; ` : '';
      const fill = HOST_LITTLE
        ? `if (le) new Uint8Array(ch.buffer, ch.byteOffset + c.n * ${t.size}, n * ${t.size}).set(bytes.subarray(o, o + n * ${t.size})); else for (let i = 0; i < n; i++) ch[c.n + i] = view.${t.get}(b + o + i * ${t.size}, false);`
        : `for (let i = 0; i < n; i++) ch[c.n + i] = view.${t.get}(b + o + i * ${t.size}, le);`;
      // The same list as the last one taken: share its elements. Not for 64-bit integers (a BigInt per read).
      const share = t.size < 8 || t.get === 'getFloat64' ? `c.shareLen === n && same_${t.get}(c, o, n)` : 'false';
      this.sames.add(t.get);
      this.lines.push(
        `{ const c = S[${k}]; c.offs[row] = c.n; if (n > 0) { ${pad}if (o + n * ${t.size} > len) throw new RangeError('array past the end'); if (${share}) c.offs[row] = c.shareOff; else { const ch = reserve(c, n); ${fill} c.shareOff = c.n; c.shareLen = n; c.n += n; } o += n * ${t.size}; } c.lens[row] = n; }`,
      );
    }
  }

  /** A message's fields in order, nested messages inlined. */
  walk(def: MessageDefinition, depth: number): void {
    const fields = def.definitions.filter((f) => f.isConstant !== true);
    if (fields.length === 0) {
      // ROS 2 gives an empty message one uint8 (`structure_needs_at_least_one_member`); it has no column.
      this.lines.push('view.getUint8(b + o); o += 1;');
      return;
    }
    for (const field of fields) {
      if (field.isComplex === true) {
        const child = this.#byName.get(field.type);
        if (field.isArray === true || !child || depth > 16) throw new Unsupported(field.type);
        this.walk(child, depth + 1);
      } else if (field.isArray === true) this.array(field);
      else this.scalar(field);
    }
  }

  #align(size: number): void {
    if (size > 1) this.lines.push(`o += (4 - o) & ${size - 1};`);
  }
}
