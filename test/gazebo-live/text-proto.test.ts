import { describe, expect, it } from 'vitest';
import { list, num, parseTextProto } from './text-proto.ts';

// As `ign topic -e -t /odom -n 1` prints an ignition.msgs.Odometry (DebugString), with a repeated header field.
const ODOM = `header {
  stamp {
    sec: 12
    nsec: 500000000
  }
  data {
    key: "frame_id"
    value: "odom"
  }
  data {
    key: "child_frame_id"
    value: "base_footprint"
  }
}
pose {
  position {
    x: 0.55
    y: -1.5e-05
  }
  orientation {
    w: 1
  }
}
twist {
  linear {
    x: 0.2
  }
}
`;

describe('parseTextProto', () => {
  it("reads nested messages, repeated fields, quoted strings and protobuf's left-out zeros", () => {
    const odom = parseTextProto(ODOM);
    expect(num(odom, 'header.stamp.sec') + num(odom, 'header.stamp.nsec') / 1e9).toBe(12.5);
    expect([num(odom, 'pose.position.x'), num(odom, 'pose.position.y'), num(odom, 'pose.position.z')]).toEqual([
      0.55, -1.5e-5, 0,
    ]);
    expect(list(odom, 'header.data')).toEqual([
      { key: 'frame_id', value: 'odom' },
      { key: 'child_frame_id', value: 'base_footprint' },
    ]);
    expect(parseTextProto('ranges: inf\nranges: 1.25\nvalid: true\nname: "a \\"b\\""\n')).toEqual({
      ranges: [Infinity, 1.25],
      valid: true,
      name: 'a "b"',
    });
  });

  it('refuses text that is not one whole message, naming where', () => {
    expect(() => parseTextProto('pose {\n  x: 1\n')).toThrow('a message is not closed');
    expect(() => parseTextProto('}')).toThrow('unbalanced }');
    expect(() => parseTextProto('x: 1 2')).toThrow('unexpected "2"');
    expect(() => num(parseTextProto('name: "n"'), 'name')).toThrow('name is not a number');
  });
});
