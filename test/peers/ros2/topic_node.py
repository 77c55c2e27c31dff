"""A ROS 2 node made with rclpy (PyPI's ros-<distro>-rclpy wheels, test/peers/ros2/install.sh) that the topic tests
(test/rclpy) drive over stdin: it publishes and subscribes what it is told, with the QoS it is told, and says what it
got and what the graph looks like to it. On rmw_fastrtps_cpp, kept on loopback by the test's environment
(test/peers/ros2.ts).

Usage: topic_node.py NODE_NAME
Commands, one JSON object a line on stdin; each answered by an event (JSON lines on stdout) naming its "op":
  {"op": "publisher", "topic": T, "type": "pkg/msg/Name", "qos": Q}   a publisher (one per topic)
  {"op": "subscribe", "topic": T, "type": ..., "qos": Q}   a subscription taking the serialized message (rclpy's raw
      take), each message emitted as {"event": "message", "topic", "cdr": <base64>, "fields": <the message as JSON>}
  {"op": "publish", "topic": T, "fields": {...}}   a message of the publisher's type made from fields; answered with
      {"event": "published", "cdr": <base64 of rclpy's own serialization of it>}
  {"op": "publish", "topic": T, "cdr": <base64>}   these bytes published as they are (rclpy publishes bytes as a
      serialized message, whether or not they are the type's CDR)
  {"op": "destroy", "topic": T}   its publisher and subscription gone
  {"op": "graph", "topic": T}   {"event": "graph", "publishers": [E], "subscriptions": [E], "nodes": [names]}, E being
      {node, namespace, type, gid (hex), qos: {reliability, durability, history, depth}} as rclpy's graph API gives
Q: {"reliability": "reliable"|"best_effort", "durability": "volatile"|"transient_local", "depth": N}.
JSON for fields: nested messages are objects; uint8[]/byte[] (an Image's data) are {"base64": ...}; other arrays
are lists; 64-bit integers are decimal strings (exact past 2^53); a float field may be given as a string ("-0.0").
An incompatible QoS seen by either end is emitted as {"event": "incompatible_qos", "topic", "side", "policy"}.
"""
import array
import base64
import importlib
import json
import sys
import threading

import rclpy
from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message

lock = threading.Lock()
INT64 = {"int64", "uint64"}
FLOATS = {"double", "float"}


def emit(**event):
    line = json.dumps(event)
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def get_message(name):
    package, kind, message = name.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), message)


def qos_profile(spec):
    spec = spec or {}
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=spec.get("depth", 10),
        reliability=ReliabilityPolicy.BEST_EFFORT
        if spec.get("reliability") == "best_effort"
        else ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL
        if spec.get("durability") == "transient_local"
        else DurabilityPolicy.VOLATILE,
    )


def policy_name(policy):
    # ReliabilityPolicy.RELIABLE -> reliable; QoSPolicyKind's RMW_QOS_POLICY_RELIABILITY -> reliability
    return policy.name.lower().removeprefix("rmw_qos_policy_")


def to_json(value, field_type=""):
    if hasattr(value, "get_fields_and_field_types"):
        return {name: to_json(getattr(value, name), t) for name, t in value.get_fields_and_field_types().items()}
    if isinstance(value, (bytes, bytearray)) or (isinstance(value, array.array) and value.typecode == "B"):
        return {"base64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (list, tuple, array.array)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        inner = field_type.split("<", 1)[-1].split("[", 1)[0].rstrip(">")
        return [to_json(v, inner) for v in items]
    if isinstance(value, int) and not isinstance(value, bool) and field_type in INT64:
        return str(value)
    return value


def set_fields(message, fields):
    types = message.get_fields_and_field_types()
    for name, value in fields.items():
        if name not in types:
            raise ValueError(f"{type(message).__name__} has no field {name}")
        current = getattr(message, name)
        if hasattr(current, "get_fields_and_field_types"):
            set_fields(current, value)
        elif isinstance(value, dict) and "base64" in value:
            setattr(message, name, array.array("B", base64.b64decode(value["base64"])))
        elif types[name] in INT64:
            setattr(message, name, int(value))
        elif types[name] in FLOATS:
            # float() as rclpy's setters take an int unchecked and write its bits as the double ("-0.0": JSON has no -0)
            setattr(message, name, float(value))
        else:
            setattr(message, name, value)
    return message


def endpoint(info):
    qos = info.qos_profile
    return {
        "node": info.node_name,
        "namespace": info.node_namespace,
        "type": info.topic_type,
        "gid": bytes(info.endpoint_gid).hex(),
        "qos": {
            "reliability": policy_name(qos.reliability),
            "durability": policy_name(qos.durability),
            "history": policy_name(qos.history),
            "depth": qos.depth,
        },
    }


class TopicNode:
    def __init__(self, node):
        self.node = node
        self.publishers = {}
        self.subscriptions = {}

    def run(self, command):
        op = command["op"]
        topic = command.get("topic")
        if op == "publisher":
            kind = get_message(command["type"])
            events = PublisherEventCallbacks(
                incompatible_qos=lambda e: emit(
                    event="incompatible_qos", topic=topic, side="publisher", policy=policy_name(e.last_policy_kind)
                )
            )
            qos = qos_profile(command.get("qos"))
            publisher = self.node.create_publisher(kind, topic, qos, event_callbacks=events)
            self.publishers[topic] = (publisher, kind)
            emit(event="ok", op=op, topic=topic)
        elif op == "subscribe":
            kind = get_message(command["type"])

            def on_message(data, kind=kind):
                emit(
                    event="message",
                    topic=topic,
                    cdr=base64.b64encode(data).decode(),
                    fields=to_json(deserialize_message(data, kind)),
                )

            events = SubscriptionEventCallbacks(
                incompatible_qos=lambda e: emit(
                    event="incompatible_qos", topic=topic, side="subscription", policy=policy_name(e.last_policy_kind)
                )
            )
            qos = qos_profile(command.get("qos"))
            self.subscriptions[topic] = self.node.create_subscription(
                kind, topic, on_message, qos, raw=True, event_callbacks=events
            )
            emit(event="ok", op=op, topic=topic)
        elif op == "publish":
            publisher, kind = self.publishers[topic]
            if "cdr" in command:
                data = base64.b64decode(command["cdr"])
                publisher.publish(data)
            else:
                message = set_fields(kind(), command.get("fields", {}))
                data = serialize_message(message)
                publisher.publish(message)
            emit(event="published", op=op, topic=topic, cdr=base64.b64encode(data).decode())
        elif op == "destroy":
            if topic in self.publishers:
                self.node.destroy_publisher(self.publishers.pop(topic)[0])
            if topic in self.subscriptions:
                self.node.destroy_subscription(self.subscriptions.pop(topic))
            emit(event="ok", op=op, topic=topic)
        elif op == "graph":
            emit(
                event="graph",
                op=op,
                topic=topic,
                publishers=[endpoint(i) for i in self.node.get_publishers_info_by_topic(topic)],
                subscriptions=[endpoint(i) for i in self.node.get_subscriptions_info_by_topic(topic)],
                nodes=[
                    (ns.rstrip("/") + "/" + name) for name, ns in self.node.get_node_names_and_namespaces()
                ],
            )
        else:
            raise ValueError(f"unknown op {op}")


def main():
    rclpy.init()
    node = rclpy.create_node(sys.argv[1])
    peer = TopicNode(node)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    # Commands run on the executor's thread (a one-shot timer each), where rclpy's entities are safe to touch.
    pending = []
    wake = node.create_guard_condition(lambda: drain())

    def drain():
        while pending:
            command = pending.pop(0)
            try:
                peer.run(command)
            except Exception as error:  # the test reads the failure as an event, the node goes on
                emit(event="error", op=command.get("op"), topic=command.get("topic"), error=repr(error))

    def read_commands():
        for line in sys.stdin:
            if line.strip():
                pending.append(json.loads(line))
                wake.trigger()
        executor.shutdown(timeout_sec=0)

    threading.Thread(target=read_commands, daemon=True).start()
    emit(event="ready", node=node.get_fully_qualified_name())
    try:
        executor.spin()
    except Exception:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
