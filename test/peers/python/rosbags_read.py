"""Opens a rosbag2 directory with rosbags (its own metadata parser, storage readers and CDR codec) and prints
JSON: the bag's topics as rosbags sees them, the RIHS01 hash rosbags computes for each type, and every
message deserialized (fields as plain values), or only counts with --count.

Types come from rosbags' own ROS 2 Jazzy store; a type it does not know is registered from the bag's
message definition, and listed under `from_bag`."""

import json
import sys
import time
from pathlib import Path

from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from plain import plain


def main(path, count_only=False):
    typestore = get_typestore(Stores.ROS2_JAZZY)
    started = time.perf_counter()
    out = {'topics': [], 'hashes': {}, 'from_bag': [], 'messages': [], 'counts': {}}
    with Reader(Path(path)) as reader:
        out['message_count'] = reader.message_count
        out['start_time'] = reader.start_time
        out['end_time'] = reader.end_time
        for c in reader.connections:
            if c.msgtype not in typestore.types:
                typestore.register(get_types_from_msg(c.msgdef.data, c.msgtype))
                out['from_bag'].append(c.msgtype)
            out['topics'].append({
                'name': c.topic, 'type': c.msgtype, 'count': c.msgcount, 'digest': c.digest,
                'serialization_format': c.ext.serialization_format,
                'qos': [qos(q) for q in c.ext.offered_qos_profiles],
            })
            out['hashes'][c.msgtype] = typestore.hash_rihs01(c.msgtype)
        for c, timestamp, raw in reader.messages():
            msg = typestore.deserialize_cdr(raw, c.msgtype)
            out['counts'][c.topic] = out['counts'].get(c.topic, 0) + 1
            if not count_only:
                out['messages'].append({'topic': c.topic, 'log_time': str(timestamp), 'value': plain(msg)})
    out['seconds'] = time.perf_counter() - started
    json.dump(out, sys.stdout)


def qos(q):
    def duration(d):
        return {'sec': d.sec, 'nsec': d.nsec}
    return {
        'history': q.history.name.lower(), 'depth': q.depth, 'reliability': q.reliability.name.lower(),
        'durability': q.durability.name.lower(), 'deadline': duration(q.deadline), 'lifespan': duration(q.lifespan),
        'liveliness': q.liveliness.name.lower(), 'liveliness_lease_duration': duration(q.liveliness_lease_duration),
        'avoid_ros_namespace_conventions': q.avoid_ros_namespace_conventions,
    }


if __name__ == '__main__':
    main(sys.argv[1], '--count' in sys.argv[2:])
