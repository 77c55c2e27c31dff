import { describe, expect, it } from 'vitest';
import { decodeRos2ddsRequestHeader } from './ros2dds-request-header.ts';

const attachment = (guid: number[], seq: number[], littleEndian: number) =>
  new Uint8Array([0x72, 0x71, 0x68, ...guid, ...seq, littleEndian]);

describe("zenoh-plugin-ros2dds's request header attachment", () => {
  it('gives the client guid and the sequence number in either byte order', () => {
    const guid = [1, 2, 3, 4, 5, 6, 7, 8];
    expect(decodeRos2ddsRequestHeader(attachment(guid, [7, 0, 0, 0, 0, 0, 0, 0], 1))).toEqual({
      gid: new Uint8Array(guid),
      sequence: 7n,
    });
    expect(decodeRos2ddsRequestHeader(attachment(guid, [0, 0, 0, 0, 0, 0, 1, 2], 0))?.sequence).toBe(258n);
  });

  it('is nothing for an rmw_zenoh attachment, a short one or another key', () => {
    expect(decodeRos2ddsRequestHeader(new Uint8Array(33))).toBeUndefined();
    expect(decodeRos2ddsRequestHeader(new Uint8Array([0x72, 0x71, 0x68, 1]))).toBeUndefined();
    expect(decodeRos2ddsRequestHeader(new Uint8Array([0x72, 0x71, 0x69, ...new Array(17).fill(0)]))).toBeUndefined();
  });
});
