#!/usr/bin/env python3
"""tests/integration/rr_server.py - a loopback remote-read endpoint with
canned answers for the error, auth and TLS suites (standard library only).

    rr_server.py PORT LOGFILE STREAMED_BODY SAMPLES_BODY [CERT KEY CLIENT_CA]

The first path segment picks the answer: POST /<mode>/api/v1/read. Every
request is appended to LOGFILE as one JSON object {"mode", "headers",
"body_len"}. With CERT/KEY it speaks TLS and, with CLIENT_CA, requires a
client certificate signed by it. Modes:

  good       200, the streamed body (frames captured from Prometheus 2.42)
  samples    200, the SAMPLES body (captured)
  empty      200 streamed content type, no body
  crc        the streamed body with one byte of the first frame's CRC flipped
  truncate   the streamed body cut inside its second frame
  huge       a frame whose length varint says 2^62
  overflow   a frame length varint longer than 64 bits
  ctype      200 with Content-Type text/html
  500        500 with a plain-text body, every time
  400        400 with a plain-text body
  503once    503 the first time, then good; with ?rotate=FILE the token file
             is rewritten ("token-2") before the 503 is sent
  histogram  the streamed body with a native histogram chunk (encoding 2)
             added to each series, before its XOR chunk in the first frame
             and after it in the second
  stall      waits 30 s before answering
  stallbody  sends the headers and half the body, then waits 30 s
"""
import http.server
import json
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

port, logfile, streamed_file, samples_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
tls = sys.argv[5:8]
STREAMED = open(streamed_file, "rb").read()
SAMPLES = open(samples_file, "rb").read()
SCT = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
lock = threading.Lock()
seen = {}


def uvarint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def put_uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def pb_fields(m):
    """(field, wire type, raw bytes of the whole field) for each field of m"""
    i, out = 0, []
    while i < len(m):
        start = i
        key, i = uvarint(m, i)
        if key & 7 == 0:
            _, i = uvarint(m, i)
        elif key & 7 == 2:
            n, i = uvarint(m, i)
            i += n
        else:
            raise ValueError("wire type %d" % (key & 7))
        out.append((key >> 3, key & 7, m[start:i]))
    return out


def pb_bytes(field, data):
    return put_uvarint(field << 3 | 2) + put_uvarint(len(data)) + data


def frames(body):
    """the messages of a streamed body"""
    i, out = 0, []
    while i < len(body):
        n, i = uvarint(body, i)
        out.append(body[i + 4 : i + 4 + n])
        i += 4 + n
    return out


def frame(msg):
    return put_uvarint(len(msg)) + crc32c(msg).to_bytes(4, "big") + msg


def with_histogram_chunks(body):
    """body with one native histogram chunk (encoding 2, an empty one:
    sample count 0, no layout) added to every series of every frame: before
    the series' other chunks in the first frame, after them in the others"""
    hist = pb_bytes(4, b"\x00\x00\x00")
    hist = put_uvarint(1 << 3) + put_uvarint(1700000000000) + put_uvarint(3 << 3) + put_uvarint(2) + hist
    hist = pb_bytes(2, hist)
    out = b""
    for k, msg in enumerate(frames(body)):
        new = b""
        for f, _, raw in pb_fields(msg):
            if f != 1:
                new += raw
                continue
            _, i = uvarint(raw, 0)
            n, i = uvarint(raw, i)
            parts = pb_fields(raw[i : i + n])
            labels = b"".join(r for g, _, r in parts if g == 1)
            chunks = b"".join(r for g, _, r in parts if g != 1)
            series = labels + (hist + chunks if k == 0 else chunks + hist)
            new += pb_bytes(1, series)
        out += frame(new)
    return out


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, ctype, body, extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        u = urllib.parse.urlparse(self.path)
        mode = u.path.strip("/").split("/")[0]
        q = urllib.parse.parse_qs(u.query)
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        with lock:
            seen[mode] = seen.get(mode, 0) + 1
            count = seen[mode]
            with open(logfile, "a") as f:
                f.write(json.dumps({"mode": mode, "headers": dict(self.headers.items()), "body_len": n}) + "\n")
        if mode == "good":
            self.answer(200, SCT, STREAMED)
        elif mode == "samples":
            self.answer(200, "application/x-protobuf", SAMPLES, {"Content-Encoding": "snappy"})
        elif mode == "empty":
            self.answer(200, SCT, b"")
        elif mode == "crc":
            _, i = uvarint(STREAMED, 0)
            b = bytearray(STREAMED)
            b[i + 1] ^= 0x01
            self.answer(200, SCT, bytes(b))
        elif mode == "truncate":
            n0, i = uvarint(STREAMED, 0)
            second = i + 4 + n0
            self.answer(200, SCT, STREAMED[: second + 20])
        elif mode == "huge":
            self.answer(200, SCT, b"\x80\x80\x80\x80\x80\x80\x80\x80\x40" + b"\0" * 64)
        elif mode == "overflow":
            self.answer(200, SCT, b"\xff" * 12)
        elif mode == "ctype":
            self.answer(200, "text/html; charset=utf-8", b"<html>not remote read</html>")
        elif mode == "500":
            self.answer(500, "text/plain; charset=utf-8", b"boom: storage failed\n")
        elif mode == "400":
            self.answer(400, "text/plain; charset=utf-8", b"bad request: no matchers\n")
        elif mode == "503once":
            if count == 1:
                if "rotate" in q:
                    with open(q["rotate"][0], "w") as f:
                        f.write("token-2\n")
                self.answer(503, "text/plain", b"not ready\n")
            else:
                self.answer(200, SCT, STREAMED)
        elif mode == "histogram":
            self.answer(200, SCT, with_histogram_chunks(STREAMED))
        elif mode == "stall":
            time.sleep(30)
            self.answer(200, SCT, STREAMED)
        elif mode == "stallbody":
            self.send_response(200)
            self.send_header("Content-Type", SCT)
            self.send_header("Content-Length", str(len(STREAMED)))
            self.end_headers()
            self.wfile.write(STREAMED[: len(STREAMED) // 2])
            self.wfile.flush()
            time.sleep(30)
        else:
            self.answer(404, "text/plain", b"unknown mode\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", port), H)
if tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls[0], tls[1])
    if len(tls) > 2:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(tls[2])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
