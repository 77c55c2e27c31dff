"""openpi-client's own client (WebsocketClientPolicy) against an openpi server, in the LeRobot venv: the reference the
daemon's remote policy is checked and measured against.

    openpi_client_peer.py infer URL --state v,v,... --image HxW:r,g,b
    openpi_client_peer.py bench URL --state-dim S --image HxW [--runs 200] [--warmup 10]

infer sends one observation (observation/state float32, observation/image uint8 [H, W, 3] filled with r,g,b) and
prints the reply's actions as a JSON list of rows. bench sends the same observation --runs times, one after the other
as a robot's loop would, after --warmup untimed, and prints {p50_ms, p99_ms, mean_ms, runs, times_ms}: the round trip of
client.infer (packing, the socket both ways, the server's work, unpacking), nearest-rank percentiles as
bench/bench.ts takes them."""

import argparse
import json
import math
import time

import numpy as np
from openpi_client import websocket_client_policy


def observation(state, size, rgb):
    h, w = size
    image = np.empty((h, w, 3), dtype=np.uint8)
    image[:, :] = rgb
    return {'observation/state': np.asarray(state, dtype=np.float32), 'observation/image': image}


def percentile(sorted_values, p):
    i = min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[i]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('command', choices=['infer', 'bench'])
    parser.add_argument('url')
    parser.add_argument('--state', default='')
    parser.add_argument('--state-dim', type=int, default=6)
    parser.add_argument('--image', default='48x64:0,0,0')
    parser.add_argument('--runs', type=int, default=200)
    parser.add_argument('--warmup', type=int, default=10)
    args = parser.parse_args()
    size_text, _, rgb_text = args.image.partition(':')
    h, _, w = size_text.partition('x')
    rgb = [int(v) for v in (rgb_text or '0,0,0').split(',')]
    state = [float(v) for v in args.state.split(',')] if args.state else [0.0] * args.state_dim
    obs = observation(state, (int(h), int(w)), rgb)
    client = websocket_client_policy.WebsocketClientPolicy(args.url)
    if args.command == 'infer':
        print(json.dumps(np.asarray(client.infer(obs)['actions'], dtype=np.float64).tolist()))
        return
    for _ in range(args.warmup):
        client.infer(obs)
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        client.infer(obs)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(json.dumps({'p50_ms': percentile(times, 50), 'p99_ms': percentile(times, 99),
                      'mean_ms': sum(times) / len(times), 'runs': len(times), 'times_ms': times}))


if __name__ == '__main__':
    main()
