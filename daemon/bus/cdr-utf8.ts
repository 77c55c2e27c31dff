import { CdrWriter } from '@foxglove/cdr';
import { MessageWriter } from '@foxglove/rosmsg2-serialization';

/**
 * @foxglove/cdr 3.5's writer sizes a string by `value.length` (UTF-16 code units), not by its UTF-8
 * bytes: it writes that count as the length prefix and lets TextEncoder fill only that many bytes, so
 * "héllo" goes out as "héll" and "日本語" as "日\0". @foxglove/rosmsg2-serialization's MessageWriter
 * sizes its buffer the same way. This makes the writer count UTF-8 bytes, once per process (the reader
 * side is cdr-bounds.ts). The writer grows its buffer when the size was short; the message is then
 * copied out of the grown buffer, so its bytes are the whole of an exact-size ArrayBuffer as before.
 * Import it wherever a MessageWriter or CdrWriter is made (a worker thread has its own copy).
 */
interface WriterInternals {
  buffer: ArrayBuffer;
  view: DataView;
  offset: number;
  uint32(value: number): unknown;
  resizeIfNeeded(additionalBytes: number): void;
}

const PATCHED = Symbol.for('auraison-edge.cdr-utf8');
const encoder = new TextEncoder();

const proto = CdrWriter.prototype as unknown as WriterInternals & { [PATCHED]?: true };
if (!proto[PATCHED]) {
  proto[PATCHED] = true;
  (proto as unknown as { string: (value: string, writeLength?: boolean) => unknown }).string = function (
    this: WriterInternals,
    value: string,
    writeLength = true,
  ) {
    // A lone surrogate counts 3 bytes here as in encodeInto, which writes U+FFFD for it.
    const bytes = Buffer.byteLength(value, 'utf8');
    if (writeLength) this.uint32(bytes + 1); // and one for the terminating NUL
    this.resizeIfNeeded(bytes + 1);
    const { written } = encoder.encodeInto(value, new Uint8Array(this.buffer, this.offset, bytes));
    if (written !== bytes) throw new Error(`a string of ${bytes} UTF-8 bytes encoded to ${written}`);
    this.view.setUint8(this.offset + bytes, 0);
    this.offset += bytes + 1;
    return this;
  };

  const writerProto = MessageWriter.prototype as unknown as {
    writeMessage: (message: unknown, output?: Uint8Array) => Uint8Array;
  };
  const { writeMessage } = writerProto;
  writerProto.writeMessage = function (this: MessageWriter, message: unknown, output?: Uint8Array): Uint8Array {
    const data = writeMessage.call(this, message, output);
    // Its size counted non-ASCII strings short, so the writer grew (doubled) its buffer: keep only the message.
    return output === undefined && data.byteLength !== data.buffer.byteLength ? data.slice() : data;
  };
}
