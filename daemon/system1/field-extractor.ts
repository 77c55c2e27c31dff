import type { SourceSettings } from '../config/index.ts';

/** Copies a slice of observation out of a decoded message into `out` at `offset`; returns false when it doesn't fit. */
export type FieldExtractor = (message: unknown, out: Float32Array, offset: number) => void;

export class FieldError extends Error {
  override name = 'FieldError';
}

type Getter = (message: unknown) => unknown;

function getter(path: string): Getter {
  const parts = path.split('.').filter((p) => p.length > 0);
  if (parts.length === 0) throw new FieldError('empty field path');
  return (message) => {
    let value: unknown = message;
    for (const part of parts) {
      if (value === null || typeof value !== 'object') return undefined;
      value = (value as Record<string, unknown>)[part];
    }
    return value;
  };
}

function isNumberArray(value: unknown): value is ArrayLike<number> {
  return ArrayBuffer.isView(value) ? !(value instanceof DataView) : Array.isArray(value);
}

/**
 * Compiles a source's field, fields or indices into an extractor of exactly `length` numbers. What the
 * message holds is checked on every call, because a publisher can change an array's length at any time: a
 * mismatch throws a FieldError naming the topic and field, and the caller counts it.
 */
export function compileExtractor(source: SourceSettings, length: number, where: string): FieldExtractor {
  const { field, fields, indices, joints, scale = 1, offset: add = 0, clip } = source;
  const affine = scale !== 1 || add !== 0;
  const [lo, hi] = clip ?? [-Infinity, Infinity];
  const finish = (out: Float32Array, at: number): void => {
    if (!affine && !clip) return;
    for (let i = at; i < at + length; i++) {
      const v = out[i]! * scale + add;
      // NaN stays NaN: it is a broken reading, and the runner rejects it rather than guess.
      out[i] = v < lo ? lo : v > hi ? hi : v;
    }
  };
  if (joints) {
    if (fields || indices) throw new FieldError(`${where}: give joints, or fields or indices, not both`);
    const byName = jointReader(joints, field ?? 'position', where);
    return (message, out, at) => {
      byName(message, out, at);
      finish(out, at);
    };
  }
  if (fields && fields.length > 0) {
    if (field) throw new FieldError(`${where}: give field or fields, not both`);
    const getters = fields.map(getter);
    return (message, out, at) => {
      for (let i = 0; i < getters.length; i++) {
        const v = getters[i]!(message);
        if (typeof v !== 'number' && typeof v !== 'bigint')
          throw new FieldError(`${where}: field ${fields[i]} is ${describe(v)}, not a number`);
        out[at + i] = Number(v);
      }
      finish(out, at);
    };
  }
  if (!field) throw new FieldError(`${where}: a topic source needs field or fields`);
  const get = getter(field);
  return (message, out, at) => {
    const v = get(message);
    if (typeof v === 'number' || typeof v === 'bigint') {
      if (length !== 1 || indices)
        throw new FieldError(`${where}: field ${field} is a number, the slice holds ${length}`);
      out[at] = Number(v);
    } else if (isNumberArray(v)) {
      if (indices) {
        for (let i = 0; i < indices.length; i++) {
          const idx = indices[i]!;
          if (idx >= v.length)
            throw new FieldError(`${where}: index ${idx} is past the end of ${field} (${v.length} elements)`);
          out[at + i] = Number(v[idx]);
        }
      } else {
        if (v.length !== length)
          throw new FieldError(`${where}: field ${field} has ${v.length} elements, the slice holds ${length}`);
        for (let i = 0; i < length; i++) out[at + i] = Number(v[i]);
      }
    } else {
      throw new FieldError(`${where}: field ${field} is ${describe(v)}, not a number or number array`);
    }
    finish(out, at);
  };
}

/**
 * Reads `field` (position, velocity, effort) of the named joints out of a sensor_msgs/msg/JointState, in the order
 * `joints` names them. The message's `name` order is looked up again only when it changes (a broadcaster keeps one).
 */
export function jointReader(
  joints: readonly string[],
  field: string,
  where: string,
): (message: unknown, out: Float32Array | Float64Array, at: number) => void {
  const get = getter(field);
  const index = new Int32Array(joints.length);
  let names: readonly unknown[] = [];
  return (message, out, at) => {
    const m = message as { name?: unknown };
    const given = Array.isArray(m?.name) ? (m.name as unknown[]) : undefined;
    if (!given) throw new FieldError(`${where}: the message has no name array (a sensor_msgs/msg/JointState has)`);
    if (!sameNames(given, names)) {
      for (let i = 0; i < joints.length; i++) {
        index[i] = given.indexOf(joints[i]);
        if (index[i]! < 0)
          throw new FieldError(
            `${where}: joint ${joints[i]} is not in the message (it names ${given.map(String).join(', ') || 'none'})`,
          );
      }
      names = given.slice();
    }
    const values = get(message);
    if (!isNumberArray(values) || values.length < given.length)
      throw new FieldError(
        `${where}: ${field} has ${isNumberArray(values) ? values.length : describe(values)} values for ${given.length} joints`,
      );
    for (let i = 0; i < joints.length; i++) out[at + i] = Number(values[index[i]!]);
  };
}

function sameNames(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array of non-numbers';
  return `a ${typeof v}`;
}
