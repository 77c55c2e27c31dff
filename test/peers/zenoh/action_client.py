"""
A test_msgs/action/Fibonacci action client on Zenoh, keyed as rmw_zenoh's (docs/design.md of ros2/rmw_zenoh): its
node's NN token, SC tokens for the hidden services and MS tokens for feedback and status, and each request a get
to all complete queryables of <domain>/<action>/_action/<service>/<dds type>/<hash> with the attachment.

python action_client.py '<json spec>': router, action, hashes (send_goal, cancel_goal, get_result, feedback,
status), order, cancel_after (cancel the goal after this many feedbacks; absent: never). Events, JSON lines:
ready, accepted (or rejected), feedback, canceled (the cancel's return code), result (status, sequence); then it
waits for stdin to close.
"""
import json
import struct
import sys
import threading
import time
import uuid

import zenoh

from client_config import client_config

spec = json.loads(sys.argv[1])
action = spec["action"]
domain = spec.get("domain", 0)
HEADER = b"\x00\x01\x00\x00"
lock = threading.Lock()


def emit(**event):
    with lock:
        print(json.dumps(event), flush=True)


DDS = {
    "send_goal": "test_msgs::action::dds_::Fibonacci_SendGoal_",
    "cancel_goal": "action_msgs::srv::dds_::CancelGoal_",
    "get_result": "test_msgs::action::dds_::Fibonacci_GetResult_",
    "feedback": "test_msgs::action::dds_::Fibonacci_FeedbackMessage_",
    "status": "action_msgs::msg::dds_::GoalStatusArray_",
}


def key(part):
    return f"{domain}/{action.lstrip('/')}/_action/{part}/{DDS[part]}/{spec['hashes'][part]}"


conf = client_config(spec["router"])
session = zenoh.open(conf)
zid = str(session.zid())
node = spec.get("node", "fibonacci_client")
tokens = [session.liveliness().declare_token(f"@ros2_lv/{domain}/{zid}/0/0/NN/%/%/{node}")]
for eid, (kind, part) in enumerate(
    [("SC", "send_goal"), ("SC", "cancel_goal"), ("SC", "get_result"), ("MS", "feedback"), ("MS", "status")], start=1
):
    name = f"{action}/_action/{part}".replace("/", "%")
    tokens.append(
        session.liveliness().declare_token(
            f"@ros2_lv/{domain}/{zid}/0/{eid}/{kind}/%/%/{node}/{name}/{DDS[part]}/{spec['hashes'][part]}/::,10:,:,:,,"
        )
    )
gid = uuid.uuid4().bytes  # new at every start, as rmw_zenoh makes GIDs: the server dedupes by (GID, sequence)
seq = 0
goal_id = uuid.uuid4().bytes
feedbacks = 0
cancel_after = spec.get("cancel_after")


def call(part, body, timeout=10.0):
    global seq
    seq += 1
    att = struct.pack("<qq", seq, time.time_ns()) + bytes([16]) + gid
    for reply in session.get(key(part), payload=HEADER + body, attachment=att, timeout=timeout,
                             target=zenoh.QueryTarget.ALL_COMPLETE):
        if reply.ok is not None:
            return reply.ok.payload.to_bytes()[4:]
        emit(event="error", part=part, payload=reply.err.payload.to_bytes().decode(errors="replace"))
    return None


def cancel():
    body = call("cancel_goal", goal_id + struct.pack("<iI", 0, 0))
    emit(event="canceled", return_code=None if body is None else struct.unpack_from("<b", body, 0)[0])


def on_feedback(sample):
    global feedbacks
    b = sample.payload.to_bytes()[4:]
    if b[:16] != goal_id:
        return
    n = struct.unpack_from("<I", b, 16)[0]
    feedbacks += 1
    emit(event="feedback", sequence=list(struct.unpack_from(f"<{n}i", b, 20)))
    if cancel_after is not None and feedbacks == cancel_after:
        threading.Thread(target=cancel, daemon=True).start()


subscriber = session.declare_subscriber(key("feedback").rsplit("/", 1)[0] + "/*", on_feedback)
emit(event="ready", zid=zid, goal=goal_id.hex())
time.sleep(spec.get("wait_s", 0.5))  # the server's subscriber of our feedback key is declared
body = call("send_goal", goal_id + struct.pack("<i", spec["order"]))
if body is None or not body[0]:
    emit(event="rejected", answered=body is not None)
else:
    emit(event="accepted", goal=goal_id.hex())
    body = call("get_result", goal_id, timeout=60.0)
    if body is None:
        emit(event="result", status=None)
    else:
        status, n = struct.unpack_from("<b3xI", body, 0)
        emit(event="result", status=status, sequence=list(struct.unpack_from(f"<{n}i", body, 8)))
sys.stdin.read()
session.close()
