"""
A DDS std_srvs/srv/Trigger server as zenoh-bridge-ros2dds routes it to Zenoh (zenoh-plugin-ros2dds 1.10,
route_service_srv.rs): a liveliness token `@/<zid>/@ros2_lv/SS/<key with §>/std_srvs§srv§Trigger` and a
queryable on `<key>` declared NOT complete, answering the response's CDR with no attachment.

python ros2dds_service.py <router endpoint> <key>: prints {"event": "ready"}, then {"event": "served", "n": n}
per request; the reply is success=True, message="triggered <n>". Runs until stdin closes.
"""
import json
import struct
import sys

import zenoh

router, key = sys.argv[1], sys.argv[2]
conf = zenoh.Config()
conf.insert_json5("mode", '"client"')
conf.insert_json5("connect/endpoints", json.dumps([router]))
conf.insert_json5("scouting/multicast/enabled", "false")
session = zenoh.open(conf)
zid = str(session.zid())
token = session.liveliness().declare_token(f"@/{zid}/@ros2_lv/SS/{key.replace('/', '§')}/std_srvs§srv§Trigger")
served = 0


def on_query(query):
    global served
    served += 1
    message = f"triggered {served}".encode() + b"\0"
    # CDR little endian: bool success, 3 bytes of padding, uint32 length, the string with its NUL.
    body = b"\x00\x01\x00\x00" + bytes([1, 0, 0, 0]) + struct.pack("<I", len(message)) + message
    query.reply(query.key_expr, body)
    print(json.dumps({"event": "served", "n": served}), flush=True)


queryable = session.declare_queryable(key, on_query, complete=False)
print(json.dumps({"event": "ready", "zid": zid}), flush=True)
sys.stdin.read()
session.close()
