"""A Zenoh router (eclipse-zenoh opened in router mode) on one TCP endpoint, for tests: prints READY <zid>."""
import json
import sys
import threading

import zenoh

endpoint = sys.argv[1]
conf = zenoh.Config()
conf.insert_json5("mode", '"router"')
conf.insert_json5("listen/endpoints", json.dumps([endpoint]))
conf.insert_json5("scouting/multicast/enabled", "false")
conf.insert_json5("scouting/gossip/enabled", "false")
session = zenoh.open(conf)
print("READY", session.zid(), flush=True)
# Runs until its parent closes stdin or kills it.
threading.Thread(target=sys.stdin.read, daemon=True).start()
threading.Event().wait()
