"""Stand-in for launch.substitutions.LaunchConfiguration (see __init__.py)."""


class LaunchConfiguration:
    def __init__(self, variable_name, *, default=None):
        self.variable_name = variable_name
        self.default = default

    def perform(self, context):
        return context.launch_configurations.get(self.variable_name, self.default)

    def __repr__(self):
        return f'LaunchConfiguration({self.variable_name!r})'
