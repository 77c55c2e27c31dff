"""Turns a decoded ROS 2 message (rosbags' dataclasses, mcap_ros2's namespaces, numpy arrays) into plain JSON
values, so that a test can compare fields with what our codec decodes. Floats that JSON cannot hold are
strings ("inf", "-inf", "nan"), as the test writes them on its side."""

import dataclasses
import math


def plain(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else ('nan' if math.isnan(value) else ('inf' if value > 0 else '-inf'))
    if hasattr(value, 'tolist'):  # numpy arrays and scalars
        return plain(value.tolist())
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith('__')}
    if hasattr(value, '__slots__'):
        return {name: plain(getattr(value, name)) for name in value.__slots__}
    raise TypeError(f'cannot turn {type(value).__name__} into JSON')
