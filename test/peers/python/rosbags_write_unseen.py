"""Writes a rosbag2 bag as real bags hold them and our tests had not: a topic named without a leading slash
(`cmd_vel`), an int8[] field (std_msgs/msg/Int8MultiArray, with -128 and 127), and, given `file`, compression_mode
FILE (each split compressed whole with zstd, `<bag>_0.mcap.zstd`, as rosbag2 writes it). Prints JSON: the messages
written per topic and the files in the bag."""

import json
import os
import sys

import numpy as np
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore


def main(path, compression):
    ts = get_typestore(Stores.ROS2_JAZZY)
    T = ts.types
    Vector3, Twist = T['geometry_msgs/msg/Vector3'], T['geometry_msgs/msg/Twist']
    Layout = T['std_msgs/msg/MultiArrayLayout']
    Int8s = T['std_msgs/msg/Int8MultiArray']
    writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
    if compression == 'file':
        writer.set_compression(CompressionMode.FILE, CompressionFormat.ZSTD)
    counts = {'cmd_vel': 0, '/flags': 0}
    with writer:
        twist = writer.add_connection('cmd_vel', 'geometry_msgs/msg/Twist', typestore=ts)
        flags = writer.add_connection('/flags', 'std_msgs/msg/Int8MultiArray', typestore=ts)
        for i in range(10):
            t = 1_700_000_000_000_000_000 + i * 100_000_000
            msg = Twist(linear=Vector3(x=0.1 * i, y=0.0, z=0.0), angular=Vector3(x=0.0, y=0.0, z=0.5))
            writer.write(twist, t, ts.serialize_cdr(msg, 'geometry_msgs/msg/Twist'))
            counts['cmd_vel'] += 1
            data = np.array([0, 127, -128, -i], dtype=np.int8)
            writer.write(flags, t + 1, ts.serialize_cdr(Int8s(layout=Layout(dim=[], data_offset=0), data=data),
                                                        'std_msgs/msg/Int8MultiArray'))
            counts['/flags'] += 1
    json.dump({'counts': counts, 'files': sorted(os.listdir(path))}, sys.stdout)


if __name__ == '__main__':
    main(*sys.argv[1:3])
