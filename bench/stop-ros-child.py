"""A ROS 2 e-stop node for stop-under-load.bench.ts, an rclpy client in a process of its own: `n` calls of the
std_srvs/srv/Trigger service motion.stop.ros_service serves, each followed by a GET of the floor server, 50 ms apart, printed
as stop-client-child.ts prints its stops (ns of CLOCK_MONOTONIC, time.monotonic_ns, process.hrtime's clock). It runs
real time (SCHED_FIFO 50) where allowed, else at nice -10, as the other callers do, and sets it before rclpy starts so
the DDS threads it starts inherit it.

Usage: stop-ros-child.py <service> <floor url> <n>   (in the environment of a sourced ROS 2)
"""
import json
import os
import sys
import time
import urllib.request


def scheduling():
    """SCHED_FIFO 50 for this thread and the threads it starts, else nice -10; what it got, in words."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
        return "SCHED_FIFO 50"
    except OSError as error:
        refused = f"SCHED_FIFO 50 refused: {error.strerror}"
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -10)
        return f"{refused}; nice -10"
    except OSError as error:
        return f"{refused}; nice -10 refused: {error.strerror}"


SCHEDULING = scheduling()

import rclpy  # noqa: E402 (after the scheduling, so that its threads inherit it)
import rclpy.executors  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402


def timed_floor(floor):
    sent = time.monotonic_ns()
    with urllib.request.urlopen(floor, timeout=10) as response:
        response.read()
    return [str(sent), str(time.monotonic_ns())]


def main():
    service, floor, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rclpy.init()
    node = rclpy.create_node(f"bench_estop_{os.getpid()}")
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(node)
    client = node.create_client(Trigger, service)
    if not client.wait_for_service(timeout_sec=30):
        raise SystemExit(f"stop-ros-child: {service} was not found within 30 s")

    def stop():
        sent = time.monotonic_ns()
        future = client.call_async(Trigger.Request())
        executor.spin_until_future_complete(future, timeout_sec=5)
        answered = time.monotonic_ns()
        if not future.done():
            raise SystemExit(f"stop-ros-child: {service} did not answer within 5 s")
        if not future.result().success:
            raise SystemExit(f"stop-ros-child: {service} answered {future.result().message}")
        return [str(sent), str(answered)]

    # Unmeasured, as a running e-stop node has done them long before its operator presses: the service's discovery
    # (above) and its first call, which also waits for the response's reader to match.
    stop()
    timed_floor(floor)
    stops, floors = [], []
    for _ in range(count):
        stops.append(stop())
        time.sleep(0.025)
        floors.append(timed_floor(floor))
        time.sleep(0.025)
    print(json.dumps({"stops": stops, "floors": floors, "scheduling": SCHEDULING}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
