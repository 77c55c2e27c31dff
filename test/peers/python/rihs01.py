"""Prints JSON {type: RIHS01 hash} as rosbags computes it from its own ROS 2 Jazzy store, for the type names
given one per line on stdin; a type the store does not hold maps to null."""

import json
import sys

from rosbags.typesys import Stores, get_typestore

store = get_typestore(Stores.ROS2_JAZZY)
names = [line.strip() for line in sys.stdin if line.strip()]
json.dump({name: store.hash_rihs01(name) if name in store.types else None for name in names}, sys.stdout)
