import { ImageError } from './image-error.ts';
import { jpegFrameHeader } from './jpeg-markers.ts';

export type CompressedFormat = 'jpeg' | 'png';

/** The bytes each format starts with: JPEG's SOI and the marker after it, PNG's eight-byte signature. */
const SIGNATURES: Record<CompressedFormat, readonly number[]> = {
  jpeg: [0xff, 0xd8, 0xff],
  png: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
};

/** What other bytes a camera was seen to send under a jpeg or png label, for the error's words. */
const KNOWN: [string, RegExp][] = [
  ['an SVG or other XML', /^\s*(<\?xml|<svg|<!DOCTYPE)/i],
  ['a GIF', /^GIF8/],
  ['a WebP', /^RIFF....WEBP/s],
  ['a TIFF', /^(II\*\0|MM\0\*)/],
  ['an AVIF or HEIF', /^....ftyp(avif|heic|heix|mif1)/s],
];

const quoted = (format: string) => JSON.stringify(format.slice(0, 64));

/**
 * The format a sensor_msgs/msg/CompressedImage declares (image_transport writes "jpeg", "png" or
 * "bgr8; jpeg compressed bgr8"), checked against the bytes it carries: only a JPEG's or a PNG's signature is taken,
 * and only the one declared, so no other image loader libvips has is reachable from a camera or a query.
 */
export function compressedFormat(format: string, data: Uint8Array): CompressedFormat {
  const label = format.toLowerCase();
  if (label.includes('compresseddepth'))
    throw new ImageError('bad_encoding', `format ${quoted(format)} (compressedDepth) is not decoded: send 16UC1 raw`);
  const jpeg = /jpe?g/.test(label);
  const png = label.includes('png');
  if (jpeg === png)
    throw new ImageError(
      'bad_encoding',
      `format ${quoted(format)} is not decoded (taken: jpeg or png, one of them, as image_transport names it)`,
    );
  const declared: CompressedFormat = jpeg ? 'jpeg' : 'png';
  if (!startsWith(data, SIGNATURES[declared])) {
    const head = new TextDecoder('latin1').decode(data.subarray(0, 16));
    const other = declared === 'jpeg' ? 'png' : 'jpeg';
    const seen = startsWith(data, SIGNATURES[other])
      ? `a ${other.toUpperCase()}`
      : KNOWN.find(([, pattern]) => pattern.test(head))?.[0];
    const bytes = [...data.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const sent = `the data (${data.byteLength} bytes, starting ${bytes || 'with nothing'})`;
    // Another image format is a label that lies (bad_encoding); anything else is a frame that does not decode.
    if (seen)
      throw new ImageError(
        'bad_encoding',
        `format ${quoted(format)} declares ${declared}, but ${sent} is ${seen}; only the declared format is decoded`,
      );
    throw new ImageError('decode_failed', `format ${quoted(format)} declares ${declared}, but ${sent} is not one`);
  }
  return declared;
}

function startsWith(data: Uint8Array, signature: readonly number[]): boolean {
  if (data.byteLength < signature.length) return false;
  return signature.every((b, i) => data[i] === b);
}

/** A PNG's IHDR: 13 bytes after its length and type, width and height first. */
const IHDR = { type: 12, width: 16, height: 20, end: 33 };

/**
 * The width and height a JPEG's frame header or a PNG's IHDR declares, read from the header alone (the format
 * already checked by compressedFormat): what a frame is judged by before anything of it is decoded or copied.
 */
export function compressedSize(format: CompressedFormat, data: Uint8Array): { width: number; height: number } {
  if (format === 'jpeg') return jpegFrameHeader(data);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = new TextDecoder('latin1').decode(data.subarray(IHDR.type, IHDR.type + 4));
  if (data.byteLength < IHDR.end || type !== 'IHDR')
    throw new ImageError('decode_failed', `png frame: no IHDR chunk first (${data.byteLength} bytes)`);
  const width = view.getUint32(IHDR.width);
  const height = view.getUint32(IHDR.height);
  if (width === 0 || height === 0) throw new ImageError('decode_failed', `png frame: IHDR says ${width} x ${height}`);
  return { width, height };
}
