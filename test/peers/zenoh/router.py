"""A Zenoh router (eclipse-zenoh opened in router mode), for tests: prints READY <zid>.

python router.py <endpoint>[,<endpoint>...] [<config.json5>]: listens on the endpoints; a config file (a router's
own, e.g. with access_control) is read first, and the endpoints and scouting settings below replace its own.
"""
import json
import sys
import threading

import zenoh

endpoints = sys.argv[1].split(",")
conf = zenoh.Config.from_file(sys.argv[2]) if len(sys.argv) > 2 else zenoh.Config()
conf.insert_json5("mode", '"router"')
conf.insert_json5("listen/endpoints", json.dumps(endpoints))
conf.insert_json5("scouting/multicast/enabled", "false")
conf.insert_json5("scouting/gossip/enabled", "false")
session = zenoh.open(conf)
print("READY", session.zid(), flush=True)
# Runs until its parent closes stdin or kills it.
threading.Thread(target=sys.stdin.read, daemon=True).start()
threading.Event().wait()
