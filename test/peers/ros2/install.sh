# Sourced by test/peers/install: defines install_ros2 (ROS 2's core from PyPI's wheels, rclnodejs built against it).
install_ros2() {
  echo "peers: the ROS 2 peer is not written yet" >&2
  return 1
}
