import { ImageError } from './image-error.ts';

// JPEG's markers (ITU T.81, table B.1): each is 0xFF then its code. SOF0/1/2 are the DCT frames a camera or an encoder
// writes (baseline, extended, progressive), SOF9/10 the same with arithmetic coding; the others (lossless,
// hierarchical) are not decoded.
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const DHP = 0xde;
const EXP = 0xdf;
const TEM = 0x01;
const SEQUENTIAL = new Set([0xc0, 0xc1, 0xc9]);
const PROGRESSIVE = new Set([0xc2, 0xca]);
/** SOF markers of the lossless and hierarchical processes (not DHT 0xc4, JPG 0xc8, DAC 0xcc). */
const OTHER_SOF = new Set([0xc3, 0xc5, 0xc6, 0xc7, 0xcb, 0xcd, 0xce, 0xcf]);
const isRst = (code: number) => code >= 0xd0 && code <= 0xd7;
/** A marker segment with no length after it. */
const standalone = (code: number) => code === SOI || code === EOI || code === TEM || isRst(code);

/** What a JPEG's frame header (SOF) says: its size, its components' ids in order, and whether it is progressive. */
export interface JpegFrameHeader {
  width: number;
  height: number;
  components: number[];
  progressive: boolean;
}

const corrupt = (why: string) => new ImageError('decode_failed', `jpeg frame: ${why}`);

/** The marker segment at `at` (its 0xFF): its code, and where the next begins. */
function segmentAt(data: Uint8Array, at: number): { code: number; body: number; next: number } {
  if (data[at] !== 0xff) throw corrupt(`no marker at byte ${at}`);
  let i = at + 1;
  while (data[i] === 0xff) i++; // fill bytes
  if (i >= data.length) throw corrupt(`the data ends at byte ${data.length} before its EOI marker`);
  const code = data[i]!;
  if (standalone(code)) return { code, body: i + 1, next: i + 1 };
  if (i + 2 >= data.length) throw corrupt(`the data ends in the marker 0xFF${hex(code)} at byte ${at}`);
  const length = (data[i + 1]! << 8) | data[i + 2]!;
  const next = i + 1 + length;
  if (length < 2 || next > data.length)
    throw corrupt(`the segment 0xFF${hex(code)} at byte ${at} runs past the data (${length} bytes)`);
  return { code, body: i + 3, next };
}

const hex = (code: number) => code.toString(16).toUpperCase().padStart(2, '0');

function frameHeader(data: Uint8Array, body: number, code: number): JpegFrameHeader {
  const height = (data[body + 1]! << 8) | data[body + 2]!;
  const width = (data[body + 3]! << 8) | data[body + 4]!;
  const count = data[body + 5]!;
  const components = Array.from({ length: count }, (_, c) => data[body + 6 + 3 * c]!);
  // Height 0 is a height given later by a DNL marker, which libjpeg does not decode.
  if (width === 0 || height === 0 || count === 0) throw corrupt(`its frame header says ${width} x ${height} pixels`);
  return { width, height, components, progressive: PROGRESSIVE.has(code) };
}

/**
 * The frame header of the JPEG `data` (signature already checked), read from its marker segments alone: what a frame's
 * size is judged by before anything is decoded or copied. Throws ImageError: decode_failed for a header cut short or
 * missing, bad_encoding for a lossless or hierarchical JPEG.
 */
export function jpegFrameHeader(data: Uint8Array): JpegFrameHeader {
  let at = 2;
  for (;;) {
    const { code, body, next } = segmentAt(data, at);
    if (SEQUENTIAL.has(code) || PROGRESSIVE.has(code)) return frameHeader(data, body, code);
    if (OTHER_SOF.has(code) || code === DHP || code === EXP)
      throw new ImageError(
        'bad_encoding',
        `jpeg frame: SOF 0xFF${hex(code)} (lossless or hierarchical) is not decoded`,
      );
    if (code === SOS || code === EOI) throw corrupt(`no frame header (SOF) before its 0xFF${hex(code)} marker`);
    at = next;
  }
}

/** After a scan's header: the entropy-coded data runs to the next marker that is not a stuffed byte or a restart. */
function afterEntropyData(data: Uint8Array, from: number): number {
  let i = from;
  for (;;) {
    i = data.indexOf(0xff, i);
    if (i < 0 || i + 1 >= data.length) throw corrupt(`the data ends at byte ${data.length} in a scan, with no EOI`);
    const code = data[i + 1]!;
    if (code === 0x00 || code === 0xff || isRst(code)) i += code === 0xff ? 1 : 2;
    else return i;
  }
}

/**
 * Checks that the JPEG `data` holds every scan its frame header promises and ends with EOI: each component's
 * every coefficient (0 to 63) sent down to its last bit. A progressive JPEG cut at a scan boundary and closed with
 * EOI decodes without a warning from libjpeg, to a blur of the scans it has: refused here as decode_failed.
 */
export function checkJpegScans(data: Uint8Array): void {
  let header: JpegFrameHeader | undefined;
  /** Per component, per coefficient: the lowest bit sent so far (Al; 0 is all of it), or -1 for none. */
  const sent = new Map<number, Int8Array>();
  let at = 2;
  for (;;) {
    const { code, body, next } = segmentAt(data, at);
    if (code === EOI) break;
    if (SEQUENTIAL.has(code) || PROGRESSIVE.has(code)) {
      header = frameHeader(data, body, code);
      for (const id of header.components) sent.set(id, new Int8Array(64).fill(-1));
    }
    at = next;
    if (code !== SOS) continue;
    if (!header) throw corrupt('a scan (SOS) before its frame header');
    const count = data[body]!;
    const spectral = body + 1 + 2 * count;
    const [ss, se, approx] = [data[spectral]!, data[spectral + 1]!, data[spectral + 2]!];
    // A sequential scan sends all of each component it names; libjpeg warns of any other Ss, Se, Ah, Al.
    const [from, to, al] = header.progressive ? [ss, Math.min(se, 63), approx & 0x0f] : [0, 63, 0];
    for (let c = 0; c < count; c++) {
      const bits = sent.get(data[body + 1 + 2 * c]!);
      if (!bits) throw corrupt(`a scan names component ${data[body + 1 + 2 * c]}, which its frame header has not`);
      for (let k = from; k <= to; k++) bits[k] = bits[k] === -1 ? al : Math.min(bits[k]!, al);
    }
    at = afterEntropyData(data, next);
  }
  if (!header) throw corrupt('no frame header (SOF) before its EOI');
  for (const [id, bits] of sent) {
    const missing = bits.findIndex((b) => b !== 0);
    if (missing >= 0)
      throw corrupt(
        `component ${id}'s coefficient ${missing} is ${bits[missing] === -1 ? 'in no scan' : `sent only to bit ${bits[missing]}`}: the scans its header promises are not all there (a progressive JPEG cut short)`,
      );
  }
}
