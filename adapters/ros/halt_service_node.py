"""The operator's stop as a ROS 2 service (std_srvs/srv/Trigger), served by a process of its own so that a call does
not wait for the daemon's main loop: each call is POSTed to the daemon's stop listener (a thread of its own), and to
the API's POST /stop only where the listener does not answer. The daemon starts and supervises it
(motion.stop.ros_service.process, adapters/ros/halt-service-process.ts).

Usage: halt_service_node.py <service name> <node name> <namespace> <data dir's run/api.json>
A relative service name resolves in the namespace, as the daemon's own node's names do.
The API's token, where it has one, comes in $AURAISON_EDGE_API_TOKEN. Writes {"event": "ready"} on stdout once the
service exists, and one JSON line per call ({"event": "call", "success": ..., "door": ...}); exits when stdin closes.
It runs real time (SCHED_FIFO 50, as a robot's remote-api bridge does) where allowed, else at nice -10, so that a call
is not left behind whatever else fills the cores.
"""
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

import rclpy
import rclpy.executors
from std_srvs.srv import Trigger

# A stop either gets through at once or not at all: the listener answers without waiting for the main loop.
LISTENER_TIMEOUT_S = 2.0
# The API's POST /stop waits for the daemon's main loop, which may be busy.
API_TIMEOUT_S = 10.0


def emit(**event):
    print(json.dumps(event), flush=True)


def post_stop(base, order, timeout):
    """POSTs the stop; the answer's text, or raises with why it was not taken."""
    headers = {"content-type": "application/json"}
    token = os.environ.get("AURAISON_EDGE_API_TOKEN")
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base}/stop", data=json.dumps(order).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{base}/stop answered {error.code}: {error.read().decode(errors='replace')}") from None
    except (urllib.error.URLError, OSError) as error:
        raise RuntimeError(f"{base}/stop: {getattr(error, 'reason', error)}") from None


def stop(api_file, service):
    """Sends the stop to the listener, else the API; (success, message, door)."""
    try:
        with open(api_file, encoding="utf8") as f:
            where = json.load(f)
    except (OSError, ValueError) as error:
        return False, f"no running daemon's API is known ({api_file}: {error})", None
    order = {"by": "ros", "reason": f"ROS 2 service {service}"}
    failures = []
    doors = [("listener", where.get("stop_url"), LISTENER_TIMEOUT_S), ("api", where.get("url"), API_TIMEOUT_S)]
    for door, base, timeout in doors:
        if not base:
            failures.append(f"{door}: none runs")
            continue
        try:
            return True, post_stop(base, order, timeout), door
        except RuntimeError as error:
            failures.append(f"{door}: {error}")
    return False, f"the stop was not delivered: {'; '.join(failures)}", None


def real_time():
    """SCHED_FIFO 50 for this thread and those it starts (rclpy's and the DDS's), else nice -10; what it got."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
        return "SCHED_FIFO 50"
    except OSError as error:
        refused = f"SCHED_FIFO 50 refused ({error.strerror})"
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -10)
        return f"nice -10 ({refused})"
    except OSError as error:
        return f"default ({refused}; nice -10 refused: {error.strerror})"


# Calls within a second past which this node stops running real time until they slow down.
FLOOD_CALLS = int(os.environ.get("AURAISON_EDGE_STOP_FLOOD_CALLS", "50"))


class FloodGuard:
    """Real time only while calls come at an operator's pace: a node of the domain that floods the service must not
    take the CPU from everything else at SCHED_FIFO. Every thread of the process goes back to the default policy, and
    to real time once a second passes under the limit; each call is still answered."""

    def __init__(self, real_time):
        self.real_time = real_time
        self.calls = []
        self.lowered = False
        self.lock = threading.Lock()

    def call(self, now):
        with self.lock:
            self.calls = [t for t in self.calls if now - t < 1.0] + [now]
            if self.real_time and not self.lowered and len(self.calls) > FLOOD_CALLS:
                self.lowered = True
                every_thread(os.SCHED_OTHER, 0)
                emit(event="flooded", calls=len(self.calls))

    def watch(self):
        while True:
            time.sleep(0.5)
            with self.lock:
                quiet = not any(time.monotonic() - t < 1.0 for t in self.calls)
                if self.lowered and quiet:
                    self.lowered = False
                    every_thread(os.SCHED_FIFO, 50)
                    emit(event="real_time_again")


def every_thread(policy, priority):
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setscheduler(int(tid), policy, os.sched_param(priority))
        except OSError:
            pass  # a thread that ended meanwhile


def main():
    service, node_name, namespace, api_file = sys.argv[1:5]
    # Before rclpy starts its threads and the DDS's, which inherit it; without CAP_SYS_NICE, the default.
    scheduling = real_time()
    rclpy.init()
    node = rclpy.create_node(node_name, namespace=namespace)

    guard = FloodGuard(scheduling == "SCHED_FIFO 50")
    threading.Thread(target=guard.watch, daemon=True).start()

    def answer(request, response):
        guard.call(time.monotonic())
        response.success, response.message, door = stop(api_file, service)
        emit(event="call", success=response.success, door=door, message=response.message)
        return response

    node.create_service(Trigger, service, answer)
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(node)
    # The daemon ends this node by closing stdin (or a signal, if it does not end then).
    threading.Thread(target=lambda: (sys.stdin.read(), rclpy.try_shutdown()), daemon=True).start()
    emit(event="ready", service=node.resolve_service_name(service), scheduling=scheduling)
    try:
        executor.spin()
    except rclpy.executors.ExternalShutdownException:
        pass


if __name__ == "__main__":
    main()
