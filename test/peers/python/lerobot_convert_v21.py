"""Converts a LeRobot v2.1 dataset to v3.0 with LeRobot's own converter (lerobot 0.6's
lerobot/scripts/convert_dataset_v21_to_v30.py, under lerobot/datasets/v30/ before 0.5; its local mode:
convert_dataset with a root and no push to the Hub), offline, then opens the result with LeRobotDataset as
lerobot_load.py does; prints one JSON object.

    lerobot_convert_v21.py SOURCE WORK [INDEX...]

SOURCE is copied to WORK/local/dataset first (SOURCE is left as it is). The converter wants a video file for
every episode of every video feature; a dataset that lacks some (as the g1_inspire_v2.1 fixture does, 2 of 100)
is converted with its video features dropped from meta/info.json and without videos/, and "dropped" names them.

Prints {"converted": what lerobot_load.py's load reports, with the frames at the INDEXes under "at";
"episode_ranges": each episode's [dataset_from_index, dataset_to_index) as the converter wrote them;
"stats": the dataset stats LeRobot loads (meta/stats.json, which the converter aggregates from
episodes_stats.jsonl);
"dropped": the video features left out; "network": every connection or name lookup tried (refused)}."""

import contextlib
import json
import shutil
import socket
import sys
from pathlib import Path

# Nothing may be fetched: every try to reach another host is refused and reported, on top of the offline switches
# lerobot_load sets (HF_HUB_OFFLINE, HF_DATASETS_OFFLINE).
NETWORK = []


def refuse_lookup(host, *args, **kwargs):
    NETWORK.append(f'getaddrinfo {host}')
    raise OSError(f'lerobot_convert_v21.py runs offline: looked up {host}')


def refuse_connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        NETWORK.append(f'connect {address}')
        raise OSError(f'lerobot_convert_v21.py runs offline: connected to {address}')
    return CONNECT(sock, address)


CONNECT = socket.socket.connect
socket.getaddrinfo = refuse_lookup
socket.socket.connect = refuse_connect

import lerobot_load  # noqa: E402  (sets the offline environment before LeRobot is imported)
from lerobot.datasets.lerobot_dataset import LeRobotDatasetMetadata  # noqa: E402
from lerobot.scripts.convert_dataset_v21_to_v30 import convert_dataset  # noqa: E402

REPO_ID = 'local/dataset'


def copy_for_conversion(source, root):
    """Copies the v2.1 dataset; without a video for every episode, without its video features. Returns those."""
    info = json.loads((Path(source) / 'meta' / 'info.json').read_text())
    videos = [k for k, f in info['features'].items() if f['dtype'] == 'video']
    complete = all(
        (Path(source) / info['video_path'].format(episode_chunk=e // info['chunks_size'], video_key=k,
                                                  episode_index=e)).is_file()
        for k in videos for e in range(info['total_episodes']))
    if complete:
        shutil.copytree(source, root)
        return []
    shutil.copytree(source, root, ignore=shutil.ignore_patterns('videos'))
    info['features'] = {k: f for k, f in info['features'].items() if k not in videos}
    info['video_path'] = None
    (root / 'meta' / 'info.json').write_text(json.dumps(info, indent=4))
    return videos


def main(source, work, at):
    root = Path(work) / REPO_ID
    try:
        dropped = copy_for_conversion(source, root)
        with contextlib.redirect_stdout(sys.stderr):  # the converter prints its progress; stdout is the JSON
            # root is the dataset's own directory since lerobot 0.5 (the parent of REPO_ID's before)
            convert_dataset(REPO_ID, root=root, push_to_hub=False)
        meta = LeRobotDatasetMetadata(REPO_ID, root=root)
        print(json.dumps({
            'converted': lerobot_load.load(root, at),
            'episode_ranges': [[int(e['dataset_from_index']), int(e['dataset_to_index'])] for e in meta.episodes],
            'stats': {k: {name: value.tolist() for name, value in stats.items()} for k, stats in meta.stats.items()},
            'dropped': dropped,
            'network': NETWORK,
        }))
    finally:
        shutil.rmtree(lerobot_load.HOME, ignore_errors=True)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], [int(i) for i in sys.argv[3:]])
