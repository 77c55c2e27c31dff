"""A ROS 2 node as DDS sees it, made with Cyclone DDS's Python binding (PyPI cyclonedds), for the tests that run
the daemon against zenoh-bridge-ros2dds. It follows ROS 2's DDS conventions as rmw_cyclonedds_cpp (Jazzy) writes
them: topics `rt/<name>`, services `rq/<name>Request` / `rr/<name>Reply` whose samples start with rmw_cyclonedds's
request header (client guid, sequence number), type names `<pkg>::msg::dds_::<Type>_`, XCDR1, and the node announced
on `ros_discovery_info` (rmw_dds_common/ParticipantEntitiesInfo, 16-byte GIDs), which the bridge needs to route
anything.

Usage: ros2_dds_peer.py '<json spec>'   (CYCLONEDDS_URI pins it to loopback; the test sets it)
spec: {"domain": N, "node": "talker", "namespace": "/", "role": ..., ...}
  role "publisher":  {"topic": "/chatter", "type": "String"|"Twist", "values": [...], "period_s": 0.1,
                      "durability": "volatile"|"transient_local", "depth": 10, "repeat": true}
  role "subscriber": {"topic": ..., "type": ..., "durability": ...}   prints {"event": "received", "value": ...}
  role "trigger_server": {"service": "/reset"}   answers success=true, message="triggered N"
  role "fibonacci_server": {"action": "/fibonacci", "period_s": 0.1}   a test_msgs/action/Fibonacci
                      server as rcl_action serves one over DDS (rq/rr _action services, feedback and status topics);
                      events goal, cancel (with t_ns, the wall clock when the node took it), done
  role "fibonacci_client": {"action": "/fibonacci", "order": 5, "cancel_after": N, "timeout_s": 20}   an rcl_action
                      client over DDS (the same five entities, mirrored): once its servers are matched, sends one
                      goal, asks its result, takes its feedback and status, and with cancel_after sends cancel_goal
                      after that many feedbacks; events accepted, feedback, status, cancel_response, result, timeout
  role "trigger_client": {"service": "/auraison/stop", "timeout_s": 10}   calls it once (as rmw_cyclonedds does:
                      client guid and sequence number in the request header) once a server is matched, prints
                      {"event": "response", "success": ..., "message": ...} or {"event": "timeout"}
Events are JSON lines on stdout; "ready" once everything is created and announced. Stdin closing ends it.
"""
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field

from cyclonedds.core import Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl import types as idl_types
from cyclonedds.idl.types import array, float64, int8, int32, int64, sequence, uint8, uint32, uint64
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration


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
class UUID_(IdlStruct, typename="unique_identifier_msgs::msg::dds_::UUID_"):
    uuid: array[uint8, 16]


@dataclass
class Time_(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32
    nanosec: uint32


@dataclass
class GoalInfo_(IdlStruct, typename="action_msgs::msg::dds_::GoalInfo_"):
    goal_id: UUID_
    stamp: Time_


@dataclass
class GoalStatus_(IdlStruct, typename="action_msgs::msg::dds_::GoalStatus_"):
    goal_info: GoalInfo_
    status: int8


@dataclass
class GoalStatusArray_(IdlStruct, typename="action_msgs::msg::dds_::GoalStatusArray_"):
    status_list: sequence[GoalStatus_] = field(default_factory=list)


@dataclass
class Fibonacci_SendGoal_Request_(IdlStruct, typename="test_msgs::action::dds_::Fibonacci_SendGoal_Request_"):
    client_guid: uint64
    sequence_number: int64
    goal_id: UUID_
    order: int32


@dataclass
class Fibonacci_SendGoal_Response_(
    IdlStruct, typename="test_msgs::action::dds_::Fibonacci_SendGoal_Response_"
):
    client_guid: uint64
    sequence_number: int64
    accepted: bool
    stamp: Time_


@dataclass
class Fibonacci_GetResult_Request_(
    IdlStruct, typename="test_msgs::action::dds_::Fibonacci_GetResult_Request_"
):
    client_guid: uint64
    sequence_number: int64
    goal_id: UUID_


@dataclass
class Fibonacci_GetResult_Response_(
    IdlStruct, typename="test_msgs::action::dds_::Fibonacci_GetResult_Response_"
):
    client_guid: uint64
    sequence_number: int64
    status: int8
    sequence: idl_types.sequence[int32] = field(default_factory=list)


@dataclass
class CancelGoal_Request_(IdlStruct, typename="action_msgs::srv::dds_::CancelGoal_Request_"):
    client_guid: uint64
    sequence_number: int64
    goal_info: GoalInfo_


@dataclass
class CancelGoal_Response_(IdlStruct, typename="action_msgs::srv::dds_::CancelGoal_Response_"):
    client_guid: uint64
    sequence_number: int64
    return_code: int8
    goals_canceling: sequence[GoalInfo_] = field(default_factory=list)


@dataclass
class Fibonacci_FeedbackMessage_(
    IdlStruct, typename="test_msgs::action::dds_::Fibonacci_FeedbackMessage_"
):
    goal_id: UUID_
    sequence: idl_types.sequence[int32] = field(default_factory=list)


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


def qos(durability="volatile", depth=10):
    return Qos(
        Policy.Reliability.Reliable(duration(seconds=1)),
        Policy.Durability.TransientLocal if durability == "transient_local" else Policy.Durability.Volatile,
        Policy.History.KeepLast(depth),
        Policy.DataRepresentation(use_cdrv0_representation=True),
    )


def to_message(kind, value):
    if kind == "String":
        return String_(data=value)
    return Twist_(linear=Vector3_(*value["linear"]), angular=Vector3_(*value["angular"]))


def from_message(kind, sample):
    if kind == "String":
        return sample.data
    return {
        "linear": [sample.linear.x, sample.linear.y, sample.linear.z],
        "angular": [sample.angular.x, sample.angular.y, sample.angular.z],
    }


def serve_fibonacci(a, spec, stop):
    """rcl_action's server side, as far as the tests need: accept (or reject a negative order), run, feed back,
    cancel on request, answer get_result once the goal ends, publish the status array on every change."""
    goals = {}  # goal id bytes -> {"order", "status", "sequence", "stamp", "waiting": [requests]}
    period = spec.get("period_s", 0.1)
    lock = threading.Lock()

    def publish_status():
        a["status"].write(
            GoalStatusArray_(
                status_list=[
                    GoalStatus_(goal_info=GoalInfo_(goal_id=UUID_(uuid=list(gid)), stamp=g["stamp"]), status=g["status"])
                    for gid, g in goals.items()
                ]
            )
        )

    def answer_result(req, g):
        a["result_rr"].write(
            Fibonacci_GetResult_Response_(
                client_guid=req.client_guid,
                sequence_number=req.sequence_number,
                status=g["status"],
                sequence=list(g["sequence"]),
            )
        )

    def execute(gid):
        g = goals[gid]
        with lock:
            g["status"] = 2  # EXECUTING
            publish_status()
        sequence = [0, 1]
        for _ in range(max(0, g["order"] - 1)):
            if stop.wait(period):
                return
            with lock:
                if g["status"] == 3:  # CANCELING
                    g["status"] = 5  # CANCELED
                    break
            sequence.append(sequence[-1] + sequence[-2])
            g["sequence"] = sequence
            a["feedback"].write(Fibonacci_FeedbackMessage_(goal_id=UUID_(uuid=list(gid)), sequence=list(sequence)))
        with lock:
            if g["status"] != 5:
                g["status"] = 4  # SUCCEEDED
            publish_status()
            emit(event="done", goal_id=gid.hex(), status=g["status"], sequence=g["sequence"])
            for req in g["waiting"]:
                answer_result(req, g)
            g["waiting"] = []

    while not stop.is_set():
        for req in a["goal_rq"].take(N=10):
            gid = bytes(req.goal_id.uuid)
            now = time.time()
            stamp = Time_(sec=int(now), nanosec=int((now % 1) * 1e9))
            accepted = req.order >= 0
            emit(event="goal", goal_id=gid.hex(), order=req.order, accepted=accepted)
            a["goal_rr"].write(
                Fibonacci_SendGoal_Response_(
                    client_guid=req.client_guid, sequence_number=req.sequence_number, accepted=accepted, stamp=stamp
                )
            )
            if accepted:
                with lock:
                    goals[gid] = {"order": req.order, "status": 1, "sequence": [], "stamp": stamp, "waiting": []}
                    publish_status()
                threading.Thread(target=execute, args=(gid,), daemon=True).start()
        for req in a["result_rq"].take(N=10):
            gid = bytes(req.goal_id.uuid)
            with lock:
                g = goals.get(gid)
                if g is None:
                    answer_result(req, {"status": 0, "sequence": []})  # STATUS_UNKNOWN
                elif g["status"] in (4, 5, 6):
                    answer_result(req, g)
                else:
                    g["waiting"].append(req)
        for req in a["cancel_rq"].take(N=10):
            gid = bytes(req.goal_info.goal_id.uuid)
            canceling = []
            with lock:
                for other, g in goals.items():
                    if (gid == bytes(16) or other == gid) and g["status"] in (1, 2):
                        g["status"] = 3  # CANCELING
                        canceling.append(GoalInfo_(goal_id=UUID_(uuid=list(other)), stamp=g["stamp"]))
                if canceling:
                    publish_status()
            emit(event="cancel", goal_id=gid.hex(), canceling=len(canceling), t_ns=time.time_ns())
            a["cancel_rr"].write(
                CancelGoal_Response_(
                    client_guid=req.client_guid,
                    sequence_number=req.sequence_number,
                    return_code=0 if canceling else 2,
                    goals_canceling=canceling,
                )
            )
        stop.wait(0.005)


def matched(writers, readers):
    return all(w.get_matched_subscriptions() for w in writers) and all(r.get_matched_publications() for r in readers)


def use_fibonacci(a, spec, stop):
    """rcl_action's client side: send_goal, then get_result; feedback and status taken by goal id."""
    deadline = time.monotonic() + spec.get("timeout_s", 20)
    # A client waits for its server (rclpy's wait_for_server: every service matched) before it sends.
    while not stop.is_set() and time.monotonic() < deadline:
        if matched([a["goal_rq"], a["result_rq"], a["cancel_rq"]], [a["goal_rr"], a["result_rr"], a["cancel_rr"]]):
            break
        stop.wait(0.05)
    client_guid = int.from_bytes(a["goal_rq"].guid.bytes[8:16], "little")
    goal_id = list(os.urandom(16))
    a["goal_rq"].write(
        Fibonacci_SendGoal_Request_(
            client_guid=client_guid, sequence_number=1, goal_id=UUID_(uuid=goal_id), order=spec.get("order", 5)
        )
    )
    emit(event="sent", goal_id=bytes(goal_id).hex())
    state = {"accepted": None, "result": False, "feedback": 0, "canceled": False, "statuses": []}
    mine = lambda reply: reply.client_guid == client_guid

    while not stop.is_set() and time.monotonic() < deadline and not state["result"]:
        for reply in a["goal_rr"].take(N=10):
            if mine(reply) and reply.sequence_number == 1:
                state["accepted"] = reply.accepted
                emit(event="accepted" if reply.accepted else "rejected")
                if not reply.accepted:
                    return
                a["result_rq"].write(
                    Fibonacci_GetResult_Request_(client_guid=client_guid, sequence_number=2, goal_id=UUID_(uuid=goal_id))
                )
        for message in a["feedback"].take(N=10):
            if list(message.goal_id.uuid) == goal_id:
                state["feedback"] += 1
                emit(event="feedback", sequence=list(message.sequence))
                cancel_after = spec.get("cancel_after")
                if cancel_after is not None and state["feedback"] >= cancel_after and not state["canceled"]:
                    state["canceled"] = True
                    info = GoalInfo_(goal_id=UUID_(uuid=goal_id), stamp=Time_(sec=0, nanosec=0))
                    a["cancel_rq"].write(CancelGoal_Request_(client_guid=client_guid, sequence_number=3, goal_info=info))
                    emit(event="cancel_sent")
        for array_ in a["status"].take(N=10):
            for status in array_.status_list:
                if list(status.goal_info.goal_id.uuid) == goal_id and status.status not in state["statuses"][-1:]:
                    state["statuses"].append(status.status)
                    emit(event="status", status=status.status)
        for reply in a["cancel_rr"].take(N=10):
            if mine(reply) and reply.sequence_number == 3:
                emit(event="cancel_response", return_code=reply.return_code, canceling=len(reply.goals_canceling))
        for reply in a["result_rr"].take(N=10):
            if mine(reply) and reply.sequence_number == 2:
                state["result"] = True
                emit(event="result", status=reply.status, sequence=list(reply.sequence))
        stop.wait(0.005)
    if not state["result"]:
        emit(event="timeout", accepted=state["accepted"])


def main():
    spec = json.loads(sys.argv[1])
    dp = DomainParticipant(spec["domain"])
    kind = spec.get("type", "String")
    types = {"String": String_, "Twist": Twist_}
    readers, writers = [], []
    role = spec["role"]
    topic_qos = qos(spec.get("durability", "volatile"), spec.get("depth", 10))

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
        requests = DataWriter(dp, Topic(dp, f"rq{service}Request", Trigger_Request_), qos=qos())
        replies = DataReader(dp, Topic(dp, f"rr{service}Reply", Trigger_Response_), qos=qos())
        readers.append(replies)
        writers.append(requests)
    elif role == "fibonacci_server":
        action = spec["action"]
        a = {
            "goal_rq": DataReader(dp, Topic(dp, f"rq{action}/_action/send_goalRequest", Fibonacci_SendGoal_Request_), qos=qos()),
            "goal_rr": DataWriter(dp, Topic(dp, f"rr{action}/_action/send_goalReply", Fibonacci_SendGoal_Response_), qos=qos()),
            "result_rq": DataReader(dp, Topic(dp, f"rq{action}/_action/get_resultRequest", Fibonacci_GetResult_Request_), qos=qos()),
            "result_rr": DataWriter(dp, Topic(dp, f"rr{action}/_action/get_resultReply", Fibonacci_GetResult_Response_), qos=qos()),
            "cancel_rq": DataReader(dp, Topic(dp, f"rq{action}/_action/cancel_goalRequest", CancelGoal_Request_), qos=qos()),
            "cancel_rr": DataWriter(dp, Topic(dp, f"rr{action}/_action/cancel_goalReply", CancelGoal_Response_), qos=qos()),
            "feedback": DataWriter(dp, Topic(dp, f"rt{action}/_action/feedback", Fibonacci_FeedbackMessage_), qos=qos()),
            # rcl_action's status QoS: reliable, transient_local, keep last 1
            "status": DataWriter(dp, Topic(dp, f"rt{action}/_action/status", GoalStatusArray_), qos=qos("transient_local", 1)),
        }
        readers.extend(v for k, v in a.items() if k.endswith("_rq"))
        writers.extend(v for k, v in a.items() if not k.endswith("_rq"))
    elif role == "fibonacci_client":
        action = spec["action"]
        a = {
            "goal_rq": DataWriter(dp, Topic(dp, f"rq{action}/_action/send_goalRequest", Fibonacci_SendGoal_Request_), qos=qos()),
            "goal_rr": DataReader(dp, Topic(dp, f"rr{action}/_action/send_goalReply", Fibonacci_SendGoal_Response_), qos=qos()),
            "result_rq": DataWriter(dp, Topic(dp, f"rq{action}/_action/get_resultRequest", Fibonacci_GetResult_Request_), qos=qos()),
            "result_rr": DataReader(dp, Topic(dp, f"rr{action}/_action/get_resultReply", Fibonacci_GetResult_Response_), qos=qos()),
            "cancel_rq": DataWriter(dp, Topic(dp, f"rq{action}/_action/cancel_goalRequest", CancelGoal_Request_), qos=qos()),
            "cancel_rr": DataReader(dp, Topic(dp, f"rr{action}/_action/cancel_goalReply", CancelGoal_Response_), qos=qos()),
            "feedback": DataReader(dp, Topic(dp, f"rt{action}/_action/feedback", Fibonacci_FeedbackMessage_), qos=qos()),
            "status": DataReader(dp, Topic(dp, f"rt{action}/_action/status", GoalStatusArray_), qos=qos("transient_local", 1)),
        }
        readers.extend(v for k, v in a.items() if k.endswith("_rr") or k in ("feedback", "status"))
        writers.extend(v for k, v in a.items() if k.endswith("_rq"))
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
            for sample in readers[0].take(N=100):
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
        writers[0].write(Trigger_Request_(client_guid=client_guid, sequence_number=1, structure_needs_at_least_one_member=0))
        emit(event="sent")
        answered = False
        while not stop.is_set() and time.monotonic() < deadline and not answered:
            for reply in readers[0].take(N=10):
                if reply.client_guid == client_guid and reply.sequence_number == 1:
                    emit(event="response", success=reply.success, message=reply.message)
                    answered = True
            stop.wait(0.01)
        if not answered:
            emit(event="timeout")
        stop.wait()
    elif role == "fibonacci_server":
        serve_fibonacci(a, spec, stop)
    elif role == "fibonacci_client":
        use_fibonacci(a, spec, stop)
        stop.wait()
    else:
        served = 0
        while not stop.is_set():
            for request in readers[0].take(N=100):
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
