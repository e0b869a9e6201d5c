"""bench/rrproto.py - remote-read ReadRequest bytes for the transport floor.

Builds a snappy-compressed (block format) protobuf `prometheus.ReadRequest`
the way a remote-read client sends it, so `curl` can POST it and measure
what the server and the wire cost on their own. Used only when stopgate
cannot write its own request bytes (`--write-request`): the floor then asks
for the same selectors and windows the benchmark expression needs.

Not a client: it does not read responses. The wire encoding and the snappy
block (literal elements only, which every snappy decoder accepts; the
server's decode cost for a request of a few hundred bytes is nil either
way) come from tests/lib/pbwire.py.
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import pbwire  # noqa: E402

EQ, NEQ, RE, NRE = 0, 1, 2, 3
SAMPLES, STREAMED = 0, 1


def _int(field, v):
    """A varint field, left out when zero as proto3 does."""
    if v == 0:
        return b""
    return pbwire.field(field, pbwire.VARINT, pbwire.uvarint(v))


_bytes = pbwire.bytes_field


def matcher(name, value, mtype=EQ):
    return (mtype, name, value)


def query(start_ms, end_ms, matchers, step_ms=0, func="", range_ms=0):
    """One remote-read Query: [start_ms, end_ms] and the matchers, with hints."""
    body = _int(1, start_ms) + _int(2, end_ms)
    for t, n, v in matchers:
        body += _bytes(3, _int(1, t) + _bytes(2, n) + _bytes(3, v))
    hints = _int(1, step_ms) + (_bytes(2, func) if func else b"") + _int(3, start_ms) + _int(4, end_ms) \
        + _int(7, range_ms)
    body += _bytes(4, hints)
    return body


def read_request(queries, response_types):
    """ReadRequest protobuf bytes (uncompressed)."""
    out = b"".join(_bytes(1, q) for q in queries)
    if response_types:
        packed = b"".join(pbwire.uvarint(t) for t in response_types)
        out += _bytes(2, packed)
    return out


snappy_block = pbwire.snappy_block


def encoded_request(queries, response_types):
    return snappy_block(read_request(queries, response_types))
