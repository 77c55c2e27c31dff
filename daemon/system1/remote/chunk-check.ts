import { withoutLeadingOnes } from '../../contract/index.ts';

/** Why a remote policy's request came to nothing: what status counts each failure under. */
export type RemoteFailure =
  | 'unreachable'
  | 'timeout'
  | 'closed'
  | 'refused'
  | 'server_error'
  | 'malformed'
  | 'too_large'
  | 'shape'
  | 'dtype'
  | 'non_finite';

/** A request that came to nothing, with its reason and what happened, in words. */
export class RemoteFailed extends Error {
  override name = 'RemoteFailed';
  readonly reason: RemoteFailure;
  constructor(reason: RemoteFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** An array as the wire carried it: NumPy's dtype string (`<f4`) or the tensor codec's (`float32`), shape, bytes. */
export interface WireTensor {
  dtype: string;
  shape: readonly number[];
  bytes: Uint8Array;
}

/** The dtypes an action chunk may come in: float32 as it is, float64 (openpi's NumPy default) narrowed. */
const FLOAT_BYTES: Record<string, 4 | 8> = { '<f4': 4, float32: 4, '<f8': 8, float64: 8 };

/**
 * A reply's action chunk as the loop takes it, float32 [chunk x size] flat, or a RemoteFailed saying what was wrong:
 * a dtype other than little-endian float32 or float64, a shape other than the declared [chunk, size] (a batch of one
 * before it aside), bytes that are not what the shape claims, or an element that is NaN or infinite as float32. A
 * chunk is refused whole: the loop's frame would catch each bad action too, but a server that sends one has lost its
 * plan.
 */
export function checkedChunk(tensor: WireTensor, declared: readonly [number, number]): Float32Array {
  const { dtype, shape, bytes } = tensor;
  const itemBytes = Object.hasOwn(FLOAT_BYTES, dtype) ? FLOAT_BYTES[dtype] : undefined;
  if (itemBytes === undefined)
    throw new RemoteFailed(
      'dtype',
      `actions of dtype ${JSON.stringify(dtype.slice(0, 16))}: a chunk is float32 or float64 (little-endian)`,
    );
  if (withoutLeadingOnes(shape).join() !== withoutLeadingOnes(declared).join())
    throw new RemoteFailed(
      'shape',
      `actions of shape ${JSON.stringify(shape.length > 8 ? `a rank-${shape.length} array` : shape)}, not the declared ${JSON.stringify(declared)}`,
    );
  const count = declared[0] * declared[1];
  if (bytes.byteLength !== count * itemBytes)
    throw new RemoteFailed(
      'malformed',
      `actions of shape ${JSON.stringify(shape)} and ${itemBytes}-byte elements in ${bytes.byteLength} bytes, not ${count * itemBytes}`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = itemBytes === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
    if (!Number.isFinite(out[i]))
      throw new RemoteFailed(
        'non_finite',
        `action ${Math.floor(i / declared[1])} element ${i % declared[1]} is ${itemBytes === 4 ? out[i] : view.getFloat64(i * 8, true)} as float32: the chunk is refused`,
      );
  }
  return out;
}
