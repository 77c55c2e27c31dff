"""The native baseline of bench/vision-preprocess.bench.ts: a camera frame to a policy's image input as a Python
robot stack does it, with Pillow and numpy (both in LeRobot's venv), timed per frame in this one process.

    pillow_preprocess.py FRAME WIDTH HEIGHT OUT_WIDTH OUT_HEIGHT

FRAME holds one rgb8 frame (WIDTH x HEIGHT x 3 bytes, rows packed). Each frame goes, from its bytes: Image.frombuffer,
resize to OUT_WIDTH x OUT_HEIGHT with Pillow's bilinear filter (antialiased, as libvips' linear reduce), numpy uint8
HWC to float32 CHW, then x / 255 and ImageNet's (x - mean) / std folded into one x * a + b per channel: a C-contiguous
float32 [3, OUT_HEIGHT, OUT_WIDTH], what onnxruntime takes.

Commands on stdin, one a line: `N` runs N frames and prints one JSON line {"ms": [each frame's time]}; `dump PATH`
writes the last tensor's float32 bytes to PATH and prints {"ok": true}. EOF ends it. It prints {"ready": {...}}
first, with the versions."""

import json
import sys
import time

import numpy as np
import PIL
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)
SCALE = 1 / (255 * STD)
SHIFT = -MEAN / STD


def preprocess(data, size, out_size):
    image = Image.frombuffer('RGB', size, data, 'raw', 'RGB', 0, 1).resize(out_size, Image.Resampling.BILINEAR)
    x = np.asarray(image).transpose(2, 0, 1).astype(np.float32)  # a CHW copy
    x *= SCALE
    x += SHIFT
    return x


def main():
    path, width, height, out_width, out_height = sys.argv[1], *map(int, sys.argv[2:6])
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) != width * height * 3:
        raise SystemExit(f'{path}: {len(data)} bytes, not a {width}x{height} rgb8 frame')
    last = None
    print(json.dumps({'ready': {'pillow': PIL.__version__, 'numpy': np.__version__}}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == 'dump':
            last.tofile(command[1])
            print(json.dumps({'ok': True}), flush=True)
            continue
        times = []
        for _ in range(int(command[0])):
            began = time.perf_counter_ns()
            last = preprocess(data, (width, height), (out_width, out_height))
            times.append((time.perf_counter_ns() - began) / 1e6)
        print(json.dumps({'ms': times}), flush=True)


if __name__ == '__main__':
    main()
