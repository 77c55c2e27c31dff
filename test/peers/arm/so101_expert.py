"""lerobot-env-so101's scripted pick-and-place expert (PickPlaceController) in its SO101PickPlace-v0 environment,
for so101_node.py --expert: the environment's model and data are then the node's physics, stepped to the wall clock
by the node, and the expert acts every control step of the environment (0.1 s of simulated time) as in the package's
own episodes. It needs mujoco, gymnasium and numpy alone (the package's torch is only for its BC policy).
"""
from lerobot_env_so101.pick_place_env import SO101PickPlaceGymEnv
from lerobot_env_so101.policy import DEFAULT_ACTION_SCALE
from lerobot_env_so101.scripted import PickPlaceController

# SO101PickPlace-v0's max_episode_steps, as the package registers it.
EPISODE_STEPS = 300
# Control steps the arm rests, as the episode ended, before the next one's reset.
REST_STEPS = 10


class Expert:
    """Episode after episode of the scripted pick-and-place; `on_episode(index, success, steps)` as each ends."""

    def __init__(self, seed, random_block, on_episode):
        # The expert's calibration (metres per unit action), as the package's own demonstrations use it.
        self.env = SO101PickPlaceGymEnv(
            seed=seed, action_scale=DEFAULT_ACTION_SCALE, random_block_position=random_block
        )
        self.substeps = int(round(self.env.control_dt / self.env.physics_dt))
        # env.step() solves the IK, writes the actuators' ctrl, then steps the physics control_dt // physics_dt
        # times: with none, it only sets the ctrl, and the node's loop steps the physics to the wall clock.
        self.env._n_substeps = 0
        self.controller = PickPlaceController(action_scale=DEFAULT_ACTION_SCALE)
        self.on_episode = on_episode
        self.seed = seed
        self.episode = 0
        self._begin()

    @property
    def model(self):
        return self.env.model

    @property
    def data(self):
        return self.env.data

    def environment_state(self):
        """The package's environment_state: the block's position, then the goal's (metres)."""
        return [float(v) for v in self.env._compute_observation()["environment_state"]]

    def before_step(self, step):
        """Called before each physics step: the expert acts on the first of each control step's substeps."""
        if step % self.substeps == 0:
            self._act()

    def _begin(self):
        self.env.reset(seed=self.seed + self.episode)
        self.controller.reset()
        self.steps = 0
        self.resting = 0

    def _act(self):
        if self.resting > 0:
            self.resting -= 1
            if self.resting == 0:
                self.episode += 1
                self._begin()
            return
        block = self.env.data.sensor("block_pos").data
        action = self.controller.act(self.env.ik_point_pos, block, self.env.goal_pos)
        _, _, terminated, _, info = self.env.step(action)
        self.steps += 1
        if terminated or self.controller.done or self.steps >= EPISODE_STEPS:
            self.on_episode(self.episode, bool(info.get("succeed", False)), self.steps)
            self.resting = REST_STEPS
