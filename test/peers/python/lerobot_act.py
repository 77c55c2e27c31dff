"""LeRobot's ACT policy (lerobot 0.6.1's ACTPolicy, in the lerobot venv that test/peers/install makes), offline and
on the CPU: the reference the daemon's vision-policy tests compare against, and the native baseline of the bench.

    lerobot_act.py export OUT --state-dim S --action-dim D --camera NAME:HxW [--camera NAME:HxW ...] --chunk K
                              [--n-action-steps N] [--seed 0] [--small]
    lerobot_act.py export OUT --dataset DIR --chunk K [--n-action-steps N] [--seed 0] [--small]
    lerobot_act.py predict OUT --observations FILE
    lerobot_act.py select OUT --observations FILE [--temporal-ensemble-coeff C]
    lerobot_act.py bench OUT [--runs 100] [--warmup 5] [--threads 1]
    lerobot_act.py write-dataset ROOT --state-dim S --action-dim D --camera NAME:HxW [--episodes 2] [--frames 6]
    lerobot_act.py predict-dataset OUT DATASET

export builds an ACTPolicy with random weights (torch seeded with --seed; pretrained_backbone_weights=None, so
nothing is fetched) for the features a LeRobot dataset would have: observation.state float32 [S], one
observation.images.NAME video [H, W, 3] per --camera (the policy sees [3, H, W]), action float32 [D]; with --dataset,
the features of that LeRobot dataset (its observation.state, action and observation.images.*, from meta/info.json) and
its meta/stats.json, as training on it would size and normalize the policy (the weights stay random). It writes:
- OUT/stats.json: the dataset's stats of those features (--dataset), or stats as LeRobot's meta/stats.json lays them
  out, computed with LeRobot's own
  get_feature_stats from seeded random data: per feature min, max, mean, std, count and q01/q10/q50/q90/q99; vectors
  as [S] or [D] lists (count [N]), images per channel as [3][1][1] in [0, 1] (count [N]);
- OUT/policy/: the policy as policy.save_pretrained writes it (config.json, model.safetensors), which predict,
  select and bench load again;
- OUT/act.onnx, one file (weights inside): torch.onnx.export (the dynamo exporter, onnxscript) of the ACT network
  alone. Inputs, flat per feature: `observation.state` [1, S] and `observation.images.NAME` [1, 3, H, W], float32,
  in --camera order, both already normalized; one output `action` [1, K, D], normalized. The normalization stays
  outside the graph: the caller applies stats.json as ACT's processors do (see predict).
It prints one JSON line {model, stats, inputs: [{name, shape}], outputs: [...], chunk, bytes, export_s,
max_abs_diff}: max_abs_diff is the largest |onnxruntime - PyTorch| over the chunk for one random normalized input.
ACT's default size (dim_model 512, 4 encoder layers of feedforward 3200, one decoder layer, resnet18; the VAE
encoder only trains and is not in the graph) makes a 138 MB act.onnx (142 MB at 480x640), exported in 11 s for one
96x128 camera on this 2-core machine (2 min for 480x640 with the cores shared), and runs in 25 ms on one ORT thread
at 96x128 (0.9 s at 480x640). --small (dim_model 64, 2 heads, feedforward 128, one layer each, latent 8) leaves
little but the resnet18 backbone, the smallest ACT takes: 46 MB, 6 s of export, 10 ms a run at 96x128; for CI.

predict reads FILE, JSON lines of {"state": [S numbers], "images": {"NAME": {"path": a raw file, "width": W,
"height": H, "encoding": "rgb8"}}} (uint8 HWC frames), and for each runs what LeRobot's robot loop runs
(lerobot.common.control_utils.predict_action) with predict_action_chunk in place of select_action:
prepare_observation_for_inference (image uint8 HWC -> float32 CHW / 255, state float32, a batch dim), the
preprocessor of make_act_pre_post_processors built from stats.json (NormalizerProcessorStep under ACT's
normalization_mapping: MEAN_STD for VISUAL, STATE and ACTION, (x - mean) / (std + 1e-8), image stats per channel),
policy.predict_action_chunk, then the postprocessor (x * std + mean). It prints a JSON list with one chunk per
observation, [K][D] numbers in the raw action space.

select runs LeRobot's own control_utils.predict_action (select_action between the same processors) over the
observations in order after policy.reset(), and prints a JSON list of one action [D] per observation. Without
--temporal-ensemble-coeff the policy queues n_action_steps of each chunk (as exported); with it, n_action_steps is
1 and ACTTemporalEnsembler averages the overlapping chunks, inference running at every step.

bench times onnxruntime's Python InferenceSession.run of OUT/act.onnx on fixed random inputs (--threads intra-op
threads, 1 by default; --warmup runs first) and prints {p50_ms, p99_ms, mean_ms, runs, threads, onnxruntime}
(nearest-rank percentiles, as bench/bench.ts takes them)."""

import argparse
import atexit
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time

# Offline, and nothing written outside a temp dir: the Hub's cache goes there.
HOME = tempfile.mkdtemp(prefix='lerobot-act-')
atexit.register(shutil.rmtree, HOME, ignore_errors=True)
os.environ['HF_HUB_OFFLINE'] = '1'
os.environ['HF_DATASETS_OFFLINE'] = '1'
os.environ['HF_HOME'] = HOME
os.environ['HF_LEROBOT_HOME'] = os.path.join(HOME, 'lerobot')
os.environ['TORCH_HOME'] = os.path.join(HOME, 'torch')

import numpy as np  # noqa: E402
import torch  # noqa: E402
from lerobot.common.control_utils import predict_action  # noqa: E402
from lerobot.configs.types import FeatureType  # noqa: E402
from lerobot.datasets.compute_stats import get_feature_stats  # noqa: E402
from lerobot.datasets.io_utils import cast_stats_to_numpy  # noqa: E402
from lerobot.datasets.utils import serialize_dict  # noqa: E402
from lerobot.policies.act.configuration_act import ACTConfig  # noqa: E402
from lerobot.policies.act.modeling_act import ACTPolicy  # noqa: E402
from lerobot.policies.act.processor_act import make_act_pre_post_processors  # noqa: E402
from lerobot.policies.utils import prepare_observation_for_inference  # noqa: E402
from lerobot.utils.constants import ACTION, OBS_IMAGES, OBS_STATE  # noqa: E402
from lerobot.utils.feature_utils import dataset_to_policy_features  # noqa: E402

CPU = torch.device('cpu')
SMALL = dict(dim_model=64, n_heads=2, dim_feedforward=128, n_encoder_layers=1, n_decoder_layers=1,
             n_vae_encoder_layers=1, latent_dim=8)


def camera(text):
    name, _, size = text.partition(':')
    h, _, w = size.partition('x')
    if not name or not h.isdigit() or not w.isdigit():
        raise argparse.ArgumentTypeError(f'--camera {text!r}: expected NAME:HxW, as front:96x128')
    return name, int(h), int(w)


def dataset_features(state_dim, action_dim, cameras):
    """The features as a LeRobot dataset's info.json has them (images [H, W, 3], channels last)."""
    vector = {'dtype': 'float32', 'names': None}
    features = {OBS_STATE: {**vector, 'shape': (state_dim,)}}
    for name, h, w in cameras:
        features[f'{OBS_IMAGES}.{name}'] = {'dtype': 'video', 'shape': (h, w, 3),
                                            'names': ['height', 'width', 'channels']}
    features[ACTION] = {**vector, 'shape': (action_dim,)}
    return features


def random_stats(features, seed, frames=64):
    """Stats as LeRobot computes them (compute_episode_stats' per-feature get_feature_stats), from seeded random data:
    vectors with a different mean and spread per dimension, frames with a different level per channel."""
    rng = np.random.default_rng(seed)
    stats = {}
    for key, feature in features.items():
        if feature['dtype'] == 'video':
            h, w, _ = feature['shape']
            level = np.array([0.35, 0.5, 0.65]).reshape(1, 3, 1, 1) * 255
            spread = np.array([40, 55, 70]).reshape(1, 3, 1, 1)
            data = np.clip(rng.normal(level, spread, (frames, 3, h, w)), 0, 255).astype(np.uint8)
            image = get_feature_stats(data, axis=(0, 2, 3), keepdims=True)
            stats[key] = {k: v if k == 'count' else np.squeeze(v / 255.0, axis=0) for k, v in image.items()}
        else:
            (n,) = feature['shape']
            data = rng.normal(rng.uniform(-1, 1, n), rng.uniform(0.2, 2, n), (frames, n)).astype(np.float32)
            stats[key] = get_feature_stats(data, axis=0, keepdims=False)
    return stats


def read_stats(out):
    with open(os.path.join(out, 'stats.json')) as f:
        return cast_stats_to_numpy(json.load(f))


class ActNetwork(torch.nn.Module):
    """ACT's network between the processors: normalized state and images in, the normalized chunk out."""

    def __init__(self, policy):
        super().__init__()
        self.model = policy.model

    def forward(self, state, *images):
        return self.model({OBS_STATE: state, OBS_IMAGES: list(images)})[0]


def onnx_inputs(config, seed):
    """Random normalized inputs, in the ONNX graph's order (state, then the cameras)."""
    g = torch.Generator().manual_seed(seed)
    inputs = {OBS_STATE: torch.randn(1, *config.robot_state_feature.shape, generator=g)}
    for key, feature in config.image_features.items():
        inputs[key] = torch.randn(1, *feature.shape, generator=g)
    return inputs


def ort_session(path, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def from_dataset(root):
    """The state, camera and action features of a LeRobot dataset (meta/info.json) and their meta/stats.json, as
    training on it would size and normalize the policy."""
    with open(os.path.join(root, 'meta', 'info.json')) as f:
        info = json.load(f)
    with open(os.path.join(root, 'meta', 'stats.json')) as f:
        all_stats = cast_stats_to_numpy(json.load(f))
    features = {}
    for key, feature in info['features'].items():
        if key in (OBS_STATE, ACTION) or (key.startswith(OBS_IMAGES + '.') and feature['dtype'] in ('video', 'image')):
            features[key] = {**feature, 'shape': tuple(feature['shape'])}
    missing = [k for k in (OBS_STATE, ACTION) if k not in features]
    if missing or not any(k.startswith(OBS_IMAGES) for k in features):
        sys.exit(f'{root}: ACT needs {OBS_STATE}, {ACTION} and a camera ({OBS_IMAGES}.<name>); '
                 f'the dataset has {", ".join(info["features"])}')
    return features, {k: all_stats[k] for k in features}


def export(args):
    os.makedirs(args.out, exist_ok=True)
    if args.dataset:
        features, stats = from_dataset(args.dataset)
    else:
        if args.state_dim is None or args.action_dim is None or not args.camera:
            sys.exit('export: give --dataset DIR, or --state-dim, --action-dim and --camera')
        features = dataset_features(args.state_dim, args.action_dim, args.camera)
        stats = random_stats(features, args.seed)
    policy_features = dataset_to_policy_features(features)
    with open(os.path.join(args.out, 'stats.json'), 'w') as f:
        json.dump(serialize_dict(stats), f, indent=2)

    torch.manual_seed(args.seed)
    config = ACTConfig(
        device='cpu',
        chunk_size=args.chunk,
        n_action_steps=args.n_action_steps or args.chunk,
        input_features={k: f for k, f in policy_features.items() if f.type != FeatureType.ACTION},
        output_features={k: f for k, f in policy_features.items() if f.type == FeatureType.ACTION},
        pretrained_backbone_weights=None,
        **(SMALL if args.small else {}),
    )
    policy = ACTPolicy(config).eval()
    policy.save_pretrained(os.path.join(args.out, 'policy'))

    network = ActNetwork(policy).eval()
    inputs = onnx_inputs(config, args.seed + 1)
    names = list(inputs)
    path = os.path.join(args.out, 'act.onnx')
    began = time.perf_counter()
    with torch.no_grad():
        # one file with the weights inside: both sizes are far under protobuf's 2 GB
        torch.onnx.export(network, tuple(inputs.values()), path, input_names=names, output_names=[ACTION],
                          dynamo=True, external_data=False)
    export_s = time.perf_counter() - began

    with torch.no_grad():
        expected = network(*inputs.values()).numpy()
    session = ort_session(path, 1)
    (got,) = session.run([ACTION], {k: v.numpy() for k, v in inputs.items()})
    shape = lambda t: [d if isinstance(d, int) else str(d) for d in t.shape]  # noqa: E731
    return {
        'model': path,
        'stats': os.path.join(args.out, 'stats.json'),
        'inputs': [{'name': i.name, 'shape': shape(i)} for i in session.get_inputs()],
        'outputs': [{'name': o.name, 'shape': shape(o)} for o in session.get_outputs()],
        'chunk': args.chunk,
        'bytes': os.path.getsize(path),
        'export_s': round(export_s, 2),
        'max_abs_diff': float(np.max(np.abs(got - expected))),
    }


def load_policy(out, temporal_ensemble_coeff=None):
    path = os.path.join(out, 'policy')
    config = ACTConfig.from_pretrained(path)
    if temporal_ensemble_coeff is not None:
        # ACT takes an ensemble only with a chunk inferred at every step
        config.temporal_ensemble_coeff = temporal_ensemble_coeff
        config.n_action_steps = 1
    return ACTPolicy.from_pretrained(path, config=config)


def read_observations(path, config):
    """FILE's JSON lines as a robot gives them to LeRobot: numpy state float32, frames uint8 HWC."""
    cameras = {key.removeprefix(f'{OBS_IMAGES}.'): f.shape for key, f in config.image_features.items()}
    observations = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            observation = {OBS_STATE: np.asarray(item['state'], dtype=np.float32)}
            for name, (_, h, w) in cameras.items():
                image = item['images'].get(name)
                if image is None:
                    raise SystemExit(f'{path}:{n}: no image for camera {name!r} (the policy has {list(cameras)})')
                if image.get('encoding') != 'rgb8' or (image['height'], image['width']) != (h, w):
                    raise SystemExit(f'{path}:{n}: camera {name!r} is {image.get("encoding")} '
                                     f'{image["height"]}x{image["width"]}; the policy takes rgb8 {h}x{w}')
                observation[f'{OBS_IMAGES}.{name}'] = np.fromfile(image['path'], dtype=np.uint8).reshape(h, w, 3)
            observations.append(observation)
    return observations


def predict(args):
    policy = load_policy(args.out)
    pre, post = make_act_pre_post_processors(policy.config, dataset_stats=read_stats(args.out))
    chunks = []
    with torch.inference_mode():
        for observation in read_observations(args.observations, policy.config):
            batch = pre(prepare_observation_for_inference(dict(observation), CPU))
            chunks.append(post(policy.predict_action_chunk(batch))[0].tolist())
    return chunks


def select(args):
    policy = load_policy(args.out, args.temporal_ensemble_coeff)
    pre, post = make_act_pre_post_processors(policy.config, dataset_stats=read_stats(args.out))
    policy.reset()
    return [
        predict_action(observation, policy, CPU, pre, post, use_amp=False)[0].tolist()
        for observation in read_observations(args.observations, policy.config)
    ]


def write_dataset(args):
    """A LeRobot v3.0 dataset with a camera as video, written by LeRobot's own writer (LeRobotDataset.create,
    add_frame, save_episode, finalize; its default AV1 encoding): episodes of --frames frames at 10 fps whose frames
    are gradients with a square that moves, states and actions that change per frame."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = dataset_features(args.state_dim, args.action_dim, args.camera)
    dataset = LeRobotDataset.create('local/auraison-edge-act', fps=10, features=features, root=args.root,
                                    robot_type='test_bot', use_videos=True)
    for e in range(args.episodes):
        for k in range(args.frames):
            frame = {OBS_STATE: np.array([np.sin(e + k * (i + 1) / 5) for i in range(args.state_dim)],
                                         dtype=np.float32),
                     ACTION: np.array([np.cos(k / 3 + i) for i in range(args.action_dim)], dtype=np.float32),
                     'task': f'episode {e}'}
            for name, h, w in args.camera:
                y, x = np.mgrid[0:h, 0:w]
                image = np.stack([x * 255 // w, y * 255 // h, np.full((h, w), 40 * e + 60)], axis=-1)
                image[(abs(y - (h // 2)) < h // 6) & (abs(x - k * w // args.frames) < w // 8)] = [250, 250, 250]
                frame[f'{OBS_IMAGES}.{name}'] = image.astype(np.uint8)
            dataset.add_frame(frame)
        dataset.save_episode()
    dataset.finalize()
    return {'root': args.root, 'frames': args.episodes * args.frames}


def predict_dataset(args):
    """LeRobot's chunk for every frame of a dataset as its own loader gives the frame (its video backend decoding
    the camera, float32 CHW in [0, 1]): the preprocessor, predict_action_chunk, the postprocessor."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    policy = load_policy(args.out)
    pre, post = make_act_pre_post_processors(policy.config, dataset_stats=read_stats(args.out))
    dataset = LeRobotDataset('local/auraison-edge-act', root=args.dataset)
    keys = [OBS_STATE, *policy.config.image_features]
    out = []
    with torch.inference_mode():
        for i in range(len(dataset)):
            item = dataset[i]
            batch = pre({k: item[k].unsqueeze(0) for k in keys})
            chunk = post(policy.predict_action_chunk(batch))[0]
            out.append({'episode': int(item['episode_index']), 'frame': int(item['frame_index']),
                        'chunk': chunk.tolist()})
    return out


def bench(args):
    import onnxruntime as ort

    session = ort_session(os.path.join(args.out, 'act.onnx'), args.threads)
    rng = np.random.default_rng(1)
    inputs = {i.name: rng.standard_normal(i.shape, dtype=np.float32) for i in session.get_inputs()}
    for _ in range(args.warmup):
        session.run([ACTION], inputs)
    times = []
    for _ in range(args.runs):
        began = time.perf_counter_ns()
        session.run([ACTION], inputs)
        times.append((time.perf_counter_ns() - began) / 1e6)
    times.sort()
    rank = lambda p: times[min(len(times) - 1, max(0, -(-p * len(times) // 100) - 1))]  # noqa: E731
    return {'p50_ms': round(rank(50), 3), 'p99_ms': round(rank(99), 3), 'mean_ms': round(sum(times) / len(times), 3),
            'runs': args.runs, 'threads': args.threads, 'onnxruntime': ort.__version__}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    p = commands.add_parser('export')
    p.add_argument('out')
    p.add_argument('--dataset', help='size the policy by this LeRobot dataset and take its meta/stats.json')
    p.add_argument('--state-dim', type=int)
    p.add_argument('--action-dim', type=int)
    p.add_argument('--camera', type=camera, action='append')
    p.add_argument('--chunk', type=int, required=True)
    p.add_argument('--n-action-steps', type=int)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--small', action='store_true')
    for name in ('predict', 'select'):
        p = commands.add_parser(name)
        p.add_argument('out')
        p.add_argument('--observations', required=True)
        if name == 'select':
            p.add_argument('--temporal-ensemble-coeff', type=float)
    p = commands.add_parser('write-dataset')
    p.add_argument('root')
    p.add_argument('--state-dim', type=int, required=True)
    p.add_argument('--action-dim', type=int, required=True)
    p.add_argument('--camera', type=camera, action='append', required=True)
    p.add_argument('--episodes', type=int, default=2)
    p.add_argument('--frames', type=int, default=6)
    p = commands.add_parser('predict-dataset')
    p.add_argument('out')
    p.add_argument('dataset')
    p = commands.add_parser('bench')
    p.add_argument('out')
    p.add_argument('--runs', type=int, default=100)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    run = {'export': export, 'predict': predict, 'select': select, 'bench': bench, 'write-dataset': write_dataset,
           'predict-dataset': predict_dataset}[args.command]
    # LeRobot and the exporter print progress on stdout ("Loading weights from local directory"); only our JSON goes
    # there, so a caller parses stdout whole.
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
