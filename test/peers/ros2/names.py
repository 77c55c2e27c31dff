"""Resolves names as rcl does, for test/rclpy/rcl-names.test.ts: reads a JSON list of [name, namespace, node]
from stdin and prints a JSON list of ["ok", fully qualified name] or ["err", rcl's message], one per name."""
import json
import sys

from rclpy.expand_topic_name import expand_topic_name
from rclpy.validate_full_topic_name import validate_full_topic_name
from rclpy.validate_topic_name import validate_topic_name

out = []
for name, namespace, node in json.load(sys.stdin):
    try:
        validate_topic_name(name)
        full = expand_topic_name(name, node, namespace)
        validate_full_topic_name(full)
        out.append(["ok", full])
    except Exception as error:  # rcl says why in its exception: InvalidTopicNameException or ValueError
        out.append(["err", f"{type(error).__name__}: {error}"])
print(json.dumps(out))
