"""Reading an ONNX file without its weights: the protobuf wire format walked over a memory map.

A model file is a ModelProto whose graph holds the initializers (the weights) inline. Parsing it whole keeps the
file's bytes and a parsed copy of every weight in memory: twice the file. costcalc needs only the weights' names,
types and dims, so `model_bytes` walks the wire format (tag, length, value) of ModelProto -> GraphProto ->
TensorProto over a read-only memory map and copies every field except the data of the large initializers, whose
pages are never read. The result is a small, valid ModelProto; each tensor left out is remembered by its span in
the file, so its values can still be read if a constant needs them (`tensor_bytes`).

Malformed input (a length past the end, a varint longer than 10 bytes, a wire type ONNX does not use) raises
`WireError`; nothing here allocates more than the copied fields.
"""

from __future__ import annotations

import mmap

MODEL_GRAPH = 7  # ModelProto.graph
GRAPH_INITIALIZER = 5  # GraphProto.initializer (repeated TensorProto)
TENSOR_NAME = 8  # TensorProto.name
TENSOR_DATA = {4, 5, 6, 7, 9, 10, 11}  # float_data, int32_data, string_data, int64_data, raw_data, double, uint64
KEEP_BYTES = 4096  # data fields up to this size are kept: shape constants, scalars, small vectors


class WireError(ValueError):
    """The file is not a well-formed protobuf message."""


def _varint(buf, pos: int, end: int) -> tuple:
    result = shift = 0
    while True:
        if pos >= end:
            raise WireError("truncated (a number runs past the end)")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError("malformed (a number longer than 10 bytes)")


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf, pos: int, end: int):
    """(field number, wire type, start of the field's tag, start of its value, end of its value) of a message."""
    while pos < end:
        start = pos
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("malformed (field number 0)")
        if wire == 0:
            _, value_end = _varint(buf, pos, end)
        elif wire == 1:
            value_end = pos + 8
        elif wire == 5:
            value_end = pos + 4
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            value_end = pos + length
        else:
            raise WireError(f"malformed (wire type {wire}, which ONNX files do not use)")
        if value_end > end:
            raise WireError("truncated (a field runs past the end of its message)")
        yield number, wire, start, pos, value_end
        pos = value_end


def _tensor(buf, start: int, end: int, out: bytearray, omitted: dict) -> None:
    """Copy one TensorProto into `out` without its large data field(s); note what was left out under its name."""
    body = bytearray()
    name, dropped = None, False
    for number, wire, tag, value, value_end in _fields(buf, start, end):
        if number in TENSOR_DATA and wire == 2 and value_end - value > KEEP_BYTES:
            dropped = True
            continue
        if number == TENSOR_NAME and wire == 2:
            name = bytes(buf[value:value_end]).decode("utf-8", "replace")
        body += buf[tag:value_end]
    if dropped:
        omitted[name] = (start, end)
    out += _encode_varint((GRAPH_INITIALIZER << 3) | 2) + _encode_varint(len(body)) + body


def _graph(buf, start: int, end: int, omitted: dict) -> bytearray:
    out = bytearray()
    for number, wire, tag, value, value_end in _fields(buf, start, end):
        if number == GRAPH_INITIALIZER and wire == 2:
            _tensor(buf, value, value_end, out, omitted)
        else:
            out += buf[tag:value_end]
    return out


def model_bytes(path: str) -> tuple:
    """(the ModelProto bytes of the file at `path` without the data of its large initializers, {initializer name:
    (start, end) of its TensorProto in the file}). Raises OSError or WireError."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        if size == 0:
            raise WireError("empty")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            out, omitted = bytearray(), {}
            for number, wire, tag, value, value_end in _fields(buf, 0, size):
                if number == MODEL_GRAPH and wire == 2:
                    graph = _graph(buf, value, value_end, omitted)
                    out += _encode_varint((MODEL_GRAPH << 3) | 2) + _encode_varint(len(graph)) + graph
                else:
                    out += buf[tag:value_end]
            return bytes(out), omitted


def tensor_bytes(path: str, span: tuple) -> bytes:
    """The TensorProto bytes at `span` of the file (a tensor `model_bytes` left out)."""
    start, end = span
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end - start)
