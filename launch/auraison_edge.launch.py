"""Start the Auraison Edge daemon next to your ROS 2 nodes.

    ros2 launch launch/auraison_edge.launch.py config:=/etc/auraison-edge/edge.yaml

The daemon is a Node.js process, not a ROS node package, so it runs as an ExecuteProcess. It stops with the
launch (SIGINT, then SIGTERM: it flushes within 5 s), also when launch itself is ended with SIGTERM, which
launch answers by exiting and leaving its processes running (the kernel sends the daemon SIGINT then:
setpriv --pdeathsig), and, with respawn:=true, is restarted 2 s after it exits. Exit code 2 (an invalid config, or a data dir another daemon holds) is not retried: a restart would
fail the same way, so the launch logs why, shuts down and exits with code 1 (with or without respawn).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch.substitutions import LaunchConfiguration

import os
import shutil

HERE = os.path.dirname(os.path.realpath(__file__))
BIN = os.path.join(HERE, '..', 'bin', 'auraison-edge.js')
# The daemon's exit code for bad usage, an invalid config or a data dir in use.
EXIT_USAGE = 2
RESPAWN_DELAY_S = 2.0


def generate_launch_description():
    args = [
        DeclareLaunchArgument('config', default_value='', description='YAML config; empty runs the embedded default (the sim)'),
        DeclareLaunchArgument('node', default_value='node', description='the Node.js (>= 22) executable'),
        DeclareLaunchArgument('respawn', default_value='false', description='restart the daemon 2 s after it exits (not after exit code 2)'),
    ]
    return LaunchDescription(args + [OpaqueFunction(function=_daemon)])


def _daemon(context):
    # The config path is read as a plain string here, not put into a PythonExpression, so any character
    # (a quote included) is passed through as it is.
    config = LaunchConfiguration('config').perform(context)
    cmd = _with_parent_death_signal([LaunchConfiguration('node'), BIN, 'run'] + (['--config', config] if config else []))
    return [ExecuteProcess(
        cmd=cmd,
        # Its lines in launch's output read [auraison_edge-1], not after the executable (setpriv or node).
        name='auraison_edge',
        # Two malloc arenas, as the systemd unit sets (see systemd/auraison-edge.service.in): glibc's default
        # of up to 8 per core kept about 30 MB more RSS. additional_env: added to the launch's environment.
        additional_env={'MALLOC_ARENA_MAX': '2'},
        output='screen',
        sigterm_timeout='10',
        respawn=LaunchConfiguration('respawn'),
        respawn_delay=RESPAWN_DELAY_S,
        on_exit=_on_exit,
    )]


def _with_parent_death_signal(cmd):
    # launch answers SIGTERM (and SIGQUIT) by exiting at once and leaving what it started running ("using SIGTERM
    # can result in orphaned processes"): an orphaned daemon keeps its data dir, so the next launch fails with exit
    # code 2. util-linux's setpriv asks the kernel to send the daemon SIGINT (its clean stop) when launch exits, then
    # execs it, so the pid launch reports is the daemon's. Without setpriv the daemon runs as it is.
    setpriv = shutil.which('setpriv')
    return [setpriv, '--pdeathsig', 'SIGINT'] + cmd if setpriv else cmd


def _on_exit(event, context):
    if event.returncode != EXIT_USAGE:
        return None
    # Run during the respawn delay: launch shuts down before the process is started again. Raised, not an
    # emitted Shutdown: launch ends with exit code 1 only for an exception (a child's exit code never reaches its
    # own), and a script or unit running `ros2 launch` must see that the daemon could not start.
    # launch logs it: "[ERROR] [launch]: Caught exception in launch (see debug for traceback): <reason>".
    reason = 'auraison-edge exited with code 2 (invalid config, bad usage or data dir in use; see its log above): not respawned'
    return [OpaqueFunction(function=lambda _context: _fail(reason))]


def _fail(reason):
    raise RuntimeError(reason)
