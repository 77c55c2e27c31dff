"""Start the Auraison Edge daemon next to your ROS 2 nodes.

    ros2 launch launch/auraison_edge.launch.py config:=/etc/auraison-edge/edge.yaml

The daemon is a Node.js process, not a ROS node package, so it runs as an ExecuteProcess. It stops with the
launch (SIGINT, then SIGTERM: it flushes within 5 s) and, with respawn:=true, is restarted if it exits.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration

import os

HERE = os.path.dirname(os.path.realpath(__file__))
BIN = os.path.join(HERE, '..', 'bin', 'auraison-edge.js')


def generate_launch_description():
    config = LaunchConfiguration('config')
    node = LaunchConfiguration('node')
    respawn = LaunchConfiguration('respawn')
    args = [
        DeclareLaunchArgument('config', default_value='', description='YAML config; empty runs the embedded default (the sim)'),
        DeclareLaunchArgument('node', default_value='node', description='the Node.js (>= 20) executable'),
        DeclareLaunchArgument('respawn', default_value='false', description='restart the daemon if it exits'),
    ]
    with_config = [node, BIN, 'run', '--config', config]
    without_config = [node, BIN, 'run']
    common = dict(output='screen', sigterm_timeout='10', respawn=respawn)
    return LaunchDescription(args + [
        ExecuteProcess(cmd=with_config, condition=UnlessCondition(_is_empty(config)), **common),
        ExecuteProcess(cmd=without_config, condition=IfCondition(_is_empty(config)), **common),
    ])


def _is_empty(value):
    from launch.substitutions import PythonExpression
    return PythonExpression(["'", value, "' == ''"])
