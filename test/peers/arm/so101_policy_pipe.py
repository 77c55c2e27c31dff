"""A policy in another process driving so101_node.py --evaluate's episodes, as the daemon's loop would but without it:
the PyTorch reference (lerobot_checkpoint.py serve, in LeRobot's venv, which has no ROS 2) answers JSON lines over a
pipe. A thread of its own asks it every 1/rate s for the action to the arm's measured joints and the scene's
environment_state, and sends the action to the arm as the first point of the daemon's JointTrajectory: one point, reached
in 1/rate s. Only while an episode runs: between episodes it waits, and the first request of an episode resets the
policy (its queue of actions), as a new episode does in LeRobot's loop.
"""
import json
import shlex
import subprocess
import threading
import time

from so101_sim import JOINTS


class PolicyPipe:
    def __init__(self, command, rate, node):
        self.node, self.period = node, 1.0 / rate
        self.process = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1)
        self.fresh = False
        self.lock = threading.Lock()
        # one observation answered before the episodes begin: the policy's load is not its time
        self.ask(True, node.arm.positions().tolist(), node.evaluation.environment_state())
        self.inference_ms = []
        self.late = 0
        self.ticks = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="policy-pipe", daemon=True)
        self.thread.start()

    def episode_begun(self):
        with self.lock:
            self.fresh = True

    def run(self):
        due = time.monotonic()
        while not self.stopping.is_set():
            if self.node.evaluation.driving and not self.node.evaluation.done:
                self.step()
            due += self.period
            wait = due - time.monotonic()
            if wait < 0:
                # a tick late: counted, and the next one is due a period from now, not in a burst
                self.late += 1
                due = time.monotonic()
            self.stopping.wait(max(wait, 0))

    def step(self):
        with self.lock:
            reset, self.fresh = self.fresh, False
            # the node's physics runs in the executor's thread: read what it measured last
            state = self.node.arm.positions().tolist()
            environment = self.node.evaluation.environment_state()
        answer = self.ask(reset, state, environment)
        self.inference_ms.append(answer["ms"])
        self.ticks += 1
        if self.node.evaluation.driving:
            self.node.arm.trajectory(range(len(JOINTS)), [self.period], [answer["action"]])

    def ask(self, reset, state, environment):
        self.process.stdin.write(json.dumps({"reset": reset, "observation": {
            "observation.state": state, "observation.environment_state": environment}}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the policy pipe ended (exit {self.process.poll()})")
        return json.loads(line)

    def report(self):
        ms = sorted(self.inference_ms)
        p99 = ms[min(len(ms) - 1, max(0, -(-99 * len(ms) // 100) - 1))] if ms else None
        return {"policy_ticks": self.ticks, "policy_late": self.late, "inference_ms_p99": p99}

    def close(self):
        self.stopping.set()
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=10)
