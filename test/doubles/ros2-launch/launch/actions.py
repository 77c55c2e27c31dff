"""Recording stand-ins for launch.actions (see __init__.py)."""


class _Recorded:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class DeclareLaunchArgument(_Recorded):
    def __init__(self, name, *, default_value=None, description=None, **kwargs):
        super().__init__(name=name, default_value=default_value, description=description, **kwargs)


class OpaqueFunction(_Recorded):
    def __init__(self, *, function, args=None, kwargs=None, **rest):
        super().__init__(function=function, **rest)
        self.function = function


class ExecuteProcess(_Recorded):
    # The keywords ExecuteProcess/ExecuteLocal take (ros2/launch launch/actions/execute_local.py); any
    # other raises TypeError, as the real one does.
    ALLOWED = {'cmd', 'name', 'cwd', 'env', 'additional_env', 'shell', 'sigterm_timeout', 'sigkill_timeout', 'emulate_tty', 'output',
               'output_format', 'cached_output', 'log_cmd', 'on_exit', 'respawn', 'respawn_delay', 'respawn_max_retries', 'condition'}

    def __init__(self, **kwargs):
        unknown = set(kwargs) - self.ALLOWED
        if unknown:
            raise TypeError(f'ExecuteProcess got unexpected keyword arguments {sorted(unknown)}')
        if kwargs.get('respawn_delay') is not None and not isinstance(kwargs['respawn_delay'], float):
            raise TypeError('respawn_delay must be a float')
        super().__init__(**kwargs)


class LogInfo(_Recorded):
    def __init__(self, *, msg, **kwargs):
        super().__init__(msg=msg, **kwargs)


class EmitEvent(_Recorded):
    def __init__(self, *, event, **kwargs):
        super().__init__(event=event, **kwargs)
