// The frames an attacker with a camera publisher or an inference client sent (issue 63), made here, each small: other
// image formats under a jpeg or png label, and JPEGs whose data is short or corrupt. `code` is the refusal each gets.
import sharp from 'sharp';
import type { ImageErrorCode } from '../../daemon/system1/vision/image-error.ts';

export interface HostileFrame {
  name: string;
  format: string;
  data: Uint8Array;
  code: ImageErrorCode;
}

/** An SVG whose <defs> nest <use> ten-fold six deep: a million rectangles, about 10 s of librsvg's CPU (1.6 KB). */
export function svgBomb(): Uint8Array {
  let defs = '<rect id="l0" width="4096" height="4096"/>';
  for (let level = 1; level <= 6; level++)
    defs += `<g id="l${level}">${`<use xlink:href="#l${level - 1}"/>`.repeat(10)}</g>`;
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="4096" height="4096">' +
    `<defs>${defs}</defs><use xlink:href="#l6"/></svg>`;
  return new TextEncoder().encode(svg);
}

const noise = () => {
  const pixels = Buffer.alloc(40 * 30 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7919) % 251;
  return sharp(pixels, { raw: { width: 40, height: 30, channels: 3 } });
};

/** A 40 x 30 JPEG of noise (so its scan has many Huffman codes to corrupt), quality 90. */
export async function noiseJpeg(): Promise<Buffer> {
  return noise().jpeg({ quality: 90 }).toBuffer();
}

/** The same noise as a progressive JPEG: ten scans, libjpeg's default progression. */
export async function progressiveJpeg(): Promise<Buffer> {
  return noise().jpeg({ quality: 90, progressive: true }).toBuffer();
}

const EOI = Buffer.from([0xff, 0xd9]);

export async function hostileFrames(): Promise<HostileFrame[]> {
  const small = sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } });
  const as = async (format: 'gif' | 'webp' | 'tiff' | 'avif') => small.clone().toFormat(format).toBuffer();
  const jpeg = await noiseJpeg();
  const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  const corrupt = Buffer.from(jpeg);
  for (let i = sos + 20; i < corrupt.length - 10; i += 7) corrupt[i]! ^= 0x5a;
  const bigSof = Buffer.from(jpeg);
  const sof = bigSof.indexOf(Buffer.from([0xff, 0xc0]));
  bigSof.writeUInt16BE(4000, sof + 5);
  bigSof.writeUInt16BE(4000, sof + 7);
  const sosLength = jpeg.readUInt16BE(sos + 2);
  const progressive = await progressiveJpeg();
  const quarter = progressive.indexOf(Buffer.from([0xff, 0xda]), progressive.length >> 2);
  return [
    { name: 'an SVG of nested <use> as jpeg', format: 'jpeg', data: svgBomb(), code: 'bad_encoding' },
    { name: 'a GIF as jpeg', format: 'jpeg', data: await as('gif'), code: 'bad_encoding' },
    { name: 'a WebP as png', format: 'png', data: await as('webp'), code: 'bad_encoding' },
    { name: 'a TIFF as jpeg', format: 'jpeg', data: await as('tiff'), code: 'bad_encoding' },
    { name: 'an AVIF as png', format: 'bgr8; png compressed bgr8', data: await as('avif'), code: 'bad_encoding' },
    {
      name: 'a JPEG cut after its scan header, closed with EOI',
      format: 'jpeg',
      data: Buffer.concat([jpeg.subarray(0, sos + 2 + sosLength), EOI]),
      code: 'decode_failed',
    },
    {
      name: 'a JPEG cut at 10%',
      format: 'jpeg',
      data: jpeg.subarray(0, Math.floor(jpeg.length / 10)),
      code: 'decode_failed',
    },
    {
      name: 'a JPEG cut at 50%, closed with EOI',
      format: 'jpeg',
      data: Buffer.concat([jpeg.subarray(0, jpeg.length >> 1), EOI]),
      code: 'decode_failed',
    },
    {
      name: 'a progressive JPEG cut at the scan boundary past a quarter of it, closed with EOI',
      format: 'jpeg',
      data: Buffer.concat([progressive.subarray(0, quarter), EOI]),
      code: 'decode_failed',
    },
    { name: 'a JPEG with corrupt image bytes', format: 'jpeg', data: corrupt, code: 'decode_failed' },
    {
      name: 'a JPEG whose SOF claims 4000 x 4000 over 40 x 30 data',
      format: 'jpeg',
      data: bigSof,
      code: 'decode_failed',
    },
  ];
}

/** A PNG that decodes to 4096 x 4096 (about 50 KB): a valid frame that costs tens of ms to decode. */
export async function costlyPng(): Promise<Buffer> {
  return sharp({ create: { width: 4096, height: 4096, channels: 3, background: { r: 10, g: 200, b: 30 } } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}
