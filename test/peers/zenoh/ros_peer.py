"""
ROS-2-shaped Zenoh peers for tests, written to rmw_zenoh's design (docs/design.md of ros2/rmw_zenoh): data keys
<domain>/<name>/<dds type>/<RIHS01 hash>, liveliness tokens under @ros2_lv, and the attachment (int64 LE
sequence, int64 LE source timestamp, GID length, GID) on every sample, request and reply. A double of rmw_zenoh_cpp,
which no registry has (test/ros2/ros2-rmw-zenoh.test.ts runs the real one where ROS 2 is built); transient_local
endpoints are eclipse-zenoh's own zenoh-ext AdvancedPublisher/AdvancedSubscriber, as rmw_zenoh from 0.2.2 uses them.

python ros_peer.py '<json spec>': a spec names the router, the node, and what the node does:
  publish: a topic, type, hash and hex CDR payloads, sent at `rate_hz` (or on "pub <hex>" lines from stdin); with
           `size` instead of payloads, one payload of that many bytes (a CDR header, then zeros);
           transient_local with a cache of `depth`
  subscribe: a topic and type: each sample is printed as {"event": "sample", key, payload, attachment, mono_ns};
             transient_local with a history of `depth` (the caches' samples come as samples too)
  serve: std_srvs/srv/SetBool served on a name: replies success=data, message="ok:<data>"; with `hold_final_s`
         the query's final waits that long after the reply (the callback returns late), as a slow server's may
  get: one Zenoh get of a key with a payload; prints the replies, then exits
  liveliness: prints the liveliness tokens of the domain
Events are JSON lines on stdout; the peer runs until stdin closes ("quit" also ends it).
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
domain = spec.get("domain", 0)
node_name = spec.get("node", "peer")
lock = threading.Lock()


def emit(**event):
    with lock:
        print(json.dumps(event), flush=True)


def dds_type(ros_type):
    pkg, kind, name = ros_type.split("/")
    return f"{pkg}::{kind}::dds_::{name}_"


def mangle(name):
    return name.replace("/", "%")


def attachment(seq, gid):
    return struct.pack("<qq", seq, time.time_ns()) + bytes([len(gid)]) + gid


def parse_attachment(raw):
    if raw is None:
        return None
    b = raw.to_bytes()
    seq, ts = struct.unpack_from("<qq", b, 0)
    n = b[16]
    return {"seq": seq, "ts": ts, "gid": b[17 : 17 + n].hex(), "length": len(b)}


conf = client_config(spec["router"])
# rmw_zenoh's session config enables timestamping, which zenoh-ext's cache needs.
conf.insert_json5("timestamping/enabled", "true")
session = zenoh.open(conf)
zid = str(session.zid())
tokens = [session.liveliness().declare_token(f"@ros2_lv/{domain}/{zid}/0/0/NN/%/%/{node_name}")]
QOS = spec.get("qos", "::,10:,:,:,,")


def entity_token(eid, kind, name, ros_type, type_hash):
    return f"@ros2_lv/{domain}/{zid}/0/{eid}/{kind}/%/%/{node_name}/{mangle(name)}/{dds_type(ros_type)}/{type_hash}/{QOS}"


def key(name, ros_type, type_hash):
    return f"{domain}/{name.lstrip('/')}/{dds_type(ros_type)}/{type_hash}"


handles = []
publisher = None
gid = bytes(range(16))
seq = 0


def publish(payload):
    global seq
    seq += 1
    att = attachment(seq, gid)
    publisher.put(payload, attachment=att)
    emit(event="published", seq=seq)


if "publish" in spec:
    p = spec["publish"]
    if p.get("transient_local"):
        QOS = f":1:,{p.get('depth', 10)}:,:,:,,"
    tokens.append(session.liveliness().declare_token(entity_token(10, "MP", p["topic"], p["type"], p["hash"])))
    if p.get("transient_local"):
        # As rmw_zenoh (from 0.2.2) publishes one: eclipse-zenoh's own zenoh-ext AdvancedPublisher with a cache.
        publisher = ext.declare_advanced_publisher(
            session,
            key(p["topic"], p["type"], p["hash"]),
            cache=ext.CacheConfig(max_samples=p.get("depth", 10)),
            publisher_detection=True,
        )
    else:
        publisher = session.declare_publisher(key(p["topic"], p["type"], p["hash"]))
    if p.get("rate_hz"):
        payloads = [bytes.fromhex(h) for h in p["payloads"]] if "payloads" in p else [b"\x00\x01\x00\x00" + bytes(p["size"] - 4)]

        def run():
            i = 0
            while True:
                publish(payloads[i % len(payloads)])
                i += 1
                time.sleep(1 / p["rate_hz"])

        threading.Thread(target=run, daemon=True).start()

if "subscribe" in spec:
    s = spec["subscribe"]
    tokens.append(session.liveliness().declare_token(entity_token(11, "MS", s["topic"], s["type"], s.get("hash", "TypeHashNotSupported"))))

    def on_sample(sample):
        # mono_ns: when it came, on CLOCK_MONOTONIC (Node's process.hrtime clock), for a bench's latency.
        emit(event="sample", key=str(sample.key_expr), payload=sample.payload.to_bytes().hex(), attachment=parse_attachment(sample.attachment), mono_ns=time.monotonic_ns())

    sub_key = s.get("key", f"{domain}/{s['topic'].lstrip('/')}/{dds_type(s['type'])}/*")
    if s.get("transient_local"):
        # As rmw_zenoh (from 0.2.2) subscribes: eclipse-zenoh's own zenoh-ext AdvancedSubscriber, which asks the
        # publishers' caches for their last samples (history and live samples alike come as "sample" events).
        handles.append(
            ext.declare_advanced_subscriber(
                session,
                sub_key,
                on_sample,
                history=ext.HistoryConfig(detect_late_publishers=True, max_samples=s.get("depth", 10)),
                subscriber_detection=True,
            )
        )
    else:
        handles.append(session.declare_subscriber(sub_key, on_sample))

if "serve" in spec:
    v = spec["serve"]
    tokens.append(session.liveliness().declare_token(entity_token(12, "SS", v["service"], "std_srvs/srv/SetBool", v["hash"])))

    def on_query(query):
        data = query.payload.to_bytes()[4] if query.payload is not None else 0
        message = f"ok:{data}".encode() + b"\0"
        body = bytes([data, 0, 0, 0]) + struct.pack("<I", len(message)) + message
        att = parse_attachment(query.attachment)
        reply_att = struct.pack("<qq", att["seq"], time.time_ns()) + bytes([16]) + bytes.fromhex(att["gid"]) if att else None
        query.reply(query.key_expr, b"\x00\x01\x00\x00" + body, attachment=reply_att)
        emit(event="served", data=data, attachment=att)
        # The query's final goes when this callback returns.
        time.sleep(v.get("hold_final_s", 0))

    handles.append(session.declare_queryable(key(v["service"], "std_srvs/srv/SetBool", v["hash"]), on_query, complete=True))

if "call" in spec:
    # A ROS 2 service client as rmw_zenoh's: a get to all complete queryables, with the attachment.
    c = spec["call"]
    replies = []
    for reply in session.get(c["key"], payload=bytes.fromhex(c["request"]), attachment=attachment(c.get("seq", 7), gid), target=zenoh.QueryTarget.ALL_COMPLETE, timeout=10):
        if reply.ok is not None:
            replies.append({"ok": True, "payload": reply.ok.payload.to_bytes().hex(), "attachment": parse_attachment(reply.ok.attachment)})
        else:
            replies.append({"ok": False, "payload": reply.err.payload.to_bytes().decode(errors="replace")})
    emit(event="replies", replies=replies, gid=gid.hex())
    session.close()
    sys.exit(0)

measured = {}
if "measure" in spec:
    # For benchmarks: per topic, the count, bytes and latency (now - the attachment's source timestamp), in ms.
    for m in spec["measure"]:
        stats = measured.setdefault(m["topic"], {"count": 0, "bytes": 0, "latency_ms": []})

        def on_measured(sample, stats=stats):
            stats["count"] += 1
            stats["bytes"] += len(sample.payload)
            att = sample.attachment
            if att is not None:
                stats["latency_ms"].append((time.time_ns() - struct.unpack_from("<q", att.to_bytes(), 8)[0]) / 1e6)

        handles.append(session.declare_subscriber(f"{domain}/{m['topic'].lstrip('/')}/{dds_type(m['type'])}/*", on_measured))

if "repeat_get" in spec:
    # For benchmarks: the round trip of `n` gets of one key, and of `n` HTTP POSTs of the same body, in ms.
    import urllib.request

    r = spec["repeat_get"]
    zenoh_ms, http_ms = [], []
    for _ in range(r["n"]):
        t = time.perf_counter()
        replies = list(session.get(r["key"], payload=r["payload"].encode(), encoding="application/json", timeout=10))
        zenoh_ms.append((time.perf_counter() - t) * 1000)
        assert replies and replies[0].ok is not None, "no reply"
    if r.get("http"):
        for _ in range(r["n"]):
            t = time.perf_counter()
            req = urllib.request.Request(r["http"], data=json.dumps({"input": json.loads(r["payload"])}).encode(), headers={"content-type": "application/json"})
            urllib.request.urlopen(req).read()
            http_ms.append((time.perf_counter() - t) * 1000)
    emit(event="round_trips", zenoh_ms=zenoh_ms, http_ms=http_ms)
    session.close()
    sys.exit(0)

if "get" in spec:
    g = spec["get"]
    started = time.perf_counter()
    replies = []
    for reply in session.get(g["key"], payload=g.get("payload", "").encode(), encoding=g.get("encoding", "application/json"), timeout=g.get("timeout_s", 10)):
        if reply.ok is not None:
            replies.append({"ok": True, "key": str(reply.ok.key_expr), "payload": reply.ok.payload.to_bytes().decode(errors="replace"), "encoding": str(reply.ok.encoding)})
        else:
            replies.append({"ok": False, "payload": reply.err.payload.to_bytes().decode(errors="replace"), "encoding": str(reply.err.encoding)})
    emit(event="replies", replies=replies, elapsed_ms=(time.perf_counter() - started) * 1000)
    session.close()
    sys.exit(0)

if spec.get("liveliness"):
    def on_token(sample):
        emit(event="token", key=str(sample.key_expr), alive=sample.kind == zenoh.SampleKind.PUT)

    lv_key = spec["liveliness"] if isinstance(spec["liveliness"], str) else f"@ros2_lv/{domain}/**"
    handles.append(session.liveliness().declare_subscriber(lv_key, on_token, history=True))

emit(event="ready", zid=zid)
for line in sys.stdin:
    words = line.split()
    if not words or words[0] == "quit":
        break
    if words[0] == "pub":
        publish(bytes.fromhex(words[1]))
    if words[0] == "report":
        emit(event="report", topics=measured)
        for stats in measured.values():
            stats.update(count=0, bytes=0, latency_ms=[])
session.close()
