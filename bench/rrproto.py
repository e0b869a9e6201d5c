"""bench/rrproto.py - remote-read ReadRequest bytes for the transport floor.

Builds a snappy-compressed (block format) protobuf `prometheus.ReadRequest`
the way a remote-read client sends it, so `curl` can POST it and measure
what the server and the wire cost on their own. Used only when stopgate
cannot write its own request bytes (`--write-request`): the floor then asks
for the same selectors and windows the benchmark expression needs.

Not a client: it does not read responses. The snappy encoder writes only
literal elements, which every snappy decoder accepts; the server's decode
cost for a request of a few hundred bytes is nil either way.
"""

EQ, NEQ, RE, NRE = 0, 1, 2, 3
SAMPLES, STREAMED = 0, 1


def _uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _uvarint(field << 3 | wire)


def _int(field, v):
    if v == 0:
        return b""
    return _key(field, 0) + _uvarint(v & 0xFFFFFFFFFFFFFFFF)


def _bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return _key(field, 2) + _uvarint(len(b)) + b


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
        packed = b"".join(_uvarint(t) for t in response_types)
        out += _bytes(2, packed)
    return out


def snappy_block(data):
    """Snappy block format, literal elements only."""
    out = bytearray(_uvarint(len(data)))
    i = 0
    while i < len(data):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2, n & 0xFF, n >> 8])
        out += chunk
        i += len(chunk)
    return bytes(out)


def encoded_request(queries, response_types):
    return snappy_block(read_request(queries, response_types))
