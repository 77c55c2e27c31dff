import { CdrReader } from '@foxglove/cdr';

/**
 * @foxglove/cdr 3.5's reader makes strings and byte and numeric arrays as views of the underlying
 * ArrayBuffer, checking their lengths against the buffer, not against the message. A message that is a
 * slice of a larger buffer (an MCAP chunk, a WebSocket frame) with a damaged length then decodes without
 * error, reading its neighbour's bytes. This puts the missing check in front of those reads, once per
 * process, so such a message fails to decode as it does when it is alone in its buffer.
 */
interface ReaderInternals {
  view: DataView;
  offset: number;
  uint32(): number;
  sequenceLength(): number;
  align(size: number): void;
  string(prereadLength?: number): string;
  int8Array(count?: number): Int8Array;
  uint8Array(count?: number): Uint8Array;
  typedArray(ctor: { BYTES_PER_ELEMENT: number }, getter: string, count: number, alignment?: number): unknown;
}

const PATCHED = Symbol.for('auraison-edge.cdr-bounds');

function within(reader: ReaderInternals, bytes: number, what: string): void {
  const left = reader.view.byteLength - reader.offset;
  if (bytes > left)
    throw new RangeError(
      `${what} of ${bytes} bytes at offset ${reader.offset} runs past the end of the ${reader.view.byteLength}-byte message`,
    );
}

const proto = CdrReader.prototype as unknown as ReaderInternals & { [PATCHED]?: true };
if (!proto[PATCHED]) {
  proto[PATCHED] = true;
  const { string, int8Array, uint8Array, typedArray } = proto;
  proto.string = function (this: ReaderInternals, prereadLength?: number): string {
    const length = prereadLength ?? this.uint32();
    within(this, length, 'a string');
    return string.call(this, length);
  };
  proto.int8Array = function (this: ReaderInternals, count = this.sequenceLength()): Int8Array {
    within(this, count, 'an int8 array');
    return int8Array.call(this, count);
  };
  proto.uint8Array = function (this: ReaderInternals, count = this.sequenceLength()): Uint8Array {
    within(this, count, 'a uint8 array');
    return uint8Array.call(this, count);
  };
  proto.typedArray = function (
    this: ReaderInternals,
    ctor: { BYTES_PER_ELEMENT: number },
    getter: string,
    count: number,
    alignment = ctor.BYTES_PER_ELEMENT,
  ): unknown {
    if (count > 0) {
      this.align(alignment); // as the original does first; aligning again there moves nothing
      within(this, count * ctor.BYTES_PER_ELEMENT, 'an array');
    }
    return typedArray.call(this, ctor, getter, count, alignment);
  };
}
