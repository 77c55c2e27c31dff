"""A checkpoint LeRobot's own trainer wrote (lerobot-train ... --policy.type=act; its
checkpoints/NNNNNN/pretrained_model/ folder), in the LeRobot venv, offline and on the CPU:

    lerobot_checkpoint.py export OUT --checkpoint DIR
    lerobot_checkpoint.py predict-dataset DIR DATASET [--episodes 0,1] [--out FILE]
    lerobot_checkpoint.py serve DIR [--temporal-ensemble-coeff COEFF]

export writes OUT/act.onnx, ACT's network between its processors as lerobot_act.py exports it (inputs, flat per
feature and normalized: observation.state [1, S], observation.environment_state [1, E] where the policy takes it,
observation.images.NAME [1, 3, H, W] per camera, in the policy's order; one output `action` [1, K, D], normalized), and
OUT/stats.json, the statistics the checkpoint's own processors normalize with (policy_preprocessor's normalizer and
policy_postprocessor's unnormalizer, as the trainer saved them), laid out as a dataset's meta/stats.json, for the
features they normalize alone: ACT's processors pass observation.environment_state as it is (its normalization_mapping
has no ENV), so its loop input takes no normalize. It prints one JSON line {model, stats, inputs, outputs,
normalization: {feature: MEAN_STD | MIN_MAX | IDENTITY ...}, chunk, n_action_steps, bytes, export_s, max_abs_diff}
(max_abs_diff: onnxruntime against PyTorch on one random normalized input).

predict-dataset writes LeRobot's chunk for each frame of DATASET as its own loader gives it: the checkpoint's
preprocessor, predict_action_chunk, its postprocessor; JSON lines {episode, frame, chunk: [K][D]} to --out (stdout by
default).

serve runs the checkpoint as LeRobot's robot loop does (control_utils.predict_action: select_action between the
checkpoint's processors, n_action_steps of each chunk queued): each stdin line {"reset": bool, "observation": {KEY:
[numbers], CAMERA: {"shape": [H, W, 3], "base64": RGB bytes}}} answers one stdout line {"action": [D numbers], "ms":
inference ms}; reset clears the queue first, as a new episode does. --temporal-ensemble-coeff COEFF runs ACT's temporal
ensembling instead (LeRobot's ACTTemporalEnsembler: a chunk predicted each step, each action the weighted mean of
every chunk's for that step), as the daemon's `chunking: {temporal_ensemble_coeff: COEFF}` does.
"""

import argparse
import base64
import contextlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lerobot_act import CPU, ort_session  # noqa: E402  (sets the offline environment first)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from lerobot.common.control_utils import predict_action  # noqa: E402
from lerobot.datasets.utils import serialize_dict  # noqa: E402
from lerobot.policies.act.configuration_act import ACTConfig  # noqa: E402
from lerobot.policies.act.modeling_act import ACTPolicy  # noqa: E402
from lerobot.policies.factory import make_pre_post_processors  # noqa: E402
from lerobot.configs.types import NormalizationMode  # noqa: E402
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_IMAGES, OBS_STATE  # noqa: E402


def load(checkpoint, temporal_ensemble_coeff=None):
    """The policy and its processors as the trainer saved them; a checkpoint of another policy type is refused. With
    temporal_ensemble_coeff, as one trained with --policy.temporal_ensemble_coeff=C --policy.n_action_steps=1 runs:
    LeRobot's own ensembler, each step's action weighing every chunk predicted for it."""
    with open(os.path.join(checkpoint, 'config.json')) as f:
        kind = json.load(f).get('type')
    if kind != 'act':
        sys.exit(f'{checkpoint}: a {kind!r} checkpoint; this exports ACT (lerobot-train --policy.type=act)')
    config = ACTConfig.from_pretrained(checkpoint)
    if temporal_ensemble_coeff is not None:
        config.temporal_ensemble_coeff, config.n_action_steps = temporal_ensemble_coeff, 1
    policy = ACTPolicy.from_pretrained(checkpoint, config=config).eval()
    pre, post = make_pre_post_processors(policy.config, pretrained_path=checkpoint)
    return policy, pre, post


def input_keys(config: ACTConfig):
    """The network's inputs in the order ACT's encoder takes them: state, environment state, cameras."""
    keys = [OBS_STATE] if config.robot_state_feature else []
    if config.env_state_feature:
        keys.append(OBS_ENV_STATE)
    return keys + list(config.image_features)


class ActNetwork(torch.nn.Module):
    """ACT's network between the processors: normalized inputs in (input_keys' order), the normalized chunk out."""

    def __init__(self, policy):
        super().__init__()
        self.model = policy.model
        self.keys = input_keys(policy.config)
        self.images = set(policy.config.image_features)

    def forward(self, *tensors):
        batch = {k: t for k, t in zip(self.keys, tensors) if k not in self.images}
        if self.images:
            batch[OBS_IMAGES] = [t for k, t in zip(self.keys, tensors) if k in self.images]
        return self.model(batch)[0]


def processor_stats(pre, post):
    """The processors' normalizer steps: each feature's mode (ACT's normalization_mapping by feature type; a type it
    does not map, as the environment state's, passes as it is: IDENTITY) and the statistics of those normalized (the
    steps' state: FEATURE.STAT tensors)."""
    modes, stats = {}, {}
    for pipeline in (pre, post):
        for step in pipeline.steps:
            if not hasattr(step, 'norm_map') or not hasattr(step, 'features'):
                continue
            for key, feature in step.features.items():
                modes[key] = step.norm_map.get(feature.type, NormalizationMode.IDENTITY).value
            for name, tensor in step.state_dict().items():
                feature, _, stat = name.rpartition('.')
                if modes.get(feature, NormalizationMode.IDENTITY.value) != NormalizationMode.IDENTITY.value:
                    stats.setdefault(feature, {})[stat] = tensor.cpu().numpy()
    return modes, stats


def export(args):
    policy, pre, post = load(args.checkpoint)
    os.makedirs(args.out, exist_ok=True)
    modes, stats = processor_stats(pre, post)
    keys = input_keys(policy.config)
    missing = [k for k in [*keys, ACTION] if k not in modes]
    if missing:
        sys.exit(f'{args.checkpoint}: its processors do not name {missing}; was it saved by lerobot-train?')
    with open(os.path.join(args.out, 'stats.json'), 'w') as f:
        json.dump(serialize_dict(stats), f, indent=2)
    network = ActNetwork(policy).eval()
    g = torch.Generator().manual_seed(1)
    features = policy.config.input_features
    inputs = [torch.randn(1, *features[k].shape, generator=g) for k in keys]
    path = os.path.join(args.out, 'act.onnx')
    began = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(network, tuple(inputs), path, input_names=keys, output_names=[ACTION], dynamo=True,
                          external_data=False)
        expected = network(*inputs).numpy()
    export_s = time.perf_counter() - began
    session = ort_session(path, 1)
    (got,) = session.run([ACTION], {k: t.numpy() for k, t in zip(keys, inputs)})
    return {
        'model': path,
        'stats': os.path.join(args.out, 'stats.json'),
        'inputs': [{'name': i.name, 'shape': i.shape} for i in session.get_inputs()],
        'outputs': [{'name': o.name, 'shape': o.shape} for o in session.get_outputs()],
        'normalization': modes,
        'chunk': policy.config.chunk_size,
        'n_action_steps': policy.config.n_action_steps,
        'bytes': os.path.getsize(path),
        'export_s': round(export_s, 2),
        'max_abs_diff': float(np.max(np.abs(got - expected))),
    }


def predict_dataset(args):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    policy, pre, post = load(args.checkpoint)
    episodes = [int(e) for e in args.episodes.split(',')] if args.episodes else None
    dataset = LeRobotDataset('local/auraison-edge-checkpoint', root=args.dataset, episodes=episodes)
    keys = input_keys(policy.config)
    out = open(args.out, 'w') if args.out else sys.__stdout__
    frames = 0
    with torch.inference_mode():
        for i in range(len(dataset)):
            item = dataset[i]
            chunk = post(policy.predict_action_chunk(pre({k: item[k].unsqueeze(0) for k in keys})))[0]
            out.write(json.dumps({'episode': int(item['episode_index']), 'frame': int(item['frame_index']),
                                  'chunk': chunk.tolist()}) + '\n')
            frames += 1
    if args.out:
        out.close()
    return {'frames': frames, 'out': args.out}


def observed(config: ACTConfig, key, value):
    """An observation as LeRobot's robot loop hands it to predict_action: a state as float32, a camera's frame as its
    [height, width, 3] uint8 RGB (sent as {shape, base64}), which must be the size the policy was trained on."""
    if key not in config.image_features:
        return np.asarray(value, dtype=np.float32)
    frame = np.frombuffer(base64.b64decode(value['base64']), dtype=np.uint8).reshape(value['shape'])
    channels, height, width = config.image_features[key].shape
    if frame.shape != (height, width, channels):
        sys.exit(f'{key}: a {frame.shape[1]}x{frame.shape[0]} frame; the policy was trained on {width}x{height} '
                 f'(so101_node.py --camera-size {width}x{height})')
    return frame


def serve(args):
    policy, pre, post = load(args.checkpoint, args.temporal_ensemble_coeff)
    keys = input_keys(policy.config)
    policy.reset()
    for line in sys.stdin:
        request = json.loads(line)
        if request.get('reset'):
            policy.reset()
        missing = [k for k in keys if k not in request['observation']]
        if missing:
            sys.exit(f'the policy takes {missing}, which the observation lacks (a camera policy needs the camera on)')
        observation = {k: observed(policy.config, k, request['observation'][k]) for k in keys}
        began = time.perf_counter()
        action = predict_action(observation, policy, CPU, pre, post, use_amp=False)[0]
        ms = (time.perf_counter() - began) * 1000
        sys.__stdout__.write(json.dumps({'action': action.tolist(), 'ms': round(ms, 3)}) + '\n')
        sys.__stdout__.flush()
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    p = commands.add_parser('export')
    p.add_argument('out')
    p.add_argument('--checkpoint', required=True)
    p = commands.add_parser('predict-dataset')
    p.add_argument('checkpoint')
    p.add_argument('dataset')
    p.add_argument('--episodes')
    p.add_argument('--out')
    p = commands.add_parser('serve')
    p.add_argument('checkpoint')
    p.add_argument('--temporal-ensemble-coeff', type=float, metavar='COEFF',
                   help="ACT's temporal ensembling at COEFF (0.01 in ACT's paper): a chunk every step")
    args = parser.parse_args()
    run = {'export': export, 'predict-dataset': predict_dataset, 'serve': serve}[args.command]
    torch.set_num_threads(1)
    # LeRobot prints progress on stdout: only our JSON goes there.
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    if result is not None:
        print(json.dumps(result))


if __name__ == '__main__':
    main()
