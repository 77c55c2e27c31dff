"""
Sees the queries on a key expression as a complete queryable that never replies, beside the real server: rmw_zenoh's
clients ask every complete queryable (ALL_COMPLETE), so it gets each request of the daemon's clients and prints its
key and attachment (int64 LE sequence, int64 LE source timestamp, GID length, GID), leaving the answer to the server.

python query_spy.py '<json spec>': router, key. Events are JSON lines: ready, then {"event": "query", key, attachment}.
Runs until stdin closes.
"""
import json
import struct
import sys
import threading

import zenoh

from client_config import client_config

spec = json.loads(sys.argv[1])
lock = threading.Lock()


def emit(**event):
    with lock:
        print(json.dumps(event), flush=True)


def on_query(query):
    raw = query.attachment.to_bytes() if query.attachment is not None else b""
    attachment = None
    if len(raw) >= 17:
        seq, ts = struct.unpack_from("<qq", raw, 0)
        attachment = {"seq": seq, "ts": ts, "gid": raw[17 : 17 + raw[16]].hex(), "length": len(raw)}
    emit(event="query", key=str(query.key_expr), attachment=attachment)


conf = client_config(spec["router"])
session = zenoh.open(conf)
queryable = session.declare_queryable(spec["key"], on_query, complete=True)
emit(event="ready", zid=str(session.zid()))
sys.stdin.read()
queryable.undeclare()
session.close()
