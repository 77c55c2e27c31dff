"""A test double of the ros2 `launch` package's API surface that launch/auraison_edge.launch.py uses.

ROS 2 can't be installed here. The names and signatures follow ros2/launch (Humble and later); actions only
record what they were given, so a test can check what the launch file asks of launch.
"""


class LaunchDescription:
    def __init__(self, entities=None):
        self.entities = list(entities or [])


class LaunchContext:
    def __init__(self, launch_configurations):
        self.launch_configurations = dict(launch_configurations)
