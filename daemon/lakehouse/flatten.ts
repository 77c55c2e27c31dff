import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { blobValue, listValue, type DuckDBValue } from '@duckdb/node-api';

/** One typed column of a decoded message: its dotted name, its DuckDB type and how to read it. */
export interface FlatColumn {
  /** Field path joined with dots: `twist.twist.linear.x`. */
  name: string;
  /** DuckDB SQL type. */
  sql: string;
  get: (message: unknown) => DuckDBValue;
  /** A ROS time or duration: JSON text `{"sec":S,"nanosec":N}`, staged as numbers (see TimeColumn). */
  time?: boolean;
}

const SCALARS: Record<string, string> = {
  bool: 'BOOLEAN',
  int8: 'TINYINT',
  uint8: 'UTINYINT',
  byte: 'UTINYINT',
  char: 'UTINYINT',
  int16: 'SMALLINT',
  uint16: 'USMALLINT',
  int32: 'INTEGER',
  uint32: 'UINTEGER',
  int64: 'BIGINT',
  uint64: 'UBIGINT',
  float32: 'FLOAT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  wstring: 'VARCHAR',
};

// Unsigned bytes only: an int8[] holds signed numbers (-128 as -128, not 0x80), so it is a TINYINT list.
const BYTES = new Set(['uint8', 'byte', 'char']);

/**
 * Flattens a message type into typed columns, one per primitive field, named by its path: nested messages
 * become dotted names, primitive arrays become lists (byte arrays a BLOB), and arrays of messages become one
 * JSON column, since they have no fixed shape. Constants are left out.
 */
export function flattenColumns(definitions: readonly MessageDefinition[]): FlatColumn[] {
  const byName = new Map(definitions.map((d) => [d.name!, d]));
  const root = definitions[0]!;
  const out: FlatColumn[] = [];
  const walk = (def: MessageDefinition, prefix: string, get: (m: unknown) => unknown, depth: number): void => {
    for (const field of def.definitions) {
      if (field.isConstant) continue;
      const name = prefix ? `${prefix}.${field.name}` : field.name;
      const read = (m: unknown) => (m as Record<string, unknown> | undefined)?.[field.name];
      const path = (m: unknown) => read(get(m));
      if (field.isComplex === true) {
        const child = byName.get(field.type);
        if (field.isArray || !child || depth > 16) out.push({ name, sql: 'VARCHAR', get: (m) => toJson(path(m)) });
        else walk(child, name, path, depth + 1);
      } else {
        out.push(primitive(field, name, path));
      }
    }
  };
  walk(root, '', (m) => m, 0);
  return out;
}

function primitive(field: MessageDefinitionField, name: string, path: (m: unknown) => unknown): FlatColumn {
  const scalar = SCALARS[field.type] ?? 'VARCHAR';
  if (!field.isArray) {
    if (scalar === 'VARCHAR' && !SCALARS[field.type]) {
      const time = field.type === 'time' || field.type === 'duration';
      return { name, sql: 'VARCHAR', get: (m) => toJson(path(m)), ...(time ? { time } : {}) };
    }
    return { name, sql: scalar, get: (m) => (path(m) ?? null) as DuckDBValue };
  }
  if (BYTES.has(field.type)) {
    return {
      name,
      sql: 'BLOB',
      get: (m) => {
        const v = path(m) as ArrayLike<number> | undefined;
        if (v == null) return null;
        return blobValue(v instanceof Uint8Array ? v : Uint8Array.from(v, (x) => x & 0xff));
      },
    };
  }
  return {
    name,
    sql: `${scalar}[]`,
    get: (m) => {
      const v = path(m) as ArrayLike<unknown> | undefined;
      return v == null ? null : listValue(Array.from(v as ArrayLike<DuckDBValue>));
    },
  };
}

function toJson(value: unknown): string | null {
  if (value === undefined) return null;
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (ArrayBuffer.isView(v) && !(v instanceof DataView))
      return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? x.toString() : x));
    return v;
  });
}
