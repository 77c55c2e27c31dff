"""
A Zenoh peer that floods the graph, for tests: python flood_peer.py '<json spec>' with the router, `count` and
`prefix`, declares `count` rmw_zenoh publisher tokens (topics <prefix>/t0, <prefix>/t1, ... of std_msgs/msg/String,
as many nodes' topics would announce them), prints {"event": "ready", "tokens": count}, and holds them until
stdin closes. With "churn": true it then undeclares and declares them again, over and over, until stdin closes.
"""
import json
import sys
import threading

import zenoh

from client_config import client_config

spec = json.loads(sys.argv[1])
domain = spec.get("domain", 0)
prefix = spec.get("prefix", "/flood").strip("/").replace("/", "%")
conf = client_config(spec["router"])
session = zenoh.open(conf)
zid = str(session.zid())
node = session.liveliness().declare_token(f"@ros2_lv/{domain}/{zid}/0/0/NN/%/%/flood")


def declare():
    return [
        session.liveliness().declare_token(
            f"@ros2_lv/{domain}/{zid}/0/{i + 1}/MP/%/%/flood/%{prefix}%t{i}/std_msgs::msg::dds_::String_/TypeHashNotSupported/::,10:,:,:,,"
        )
        for i in range(spec["count"])
    ]


tokens = declare()
print(json.dumps({"event": "ready", "tokens": len(tokens)}), flush=True)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
while spec.get("churn") and not done.is_set():
    for token in tokens:
        token.undeclare()
    tokens = declare()
done.wait()
session.close()
