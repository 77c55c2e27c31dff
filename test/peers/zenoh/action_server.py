"""
A test_msgs/action/Fibonacci action server on Zenoh as an rmw_zenoh node serves one (docs/design.md of
ros2/rmw_zenoh): the send_goal, cancel_goal and get_result services as complete queryables on
<domain>/<action>/_action/<service>/<dds type>/<hash>, the feedback and status topics as publishers, an SS token per
hidden service and an MP token for feedback and status (rmw_zenoh has no action tokens: rcl_action makes an action of
plain services and topics), and the attachment on every reply. A double of rmw_zenoh_cpp, which no registry has
(test/ros2/ros2-rmw-zenoh.test.ts runs the real one where ROS 2 is built); zenoh-bridge-ros2dds's actions are tested
against the real bridge (test/ros2dds).

python action_server.py '<json spec>': router, action (`/fibonacci`), hashes (send_goal, cancel_goal, get_result,
feedback), step_s, quiet (no
accepted and cancel events: a bench sends thousands). A goal of order n is accepted when n >= 0 (else rejected),
publishes n feedbacks (the sequence so far) one per step_s, and succeeds with the sequence; a cancel ends it
canceled. Events are JSON lines: ready, accepted, rejected, feedback, cancel, result. stdin: "die" exits at once
(the session and its tokens go with the process), end of input closes it. hold_send_goal: send_goal's query is
answered but not finished (its final held) until stdin says "release". The status topic carries every goal's
status on each change. abort_at: a goal ends aborted by the server itself after that many feedbacks.
drop_get_results: the first N get_result queries are finished with no reply (as a timed-out query ends).
"""
import json
import os
import struct
import sys
import threading
import time

import zenoh

from client_config import client_config

spec = json.loads(sys.argv[1])
action = spec["action"]
step_s = spec.get("step_s", 0.05)
domain = spec.get("domain", 0)
HEADER = b"\x00\x01\x00\x00"  # CDR little endian
lock = threading.Lock()


def emit(**event):
    with lock:
        print(json.dumps(event), flush=True)


conf = client_config(spec["router"])
session = zenoh.open(conf)
zid = str(session.zid())
tokens = []

SUFFIX = {"send_goal": "_SendGoal", "get_result": "_GetResult", "feedback": "_FeedbackMessage"}


def dds_type(part):
    if part == "cancel_goal":
        return "action_msgs::srv::dds_::CancelGoal_"
    if part == "status":
        return "action_msgs::msg::dds_::GoalStatusArray_"
    return f"test_msgs::action::dds_::Fibonacci{SUFFIX[part]}_"


def key(part):
    name = f"{action.lstrip('/')}/_action/{part}"
    return f"{domain}/{name}/{dds_type(part)}/{spec['hashes'].get(part, 'TypeHashNotSupported')}"


feedback_pub = session.declare_publisher(key("feedback"))
status_pub = session.declare_publisher(key("status"))
dropped_results = [0]
goals = {}  # goal id hex -> {"done": Event, "canceled": bool, "status": int, "sequence": [int]}
gid = bytes(range(16, 32))
release = threading.Event()


def reply_attachment(query):
    """rmw_zenoh's clients match replies by the request's sequence number and GID."""
    raw = query.attachment
    if raw is None:
        return None
    b = raw.to_bytes()
    seq = struct.unpack_from("<q", b, 0)[0]
    return struct.pack("<qq", seq, time.time_ns()) + bytes([b[16]]) + b[17 : 17 + b[16]]


def reply(query, body):
    query.reply(query.key_expr, HEADER + body, attachment=reply_attachment(query))


def ints(values):
    return struct.pack("<I", len(values)) + b"".join(struct.pack("<i", v) for v in values)


def publish_status():
    """action_msgs/msg/GoalStatusArray in CDR: each GoalInfo's stamp aligned to 4 from the payload's start."""
    body = bytearray(struct.pack("<I", len(goals)))
    for goal_id, goal in list(goals.items()):
        body += bytes.fromhex(goal_id)
        body += bytes(-len(body) % 4) + struct.pack("<iIb", goal["stamp"][0], goal["stamp"][1], goal["status"])
    status_pub.put(HEADER + bytes(body))


def run(goal_id, order):
    goal = goals[goal_id]
    sequence = []
    aborted = False
    for i in range(order):
        goal["wake"].wait(step_s)  # a cancel wakes it: the canceled result goes out at once
        if goal["canceled"]:
            break
        if spec.get("abort_at") == len(sequence):
            aborted = True  # the server gives up by itself, as Nav2 does when no path is found
            break
        sequence.append(i if i < 2 else sequence[-1] + sequence[-2])
        feedback_pub.put(HEADER + bytes.fromhex(goal_id) + ints(sequence))
        emit(event="feedback", goal=goal_id, n=len(sequence))
    goal["status"] = 5 if goal["canceled"] else 6 if aborted else 4
    goal["sequence"] = sequence
    publish_status()
    goal["done"].set()
    if not spec.get("quiet"):
        emit(event="result", goal=goal_id, status=goal["status"])


def on_send_goal(query):
    b = query.payload.to_bytes()[4:]
    goal_id, order = b[:16].hex(), struct.unpack_from("<i", b, 16)[0]
    accepted = order >= 0
    now = time.time()
    if accepted:
        # Known before the answer goes, as rcl_action's goal handle is: a get_result sent at the answer finds it.
        goals[goal_id] = {
            "done": threading.Event(),
            "wake": threading.Event(),
            "canceled": False,
            "status": 2,  # EXECUTING
            "sequence": [],
            "stamp": (int(now), int((now % 1) * 1e9)),
        }
    reply(query, struct.pack("<?3xiI", accepted, int(now), int((now % 1) * 1e9)))
    if spec.get("hold_send_goal"):
        # The query's final goes when this callback returns: held until stdin says "release".
        emit(event="holding", goal=goal_id)
        release.wait()
    if not accepted:
        emit(event="rejected", goal=goal_id, order=order)
        return
    publish_status()
    if not spec.get("quiet"):
        emit(event="accepted", goal=goal_id, order=order)
    threading.Thread(target=run, args=(goal_id, order), daemon=True).start()


def on_cancel_goal(query):
    goal_id = query.payload.to_bytes()[4:20].hex()
    goal = goals.get(goal_id)
    if not spec.get("quiet"):
        emit(event="cancel", goal=goal_id, known=goal is not None)
    if goal is None:
        reply(query, struct.pack("<b3xI", 2, 0))
        return
    goal["canceled"] = True
    goal["status"] = 3  # CANCELING
    publish_status()
    goal["wake"].set()
    reply(query, struct.pack("<b3xI", 0, 1) + bytes.fromhex(goal_id) + struct.pack("<iI", 0, 0))


def answer_result(query, goal_id):
    goal = goals.get(goal_id)
    if goal is None:
        reply(query, struct.pack("<b3x", 0) + ints([]))
        return
    goal["done"].wait()
    reply(query, struct.pack("<b3x", goal["status"]) + ints(goal["sequence"]))


def on_get_result(query):
    if dropped_results[0] < spec.get("drop_get_results", 0):
        # Finished with no reply, as a query that timed out on the way ends for its client.
        dropped_results[0] += 1
        emit(event="get_result_dropped", n=dropped_results[0])
        return
    # Answered when the goal ends, from a thread of its own: the callback must not hold Zenoh's.
    goal_id = query.payload.to_bytes()[4:20].hex()
    threading.Thread(target=answer_result, args=(query, goal_id), daemon=True).start()


queryables = [
    session.declare_queryable(key("send_goal"), on_send_goal, complete=True),
    session.declare_queryable(key("cancel_goal"), on_cancel_goal, complete=True),
    session.declare_queryable(key("get_result"), on_get_result, complete=True),
]
# Announced once it serves, as rmw_zenoh does: a client that sees the token finds the queryables.
node = spec.get("node", "fibonacci_server")
tokens.append(session.liveliness().declare_token(f"@ros2_lv/{domain}/{zid}/0/0/NN/%/%/{node}"))
for eid, (kind, part, qos) in enumerate(
    [
        ("SS", "send_goal", "::,10:,:,:,,"),
        ("SS", "cancel_goal", "::,10:,:,:,,"),
        ("SS", "get_result", "::,10:,:,:,,"),
        ("MP", "feedback", "::,10:,:,:,,"),
        ("MP", "status", ":1:,1:,:,:,,"),
    ],
    start=1,
):
    name = f"{action}/_action/{part}".replace("/", "%")
    hash_ = spec["hashes"].get(part, "TypeHashNotSupported")
    tokens.append(
        session.liveliness().declare_token(
            f"@ros2_lv/{domain}/{zid}/0/{eid}/{kind}/%/%/{node}/{name}/{dds_type(part)}/{hash_}/{qos}"
        )
    )

emit(event="ready", zid=zid)
for line in sys.stdin:
    if line.strip() == "die":
        os._exit(1)
    if line.strip() == "release":
        release.set()
session.close()
