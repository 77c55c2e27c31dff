"""test_msgs/action/Fibonacci over DDS as rcl_action makes it (rmw_cyclonedds_cpp's conventions): the send_goal,
cancel_goal and get_result services (rq/rr topics, each sample led by the request header: client guid, sequence
number) and the feedback and status topics, for ros2_dds_peer.py's fibonacci_server and fibonacci_client roles.
"""
import os
import threading
import time
from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl import types as idl_types
from cyclonedds.idl.types import array, int8, int32, int64, sequence, uint8, uint32, uint64
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader, InvalidSample
from cyclonedds.topic import Topic


def take(reader, n=10):
    """The samples `reader` takes, without the invalid ones a writer leaving disposes (rmw reports them as not taken)."""
    return [sample for sample in reader.take(N=n) if not isinstance(sample, InvalidSample)]


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



def fibonacci_entities(dp, action, server, qos):
    """The action's entities for a server, or mirrored for a client: the server reads the requests and writes the
    replies, the feedback and the status."""
    def entity(name, kind, server_writes, q=None):
        side = DataWriter if server_writes == server else DataReader
        return side(dp, Topic(dp, name, kind), qos=q if q is not None else qos())

    return {
        "goal_rq": entity(f"rq{action}/_action/send_goalRequest", Fibonacci_SendGoal_Request_, False),
        "goal_rr": entity(f"rr{action}/_action/send_goalReply", Fibonacci_SendGoal_Response_, True),
        "result_rq": entity(f"rq{action}/_action/get_resultRequest", Fibonacci_GetResult_Request_, False),
        "result_rr": entity(f"rr{action}/_action/get_resultReply", Fibonacci_GetResult_Response_, True),
        "cancel_rq": entity(f"rq{action}/_action/cancel_goalRequest", CancelGoal_Request_, False),
        "cancel_rr": entity(f"rr{action}/_action/cancel_goalReply", CancelGoal_Response_, True),
        "feedback": entity(f"rt{action}/_action/feedback", Fibonacci_FeedbackMessage_, True),
        # rcl_action's status QoS: reliable, transient_local, keep last 1
        "status": entity(f"rt{action}/_action/status", GoalStatusArray_, True, qos("transient_local", 1)),
    }


def serve_fibonacci(a, spec, stop, emit):
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
        for req in take(a["goal_rq"]):
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
        for req in take(a["result_rq"]):
            gid = bytes(req.goal_id.uuid)
            with lock:
                g = goals.get(gid)
                if g is None:
                    answer_result(req, {"status": 0, "sequence": []})  # STATUS_UNKNOWN
                elif g["status"] in (4, 5, 6):
                    answer_result(req, g)
                else:
                    g["waiting"].append(req)
        for req in take(a["cancel_rq"]):
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


def use_fibonacci(a, spec, stop, emit):
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
        for reply in take(a["goal_rr"]):
            if mine(reply) and reply.sequence_number == 1:
                state["accepted"] = reply.accepted
                emit(event="accepted" if reply.accepted else "rejected")
                if not reply.accepted:
                    return
                a["result_rq"].write(
                    Fibonacci_GetResult_Request_(client_guid=client_guid, sequence_number=2, goal_id=UUID_(uuid=goal_id))
                )
        for message in take(a["feedback"]):
            if list(message.goal_id.uuid) == goal_id:
                state["feedback"] += 1
                emit(event="feedback", sequence=list(message.sequence))
                cancel_after = spec.get("cancel_after")
                if cancel_after is not None and state["feedback"] >= cancel_after and not state["canceled"]:
                    state["canceled"] = True
                    info = GoalInfo_(goal_id=UUID_(uuid=goal_id), stamp=Time_(sec=0, nanosec=0))
                    a["cancel_rq"].write(CancelGoal_Request_(client_guid=client_guid, sequence_number=3, goal_info=info))
                    emit(event="cancel_sent")
        for array_ in take(a["status"]):
            for status in array_.status_list:
                if list(status.goal_info.goal_id.uuid) == goal_id and status.status not in state["statuses"][-1:]:
                    state["statuses"].append(status.status)
                    emit(event="status", status=status.status)
        for reply in take(a["cancel_rr"]):
            if mine(reply) and reply.sequence_number == 3:
                emit(event="cancel_response", return_code=reply.return_code, canceling=len(reply.goals_canceling))
        for reply in take(a["result_rr"]):
            if mine(reply) and reply.sequence_number == 2:
                state["result"] = True
                emit(event="result", status=reply.status, sequence=list(reply.sequence))
        stop.wait(0.005)
    if not state["result"]:
        emit(event="timeout", accepted=state["accepted"])
