"""Reads a LeRobot v3.0 dataset with pyarrow the way LeRobot's own loader (lerobot 0.4 to 0.6, LeRobotDataset) does:
meta/info.json, meta/tasks.parquet (tasks indexed by their text), meta/episodes/*/*.parquet without the stats/
columns, and the data files named by info.json's data_path template; prints JSON with what the loader would
report and every problem it found against that format (an empty `problems` means the loader's reads hold)."""

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq


def main(root):
    root = Path(root)
    info = json.loads((root / 'meta' / 'info.json').read_text())
    problems = []
    for key in ('codebase_version', 'fps', 'features', 'total_episodes', 'total_frames', 'total_tasks', 'chunks_size',
                'data_path', 'splits'):
        if key not in info:
            problems.append(f'info.json has no {key}')
    tasks_table = pq.read_table(root / 'meta' / 'tasks.parquet')
    pandas_meta = json.loads(tasks_table.schema.metadata[b'pandas'])
    if pandas_meta['index_columns'] != ['task']:
        problems.append(f"tasks.parquet is not indexed by task: {pandas_meta['index_columns']}")
    tasks = {row['task_index']: row['task'] for row in tasks_table.to_pylist()}
    episodes = []
    for f in sorted((root / 'meta' / 'episodes').rglob('*.parquet')):
        table = pq.read_table(f)
        episodes += table.select([c for c in table.column_names if not c.startswith('stats/')]).to_pylist()
    features = info['features']
    frames = []
    for ep in episodes:
        path = root / info['data_path'].format(chunk_index=ep['data/chunk_index'], file_index=ep['data/file_index'])
        data = pq.read_table(path).to_pylist()
        rows = [r for r in data if r['episode_index'] == ep['episode_index']]
        if len(rows) != ep['length'] or rows[0]['index'] != ep['dataset_from_index'] or rows[-1]['index'] + 1 != ep['dataset_to_index']:
            problems.append(f"episode {ep['episode_index']}: rows do not match length and dataset_from/to_index")
        for k, r in enumerate(rows):
            if r['frame_index'] != k or abs(r['timestamp'] - k / info['fps']) > 1e-4:
                problems.append(f"episode {ep['episode_index']} frame {k}: frame_index {r['frame_index']}, timestamp {r['timestamp']}")
            if tasks.get(r['task_index']) not in ep['tasks']:
                problems.append(f"episode {ep['episode_index']} frame {k}: task_index {r['task_index']} is not its task")
            for key, f in features.items():
                value = r.get(key)
                size = len(value) if isinstance(value, list) else 1
                if value is None or size != f['shape'][0]:
                    problems.append(f'episode {ep["episode_index"]} frame {k}: {key} has {size} values, shape {f["shape"]}')
        frames += rows
    if [f['index'] for f in frames] != list(range(len(frames))):
        problems.append('index is not 0..N-1 over the episodes')
    json.dump({
        'version': info.get('codebase_version'), 'fps': info.get('fps'),
        'episodes': len(episodes), 'frames': len(frames), 'total_episodes': info.get('total_episodes'), 'total_frames': info.get('total_frames'),
        'features': {k: {'dtype': f['dtype'], 'shape': f['shape']} for k, f in features.items()},
        'tasks': [tasks[i] for i in sorted(tasks)], 'episode_tasks': [ep['tasks'] for ep in episodes],
        'first': frames[0] if frames else None, 'last': frames[-1] if frames else None, 'problems': problems[:20],
    }, sys.stdout)


if __name__ == '__main__':
    main(sys.argv[1])
