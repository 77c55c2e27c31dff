"""Decodes every frame of a LeRobot dataset's video features with LeRobot's own loader (lerobot 0.6's
LeRobotDataset, its video backend: torchcodec, or pyav) and compares each with a reference frame. Offline, CPU.

    lerobot_video_check.py [--backend torchcodec|pyav] [--write] DIR REFS

--write first writes a small v3.0 dataset with videos at DIR (a new directory) with LeRobot's own writer
(LeRobotDataset.create with use_videos=True, add_frame, save_episode, finalize): 10 fps, episodes of 6 and 9 frames,
a float32 observation.state [2] and a video observation.images.front of 96x128 (height x width), and writes each
frame it gave LeRobot to REFS as below. Frame k of episode e holds state [e, k]; its image is a horizontal ramp
(red = 2x, green = 255 - 2x), a blue square 16 pixels wide at x = 8k, and green 40 e in rows 0-7.

REFS holds one file per video feature and frame: REFS/<key>/<index>.rgb, the frame's rgb24 pixels (height x width x 3,
rows top first). For each frame of DIR the dataset's item (dataset[index]: LeRobot's decoding, with its timestamp
tolerance check) is compared with its reference: PSNR in dB (100 when they are equal).

Prints one JSON object: version, fps, frames, the video keys, the backend LeRobot decoded with, each key's shape (as
__getitem__ gives it, channels first) and info, PSNR per key and frame, the minimum, and the problems met (a frame
LeRobot would not decode: its error, by frame)."""

import json
import math
import os
import shutil
import sys
import tempfile

# Offline, and nothing written outside a temp dir: datasets' parquet cache and the Hub's cache go there.
HOME = tempfile.mkdtemp(prefix='lerobot-video-')
os.environ['HF_HUB_OFFLINE'] = '1'
os.environ['HF_DATASETS_OFFLINE'] = '1'
os.environ['HF_HOME'] = HOME
os.environ['HF_LEROBOT_HOME'] = os.path.join(HOME, 'lerobot')

import numpy as np  # noqa: E402
from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402

KEY = 'observation.images.front'
HEIGHT, WIDTH = 96, 128


def image(e, k):
    x = np.arange(WIDTH)
    img = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    img[:, :, 0] = (2 * x) % 256
    img[:, :, 1] = 255 - (2 * x) % 256
    img[:, 8 * k:8 * k + 16, 2] = 255
    img[0:8, :, 1] = 40 * e
    return img


def write(root, refs):
    features = {
        'observation.state': {'dtype': 'float32', 'shape': (2,), 'names': None},
        KEY: {'dtype': 'video', 'shape': (HEIGHT, WIDTH, 3), 'names': ['height', 'width', 'channels']},
    }
    dataset = LeRobotDataset.create('local/auraison-edge-video', fps=10, features=features, root=root,
                                    robot_type='test_bot', use_videos=True)
    os.makedirs(os.path.join(refs, KEY), exist_ok=True)
    index = 0
    for e, (length, task) in enumerate([(6, 'look left'), (9, 'look right')]):
        for k in range(length):
            img = image(e, k)
            with open(os.path.join(refs, KEY, f'{index}.rgb'), 'wb') as out:
                out.write(img.tobytes())
            dataset.add_frame({'observation.state': np.array([e, k], dtype=np.float32), KEY: img, 'task': task})
            index += 1
        dataset.save_episode()
    dataset.finalize()


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse == 0 else min(100.0, 10 * math.log10(255 ** 2 / mse))


def check(root, refs, backend):
    dataset = LeRobotDataset('local/auraison-edge-video', root=root, video_backend=backend)
    keys = list(dataset.meta.video_keys)
    out = {
        'version': dataset.meta.info.codebase_version,
        'fps': dataset.fps,
        'frames': dataset.num_frames,
        'keys': keys,
        'backend': dataset._video_backend,  # no public name for it in 0.6
        'shapes': {},
        'info': {k: dataset.meta.features[k].get('info') for k in keys},
        'psnr': {k: [] for k in keys},
        'problems': [],
    }
    for i in range(len(dataset)):
        try:
            item = dataset[i]
        except Exception as error:  # LeRobot's own refusal of this frame (FrameTimestampError, a decode error)
            out['problems'].append(f'frame {i}: {type(error).__name__}: {error}')
            continue
        for k in keys:
            frame = item[k]  # float32 [C, H, W] in [0, 1]
            out['shapes'][k] = list(frame.shape)
            decoded = (frame.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            path = os.path.join(refs, k, f'{i}.rgb')
            if not os.path.exists(path):
                out['problems'].append(f'frame {i}: no reference {path}')
                continue
            ref = np.frombuffer(open(path, 'rb').read(), dtype=np.uint8)
            if ref.size != decoded.size:
                out['problems'].append(f'frame {i}: {k} decodes to {list(decoded.shape)}, the reference has {ref.size} bytes')
                continue
            out['psnr'][k].append(psnr(decoded, ref.reshape(decoded.shape)))
    every = [p for ps in out['psnr'].values() for p in ps]
    out['psnr_min'] = min(every) if every else None
    return out


def main(args):
    backend = None
    if args[:1] == ['--backend']:
        backend, args = args[1], args[2:]
    writing = args[:1] == ['--write']
    if writing:
        args = args[1:]
    root, refs = args
    try:
        if writing:
            write(root, refs)
        print(json.dumps(check(root, refs, backend)))
    finally:
        shutil.rmtree(HOME, ignore_errors=True)


if __name__ == '__main__':
    main(sys.argv[1:])
