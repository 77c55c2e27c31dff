import type { JournalRecord } from '../contract/index.ts';
import { FRAME_HEADER, sealFrame } from './frame.ts';

/** The write buffer's usual size; one grown past STAGE_KEEP for a large record is dropped after its write. */
const STAGE_BYTES = 64 * 1024;
const STAGE_KEEP = 1024 * 1024;
/** Up to this many UTF-16 units, a string's UTF-8 size is bounded by 3 bytes a unit instead of measured. */
const MEASURE_FROM = 16 * 1024;

/** Each kind's JSON text, made once: a journal sees a handful of kinds. */
const kindTexts = new Map<string, string>();

/**
 * The journal's write buffer: records encoded as frames one after another, in place (no buffer per record, no
 * copy to join them), for one write of them all. The bytes taken stay valid until the next add.
 */
export class RecordStage {
  #buf = Buffer.allocUnsafe(STAGE_BYTES);
  #staged = 0;

  /** Bytes staged. */
  get length(): number {
    return this.#staged;
  }

  /**
   * Encodes the record's frame at the end of the write buffer; returns its size. The payload is the text
   * JSON.stringify(record) gives (keys in the order seq, ts, kind, data; data left out when it has no JSON
   * form), written in parts so the data's text is not copied into a joined string first.
   */
  add(record: JournalRecord, body: string | undefined): number {
    let kindText = kindTexts.get(record.kind);
    if (kindText === undefined) {
      kindText = JSON.stringify(record.kind);
      if (kindTexts.size < 256) kindTexts.set(record.kind, kindText);
    }
    const head = `{"seq":${record.seq},"ts":"${record.ts}","kind":${kindText}${body === undefined ? '}' : ',"data":'}`;
    const max =
      FRAME_HEADER +
      3 * head.length +
      (body === undefined ? 0 : body.length <= MEASURE_FROM ? 3 * body.length : Buffer.byteLength(body)) +
      1;
    if (this.#buf.length - this.#staged < max) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.#buf.length, this.#staged + max));
      this.#buf.copy(grown, 0, 0, this.#staged);
      this.#buf = grown;
    }
    const stage = this.#buf;
    const start = this.#staged;
    let at = start + FRAME_HEADER;
    at += stage.write(head, at);
    if (body !== undefined) {
      at += stage.write(body, at);
      stage[at++] = 0x7d; // }
    }
    sealFrame(stage, start, at);
    this.#staged = at;
    return at - start;
  }

  /** The frames staged so far, to write now; the stage is empty after. */
  take(): { buffer: Buffer; length: number } {
    const length = this.#staged;
    this.#staged = 0;
    return { buffer: this.#buf, length };
  }

  /** Drops what is staged (the records failed). */
  clear(): void {
    this.#staged = 0;
  }

  /** After a write: a buffer grown past STAGE_KEEP for a large record is dropped. */
  shrink(): void {
    if (this.#buf.length > STAGE_KEEP) this.#buf = Buffer.allocUnsafe(STAGE_BYTES);
  }
}
