/**
 * The representation identifiers a serialized DDS sample may start with (DDS-XTypes 1.3, 7.6.3.1.2): plain, parameter
 * list and XCDR2 encodings, big and little endian. A serialized ROS 2 message is such a sample: its 4-byte
 * encapsulation header (the identifier, then two option bytes) and the CDR stream.
 */
const REPRESENTATIONS = new Map<number, string>([
  [0x0000, 'CDR_BE'],
  [0x0001, 'CDR_LE'],
  [0x0002, 'PL_CDR_BE'],
  [0x0003, 'PL_CDR_LE'],
  [0x0006, 'CDR2_BE'],
  [0x0007, 'CDR2_LE'],
  [0x0008, 'D_CDR2_BE'],
  [0x0009, 'D_CDR2_LE'],
  [0x000a, 'PL_CDR2_BE'],
  [0x000b, 'PL_CDR2_LE'],
]);

/**
 * Why `bytes` cannot be a serialized ROS 2 message (no encapsulation header, or one of no known representation), or
 * undefined where the header is one. Only the header: whether the stream after it is the type's layout would take
 * decoding every message, which the bridge never does (a consumer that decodes counts its own failures).
 */
export function cdrHeaderProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length < 4) return `${bytes.length} bytes, shorter than the 4-byte encapsulation header of CDR`;
  const id = (bytes[0]! << 8) | bytes[1]!;
  if (REPRESENTATIONS.has(id)) return undefined;
  const hex = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `it starts ${hex}, which is no CDR encapsulation header (00 00 or 00 01 for plain CDR)`;
}
