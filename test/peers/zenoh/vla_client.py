"""
An outside caller of ai/inference/vla/<policy> over Zenoh, written from docs/system1.md ("Inference as a service")
alone: it builds the binary payload (application/x-auraison-tensors) with struct and json, and sends camera frames
it made itself, with nothing but the standard library: a raw rgb8 frame (sensor_msgs/msg/Image's fields), a PNG it
encodes itself (zlib), and a JPEG from a file (this venv has no JPEG encoder).

python vla_client.py '<json spec>': spec {router, key, state: [..], jpeg: path, raw: {width, height}, png: {width,
height}, hostile: [{name, format, path}] (optional: frames sent with that format label after the others)}. It prints {"event": "ready"} once its session is open; for each request {"event": "reply", "request", "sent" (the frame's bytes, hex), "encoding",
"fields", "tensors": [{name, shape, data}]}, then {"event": "done"}.
"""
import base64
import json
import math
import struct
import sys
import zlib

import zenoh

from client_config import client_config

TENSORS = "application/x-auraison-tensors"
IMAGE = "observation.images.front"
spec = json.loads(sys.argv[1])


def emit(**event):
    print(json.dumps(event), flush=True)


def encode(tensors, fields):
    """The payload: uint32 LE header length, the JSON header padded so data starts on 8 bytes, then the data."""
    entries, blobs, offset = [], [], 0
    for t in tensors:
        entry = {"name": t["name"], "dtype": t["dtype"], "shape": t["shape"], "offset": offset}
        if "image" in t:
            entry["image"] = t["image"]
        entries.append(entry)
        blob = t["data"] + bytes(-len(t["data"]) % 8)
        blobs.append(blob)
        offset += len(blob)
    header = json.dumps({**fields, "tensors": entries}).encode()
    header += b" " * (-(4 + len(header)) % 8)
    return struct.pack("<I", len(header)) + header + b"".join(blobs)


def decode(payload):
    (n,) = struct.unpack_from("<I", payload, 0)
    header = json.loads(payload[4 : 4 + n])
    tensors = []
    for t in header.pop("tensors", []):
        count = math.prod(t["shape"])
        data = struct.unpack_from(f"<{count}f", payload, 4 + n + t["offset"])
        tensors.append({"name": t["name"], "shape": t["shape"], "data": list(data)})
    return header, tensors


def gradient(width, height):
    """rgb8 pixels that differ across the frame, so a swapped channel or a wrong resize shows."""
    out = bytearray()
    for y in range(height):
        for x in range(width):
            out += bytes([(x * 255) // (width - 1), (y * 255) // (height - 1), (x * 7 + y * 13) % 256])
    return bytes(out)


def png(width, height, rgb):
    """A PNG (8-bit RGB, no filter) written from the spec: signature, IHDR, zlib-compressed IDAT, IEND."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + rgb[y * width * 3 : (y + 1) * width * 3] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


state = {"name": "observation.state", "dtype": "float32", "shape": [1, len(spec["state"])], "data": struct.pack(f"<{len(spec['state'])}f", *spec["state"])}
w, h = spec["raw"]["width"], spec["raw"]["height"]
raw = gradient(w, h)
pw, ph = spec["png"]["width"], spec["png"]["height"]
png_bytes = png(pw, ph, gradient(pw, ph))
with open(spec["jpeg"], "rb") as f:
    jpeg = f.read()


def frame(data, image):
    return {"name": IMAGE, "dtype": "uint8", "shape": [len(data)], "data": data, "image": image}


requests = [
    ("rgb8", raw, [frame(raw, {"encoding": "rgb8", "width": w, "height": h, "step": w * 3}), state]),
    ("png", png_bytes, [frame(png_bytes, {"format": "png"}), state]),
    ("jpeg", jpeg, [frame(jpeg, {"format": "jpeg"}), state]),
    ("truncated jpeg", jpeg[: len(jpeg) // 2], [frame(jpeg[: len(jpeg) // 2], {"format": "jpeg"}), state]),
]
for hostile in spec.get("hostile", []):
    with open(hostile["path"], "rb") as f:
        data = f.read()
    requests.append((hostile["name"], data, [frame(data, {"format": hostile["format"]}), state]))

session = zenoh.open(client_config(spec["router"]))
emit(event="ready")
for i, (name, sent, tensors) in enumerate(requests):
    replies = list(session.get(spec["key"], payload=encode(tensors, {"timestep": i}), encoding=TENSORS, timeout=20))
    reply = replies[0].ok if replies and replies[0].ok is not None else None
    if reply is None:
        err = replies[0].err.payload.to_bytes().decode(errors="replace") if replies else "no reply"
        emit(event="reply", request=name, error=err)
        continue
    fields, out = decode(reply.payload.to_bytes())
    emit(event="reply", request=name, sent=sent.hex(), encoding=str(reply.encoding), fields=fields, tensors=out)

# The JSON form: sensor_msgs/msg/Image as rosbridge writes it, data in base64; the state as a list.
body = {
    IMAGE: {"height": h, "width": w, "encoding": "rgb8", "is_bigendian": 0, "step": w * 3, "data": base64.b64encode(raw).decode()},
    "observation.state": [spec["state"]],
}
replies = list(session.get(spec["key"], payload=json.dumps(body).encode(), encoding="application/json", timeout=20))
emit(event="reply", request="json rgb8", encoding=str(replies[0].ok.encoding), body=json.loads(replies[0].ok.payload.to_bytes()))
emit(event="done")
session.close()
