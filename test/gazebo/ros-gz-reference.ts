/**
 * What the Gazebo tests hold our files against: facts (type names, keys, attribute and argument names) read in the
 * peers' own sources and written here as our own tables, each citing the file and commit it states. No code of
 * theirs is here.
 */

/**
 * The topic type pairs ros_gz_bridge can bridge: the table at the top of ros_gz_bridge/README.md in
 * gazebosim/ros_gz, branch ros2 at a4d00a90a1a5f753a0d0fbfe8e1e142540aebadd (2024-10-17), [ROS type, Gazebo type].
 */
export const ROS_GZ_TYPE_PAIRS: readonly (readonly [string, string])[] = [
  ['actuator_msgs/msg/Actuators', 'gz.msgs.Actuators'],
  ['builtin_interfaces/msg/Time', 'gz.msgs.Time'],
  ['geometry_msgs/msg/Point', 'gz.msgs.Vector3d'],
  ['geometry_msgs/msg/Pose', 'gz.msgs.Pose'],
  ['geometry_msgs/msg/PoseArray', 'gz.msgs.Pose_V'],
  ['geometry_msgs/msg/PoseStamped', 'gz.msgs.Pose'],
  ['geometry_msgs/msg/PoseWithCovariance', 'gz.msgs.PoseWithCovariance'],
  ['geometry_msgs/msg/PoseWithCovarianceStamped', 'gz.msgs.PoseWithCovariance'],
  ['geometry_msgs/msg/Quaternion', 'gz.msgs.Quaternion'],
  ['geometry_msgs/msg/Transform', 'gz.msgs.Pose'],
  ['geometry_msgs/msg/TransformStamped', 'gz.msgs.Pose'],
  ['geometry_msgs/msg/Twist', 'gz.msgs.Twist'],
  ['geometry_msgs/msg/TwistStamped', 'gz.msgs.Twist'],
  ['geometry_msgs/msg/TwistWithCovariance', 'gz.msgs.TwistWithCovariance'],
  ['geometry_msgs/msg/TwistWithCovarianceStamped', 'gz.msgs.TwistWithCovariance'],
  ['geometry_msgs/msg/Vector3', 'gz.msgs.Vector3d'],
  ['geometry_msgs/msg/Wrench', 'gz.msgs.Wrench'],
  ['geometry_msgs/msg/WrenchStamped', 'gz.msgs.Wrench'],
  ['gps_msgs/msg/GPSFix', 'gz.msgs.NavSat'],
  ['nav_msgs/msg/Odometry', 'gz.msgs.Odometry'],
  ['nav_msgs/msg/Odometry', 'gz.msgs.OdometryWithCovariance'],
  ['rcl_interfaces/msg/ParameterValue', 'gz.msgs.Any'],
  ['ros_gz_interfaces/msg/Altimeter', 'gz.msgs.Altimeter'],
  ['ros_gz_interfaces/msg/Contact', 'gz.msgs.Contact'],
  ['ros_gz_interfaces/msg/Contacts', 'gz.msgs.Contacts'],
  ['ros_gz_interfaces/msg/Dataframe', 'gz.msgs.Dataframe'],
  ['ros_gz_interfaces/msg/Entity', 'gz.msgs.Entity'],
  ['ros_gz_interfaces/msg/EntityWrench', 'gz.msgs.EntityWrench'],
  ['ros_gz_interfaces/msg/Float32Array', 'gz.msgs.Float_V'],
  ['ros_gz_interfaces/msg/GuiCamera', 'gz.msgs.GUICamera'],
  ['ros_gz_interfaces/msg/JointWrench', 'gz.msgs.JointWrench'],
  ['ros_gz_interfaces/msg/Light', 'gz.msgs.Light'],
  ['ros_gz_interfaces/msg/ParamVec', 'gz.msgs.Param'],
  ['ros_gz_interfaces/msg/ParamVec', 'gz.msgs.Param_V'],
  ['ros_gz_interfaces/msg/SensorNoise', 'gz.msgs.SensorNoise'],
  ['ros_gz_interfaces/msg/StringVec', 'gz.msgs.StringMsg_V'],
  ['ros_gz_interfaces/msg/TrackVisual', 'gz.msgs.TrackVisual'],
  ['ros_gz_interfaces/msg/VideoRecord', 'gz.msgs.VideoRecord'],
  ['rosgraph_msgs/msg/Clock', 'gz.msgs.Clock'],
  ['sensor_msgs/msg/BatteryState', 'gz.msgs.BatteryState'],
  ['sensor_msgs/msg/CameraInfo', 'gz.msgs.CameraInfo'],
  ['sensor_msgs/msg/FluidPressure', 'gz.msgs.FluidPressure'],
  ['sensor_msgs/msg/Image', 'gz.msgs.Image'],
  ['sensor_msgs/msg/Imu', 'gz.msgs.IMU'],
  ['sensor_msgs/msg/JointState', 'gz.msgs.Model'],
  ['sensor_msgs/msg/Joy', 'gz.msgs.Joy'],
  ['sensor_msgs/msg/LaserScan', 'gz.msgs.LaserScan'],
  ['sensor_msgs/msg/MagneticField', 'gz.msgs.Magnetometer'],
  ['sensor_msgs/msg/NavSatFix', 'gz.msgs.NavSat'],
  ['sensor_msgs/msg/PointCloud2', 'gz.msgs.PointCloudPacked'],
  ['std_msgs/msg/Bool', 'gz.msgs.Boolean'],
  ['std_msgs/msg/ColorRGBA', 'gz.msgs.Color'],
  ['std_msgs/msg/Empty', 'gz.msgs.Empty'],
  ['std_msgs/msg/Float32', 'gz.msgs.Float'],
  ['std_msgs/msg/Float64', 'gz.msgs.Double'],
  ['std_msgs/msg/Header', 'gz.msgs.Header'],
  ['std_msgs/msg/Int32', 'gz.msgs.Int32'],
  ['std_msgs/msg/String', 'gz.msgs.StringMsg'],
  ['std_msgs/msg/UInt32', 'gz.msgs.UInt32'],
  ['tf2_msgs/msg/TFMessage', 'gz.msgs.Pose_V'],
  ['trajectory_msgs/msg/JointTrajectory', 'gz.msgs.JointTrajectory'],
  ['vision_msgs/msg/Detection2D', 'gz.msgs.AnnotatedAxisAligned2DBox'],
  ['vision_msgs/msg/Detection2DArray', 'gz.msgs.AnnotatedAxisAligned2DBox_V'],
  ['vision_msgs/msg/Detection3D', 'gz::msgs::AnnotatedOriented3DBox'],
  ['vision_msgs/msg/Detection3DArray', 'gz::msgs::AnnotatedOriented3DBox_V'],
];

/**
 * The keys of one entry of a parameter_bridge YAML config: the tag constants of ros_gz_bridge/src/bridge_config.cpp
 * (same commit), also shown in the README's "Example 5: Configuring the Bridge via YAML". The bridge has no
 * per-entry QoS key: QoS is set with the node's qos_overrides parameters.
 */
export const BRIDGE_KEYS = [
  'topic_name',
  'ros_topic_name',
  'gz_topic_name',
  'ros_type_name',
  'gz_type_name',
  'direction',
  'publisher_queue',
  'subscriber_queue',
  'lazy',
] as const;
export const BRIDGE_DIRECTIONS = ['BIDIRECTIONAL', 'GZ_TO_ROS', 'ROS_TO_GZ'] as const;

/** Attributes every action accepts: launch/launch/action.py (Action.parse) reads if and unless. */
const CONDITION = ['if', 'unless'];
/** ExecuteProcess.parse in launch/launch/actions/execute_process.py, which launch_ros's Node.parse extends. */
const PROCESS = [
  'cmd',
  'cwd',
  'name',
  'on_exit',
  'launch-prefix',
  'output',
  'respawn',
  'respawn_max_retries',
  'respawn_delay',
  'sigkill_timeout',
  'sigterm_timeout',
  'shell',
  'emulate_tty',
];

/**
 * launch_xml's tags we may use and the attributes each one's parse() reads (entity.get_attr), with the tags
 * allowed inside it. From ros2/launch at 02595bafc7891d4d287667b6aa9161edf738e9f3 (the @expose_action names in
 * launch/launch/actions/*.py) and ros2/launch_ros at f9ab9371824d470bca47602bc7d277eb2217c90d
 * (launch_ros/launch_ros/actions/node.py). Nested entities (arg's choice, include's arg, node's param, an
 * executable's env) take the attributes their parent's parse() reads from them.
 */
export const LAUNCH_XML_TAGS: Record<string, { attrs: readonly string[]; parents: readonly (string | null)[] }> = {
  launch: { attrs: [], parents: [null] },
  arg: { attrs: ['name', 'default', 'description', ...CONDITION], parents: ['launch', 'group'] },
  choice: { attrs: ['value'], parents: ['arg'] },
  let: { attrs: ['name', 'value', ...CONDITION], parents: ['launch', 'group'] },
  set_env: { attrs: ['name', 'value', ...CONDITION], parents: ['launch', 'group'] },
  include: { attrs: ['file', ...CONDITION], parents: ['launch', 'group'] },
  group: { attrs: ['scoped', 'forwarding', ...CONDITION], parents: ['launch', 'group'] },
  executable: { attrs: [...PROCESS, ...CONDITION], parents: ['launch', 'group'] },
  env: { attrs: ['name', 'value'], parents: ['executable', 'node'] },
  node: {
    attrs: [
      ...PROCESS.filter((a) => a !== 'cmd'),
      'pkg',
      'exec',
      'args',
      'ros_args',
      'namespace',
      'exec_name',
      ...CONDITION,
    ],
    parents: ['launch', 'group'],
  },
  param: { attrs: ['name', 'value', 'type', 'from', 'allow_substs'], parents: ['node', 'param'] },
  remap: { attrs: ['from', 'to'], parents: ['node'] },
};

/**
 * The substitutions launch_xml knows (@expose_substitution in ros2/launch launch/launch/substitutions and
 * launch_ros launch_ros/substitutions, same commits).
 */
export const LAUNCH_SUBSTITUTIONS = [
  'anon',
  'not',
  'and',
  'or',
  'any',
  'all',
  'command',
  'env',
  'equals',
  'file-content',
  'find-exec',
  'if',
  'var',
  'launch_log_dir',
  'log_dir',
  'not-equals',
  'eval',
  'filename',
  'dirname',
  'exec-in-pkg',
  'find-pkg-prefix',
  'find-pkg-share',
  'param',
];

/**
 * The ROS packages the launch files name, with the executables, parameters and arguments we use, and where
 * each is documented. ROS 2 cannot be installed here, so these are checked against the documentation, not run.
 */
export const ROS_PACKAGES: Record<string, { executables: Record<string, readonly string[]>; source: string }> = {
  ros_gz_bridge: {
    executables: {
      parameter_bridge: ['config_file', 'expand_gz_topic_names', 'subscription_heartbeat', 'use_sim_time'],
    },
    source: 'gazebosim/ros_gz@a4d00a9 ros_gz_bridge/README.md, section API',
  },
  robot_state_publisher: {
    executables: { robot_state_publisher: ['robot_description', 'publish_frequency', 'use_sim_time'] },
    source: 'ros/robot_state_publisher@1a25892 README.md, Parameters',
  },
  tf2_ros: {
    executables: { static_transform_publisher: ['--frame-id', '--child-frame-id', 'map', 'odom'] },
    source: 'docs.ros.org, tf2 tutorial "Writing a static broadcaster", static_transform_publisher usage',
  },
  nav2_map_server: {
    executables: { map_server: ['yaml_filename', 'topic_name', 'frame_id', 'use_sim_time'] },
    source: 'docs.nav2.org, Map Server configuration',
  },
  nav2_lifecycle_manager: {
    executables: { lifecycle_manager: ['autostart', 'node_names', 'use_sim_time'] },
    source: 'docs.nav2.org, Lifecycle Manager configuration',
  },
  rmw_zenoh_cpp: {
    executables: { rmw_zenohd: [] },
    source: 'ros2/rmw_zenoh README.md ("ros2 run rmw_zenoh_cpp rmw_zenohd")',
  },
};

const PROCESS_KWARGS = ['cmd', 'prefix', 'name', 'cwd', 'env', 'additional_env', 'shell', 'sigterm_timeout'].concat(
  ['sigkill_timeout', 'emulate_tty', 'output', 'output_format', 'cached_output', 'log_cmd', 'on_exit', 'respawn'],
  ['respawn_delay', 'respawn_max_retries'],
);

/**
 * The keyword arguments each Python launch action takes: the parameters of its __init__ (ros2/launch 02595ba
 * launch/launch/actions/*.py, where ExecuteProcess passes the rest to ExecuteLocal; ros2/launch_ros f9ab937
 * launch_ros/launch_ros/actions/node.py, whose Node passes the rest to ExecuteProcess).
 */
export const LAUNCH_PY_KWARGS: Record<string, readonly string[]> = {
  DeclareLaunchArgument: ['default_value', 'description', 'choices'],
  IncludeLaunchDescription: ['launch_description_source', 'launch_arguments'],
  SetEnvironmentVariable: ['name', 'value'],
  ExecuteProcess: PROCESS_KWARGS,
  Node: ['executable', 'package', 'namespace', 'exec_name', 'parameters', 'remappings', 'ros_arguments'].concat(
    ['arguments'],
    PROCESS_KWARGS.filter((k) => k !== 'cmd'),
  ),
  OpaqueFunction: ['function', 'args', 'kwargs'],
  PythonLaunchDescriptionSource: ['launch_file_path'],
  LogInfo: ['msg'],
  Shutdown: ['reason'],
  EmitEvent: ['event'],
};
