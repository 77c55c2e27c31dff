import { MessageWriter } from '@foxglove/rosmsg2-serialization';
import '../../bus/index.ts';
import type { LoopWorkerData } from './loop-protocol.ts';

/** Writes a message's changing values into bytes laid out for it; false when its shape is not the one laid out. */
type Patch = (message: never, view: DataView, bytes: number) => boolean;

interface Twist {
  linear: { x: number; y: number; z: number };
  angular: { x: number; y: number; z: number };
}

interface Float64MultiArray {
  data: Float64Array;
}

interface JointTrajectory {
  header: { stamp: { sec: number; nanosec: number } };
  points: { positions: Float64Array; time_from_start: { sec: number; nanosec: number } }[];
}

/**
 * Where the values of a loop's command types sit in their CDR bytes (little endian, after the 4-byte encapsulation
 * header, float64 aligned to 8 from there). Each is read from the end or the start of a layout that only lengths
 * and strings change, and neither changes from tick to tick.
 */
const PATCHES: Record<string, Patch> = {
  'geometry_msgs/msg/Twist': (m: Twist, view) => {
    const { linear, angular } = m;
    view.setFloat64(4, linear.x, true);
    view.setFloat64(12, linear.y, true);
    view.setFloat64(20, linear.z, true);
    view.setFloat64(28, angular.x, true);
    view.setFloat64(36, angular.y, true);
    view.setFloat64(44, angular.z, true);
    return true;
  },
  // data is the last field.
  'std_msgs/msg/Float64MultiArray': (m: Float64MultiArray, view, bytes) => {
    const { data } = m;
    const start = bytes - 8 * data.length;
    for (let i = 0; i < data.length; i++) view.setFloat64(start + 8 * i, data[i]!, true);
    return true;
  },
  // One point: its positions, then three empty sequences (a length each) and its time_from_start (two 4-byte words).
  'trajectory_msgs/msg/JointTrajectory': (m: JointTrajectory, view, bytes) => {
    if (m.points.length !== 1) return false;
    const { positions, time_from_start: t } = m.points[0]!;
    const start = bytes - 20 - 8 * positions.length;
    for (let i = 0; i < positions.length; i++) view.setFloat64(start + 8 * i, positions[i]!, true);
    view.setInt32(bytes - 8, t.sec, true);
    view.setUint32(bytes - 4, t.nanosec, true);
    const { stamp } = m.header;
    view.setInt32(4, stamp.sec, true);
    view.setUint32(8, stamp.nanosec, true);
    return true;
  },
};

/**
 * A loop's command encoder: the message is laid out once by MessageWriter, and each encode after writes only its
 * values into the same bytes (a loop encodes a command every tick, and what a tick allocates its thread's GC
 * collects in a pause). The bytes returned are rewritten by the next encode: a caller copies them before (the
 * command pipe's record, postMessage's clone). A message of another shape (another length) is laid out again;
 * a type without a patch here is written whole each time.
 */
export class CommandEncoder {
  readonly #writer: MessageWriter;
  readonly #patch: Patch | undefined;
  /** The length laid out: the message's value count, which fixes its byte length with its strings. */
  #laidOut = -1;
  #bytes: Uint8Array = new Uint8Array(0);
  #view: DataView = new DataView(new ArrayBuffer(0));

  constructor(type: string, definitions: NonNullable<LoopWorkerData['commandDefinitions']>) {
    this.#writer = new MessageWriter(definitions);
    this.#patch = PATCHES[type];
  }

  encode(message: unknown): Uint8Array {
    const patch = this.#patch;
    const length = valueCount(message);
    if (patch && length === this.#laidOut && patch(message as never, this.#view, this.#bytes.byteLength))
      return this.#bytes;
    const bytes = this.#writer.writeMessage(message);
    if (!patch) return bytes;
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#laidOut = length;
    return bytes;
  }
}

/** The length that sets a command's layout: a Float64MultiArray's data, a trajectory's first positions; 0 else. */
function valueCount(message: unknown): number {
  const m = message as Partial<Float64MultiArray & JointTrajectory>;
  return m.data?.length ?? m.points?.[0]?.positions.length ?? 0;
}
