"""tests/lib/pbwire.py - protobuf wire encoding and snappy literal blocks
(python3 standard library only), for the tools that write remote-read and
remote-write bodies by hand: bench/rrproto.py, tests/differential/gen.py and
tests/integration/test_rr_influxdb.sh.

Varints, keys, length-delimited fields, the prompb messages of remote write
(WriteRequest.timeseries 1; TimeSeries.labels 1, samples 2; Label.name 1,
value 2; Sample.value 1 as fixed64, timestamp 2 as varint), and the snappy
block format made only of literal elements, which every snappy decoder
accepts.

Not a decoder, and it does not compress.
"""
import struct

VARINT, FIXED64, BYTES = 0, 1, 2  # wire types


def uvarint(n):
    """n as a base-128 varint; negative numbers as their 64-bit two's complement."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(num, wire):
    return uvarint(num << 3 | wire)


def field(num, wire, payload):
    """A key and its already encoded payload."""
    return key(num, wire) + payload


def bytes_field(num, data):
    """A length-delimited field (str is UTF-8 encoded)."""
    if isinstance(data, str):
        data = data.encode()
    return field(num, BYTES, uvarint(len(data)) + data)


def label(name, value):
    """A prompb Label message."""
    return bytes_field(1, name) + bytes_field(2, value)


def sample(t_ms, value_bits):
    """A prompb Sample message; value_bits is the 8-byte little-endian double."""
    return field(1, FIXED64, value_bits) + field(2, VARINT, uvarint(t_ms))


def f64(v):
    """The 8 little-endian bytes of the double v."""
    return struct.pack("<d", v)


def timeseries(labels, samples):
    """A prompb TimeSeries: labels as (name, value) pairs in the order given,
    samples as (t_ms, value_bits) pairs."""
    return b"".join(bytes_field(1, label(k, v)) for k, v in labels) + \
        b"".join(bytes_field(2, sample(t, bits)) for t, bits in samples)


def write_request(series):
    """A WriteRequest of already encoded TimeSeries messages (uncompressed)."""
    return b"".join(bytes_field(1, ts) for ts in series)


def snappy_block(data):
    """data in the snappy block format, literal elements only."""
    out = bytearray(uvarint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2, n & 0xFF, n >> 8])
        out += chunk
    return bytes(out)
