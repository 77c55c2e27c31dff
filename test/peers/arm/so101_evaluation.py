"""Episodes of lerobot-env-so101's pick-and-place judged by the package's own success test, for so101_node.py
--evaluate: each episode resets SO101PickPlace-v0 with its seed (the block and the goal placed at random by it, as in
the expert's episodes), the commands the node takes drive the arm, and every control step of the environment (0.1 s
of simulated time) the package's own checks run: the block carried (lifted past its rise), at rest on the goal with
the jaw open (`_is_success`), or pushed out of the workspace (a failure). An episode that has neither by its time
limit failed. Between episodes the arm rests while commands are refused, so a policy's queued actions from the last
episode drain before the next begins. After the last, commands drive the arm again, judged no more.
"""
import numpy as np
from lerobot_env_so101 import pick_place_env
from lerobot_env_so101.pick_place_env import SO101PickPlaceGymEnv
from lerobot_env_so101.policy import DEFAULT_ACTION_SCALE

from so101_expert import EPISODE_STEPS, REST_STEPS


class Evaluation:
    """Seeds `seeds` in turn, one episode each; `on_begin(index, seed)` and `on_end(index, seed, success, steps)`
    as each begins and ends; `done` once the last has ended (the arm then rests at home)."""

    def __init__(self, seeds, on_begin, on_end, steps=EPISODE_STEPS):
        self.env = SO101PickPlaceGymEnv(
            seed=seeds[0], action_scale=DEFAULT_ACTION_SCALE, random_block_position=True
        )
        self.substeps = int(round(self.env.control_dt / self.env.physics_dt))
        self.seeds, self.on_begin, self.on_end, self.max_steps = list(seeds), on_begin, on_end, steps
        # the first seed's scene, waiting for start()
        self.env.reset(seed=self.seeds[0])
        self.arm = None
        self.index = -1
        self.done = False
        self.resting = 0
        self.steps = 0

    @property
    def model(self):
        return self.env.model

    @property
    def data(self):
        return self.env.data

    def environment_state(self):
        """The package's environment_state: the block's position, then the goal's (metres)."""
        return [float(v) for v in self.env._compute_observation()["environment_state"]]

    @property
    def driving(self):
        """Whether commands drive the arm now: while an episode runs, and once the last has ended (unjudged)."""
        return self.index >= 0 and self.resting == 0

    def start(self, arm):
        """Begins the first episode once the node's Arm is made around this environment's model and data."""
        self.arm = arm
        self._begin(0)

    def before_step(self, step):
        """Called before each physics step: the episode judged on the first of each control step's substeps."""
        if step % self.substeps == 0:
            self._judge()

    def _begin(self, index):
        self.index = index
        self.env.reset(seed=self.seeds[index])
        self.steps = 0
        self.resting = 0
        # the reset's home pose, held until commands come
        self.arm.command(range(len(self.arm.ctrl)), self.arm.data.ctrl[self.arm.ctrl].copy())
        self.on_begin(index, self.seeds[index])

    def _judge(self):
        if self.done or self.index < 0:
            return
        if self.resting > 0:
            self.resting -= 1
            if self.resting == 0:
                if self.index + 1 < len(self.seeds):
                    self._begin(self.index + 1)
                else:
                    self.done = True
            return
        self.steps += 1
        env = self.env
        block = env.data.sensor("block_pos").data
        # as the package's step() keeps it: the block counts as carried once lifted past its rise
        env._was_carried = env._was_carried or bool(block[2] - env._z_init > pick_place_env._MIN_CARRY_RISE)
        success = env._is_success()
        workspace = pick_place_env._WORKSPACE_XY
        out = bool(np.any(block[:2] < workspace[0]) or np.any(block[:2] > workspace[1]))
        if success or out or self.steps >= self.max_steps:
            self.on_end(self.index, self.seeds[self.index], success, self.steps)
            self.resting = REST_STEPS
            # held where it is while it rests; the next episode's reset puts it home
            self.arm.hold(range(len(self.arm.ctrl)))
