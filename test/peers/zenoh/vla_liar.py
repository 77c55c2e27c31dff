"""
A served policy on the Zenoh graph that lies: a queryable on ai/inference/vla/<policy> (eclipse-zenoh) that answers in
the daemon's tensor encoding (docs/system1.md, "Inference as a service") the way its mode says, for the tests of a
loop whose policy is asked over Zenoh.

python vla_liar.py '<json spec>': spec {router, key, chunk: [K, D]}. Modes, from a line `mode NAME` on stdin (the
first is good): good (a [1, K, D] chunk of 0.5s with the request's timestep), shape ([1, K, D + 1]), nan (a NaN in
it), timestep (the chunk for another timestep), garbage (bytes that are no payload), huge (a payload of 2 MB), error
(an error reply, as the daemon's QueryServer sends one), silent (no reply: the query ends at once with none), stall
(no reply for a second, then none). It prints {"event": "ready"} once
its queryable is declared, {"event": "mode", "mode"} for each mode taken, and {"event": "query", "timestep"} for
each query answered.
"""
import json
import math
import struct
import sys
import time

import zenoh

from client_config import client_config

TENSORS = "application/x-auraison-tensors"
spec = json.loads(sys.argv[1])
K, D = spec["chunk"]
mode = "good"


def emit(**event):
    print(json.dumps(event), flush=True)


def encode(shape, values, fields):
    """uint32 LE header length, the JSON header padded so the data starts on 8 bytes, then float32 LE data."""
    header = json.dumps({"tensors": [{"name": "actions", "dtype": "float32", "shape": shape, "offset": 0}], **fields})
    raw = header.encode()
    raw += b" " * (-(4 + len(raw)) % 8)
    return struct.pack("<I", len(raw)) + raw + struct.pack(f"<{len(values)}f", *values)


def timestep_of(payload):
    (length,) = struct.unpack_from("<I", payload)
    return json.loads(payload[4 : 4 + length])["timestep"]


def on_query(query):
    timestep = timestep_of(query.payload.to_bytes())
    ones = [0.5] * (K * D)
    if mode == "silent":
        return
    if mode == "stall":
        time.sleep(1)
        return
    if mode == "error":
        query.reply_err(json.dumps({"code": "handler_error", "message": "the policy failed on purpose"}))
    elif mode == "garbage":
        query.reply(query.key_expr, b"\x01\x02 not a payload", encoding=TENSORS)
    elif mode == "huge":
        query.reply(query.key_expr, bytes(2 * 1024 * 1024), encoding=TENSORS)
    else:
        shape = [1, K, D + 1] if mode == "shape" else [1, K, D]
        values = [0.5] * (K * (D + 1)) if mode == "shape" else ones
        if mode == "nan":
            values[D] = math.nan
        step = timestep + 7 if mode == "timestep" else timestep
        query.reply(query.key_expr, encode(shape, values, {"timestep": step, "chunk": K}), encoding=TENSORS)
    emit(event="query", timestep=timestep)


session = zenoh.open(client_config(spec["router"]))
queryable = session.declare_queryable(spec["key"], on_query, complete=True)
emit(event="ready")
for line in sys.stdin:
    word, _, value = line.strip().partition(" ")
    if word == "mode":
        mode = value
        emit(event="mode", mode=mode)
queryable.undeclare()
session.close()
