"""The turtlebot-maze in Gazebo (Harmonic, or Fortress), bridged to ROS 2, with the daemon driving it.

    node bin/auraison-edge.js sim turtlebot-maze --export-world /tmp/maze
    ros2 launch launch/gazebo_maze.launch.py world_dir:=/tmp/maze adapter:=ros2   # or adapter:=zenoh

It starts Gazebo on the exported world (`gz sim`, or `ign gazebo` for Fortress, as its own process: through a
shell, as ros_gz_sim's gz_sim.launch.py runs it, a SIGINT to ros2 launch left Gazebo running), ros_gz_bridge's
parameter_bridge with
the exported bridge.yaml (/clock, /scan, /odom, /tf, /joint_states out of Gazebo, /cmd_vel into it),
robot_state_publisher with the burger's URDF (/tf_static, /robot_description and the wheels on /tf), the
map -> odom identity the built-in sim also publishes, nav2's map_server with the maze's map (/map), and the
daemon with its built-in sim off and its ROS 2 or Zenoh adapter on. The ROS graph then carries the topics the
built-in sim puts on the bus, so the same intents (navigate_to charging_dock, ...) drive the Gazebo robot.

adapter:=zenoh runs the ROS nodes on rmw_zenoh_cpp with its router (rmw_zenohd) and starts
zenoh-bridge-remote-api, the WebSocket the daemon's Zenoh adapter speaks to (docs/bridges.md).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction, SetEnvironmentVariable, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

import os

HERE = os.path.dirname(os.path.realpath(__file__))
BIN = os.path.join(HERE, '..', 'bin', 'auraison-edge.js')
# What `auraison-edge sim turtlebot-maze --export-world DIR` writes (sim/turtlebot-maze/export-world.ts).
WORLD_FILE = 'maze.sdf'
BRIDGE_FILE = 'bridge.yaml'
URDF_FILE = 'burger.urdf'
MAP_FILE = 'map.yaml'
DAEMON_CONFIGS = {'ros2': 'edge.ros2.yaml', 'zenoh': 'edge.zenoh.yaml'}
# rmw_zenohd's default listening endpoint, which the remote-api bridge joins as a client.
ZENOH_ROUTER = 'tcp/127.0.0.1:7447'
ZENOH_WS_PORT = '127.0.0.1:10000'


def generate_launch_description():
    args = [
        DeclareLaunchArgument('world_dir', description='the directory --export-world wrote'),
        DeclareLaunchArgument('adapter', default_value='ros2', choices=['ros2', 'zenoh'],
                              description="the daemon's link to the ROS graph"),
        DeclareLaunchArgument('gz_version', default_value='',
                              description="fortress runs `ign gazebo`, any other `gz sim`; empty: $GZ_VERSION "
                                          '(as ros_gz reads it), else harmonic'),
        DeclareLaunchArgument('gui', default_value='true', choices=['true', 'false'],
                              description='false runs the Gazebo server only (-s)'),
        DeclareLaunchArgument('node', default_value='node', description='the Node.js (>= 22) executable'),
        DeclareLaunchArgument('zenoh_bridge', default_value='zenoh-bridge-remote-api',
                              description='the zenoh-bridge-remote-api executable (adapter:=zenoh)'),
        DeclareLaunchArgument('state_publisher', default_value='true', choices=['true', 'false'],
                              description='false: the robot_state_publisher and map -> odom transform are started '
                                          'elsewhere (your own bringup)'),
        DeclareLaunchArgument('map_server', default_value='true', choices=['true', 'false'],
                              description="false: another node publishes /map (nav2's map_server is not started)"),
        DeclareLaunchArgument('headless_rendering', default_value='false', choices=['true', 'false'],
                              description="true: Gazebo renders the lidar through EGL, with no display (Ogre 2)"),
        DeclareLaunchArgument('config', default_value='',
                              description="the daemon's config file; empty: the exported edge.<adapter>.yaml"),
    ]
    return LaunchDescription(args + [OpaqueFunction(function=_bringup)])


def _bringup(context):
    world_dir = os.path.abspath(LaunchConfiguration('world_dir').perform(context))
    adapter = LaunchConfiguration('adapter').perform(context)
    config = LaunchConfiguration('config').perform(context)
    files = [WORLD_FILE, BRIDGE_FILE, URDF_FILE, MAP_FILE] + ([] if config else [DAEMON_CONFIGS[adapter]])
    missing = [f for f in files if not os.path.isfile(os.path.join(world_dir, f))]
    if missing:
        raise RuntimeError(f"{world_dir} lacks {', '.join(missing)}: run "
                           f'`auraison-edge sim turtlebot-maze --export-world {world_dir}` first')
    in_dir = lambda name: os.path.join(world_dir, name)  # noqa: E731
    with open(in_dir(URDF_FILE)) as f:
        urdf = f.read()
    release = LaunchConfiguration('gz_version').perform(context) or os.environ.get('GZ_VERSION', 'harmonic')
    gz_args = ['-r'] + ([] if LaunchConfiguration('gui').perform(context) == 'true' else ['-s'])
    if LaunchConfiguration('headless_rendering').perform(context) == 'true':
        gz_args.append('--headless-rendering')
    sim_time = {'use_sim_time': True}
    gazebo = ExecuteProcess(
        cmd=(['ign', 'gazebo'] if release == 'fortress' else ['gz', 'sim']) + gz_args + [in_dir(WORLD_FILE)],
        # Gazebo gone (a crash, its window closed) ends the launch: the daemon does not drive a sim that is not there.
        name='gazebo', output='screen', sigterm_timeout='10', on_exit=Shutdown(reason='Gazebo exited'))
    # Set before any node starts (actions run in order), so that every node of the launch speaks rmw_zenoh.
    actions = [SetEnvironmentVariable('RMW_IMPLEMENTATION', 'rmw_zenoh_cpp')] if adapter == 'zenoh' else []
    actions += [
        gazebo,
        Node(package='ros_gz_bridge', executable='parameter_bridge', name='maze_bridge', output='screen',
             parameters=[{'config_file': in_dir(BRIDGE_FILE), **sim_time}]),
    ]
    if LaunchConfiguration('state_publisher').perform(context) == 'true':
        actions += [
            Node(package='robot_state_publisher', executable='robot_state_publisher', output='screen',
                 parameters=[{'robot_description': urdf, **sim_time}]),
            # The built-in sim's odometry is drift-free and stands in for localization; Gazebo's is its world pose.
            Node(package='tf2_ros', executable='static_transform_publisher', name='map_to_odom',
                 arguments=['--frame-id', 'map', '--child-frame-id', 'odom']),
        ]
    if LaunchConfiguration('map_server').perform(context) == 'true':
        actions += [
            Node(package='nav2_map_server', executable='map_server', name='map_server', output='screen',
                 parameters=[{'yaml_filename': in_dir(MAP_FILE), **sim_time}]),
            Node(package='nav2_lifecycle_manager', executable='lifecycle_manager', name='lifecycle_manager_map',
                 parameters=[{'autostart': True, 'node_names': ['map_server'], **sim_time}]),
        ]
    if adapter == 'zenoh':
        actions += [
            Node(package='rmw_zenoh_cpp', executable='rmw_zenohd', output='screen'),
            ExecuteProcess(cmd=[LaunchConfiguration('zenoh_bridge'), '-m', 'client', '-e', ZENOH_ROUTER,
                                '--ws-port', ZENOH_WS_PORT], output='screen'),
        ]
    actions.append(ExecuteProcess(
        cmd=[LaunchConfiguration('node'), BIN, 'run', '--config', config or in_dir(DAEMON_CONFIGS[adapter])],
        # As launch/auraison_edge.launch.py and the systemd unit: two malloc arenas.
        additional_env={'MALLOC_ARENA_MAX': '2'},
        output='screen',
        sigterm_timeout='10',
    ))
    return actions
