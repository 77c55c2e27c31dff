"""Opens LeRobot datasets with LeRobot's own loader (lerobot 0.6's LeRobotDataset, in the lerobot venv that
test/peers/install makes), offline, and prints one JSON object per dataset, in order, as a JSON list.

    lerobot_load.py [--write DIR] DIR...

--write DIR first writes a small v3.0 dataset at DIR (a new directory) with LeRobot's own writer
(LeRobotDataset.create, add_frame, save_episode, finalize): 2 episodes of 5 and 7 frames at 10 fps, two tasks,
float32 observation.state [3] and action [2], a float32 next.reward [1]; frame k of episode e holds
state [e + k/4, -k, k/3], action [k/8, e - k], reward [k/10].

For each DIR: what LeRobotDataset reports (episode and frame counts, fps, features with dtype and shape, tasks in
task_index order, each episode's tasks and length) and the first and last frame as __getitem__ gives them (tensors
as lists; with video features, the parquet columns only, nothing decoded); or, when LeRobot refuses the dataset,
{"refused": the exception's class, "message": its text}. One process opens them all, so torch is imported once."""

import json
import os
import shutil
import sys
import tempfile

# Offline, and nothing written outside a temp dir: datasets' parquet cache and the Hub's cache go there.
HOME = tempfile.mkdtemp(prefix='lerobot-load-')
os.environ['HF_HUB_OFFLINE'] = '1'
os.environ['HF_DATASETS_OFFLINE'] = '1'
os.environ['HF_HOME'] = HOME
os.environ['HF_LEROBOT_HOME'] = os.path.join(HOME, 'lerobot')

import torch  # noqa: E402
from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402


def plain(value):
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


def frame(dataset, i):
    """Frame i as __getitem__ gives it; with video features, the parquet columns only (no decoding)."""
    if dataset.meta.video_keys:
        item = dataset.hf_dataset[i]
        item['task'] = dataset.meta.tasks.iloc[int(item['task_index'])].name
    else:
        item = dataset[i]
    return {k: plain(v) for k, v in item.items()}


def write(root):
    import numpy as np

    vector = {'dtype': 'float32', 'names': None}
    features = {
        'observation.state': {**vector, 'shape': (3,)},
        'action': {**vector, 'shape': (2,)},
        'next.reward': {**vector, 'shape': (1,)},
    }
    dataset = LeRobotDataset.create('local/auraison-edge-test', fps=10, features=features, root=root,
                                    robot_type='test_bot', use_videos=False)
    for e, (length, task) in enumerate([(5, 'pick the cube'), (7, 'place the cube')]):
        for k in range(length):
            dataset.add_frame({
                'observation.state': np.array([e + k / 4, -k, k / 3], dtype=np.float32),
                'action': np.array([k / 8, e - k], dtype=np.float32),
                'next.reward': np.array([k / 10], dtype=np.float32),
                'task': task,
            })
        dataset.save_episode()
    dataset.finalize()


def load(root, at=()):
    """What LeRobotDataset reports for the dataset at root, with the frames at indexes `at` when some are asked."""
    try:
        dataset = LeRobotDataset('local/auraison-edge-test', root=root)
    except Exception as error:  # what LeRobot says when it refuses a dataset
        return {'refused': type(error).__name__, 'message': str(error)}
    meta = dataset.meta
    tasks = sorted(meta.tasks.itertuples(), key=lambda t: t.task_index)
    episodes = meta.episodes
    return {
        'version': meta.info.codebase_version,  # a DatasetInfo since lerobot 0.5 (a dict before)
        'fps': dataset.fps,
        'episodes': dataset.num_episodes,
        'frames': dataset.num_frames,
        'features': {k: {'dtype': f['dtype'], 'shape': list(f['shape'])} for k, f in dataset.features.items()},
        'tasks': [t.Index for t in tasks],
        'task_indexes': [int(t.task_index) for t in tasks],
        'episode_tasks': [list(e['tasks']) for e in episodes],
        'episode_lengths': [int(e['length']) for e in episodes],
        'first': frame(dataset, 0),
        'last': frame(dataset, len(dataset) - 1),
        **({'at': [frame(dataset, i) for i in at]} if at else {}),
    }


def main(args):
    roots = list(args)
    try:
        if roots[:1] == ['--write']:
            write(roots[1])
            roots = roots[2:]
        print(json.dumps([load(root) for root in roots]))
    finally:
        shutil.rmtree(HOME, ignore_errors=True)


if __name__ == '__main__':
    main(sys.argv[1:])
    # Everything is printed: end without the interpreter's teardown, where a native thread of LeRobot's stack can
    # abort it on a loaded machine ("terminate called without an active exception", SIGABRT after the output).
    sys.stdout.flush()
    os._exit(0)
