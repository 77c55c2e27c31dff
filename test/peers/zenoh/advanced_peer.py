"""
A transient_local ROS 2 endpoint over eclipse-zenoh's own zenoh-ext AdvancedPublisher / AdvancedSubscriber, set up
as rmw_zenoh (rmw_publisher_data.cpp, rmw_subscription_data.cpp) sets them up for a TRANSIENT_LOCAL topic:
  publisher: cache of max_samples = depth, publisher_detection, and for RELIABLE sample_miss_detection with a
             sporadic heartbeat;
  subscriber: history with detect_late_publishers and max_samples = depth, subscriber_detection, and for RELIABLE
              recovery on heartbeats.
The advanced protocol is the reference library's; only the rmw_zenoh liveliness token (`token`, given whole by the
test) and the attachment are written here.

python advanced_peer.py '<json spec>': router, key (the data key), depth, reliable, token (optional), and either
  "publish": true  -- samples are "pub <hex>" lines on stdin, each with rmw_zenoh's attachment
  "subscribe": true -- each sample is printed as {"event": "sample", key, payload, attachment}
  "watch": "<key expr>" -- liveliness tokens under it are printed as {"event": "token", key, kind}
Events are JSON lines on stdout; the peer runs until stdin closes.
"""
import json
import struct
import sys
import threading
import time

import zenoh

from client_config import client_config
import zenoh.ext as ext

spec = json.loads(sys.argv[1])
lock = threading.Lock()


def emit(**event):
    with lock:
        print(json.dumps(event), flush=True)


def parse_attachment(raw):
    if raw is None:
        return None
    b = raw.to_bytes()
    if len(b) < 17:
        return {"length": len(b)}
    seq, ts = struct.unpack_from("<qq", b, 0)
    return {"seq": seq, "ts": ts, "gid": b[17 : 17 + b[16]].hex(), "length": len(b)}


conf = client_config(spec["router"])
# rmw_zenoh's default session config enables timestamping, which a cache without sample miss detection needs.
conf.insert_json5("timestamping/enabled", "true")
session = zenoh.open(conf)
handles = []
if spec.get("token"):
    handles.append(session.liveliness().declare_token(spec["token"]))

depth = spec.get("depth", 1)
reliable = spec.get("reliable", True)

if spec.get("watch"):

    def on_token(sample):
        emit(event="token", key=str(sample.key_expr), kind=str(sample.kind))

    handles.append(session.liveliness().declare_subscriber(spec["watch"], on_token, history=True))

if spec.get("publish"):
    publisher = ext.declare_advanced_publisher(
        session,
        spec["key"],
        cache=ext.CacheConfig(max_samples=depth),
        publisher_detection=True,
        sample_miss_detection=ext.MissDetectionConfig(sporadic_heartbeat=1.0) if reliable else None,
    )
    handles.append(publisher)
    gid = bytes(range(16))
    seq = 0

    def publish(payload):
        global seq
        seq += 1
        att = struct.pack("<qq", seq, time.time_ns()) + bytes([len(gid)]) + gid
        publisher.put(payload, attachment=att)
        emit(event="published", seq=seq)

if spec.get("subscribe"):

    def on_sample(sample):
        emit(
            event="sample",
            key=str(sample.key_expr),
            payload=sample.payload.to_bytes().hex(),
            attachment=parse_attachment(sample.attachment),
        )

    handles.append(
        ext.declare_advanced_subscriber(
            session,
            spec["key"],
            on_sample,
            history=ext.HistoryConfig(detect_late_publishers=True, max_samples=depth),
            recovery=ext.RecoveryConfig(heartbeat=True) if reliable else None,
            subscriber_detection=True,
        )
    )

emit(event="ready", zid=str(session.zid()))
for line in sys.stdin:
    line = line.strip()
    if line == "quit":
        break
    if line.startswith("pub ") and spec.get("publish"):
        publish(bytes.fromhex(line[4:]))
session.close()
