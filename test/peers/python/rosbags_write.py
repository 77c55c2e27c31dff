"""Writes a rosbag2 bag with rosbags' own writer (storage mcap or sqlite3, metadata version 8 or 9, rosbags'
QoS serialization) holding several standard message types, and prints JSON: every message written, with its
topic, type, log time and fields as plain values, for a test to find in what our import made of the bag."""

import json
import sys

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.metadata import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.typesys import Stores, get_typestore

from plain import plain


def qos(reliability, durability, depth):
    never = QosTime(sec=0, nsec=0)
    return Qos(history=QosHistory.KEEP_LAST, depth=depth, reliability=reliability, durability=durability,
               deadline=QosTime(sec=1, nsec=500), lifespan=never, liveliness=QosLiveliness.AUTOMATIC,
               liveliness_lease_duration=never, avoid_ros_namespace_conventions=False)


def main(path, storage, version):
    ts = get_typestore(Stores.ROS2_JAZZY)
    T = ts.types
    Time, Header = T['builtin_interfaces/msg/Time'], T['std_msgs/msg/Header']
    Vector3, Twist = T['geometry_msgs/msg/Vector3'], T['geometry_msgs/msg/Twist']

    def header(i):
        return Header(stamp=Time(sec=100 + i, nanosec=i * 1000), frame_id='base_scan')

    def scan(i):
        ranges = np.array([0.5 + i, float('inf'), 3.25], dtype=np.float32)
        return T['sensor_msgs/msg/LaserScan'](header=header(i), angle_min=-1.5, angle_max=1.5, angle_increment=1.5,
                                              time_increment=0.0, scan_time=0.2, range_min=0.1, range_max=3.5,
                                              ranges=ranges, intensities=np.zeros(3, dtype=np.float32))

    def twist(i):
        return Twist(linear=Vector3(x=0.1 * i, y=0.0, z=0.0), angular=Vector3(x=0.0, y=0.0, z=-0.25 * (i + 1)))

    def image(i):
        return T['sensor_msgs/msg/Image'](header=header(i), height=2, width=3, encoding='mono8', is_bigendian=0,
                                          step=3, data=np.arange(6, dtype=np.uint8) + i)

    def string(i):
        return T['std_msgs/msg/String'](data=f'hello {i}')

    def joints(i):
        return T['sensor_msgs/msg/JointState'](header=header(i), name=['left', 'right'],
                                               position=np.array([i, -i], dtype=np.float64),
                                               velocity=np.array([], dtype=np.float64), effort=np.array([], dtype=np.float64))

    topics = [
        ('/scan', 'sensor_msgs/msg/LaserScan', scan, qos(QosReliability.BEST_EFFORT, QosDurability.VOLATILE, 5)),
        ('/cmd_vel', 'geometry_msgs/msg/Twist', twist, qos(QosReliability.RELIABLE, QosDurability.VOLATILE, 10)),
        ('/camera/image', 'sensor_msgs/msg/Image', image, qos(QosReliability.BEST_EFFORT, QosDurability.VOLATILE, 1)),
        ('/chatter', 'std_msgs/msg/String', string, qos(QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL, 1)),
        ('/joint_states', 'sensor_msgs/msg/JointState', joints, qos(QosReliability.RELIABLE, QosDurability.VOLATILE, 10)),
    ]
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    written = []
    with Writer(path, version=int(version), storage_plugin=plugin) as writer:
        conns = [writer.add_connection(topic, typ, typestore=ts, offered_qos_profiles=[q]) for topic, typ, _, q in topics]
        for i in range(20):
            for conn, (topic, typ, make, _) in zip(conns, topics):
                msg = make(i)
                log_time = 1_700_000_000_000_000_000 + i * 50_000_000 + len(written)
                writer.write(conn, log_time, ts.serialize_cdr(msg, typ))
                written.append({'topic': topic, 'type': typ, 'log_time': str(log_time), 'value': plain(msg)})
    json.dump({'messages': written}, sys.stdout)


if __name__ == '__main__':
    main(*sys.argv[1:4])
