"""Decodes every message of MCAP files with mcap-ros2-support, using only the schema text each file holds, and
prints JSON: per message its topic, log time and fields as plain values."""

import json
import sys

from mcap_ros2.reader import read_ros2_messages

from plain import plain


def main(paths):
    messages = []
    for path in paths:
        for m in read_ros2_messages(path):
            messages.append({'topic': m.channel.topic, 'log_time': str(m.log_time_ns), 'schema': m.schema.name,
                             'value': plain(m.ros_msg)})
    json.dump({'messages': messages}, sys.stdout)


if __name__ == '__main__':
    main(sys.argv[1:])
