"""
A ROS 2 publisher of large samples on Zenoh, made with eclipse-zenoh itself, for tests: an rmw_zenoh-keyed publisher
of sensor_msgs/msg/Image (its MP token, its data key, the 33-byte attachment) declared with congestion control BLOCK
and reliable, as a robot's camera should publish samples that must not be dropped on a busy link ("congestion_control":
"drop" for eclipse-zenoh's default, which drops a sample its transmission queue cannot take at once).

python large_publisher.py '<json spec>': router, topic, hash, and stdin lines "pub <bytes> <fill>": one sample of that
many bytes (a CDR header, then the fill byte), printed as {"event": "published", seq, bytes, put_ms} once `put` returned
(with BLOCK, once Zenoh took it). Prints {"event": "ready"} first; ends when stdin closes.
"""
import json
import struct
import sys
import time

import zenoh

from client_config import client_config

spec = json.loads(sys.argv[1])
domain = spec.get("domain", 0)
topic = spec["topic"].lstrip("/")
dds_type = "sensor_msgs::msg::dds_::Image_"
conf = client_config(spec["router"])
session = zenoh.open(conf)
zid = str(session.zid())
node = session.liveliness().declare_token(f"@ros2_lv/{domain}/{zid}/0/0/NN/%/%/camera")
token = session.liveliness().declare_token(
    f"@ros2_lv/{domain}/{zid}/0/10/MP/%/%/camera/%{topic.replace('/', '%')}/{dds_type}/{spec['hash']}/::,10:,:,:,,"
)
publisher = session.declare_publisher(
    f"{domain}/{topic}/{dds_type}/{spec['hash']}",
    congestion_control=zenoh.CongestionControl.DROP if spec.get("congestion_control") == "drop" else zenoh.CongestionControl.BLOCK,
    reliability=zenoh.Reliability.RELIABLE,
)
gid = bytes(range(16))
print(json.dumps({"event": "ready", "zid": zid}), flush=True)
seq = 0
for line in sys.stdin:
    words = line.split()
    if len(words) != 3 or words[0] != "pub":
        continue
    size, fill = int(words[1]), int(words[2])
    seq += 1
    payload = bytearray([fill]) * size
    payload[0:4] = b"\x00\x01\x00\x00"
    started = time.perf_counter()
    publisher.put(bytes(payload), attachment=struct.pack("<qq", seq, time.time_ns()) + bytes([16]) + gid)
    print(json.dumps({"event": "published", "seq": seq, "bytes": size, "put_ms": (time.perf_counter() - started) * 1000}), flush=True)
publisher.undeclare()
session.close()
