"""Runs a Python launch file's generate_launch_description() and its OpaqueFunctions against stand-ins of launch,
launch_ros and ament_index_python (ROS 2 cannot be installed here), and prints the actions it made as JSON.

    python3 run_launch_py.py FILE.launch.py '{"world_dir": "...", "adapter": "ros2", ...}'

The stand-ins hold only the names the real packages export (launch/launch/actions/__init__.py and the other
__init__ files of ros2/launch 02595ba, launch_ros/launch_ros/actions/__init__.py of ros2/launch_ros f9ab937), so
importing a name they lack fails as it would with ROS 2. Each action records its arguments. An exception the launch
file raises is printed as {"error": message} (exit 0): the test reads what a user would see.
"""
import importlib.util
import json
import sys
import types
from collections.abc import ItemsView

ARGS = json.loads(sys.argv[2])


class Action:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs

    def record(self):
        return {'action': type(self).__name__, 'args': [plain(a) for a in self.args],
                'kwargs': {k: plain(v) for k, v in self.kwargs.items()}}


class LaunchConfiguration(Action):
    def perform(self, context):
        name = self.args[0]
        if name not in context.values:
            raise KeyError(f'launch argument {name} has no value')
        return context.values[name]


def plain(value):
    if isinstance(value, LaunchConfiguration):
        return f'$(var {value.args[0]})'
    if isinstance(value, Action):
        return value.record()
    if isinstance(value, (list, tuple, ItemsView)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if callable(value):
        return f'<function {value.__name__}>'
    return value


def module(name, **names):
    m = types.ModuleType(name)
    m.__dict__.update(names)
    sys.modules[name] = m
    return m


def actions(*names):
    return {n: type(n, (Action,), {}) for n in names}


module('launch', **actions('LaunchDescription'))
module('launch.actions', **actions('DeclareLaunchArgument', 'EmitEvent', 'ExecuteProcess', 'IncludeLaunchDescription',
                                   'LogInfo', 'OpaqueFunction', 'SetEnvironmentVariable', 'Shutdown'))
module('launch.events', **actions('Shutdown'))
module('launch.launch_description_sources', **actions('PythonLaunchDescriptionSource'))
module('launch.substitutions', LaunchConfiguration=LaunchConfiguration)
module('launch_ros')
module('launch_ros.actions', **actions('Node'))
module('ament_index_python')
module('ament_index_python.packages', get_package_share_directory=lambda pkg: f'/opt/ros/jazzy/share/{pkg}')


class Context:
    def __init__(self, values):
        self.values = values


def main():
    spec = importlib.util.spec_from_file_location('launch_file', sys.argv[1])
    launch_file = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch_file)
    description = launch_file.generate_launch_description()
    declared = {}
    out = []
    for action in description.args[0]:
        if type(action).__name__ == 'DeclareLaunchArgument':
            declared[action.args[0]] = action.kwargs.get('default_value')
        out.append(action.record())
    values = {k: v for k, v in declared.items() if v is not None}
    values.update(ARGS)
    context = Context(values)
    try:
        for action in description.args[0]:
            if type(action).__name__ == 'OpaqueFunction':
                out += [a.record() for a in action.kwargs['function'](context)]
    except Exception as error:  # noqa: BLE001 (the message is what the test checks)
        out.append({'error': f'{type(error).__name__}: {error}'})
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
