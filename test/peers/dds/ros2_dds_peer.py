"""A ROS 2 node as DDS sees it, made with Cyclone DDS's Python binding (PyPI cyclonedds), for the tests that run
the daemon against zenoh-bridge-ros2dds. It follows ROS 2's DDS conventions as rmw_cyclonedds_cpp (Jazzy) writes
them: topics `rt/<name>`, services `rq/<name>Request` / `rr/<name>Reply` whose samples start with rmw_cyclonedds's
request header (client guid, sequence number), type names `<pkg>::msg::dds_::<Type>_`, XCDR1, and the node announced
on `ros_discovery_info` (rmw_dds_common/ParticipantEntitiesInfo, 16-byte GIDs), which the bridge needs to route
anything.

Usage: ros2_dds_peer.py '<json spec>'   (CYCLONEDDS_URI pins it to loopback; the test sets it)
spec: {"domain": N, "node": "talker", "namespace": "/", "role": ..., ...}
  role "publisher":  {"topic": "/chatter", "type": "String"|"Twist"|"OccupancyGrid"|"Image", "values": [...], "period_s": 0.1,
                      "durability": "volatile"|"transient_local", "depth": 10, "history": "keep_last"|"keep_all",
                      "repeat": true}; an Image value is {"width", "height", "seed"}: rgb8, byte i is (i + seed) % 256;
                      "qos": "dds_default" sets no policy but XCDR1 (DDS's defaults: KEEP_LAST 1,
                      volatile, a writer reliable and a reader best effort); "type_hash": "RIHS01_..." puts it in
                      USER_DATA as rmw_cyclonedds_cpp does from Iron (`typehash=<hash>;`)
  role "subscriber": {"topic": ..., "type": ..., "durability": ...}   prints {"event": "received", "value": ...}
  role "trigger_server": {"service": "/reset"}   answers success=true, message="triggered N"
  role "fibonacci_server": {"action": "/fibonacci", "period_s": 0.1}   a test_msgs/action/Fibonacci (ros2_dds_action.py)
                      server as rcl_action serves one over DDS (rq/rr _action services, feedback and status topics);
                      events goal, cancel (with t_ns, the wall clock when the node took it), done
  role "fibonacci_client": {"action": "/fibonacci", "order": 5, "cancel_after": N, "timeout_s": 20}   an rcl_action
                      client over DDS (the same five entities, mirrored): once its servers are matched, sends one
                      goal, asks its result, takes its feedback and status, and with cancel_after sends cancel_goal
                      after that many feedbacks; events accepted, feedback, status, cancel_response, result, timeout
  role "trigger_client": {"service": "/auraison/stop", "timeout_s": 10, "calls": 1, "period_s": 0.2,
                      "srv": "Trigger"|"SetRate" (rosbag2_interfaces/srv/SetRate, its rate the call's number)}   once a server
                      is matched, calls it `calls` times, one at a time (as rmw_cyclonedds does: client guid and
                      sequence number 1, 2, ... in the request header), each waiting `timeout_s` for its answer and
                      then `period_s`; prints {"event": "sent", "seq": n}, then {"event": "response", "seq": n,
                      "success": ..., "message": ...} or {"event": "timeout", "seq": n}
Events are JSON lines on stdout; "ready" once everything is created and announced. Stdin closing ends it.
"""
import json
import sys
import threading
import time
from dataclasses import dataclass, field

from cyclonedds.core import Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, float32, float64, int8, int64, sequence, uint8, uint32, uint64
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from ros2_dds_action import Time_, fibonacci_entities, serve_fibonacci, take, use_fibonacci


@dataclass
class String_(IdlStruct, typename="std_msgs::msg::dds_::String_"):
    data: str


@dataclass
class Vector3_(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    x: float64
    y: float64
    z: float64


@dataclass
class Twist_(IdlStruct, typename="geometry_msgs::msg::dds_::Twist_"):
    linear: Vector3_
    angular: Vector3_


@dataclass
class Header_(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: Time_
    frame_id: str


@dataclass
class Point_(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    x: float64
    y: float64
    z: float64


@dataclass
class Quaternion_(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    x: float64
    y: float64
    z: float64
    w: float64


@dataclass
class Pose_(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    position: Point_
    orientation: Quaternion_


@dataclass
class MapMetaData_(IdlStruct, typename="nav_msgs::msg::dds_::MapMetaData_"):
    map_load_time: Time_
    resolution: float32
    width: uint32
    height: uint32
    origin: Pose_


@dataclass
class OccupancyGrid_(IdlStruct, typename="nav_msgs::msg::dds_::OccupancyGrid_"):
    header: Header_
    info: MapMetaData_
    data: sequence[int8]


@dataclass
class Image_(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    header: Header_
    height: uint32
    width: uint32
    encoding: str
    is_bigendian: uint8
    step: uint32
    data: sequence[uint8]  # given as bytes: packed in one struct.pack


@dataclass
class Trigger_Request_(IdlStruct, typename="std_srvs::srv::dds_::Trigger_Request_"):
    # rmw_cyclonedds_cpp's cdds_request_header_t comes first in every request and reply sample
    client_guid: uint64
    sequence_number: int64
    structure_needs_at_least_one_member: uint8


@dataclass
class Trigger_Response_(IdlStruct, typename="std_srvs::srv::dds_::Trigger_Response_"):
    client_guid: uint64
    sequence_number: int64
    success: bool
    message: str


@dataclass
class SetRate_Request_(IdlStruct, typename="rosbag2_interfaces::srv::dds_::SetRate_Request_"):
    client_guid: uint64
    sequence_number: int64
    rate: float64


@dataclass
class SetRate_Response_(IdlStruct, typename="rosbag2_interfaces::srv::dds_::SetRate_Response_"):
    client_guid: uint64
    sequence_number: int64
    success: bool


# A client's request n, and what its reply says: a Trigger's success and message, a SetRate's success (its rate is n,
# so a server can tell one request from another).
CLIENT_SERVICES = {
    "Trigger": (
        Trigger_Request_,
        Trigger_Response_,
        lambda guid, n: Trigger_Request_(client_guid=guid, sequence_number=n, structure_needs_at_least_one_member=0),
        lambda reply: {"success": reply.success, "message": reply.message},
    ),
    "SetRate": (
        SetRate_Request_,
        SetRate_Response_,
        lambda guid, n: SetRate_Request_(client_guid=guid, sequence_number=n, rate=float(n)),
        lambda reply: {"success": reply.success},
    ),
}


@dataclass
class Gid_(IdlStruct, typename="rmw_dds_common::msg::dds_::Gid_"):
    data: array[uint8, 16]


@dataclass
class NodeEntitiesInfo_(IdlStruct, typename="rmw_dds_common::msg::dds_::NodeEntitiesInfo_"):
    node_namespace: str
    node_name: str
    reader_gid_seq: sequence[Gid_] = field(default_factory=list)
    writer_gid_seq: sequence[Gid_] = field(default_factory=list)


@dataclass
class ParticipantEntitiesInfo_(IdlStruct, typename="rmw_dds_common::msg::dds_::ParticipantEntitiesInfo_"):
    gid: Gid_
    node_entities_info_seq: sequence[NodeEntitiesInfo_] = field(default_factory=list)


def emit(**event):
    print(json.dumps(event), flush=True)


def gid(entity):
    return Gid_(data=list(entity.guid.bytes))


def qos(durability="volatile", depth=10, history="keep_last", type_hash=None):
    policies = [
        Policy.Reliability.Reliable(duration(seconds=1)),
        Policy.Durability.TransientLocal if durability == "transient_local" else Policy.Durability.Volatile,
        Policy.History.KeepAll if history == "keep_all" else Policy.History.KeepLast(depth),
        Policy.DataRepresentation(use_cdrv0_representation=True),
    ]
    if type_hash is not None:
        policies.append(Policy.Userdata(f"typehash={type_hash};".encode()))
    return Qos(*policies)


def topic_qos_of(spec):
    if spec.get("qos") == "dds_default":
        return Qos(Policy.DataRepresentation(use_cdrv0_representation=True))
    return qos(spec.get("durability", "volatile"), spec.get("depth", 10), spec.get("history", "keep_last"), spec.get("type_hash"))


def to_message(kind, value):
    if kind == "String":
        return String_(data=value)
    if kind == "Image":
        size, seed = value["width"] * value["height"] * 3, value["seed"]
        row = bytes((i + seed) % 256 for i in range(256))
        data = (row * (size // 256 + 1))[:size]
        return Image_(Header_(Time_(0, 0), "camera"), value["height"], value["width"], "rgb8", 0, value["width"] * 3, data)
    if kind == "OccupancyGrid":
        origin = Pose_(Point_(0, 0, 0), Quaternion_(0, 0, 0, 1))
        info = MapMetaData_(Time_(0, 0), value["resolution"], value["width"], value["height"], origin)
        return OccupancyGrid_(Header_(Time_(0, 0), value.get("frame_id", "map")), info, value["data"])
    return Twist_(linear=Vector3_(*value["linear"]), angular=Vector3_(*value["angular"]))


def from_message(kind, sample):
    if kind == "String":
        return sample.data
    if kind == "OccupancyGrid":
        return {
            "frame_id": sample.header.frame_id,
            "resolution": sample.info.resolution,
            "width": sample.info.width,
            "height": sample.info.height,
            "data": list(sample.data),
        }
    return {
        "linear": [sample.linear.x, sample.linear.y, sample.linear.z],
        "angular": [sample.angular.x, sample.angular.y, sample.angular.z],
    }


def main():
    spec = json.loads(sys.argv[1])
    dp = DomainParticipant(spec["domain"])
    kind = spec.get("type", "String")
    types = {"String": String_, "Twist": Twist_, "OccupancyGrid": OccupancyGrid_, "Image": Image_}
    readers, writers = [], []
    role = spec["role"]
    topic_qos = topic_qos_of(spec)

    if role == "publisher":
        writer = DataWriter(dp, Topic(dp, "rt" + spec["topic"], types[kind]), qos=topic_qos)
        writers.append(writer)
    elif role == "subscriber":
        reader = DataReader(dp, Topic(dp, "rt" + spec["topic"], types[kind]), qos=topic_qos)
        readers.append(reader)
    elif role == "trigger_server":
        service = spec["service"]
        requests = DataReader(dp, Topic(dp, f"rq{service}Request", Trigger_Request_), qos=qos())
        replies = DataWriter(dp, Topic(dp, f"rr{service}Reply", Trigger_Response_), qos=qos())
        readers.append(requests)
        writers.append(replies)
    elif role == "trigger_client":
        service = spec["service"]
        request_type, response_type, make_request, reply_fields = CLIENT_SERVICES[spec.get("srv", "Trigger")]
        requests = DataWriter(dp, Topic(dp, f"rq{service}Request", request_type), qos=qos())
        replies = DataReader(dp, Topic(dp, f"rr{service}Reply", response_type), qos=qos())
        readers.append(replies)
        writers.append(requests)
    elif role in ("fibonacci_server", "fibonacci_client"):
        a = fibonacci_entities(dp, spec["action"], role == "fibonacci_server", qos)
        readers.extend(v for v in a.values() if isinstance(v, DataReader))
        writers.extend(v for v in a.values() if isinstance(v, DataWriter))
    else:
        raise SystemExit(f"unknown role {role}")

    # The node, announced as rmw_dds_common's graph cache announces it (transient_local, keep last 1).
    info_qos = Qos(
        Policy.Reliability.Reliable(duration(seconds=1)),
        Policy.Durability.TransientLocal,
        Policy.History.KeepLast(1),
        Policy.DataRepresentation(use_cdrv0_representation=True),
    )
    info_writer = DataWriter(dp, Topic(dp, "ros_discovery_info", ParticipantEntitiesInfo_), qos=info_qos)
    node = NodeEntitiesInfo_(
        node_namespace=spec.get("namespace", "/"),
        node_name=spec.get("node", "peer"),
        reader_gid_seq=[gid(r) for r in readers],
        writer_gid_seq=[gid(w) for w in writers],
    )
    info_writer.write(ParticipantEntitiesInfo_(gid=gid(dp), node_entities_info_seq=[node]))
    emit(event="ready")

    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

    if role == "publisher":
        values = spec["values"]
        period = spec.get("period_s", 0.1)
        n = 0
        while not stop.is_set():
            for value in values:
                writers[0].write(to_message(kind, value))
                n += 1
                emit(event="published", n=n)
                if stop.wait(period):
                    break
            if not spec.get("repeat", False):
                stop.wait()
    elif role == "subscriber":
        while not stop.is_set():
            for sample in take(readers[0], 100):
                emit(event="received", value=from_message(kind, sample))
            stop.wait(0.01)
    elif role == "trigger_client":
        deadline = time.monotonic() + spec.get("timeout_s", 10)
        # A client waits for a matched server (rclcpp's wait_for_service) before it sends.
        while not stop.is_set() and time.monotonic() < deadline:
            if writers[0].get_matched_subscriptions() and readers[0].get_matched_publications():
                break
            stop.wait(0.05)
        client_guid = int.from_bytes(writers[0].guid.bytes[8:16], "little")
        for seq in range(1, spec.get("calls", 1) + 1):
            if stop.is_set():
                break
            writers[0].write(make_request(client_guid, seq))
            emit(event="sent", seq=seq)
            deadline = time.monotonic() + spec.get("timeout_s", 10)
            answered = False
            while not stop.is_set() and time.monotonic() < deadline and not answered:
                for reply in take(readers[0]):
                    if reply.client_guid == client_guid and reply.sequence_number == seq:
                        emit(event="response", seq=seq, **reply_fields(reply))
                        answered = True
                    else:
                        # an answer to another request (an earlier one's late reply, or one answered twice)
                        emit(event="stray_response", seq=reply.sequence_number, **reply_fields(reply))
                stop.wait(0.01)
            if not answered:
                emit(event="timeout", seq=seq)
            stop.wait(spec.get("period_s", 0.2))
        emit(event="done")
        stop.wait()
    elif role == "fibonacci_server":
        serve_fibonacci(a, spec, stop, emit)
    elif role == "fibonacci_client":
        use_fibonacci(a, spec, stop, emit)
        stop.wait()
    else:
        served = 0
        while not stop.is_set():
            for request in take(readers[0], 100):
                served += 1
                writers[0].write(
                    Trigger_Response_(
                        client_guid=request.client_guid,
                        sequence_number=request.sequence_number,
                        success=True,
                        message=f"triggered {served}",
                    )
                )
                emit(event="served", n=served)
            stop.wait(0.005)


if __name__ == "__main__":
    main()
