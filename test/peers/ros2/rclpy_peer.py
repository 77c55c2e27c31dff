"""A ROS 2 node made with rclpy (PyPI's ros-<distro>-rclpy wheels, test/peers/ros2/install.sh), playing one role
against the daemon in the services and actions tests (test/rclpy). The wheels' RMW is rmw_fastrtps_cpp; the test's
environment (test/peers/ros2.ts) keeps it on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) in its own domain.

Usage: rclpy_peer.py '<json spec>'
spec: {"node": "peer", "role": ..., ...}
  role "setbool_server":   {"service": "/enable", "hold": false}   std_srvs/srv/SetBool: answers success=data,
                           message "set to <data>"; with hold, takes the request and never answers (a node that
                           hangs in the middle of a call, for the test to kill). Events: request {data}, answered.
  role "basic_server":     {"service": "/basic"}   test_msgs/srv/BasicTypes: answers the request's fields, its
                           int64_value and uint64_value each plus one. Events: request {int64, uint64} (decimal
                           strings, exact).
  role "basic_client":     {"service": "/basic", "int64": "<decimal>", "uint64": "<decimal>", "timeout_s": 30}
                           one test_msgs/srv/BasicTypes call. Events: response {int64, uint64, string}, or timeout.
  role "trigger_client":   {"service": "/auraison/stop", "timeout_s": 30}   one std_srvs/srv/Trigger call. Events:
                           response {success, message}, or timeout.
  role "fibonacci_server": {"action": "/fibonacci", "period_s": 0.1}   test_msgs/action/Fibonacci: a goal of order
                           n >= 0 accepted (else rejected), one feedback (the sequence so far) per period, succeeded
                           with the sequence; a cancel is accepted and ends the goal canceled with what it had.
                           Events: goal {goal, order}, rejected {order}, feedback {goal, sequence}, cancel {goal},
                           done {goal, status}.
  role "goto_server":      {"action": "/goto"}   edge_goto_msgs/action/GoTo (test/joined/goto-action.ts builds it;
                           its prefix on the environment's paths): every goal accepted, succeeded at once with
                           arrived=True. Events: goal {goal, x, y} (its target's position).
  role "arm_server":       {"action": "/arm_controller/follow_joint_trajectory", "gripper": "/gripper/gripper_cmd",
                           "period_s": 0.1}   control_msgs/action/FollowJointTrajectory and GripperCommand, as
                           ros2_control's controllers serve them (test/rclpy/arm-actions.ts builds them; their
                           prefixes on the environment's paths): a trajectory goal with no points is rejected, one
                           with points accepted and followed one point per period (a feedback each), succeeded at
                           its last; a cancel is accepted and ends it canceled where it was. A gripper goal succeeds
                           at once. Events: goal {goal, action, points} (a trajectory's) or {goal, action, position}
                           (a gripper's), rejected {action}, feedback {goal, point}, cancel {goal}, done {goal,
                           status}.
  role "fibonacci_client": {"action": "/fibonacci", "order": 5, "cancel_after": N, "timeout_s": 30}   one goal;
                           with cancel_after, asks to cancel it after that many feedbacks. Events: accepted {goal},
                           rejected, feedback {sequence}, cancel_response {return_code, goals}, result {status,
                           sequence}, timeout {what}.
Events are JSON lines on stdout, "ready" once the node's entities exist (a client: once its server is seen). The
node exits when its stdin closes, or, for a client, when its call is done. Goal ids are 32 hex digits; status names
are action_msgs/msg/GoalStatus's (SUCCEEDED, CANCELED, ABORTED).
"""
import json
import sys
import threading
import time

import rclpy
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient, ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from std_srvs.srv import SetBool, Trigger
from test_msgs.action import Fibonacci
from test_msgs.srv import BasicTypes

STATUS = {
    GoalStatus.STATUS_SUCCEEDED: "SUCCEEDED",
    GoalStatus.STATUS_CANCELED: "CANCELED",
    GoalStatus.STATUS_ABORTED: "ABORTED",
}
lock = threading.Lock()


def emit(**event):
    with lock:
        print(json.dumps(event), flush=True)


def hex_id(uuid):
    return bytes(uuid).hex()


def setbool_server(node, spec):
    hold = spec.get("hold", False)

    def answer(request, response):
        emit(event="request", data=request.data)
        if hold:
            threading.Event().wait()
        response.success = request.data
        response.message = f"set to {request.data}"
        emit(event="answered")
        return response

    node.create_service(SetBool, spec["service"], answer)


def basic_server(node, spec):
    def answer(request, response):
        emit(event="request", int64=str(request.int64_value), uint64=str(request.uint64_value))
        for field in response.get_fields_and_field_types():
            setattr(response, field, getattr(request, field))
        response.int64_value = request.int64_value + 1
        response.uint64_value = request.uint64_value + 1
        return response

    node.create_service(BasicTypes, spec["service"], answer)


def call_once(node, executor, client, request, timeout_s):
    """The response to one call, or None (a timeout event said what was missing)."""
    if not client.wait_for_service(timeout_sec=timeout_s):
        emit(event="timeout", what="the service")
        return None
    emit(event="ready")
    future = client.call_async(request)
    executor.spin_until_future_complete(future, timeout_sec=timeout_s)
    if not future.done():
        emit(event="timeout", what="the response")
        return None
    return future.result()


def basic_client(node, executor, spec):
    client = node.create_client(BasicTypes, spec["service"])
    request = BasicTypes.Request()
    request.int64_value = int(spec["int64"])
    request.uint64_value = int(spec["uint64"])
    request.string_value = spec.get("string", "")
    response = call_once(node, executor, client, request, spec.get("timeout_s", 30))
    if response is not None:
        emit(
            event="response",
            int64=str(response.int64_value),
            uint64=str(response.uint64_value),
            string=response.string_value,
        )


def trigger_client(node, executor, spec):
    """Calls it `calls` times (default 1), each once the last was answered; a response event each."""
    client = node.create_client(Trigger, spec["service"])
    for _ in range(spec.get("calls", 1)):
        response = call_once(node, executor, client, Trigger.Request(), spec.get("timeout_s", 30))
        if response is None:
            return
        emit(event="response", success=response.success, message=response.message)


def fibonacci_server(node, spec):
    period_s = spec.get("period_s", 0.1)

    def on_goal(goal):
        if goal.order < 0:
            emit(event="rejected", order=goal.order)
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def on_cancel(handle):
        emit(event="cancel", goal=hex_id(handle.goal_id.uuid))
        return CancelResponse.ACCEPT

    def execute(handle):
        goal = hex_id(handle.goal_id.uuid)
        emit(event="goal", goal=goal, order=handle.request.order)
        sequence = []
        for i in range(handle.request.order):
            time.sleep(period_s)
            if handle.is_cancel_requested:
                handle.canceled()
                emit(event="done", goal=goal, status="CANCELED")
                return Fibonacci.Result(sequence=sequence)
            if not handle.is_active:
                emit(event="done", goal=goal, status="ABORTED")
                return Fibonacci.Result(sequence=sequence)
            sequence.append(i if i < 2 else sequence[-1] + sequence[-2])
            handle.publish_feedback(Fibonacci.Feedback(sequence=sequence))
            emit(event="feedback", goal=goal, sequence=sequence)
        handle.succeed()
        emit(event="done", goal=goal, status="SUCCEEDED")
        return Fibonacci.Result(sequence=sequence)

    group = ReentrantCallbackGroup()
    return ActionServer(
        node,
        Fibonacci,
        spec["action"],
        execute_callback=execute,
        goal_callback=on_goal,
        cancel_callback=on_cancel,
        callback_group=group,
    )


def goto_server(node, spec):
    from edge_goto_msgs.action import GoTo  # built by the test that uses it, not installed with the wheels

    def execute(handle):
        position = handle.request.target.position
        emit(event="goal", goal=hex_id(handle.goal_id.uuid), x=position.x, y=position.y)
        handle.succeed()
        return GoTo.Result(arrived=True)

    return ActionServer(node, GoTo, spec["action"], execute_callback=execute, callback_group=ReentrantCallbackGroup())


def arm_server(node, spec):
    # built by the test that uses them, not installed with the wheels
    from control_msgs.action import FollowJointTrajectory, GripperCommand

    period_s = spec.get("period_s", 0.1)
    group = ReentrantCallbackGroup()

    def on_goal(goal):
        if len(goal.trajectory.points) == 0:
            emit(event="rejected", action=spec["action"])
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def on_cancel(handle):
        emit(event="cancel", goal=hex_id(handle.goal_id.uuid))
        return CancelResponse.ACCEPT

    def follow(handle):
        goal = hex_id(handle.goal_id.uuid)
        points = handle.request.trajectory.points
        emit(event="goal", goal=goal, action=spec["action"], points=len(points))
        for i, point in enumerate(points):
            time.sleep(period_s)
            if handle.is_cancel_requested:
                handle.canceled()
                emit(event="done", goal=goal, status="CANCELED")
                return FollowJointTrajectory.Result(error_code=0, error_string="canceled")
            feedback = FollowJointTrajectory.Feedback(joint_names=handle.request.trajectory.joint_names)
            feedback.desired = point
            handle.publish_feedback(feedback)
            emit(event="feedback", goal=goal, point=i)
        handle.succeed()
        emit(event="done", goal=goal, status="SUCCEEDED")
        return FollowJointTrajectory.Result(error_code=0)

    def grip(handle):
        position = handle.request.command.position
        emit(event="goal", goal=hex_id(handle.goal_id.uuid), action=spec["gripper"], position=position)
        handle.succeed()
        return GripperCommand.Result(position=position, reached_goal=True)

    trajectory = ActionServer(
        node,
        FollowJointTrajectory,
        spec["action"],
        execute_callback=follow,
        goal_callback=on_goal,
        cancel_callback=on_cancel,
        callback_group=group,
    )
    gripper = ActionServer(node, GripperCommand, spec["gripper"], execute_callback=grip, callback_group=group)
    return (trajectory, gripper)


def fibonacci_client(node, executor, spec):
    timeout_s = spec.get("timeout_s", 30)
    cancel_after = spec.get("cancel_after")
    client = ActionClient(node, Fibonacci, spec["action"])
    if not client.wait_for_server(timeout_sec=timeout_s):
        emit(event="timeout", what="the action server")
        return
    emit(event="ready")
    seen = []
    cancelling = []

    def on_feedback(message):
        sequence = list(message.feedback.sequence)
        seen.append(sequence)
        emit(event="feedback", sequence=sequence)
        if cancel_after is not None and len(seen) == cancel_after and handle_box and not cancelling:
            cancelling.append(handle_box[0].cancel_goal_async())

    handle_box = []
    sent = client.send_goal_async(Fibonacci.Goal(order=spec["order"]), feedback_callback=on_feedback)
    executor.spin_until_future_complete(sent, timeout_sec=timeout_s)
    if not sent.done():
        emit(event="timeout", what="the goal's answer")
        return
    handle = sent.result()
    if not handle.accepted:
        emit(event="rejected")
        return
    handle_box.append(handle)
    emit(event="accepted", goal=hex_id(handle.goal_id.uuid))
    result = handle.get_result_async()
    deadline = time.monotonic() + timeout_s
    while not result.done() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
        if cancelling and cancelling[0].done() and len(cancelling) == 1:
            answer = cancelling[0].result()
            goals = [hex_id(g.goal_id.uuid) for g in answer.goals_canceling]
            emit(event="cancel_response", return_code=answer.return_code, goals=goals)
            cancelling.append(None)
    if not result.done():
        emit(event="timeout", what="the result")
        return
    outcome = result.result()
    emit(
        event="result",
        status=STATUS.get(outcome.status, str(outcome.status)),
        sequence=list(outcome.result.sequence),
    )


SERVERS = {
    "setbool_server": setbool_server,
    "basic_server": basic_server,
    "fibonacci_server": fibonacci_server,
    "goto_server": goto_server,
    "arm_server": arm_server,
}
CLIENTS = {"basic_client": basic_client, "trigger_client": trigger_client, "fibonacci_client": fibonacci_client}


def main():
    spec = json.loads(sys.argv[1])
    role = spec["role"]
    if role not in SERVERS and role not in CLIENTS:
        raise SystemExit(f"unknown role {role}: one of {', '.join([*SERVERS, *CLIENTS])}")
    rclpy.init()
    node = rclpy.create_node(spec.get("node", "peer"))
    executor = MultiThreadedExecutor()
    executor.add_node(node)
    try:
        if role in CLIENTS:
            CLIENTS[role](node, executor, spec)
            return
        keep = SERVERS[role](node, spec)
        emit(event="ready", node=node.get_fully_qualified_name())
        threading.Thread(target=executor.spin, daemon=True).start()
        sys.stdin.read()
        del keep
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
