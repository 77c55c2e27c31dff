"""Loads launch/auraison_edge.launch.py against the launch double and prints, as JSON, what it would run
for the launch configurations given as argv[2] (JSON), and what it does on exit codes 0, 1 and 2."""
import importlib.util
import json
import sys
from types import SimpleNamespace

from launch import LaunchContext
from launch.actions import EmitEvent, ExecuteProcess, LogInfo, OpaqueFunction

spec = importlib.util.spec_from_file_location('auraison_edge_launch', sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
description = module.generate_launch_description()
configs = {'node': 'node', 'respawn': 'true', **json.loads(sys.argv[2])}
context = LaunchContext(configs)
processes = []
for entity in description.entities:
    if isinstance(entity, OpaqueFunction):
        processes += entity.function(context)


def describe(action, context):
    """An on_exit action as JSON; an OpaqueFunction is run, and what it raises is recorded (launch then ends, exit 1)."""
    if isinstance(action, LogInfo):
        return {'log': action.kwargs['msg']}
    if isinstance(action, EmitEvent):
        return {'emit': type(action.kwargs['event']).__name__}
    if isinstance(action, OpaqueFunction):
        try:
            return {'returns': repr(action.function(context))}
        except Exception as error:  # noqa: BLE001 - what the launch file raises is what is checked
            return {'raises': str(error)}
    return repr(action)


out = []
for process in processes:
    assert isinstance(process, ExecuteProcess)
    kw = process.kwargs
    on_exit = {}
    for code in (0, 1, 2):
        actions = kw['on_exit'](SimpleNamespace(returncode=code), context) or []
        on_exit[code] = [describe(a, context) for a in actions]
    cmd = [c.perform(context) if hasattr(c, 'perform') else c for c in kw['cmd']]
    out.append({'cmd': cmd, 'respawn': kw['respawn'].perform(context), 'respawn_delay': kw.get('respawn_delay'), 'on_exit': on_exit})
print(json.dumps(out))
