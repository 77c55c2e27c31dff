"""A policy in another process driving so101_node.py --evaluate's episodes, as the daemon's loop would but without it:
the PyTorch reference (lerobot_checkpoint.py serve, in LeRobot's venv, which has no ROS 2) answers JSON lines over a
pipe. A thread of its own asks it every 1/rate s for the action to the arm's measured joints, the scene's
environment_state and, with the camera on, its latest frame (observation.images.front: the RGB bytes, base64, and
their [height, width, 3] shape, as LeRobot's robot loop takes a camera's frame), and sends the action to the arm as
the first point of the daemon's JointTrajectory: one point, reached in 1/rate s. Only while an episode runs: between
episodes it waits, and the first request of an episode resets the policy (its queue of actions), as a new episode
does in LeRobot's loop.
"""
import base64
import json
import shlex
import subprocess
import threading
import time

from so101_sim import JOINTS

# The camera's feature, as docs/arm.md's export names it.
CAMERA = "observation.images.front"


class PolicyPipe:
    def __init__(self, command, rate, node):
        self.node, self.period = node, 1.0 / rate
        self.process = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1)
        self.fresh = False
        self.lock = threading.Lock()
        if node.image and not node.frame_ready.wait(60):
            raise RuntimeError("the camera rendered no frame in 60 s")
        # one observation answered before the episodes begin: the policy's load is not its time
        self.ask(True, self.observation())
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
            observation = self.observation()
        answer = self.ask(reset, observation)
        self.inference_ms.append(answer["ms"])
        self.ticks += 1
        if self.node.evaluation.driving:
            self.node.arm.trajectory(range(len(JOINTS)), [self.period], [answer["action"]])

    def observation(self):
        """What the arm measured last (its physics runs in the executor's thread), the scene's environment_state, and
        the camera's latest frame."""
        observation = {"observation.state": self.node.arm.positions().tolist(),
                       "observation.environment_state": self.node.evaluation.environment_state()}
        if self.node.image:
            frame = self.node.frame
            observation[CAMERA] = {"shape": list(frame.shape), "base64": base64.b64encode(frame.tobytes()).decode()}
        return observation

    def ask(self, reset, observation):
        self.process.stdin.write(json.dumps({"reset": reset, "observation": observation}) + "\n")
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
