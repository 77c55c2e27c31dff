"""Publishes the exported map.yaml/map.pgm on /map (transient_local, reliable), as nav2's map_server does in trinary
mode, from an rclpy node: map_server itself (nav2) is not built beside the hand-built Gazebo (docs/verified.md).

    python3 map_publisher.py DIR/map.yaml

Prints one line, `published WIDTHxHEIGHT`, once the map is out; runs until SIGINT.
"""
import os
import sys

import rclpy
import yaml
from nav_msgs.msg import OccupancyGrid
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy


def read_pgm(path):
    with open(path, 'rb') as f:
        data = f.read()
    fields, at = [], 0
    while len(fields) < 4:
        while data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b'#':
            at = data.index(b'\n', at)
            continue
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[at:end])
        at = end
    if fields[0] != b'P5' or int(fields[3]) > 255:
        raise ValueError(f'{path}: not an 8-bit binary PGM')
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[at + 1:at + 1 + width * height]


def occupancy(pixel, info):
    # map_server's trinary mode: p = (255 - pixel) / 255 with negate 0
    p = (255 - pixel) / 255.0
    if p > info['occupied_thresh']:
        return 100
    if p < info['free_thresh']:
        return 0
    return -1


def main():
    with open(sys.argv[1]) as f:
        info = yaml.safe_load(f)
    width, height, pixels = read_pgm(os.path.join(os.path.dirname(sys.argv[1]), info['image']))
    grid = OccupancyGrid()
    grid.header.frame_id = 'map'
    grid.info.resolution = float(info['resolution'])
    grid.info.width, grid.info.height = width, height
    grid.info.origin.position.x, grid.info.origin.position.y = float(info['origin'][0]), float(info['origin'][1])
    grid.info.origin.orientation.w = 1.0
    # The PGM's first row is the map's top; the grid's first row its bottom.
    grid.data = [occupancy(pixels[(height - 1 - row) * width + col], info)
                 for row in range(height) for col in range(width)]
    rclpy.init()
    node = rclpy.create_node('maze_map_publisher')
    qos = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)
    publisher = node.create_publisher(OccupancyGrid, '/map', qos)
    grid.header.stamp = node.get_clock().now().to_msg()
    publisher.publish(grid)
    print(f'published {width}x{height}', flush=True)
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
