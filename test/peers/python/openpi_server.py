"""An openpi websocket policy server for the tests, in the LeRobot venv (test/peers/install openpi): its wire is
openpi-client's own msgpack_numpy over the websockets package, as openpi's WebsocketPolicyServer speaks it (the
metadata map first; then one reply map holding `actions` and `server_timing` per observation; a failure's traceback
as a text frame, then a close with 1011).

    openpi_server.py --policy act --state-dim S --action-dim D --camera HxW --chunk K [--seed 0]
    openpi_server.py --policy ramp --action-dim D --chunk K
      [--port 0] [--api-key KEY] [--tls-cert PEM --tls-key PEM] [--fault NAME] [--delay-ms N]

--policy act serves LeRobot's ACT (lerobot 0.6.1's ACTPolicy, random weights seeded with --seed, the small size of
lerobot_act.py --small, on the CPU) for observation/state float32 [S] and observation/image uint8 [H, W, 3]: the image
becomes float32 [1, 3, H, W] / 255 as LeRobot's prepare_observation_for_inference makes it, and the reply's actions
are predict_action_chunk's [K, D], float32. --policy ramp is a policy of NumPy alone: action k of a chunk is
1000 c + k + 1 for every element, c the count of observations served before, so a test can tell which chunk and
which action of it the robot got.

It prints one JSON line {"port": N} once it listens. Faults, from --fault or at any time from a line on stdin
(`fault NAME`, `delay MS`): none, stall (never reply), close (close on an observation), shape (actions [K, D + 1]),
dtype (int64 actions), nan (a NaN in the actions), huge (a 100 MB reply), garbage (bytes that are not msgpack),
text (a failure: its traceback as text, then close 1011), unasked (two replies to one observation), metadata (never
send the metadata). --delay-ms sleeps before each reply (the network's latency, for the bench). Requests without
the --api-key as `Authorization: Api-Key KEY` get HTTP 401. It counts what it served in stats lines on stderr, with
the last observation as it took it (each array's dtype and shape, other values as they are).
"""

import argparse
import asyncio
import http
import json
import os
import shutil
import ssl
import sys
import tempfile
import time
import traceback

import numpy as np
import websockets.asyncio.server as ws_server
import websockets.exceptions
import websockets.frames
from openpi_client import msgpack_numpy

FAULTS = {'none', 'stall', 'close', 'shape', 'dtype', 'nan', 'huge', 'garbage', 'text', 'unasked', 'metadata'}


def act_policy(args):
    """ACT with random weights, sized as lerobot_act.py --small, and its infer: observation -> actions [K, D]."""
    home = tempfile.mkdtemp(prefix='openpi-act-')
    os.environ.update(HF_HUB_OFFLINE='1', HF_HOME=home, HF_LEROBOT_HOME=os.path.join(home, 'lerobot'),
                      TORCH_HOME=os.path.join(home, 'torch'))
    import atexit
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    h, w = args.camera
    config = ACTConfig(
        device='cpu', chunk_size=args.chunk, n_action_steps=args.chunk, pretrained_backbone_weights=None,
        input_features={
            'observation.state': PolicyFeature(type=FeatureType.STATE, shape=(args.state_dim,)),
            'observation.images.front': PolicyFeature(type=FeatureType.VISUAL, shape=(3, h, w)),
        },
        output_features={'action': PolicyFeature(type=FeatureType.ACTION, shape=(args.action_dim,))},
        dim_model=64, n_heads=2, dim_feedforward=128, n_encoder_layers=1, n_decoder_layers=1,
        n_vae_encoder_layers=1, latent_dim=8)
    policy = ACTPolicy(config).eval()

    def infer(obs):
        state = np.asarray(obs['observation/state'], dtype=np.float32).reshape(1, args.state_dim)
        image = np.asarray(obs['observation/image'], dtype=np.uint8).reshape(h, w, 3)
        batch = {
            'observation.state': torch.from_numpy(state),
            'observation.images.front': torch.from_numpy(image).permute(2, 0, 1).float().div(255).unsqueeze(0),
        }
        with torch.no_grad():
            return policy.predict_action_chunk(batch)[0].numpy().astype(np.float32)

    return infer, {'policy': 'act', 'chunk': args.chunk, 'action_dim': args.action_dim}


def ramp_policy(args):
    served = [0]

    def infer(_obs):
        k = np.arange(1, args.chunk + 1, dtype=np.float32).reshape(args.chunk, 1) + 1000 * served[0]
        served[0] += 1
        return np.repeat(k, args.action_dim, axis=1)

    return infer, {'policy': 'ramp', 'chunk': args.chunk, 'action_dim': args.action_dim}


class Server:
    def __init__(self, args, infer, metadata):
        self.args = args
        self.infer = infer
        self.metadata = metadata
        self.fault = args.fault
        self.delay_ms = args.delay_ms
        self.served = 0
        self.connections = 0

    def check_key(self, connection, request):
        if self.args.api_key is None:
            return None
        if request.headers.get('Authorization') != f'Api-Key {self.args.api_key}':
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, 'a valid Api-Key is needed\n')
        return None

    def stats(self, obs=None):
        line = {'served': self.served, 'connections': self.connections}
        if obs is not None:
            line['observation'] = {k: describe(v) for k, v in obs.items()}
        print(json.dumps(line), file=sys.stderr, flush=True)

    async def handle(self, websocket):
        self.connections += 1
        self.stats()
        packer = msgpack_numpy.Packer()
        if self.fault == 'metadata':
            await websocket.wait_closed()
            return
        await websocket.send(packer.pack(self.metadata))
        while True:
            try:
                obs = msgpack_numpy.unpackb(await websocket.recv())
            except websockets.exceptions.ConnectionClosed:
                return
            try:
                await self.answer(websocket, packer, obs)
            except websockets.exceptions.ConnectionClosed:
                return
            except Exception:
                await websocket.send(traceback.format_exc())
                await websocket.close(code=websockets.frames.CloseCode.INTERNAL_ERROR,
                                      reason='Internal server error. Traceback included in previous frame.')
                return

    async def answer(self, websocket, packer, obs):
        fault = self.fault
        if self.delay_ms > 0:
            await asyncio.sleep(self.delay_ms / 1000)
        if fault == 'stall':
            await asyncio.Event().wait()
        if fault == 'close':
            await websocket.close()
            return
        if fault == 'garbage':
            await websocket.send(b'\xc1\xc1\xc1 not msgpack')
            return
        if fault == 'text':
            raise RuntimeError('the policy failed on purpose (fault text)')
        started = time.monotonic()
        actions = self.infer(obs)
        infer_ms = (time.monotonic() - started) * 1000
        if fault == 'shape':
            actions = np.zeros((actions.shape[0], actions.shape[1] + 1), dtype=np.float32)
        elif fault == 'dtype':
            actions = actions.astype(np.int64)
        elif fault == 'nan':
            actions = actions.copy()
            actions[1, 0] = np.nan
        elif fault == 'huge':
            actions = np.zeros(100 * 1024 * 1024, dtype=np.uint8)
        self.served += 1
        reply = {'actions': actions, 'server_timing': {'infer_ms': infer_ms}}
        await websocket.send(packer.pack(reply))
        if fault == 'unasked':
            await websocket.send(packer.pack(reply))
        self.stats(obs)

    async def commands(self):
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            word, _, value = line.strip().partition(' ')
            if word == 'fault' and value in FAULTS:
                self.fault = value
            elif word == 'delay':
                self.delay_ms = float(value)
            print(json.dumps({'fault': self.fault, 'delay_ms': self.delay_ms}), flush=True)

    async def run(self):
        tls = None
        if self.args.tls_cert:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(self.args.tls_cert, self.args.tls_key)
        async with ws_server.serve(self.handle, '127.0.0.1', self.args.port, compression=None, max_size=None,
                                   process_request=self.check_key, ssl=tls) as server:
            port = server.sockets[0].getsockname()[1]
            print(json.dumps({'port': port}), flush=True)
            await self.commands()
            await server.serve_forever()


def describe(value):
    """An observation's entry as the server took it: an array's dtype and shape, or a plain value as it is."""
    if isinstance(value, np.ndarray):
        return {'dtype': value.dtype.str, 'shape': list(value.shape)}
    return value


def size(text):
    h, _, w = text.partition('x')
    return int(h), int(w)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--policy', choices=['act', 'ramp'], required=True)
    parser.add_argument('--state-dim', type=int, default=6)
    parser.add_argument('--action-dim', type=int, default=6)
    parser.add_argument('--camera', type=size, default=(48, 64))
    parser.add_argument('--chunk', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--api-key')
    parser.add_argument('--tls-cert')
    parser.add_argument('--tls-key')
    parser.add_argument('--fault', choices=sorted(FAULTS), default='none')
    parser.add_argument('--delay-ms', type=float, default=0)
    args = parser.parse_args()
    infer, metadata = act_policy(args) if args.policy == 'act' else ramp_policy(args)
    asyncio.run(Server(args, infer, metadata).run())


if __name__ == '__main__':
    main()
