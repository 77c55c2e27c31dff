"""The session config every Zenoh test peer opens with: a client of the test's router, with no scouting, so it
reaches nothing but what the test started on loopback."""

import json

import zenoh


def client_config(router):
    conf = zenoh.Config()
    conf.insert_json5("mode", '"client"')
    conf.insert_json5("connect/endpoints", json.dumps([router]))
    conf.insert_json5("scouting/multicast/enabled", "false")
    return conf
