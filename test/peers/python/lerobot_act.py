"""LeRobot's ACT policy (lerobot 0.6.1's ACTPolicy, in the lerobot venv that test/peers/install makes), offline and
on the CPU: the reference the daemon's vision-policy tests compare against, and the native baseline of the bench.

    lerobot_act.py export OUT --state-dim S --action-dim D --camera NAME:HxW [--camera NAME:HxW ...] --chunk K
                              [--n-action-steps N] [--seed 0] [--small]
    lerobot_act.py predict OUT --observations FILE
    lerobot_act.py select OUT --observations FILE [--temporal-ensemble-coeff C]
    lerobot_act.py bench OUT [--runs 100] [--warmup 5] [--threads 1]

export builds an ACTPolicy with random weights (torch seeded with --seed; pretrained_backbone_weights=None, so
nothing is fetched) for the features a LeRobot dataset would have: observation.state float32 [S], one
observation.images.NAME video [H, W, 3] per --camera (the policy sees [3, H, W]), action float32 [D]. It writes:
- OUT/stats.json: the dataset stats as LeRobot's meta/stats.json lays them out, computed with LeRobot's own
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


def export(args):
    os.makedirs(args.out, exist_ok=True)
    features = dataset_features(args.state_dim, args.action_dim, args.camera)
    policy_features = dataset_to_policy_features(features)
    stats = random_stats(features, args.seed)
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
    p.add_argument('--state-dim', type=int, required=True)
    p.add_argument('--action-dim', type=int, required=True)
    p.add_argument('--camera', type=camera, action='append', required=True)
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
    p = commands.add_parser('bench')
    p.add_argument('out')
    p.add_argument('--runs', type=int, default=100)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    run = {'export': export, 'predict': predict, 'select': select, 'bench': bench}[args.command]
    # LeRobot and the exporter print progress on stdout ("Loading weights from local directory"); only our JSON goes
    # there, so a caller parses stdout whole.
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
