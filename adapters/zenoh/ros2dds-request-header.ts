/** The key zenoh-plugin-ros2dds puts before a request header in a query's attachment: "rqh". */
const KEY = [0x72, 0x71, 0x68];

/**
 * The client and sequence number of a DDS client's request that zenoh-bridge-ros2dds routes to Zenoh, from the
 * query's attachment: "rqh", rmw_cyclonedds's 16-byte request header (client guid u64, sequence number i64, in the
 * client's byte order) and 1 when that order is little-endian (zenoh-plugin-ros2dds 1.10, ros2_utils.rs,
 * CddsRequestHeader::as_attachment). Undefined for anything else. The 8-byte guid serves as the client's GID.
 */
export function decodeRos2ddsRequestHeader(bytes: Uint8Array): { gid: Uint8Array; sequence: bigint } | undefined {
  if (bytes.length !== KEY.length + 17 || KEY.some((b, i) => bytes[i] !== b)) return undefined;
  const header = bytes.subarray(KEY.length, KEY.length + 16);
  const littleEndian = bytes[KEY.length + 16] !== 0;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  return { gid: header.slice(0, 8), sequence: view.getBigInt64(8, littleEndian) };
}
