"""A minimal protocol-buffer wire-format reader and writer for ``tf.train.Example``.

The pointer-generator pipeline (See et al., 2017, ``make_datafiles.py``)
stores CNN/DailyMail as chunked ``.bin`` files: a sequence of records, each an
8-byte little-endian signed length (``struct`` format ``<q``) followed by that
many bytes of a serialized ``tf.train.Example``. This module reads and writes
those files without TensorFlow or the ``protobuf`` package.

The wire format (protobuf encoding documentation): a message is a sequence of
fields, each a *key* varint ``(field_number << 3) | wire_type`` then a value:
wire type 0 a varint, 1 eight bytes, 2 a varint length then that many bytes
(strings, bytes, nested messages, packed repeated scalars), 5 four bytes.
Varints are little-endian base-128 with the high bit of each byte meaning
"more bytes follow". The messages used here (``tensorflow/core/example``):

.. code-block:: text

    Example   { Features features = 1; }
    Features  { map<string, Feature> feature = 1; }   # entry: {string key = 1; Feature value = 2;}
    Feature   { oneof { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }
    FloatList { repeated float value = 1 [packed]; }
    Int64List { repeated int64 value = 1 [packed]; }
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

__all__ = [
    "FeatureValue",
    "decode_varint",
    "encode_example",
    "encode_varint",
    "iter_fields",
    "parse_example",
    "read_bin_records",
    "write_bin_records",
]

FeatureValue = list[bytes] | list[float] | list[int]

_WT_VARINT, _WT_I64, _WT_LEN, _WT_I32 = 0, 1, 2, 5


def decode_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode an unsigned varint at ``pos``; return ``(value, next position)``."""
    result = 0
    shift = 0
    n = len(buf)
    while True:
        if pos >= n:
            raise ValueError("truncated varint in protobuf message")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint longer than 10 bytes in protobuf message")


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer (< 2**64) as a varint; negative int64 use two's complement."""
    if value < 0:
        value += 1 << 64
    if not 0 <= value < 1 << 64:
        raise ValueError(f"varint value out of range: {value}")
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def iter_fields(buf: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """Yield ``(field_number, wire_type, value)`` of one message.

    The value is an ``int`` for varints and a ``memoryview`` of the raw bytes
    otherwise (the payload for length-delimited fields, 8 or 4 bytes for
    fixed-width ones). Raises ``ValueError`` on truncated or malformed input
    and on the deprecated group wire types 3 / 4.
    """
    mv = memoryview(buf)
    pos, n = 0, len(mv)
    while pos < n:
        key, pos = decode_varint(mv, pos)
        field, wt = key >> 3, key & 7
        if field == 0:
            raise ValueError("protobuf field number 0 is invalid")
        if wt == _WT_VARINT:
            val, pos = decode_varint(mv, pos)
            yield field, wt, val
            continue
        if wt == _WT_LEN:
            size, pos = decode_varint(mv, pos)
        elif wt == _WT_I64:
            size = 8
        elif wt == _WT_I32:
            size = 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt} (field {field})")
        end = pos + size
        if end > n:
            raise ValueError(f"truncated protobuf field {field}: needs {size} bytes, {n - pos} left")
        yield field, wt, mv[pos:end]
        pos = end


def _parse_feature(buf: memoryview) -> FeatureValue:
    for field, wt, val in iter_fields(buf):
        if wt != _WT_LEN:
            raise ValueError(f"tf.Feature field {field} has wire type {wt}, expected a message")
        if field == 1:  # BytesList
            return [bytes(v) for f, w, v in iter_fields(val) if f == 1 and w == _WT_LEN]  # type: ignore[arg-type]
        if field == 2:  # FloatList: packed (wt 2) or not (wt 5)
            floats: list[float] = []
            for f, w, v in iter_fields(val):  # type: ignore[arg-type]
                if f != 1:
                    continue
                if w == _WT_LEN:
                    if len(v) % 4:
                        raise ValueError("packed FloatList length is not a multiple of 4")
                    floats.extend(struct.unpack(f"<{len(v) // 4}f", v))
                elif w == _WT_I32:
                    floats.append(struct.unpack("<f", v)[0])
            return floats
        if field == 3:  # Int64List: packed (wt 2) or not (wt 0)
            ints: list[int] = []
            for f, w, v in iter_fields(val):  # type: ignore[arg-type]
                if f != 1:
                    continue
                if w == _WT_LEN:
                    p = 0
                    while p < len(v):
                        x, p = decode_varint(v, p)
                        ints.append(x - (1 << 64) if x >= 1 << 63 else x)
                elif w == _WT_VARINT:
                    ints.append(v - (1 << 64) if v >= 1 << 63 else v)  # type: ignore[operator]
            return ints
    return []


def parse_example(data: bytes | memoryview) -> dict[str, FeatureValue]:
    """Parse a serialized ``tf.train.Example`` into ``{feature name: values}``.

    Bytes features give ``list[bytes]``, float features ``list[float]`` and
    int64 features ``list[int]``; unknown fields are skipped.
    """
    out: dict[str, FeatureValue] = {}
    for field, wt, features in iter_fields(data):
        if field != 1 or wt != _WT_LEN:
            continue
        for f, w, entry in iter_fields(features):  # type: ignore[arg-type]
            if f != 1 or w != _WT_LEN:
                continue
            key: str | None = None
            value: FeatureValue = []
            for ef, ew, ev in iter_fields(entry):  # type: ignore[arg-type]
                if ef == 1 and ew == _WT_LEN:
                    key = bytes(ev).decode("utf-8")  # type: ignore[arg-type]
                elif ef == 2 and ew == _WT_LEN:
                    value = _parse_feature(ev)  # type: ignore[arg-type]
            if key is None:
                raise ValueError("tf.Features map entry without a key")
            out[key] = value
    return out


def _len_field(field: int, payload: bytes) -> bytes:
    return encode_varint((field << 3) | _WT_LEN) + encode_varint(len(payload)) + payload


def encode_example(features: Mapping[str, Sequence[bytes | str] | Sequence[float] | Sequence[int]]) -> bytes:
    """Serialize ``{name: values}`` as a ``tf.train.Example``.

    ``bytes`` / ``str`` values (``str`` encoded as UTF-8) make a BytesList,
    ``float`` values a packed FloatList, ``int`` values a packed Int64List.
    An empty list is written as an empty BytesList.
    """
    entries = bytearray()
    for name, values in features.items():
        vals = list(values)
        if all(isinstance(v, bytes | str) for v in vals):
            inner = b"".join(_len_field(1, v.encode("utf-8") if isinstance(v, str) else v) for v in vals)
            feat = _len_field(1, inner)
        elif all(isinstance(v, float) for v in vals):
            feat = _len_field(2, _len_field(1, struct.pack(f"<{len(vals)}f", *vals)))
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
            feat = _len_field(3, _len_field(1, b"".join(encode_varint(v) for v in vals)))
        else:
            raise TypeError(f"feature {name!r}: values must be all bytes/str, all float or all int")
        entries += _len_field(1, _len_field(1, name.encode("utf-8")) + _len_field(2, feat))
    return _len_field(1, bytes(entries))


def read_bin_records(path: str | os.PathLike) -> Iterator[bytes]:
    """Yield the serialized records of a pointer-generator ``.bin`` file.

    Raises ``ValueError`` naming the file and byte offset for a truncated
    length prefix or a length that runs past the end of the file.
    """
    p = Path(path)
    data = p.read_bytes()
    pos, n = 0, len(data)
    while pos < n:
        if pos + 8 > n:
            raise ValueError(f"{p}: truncated record length at byte {pos} ({n - pos} byte(s) left, need 8)")
        (size,) = struct.unpack_from("<q", data, pos)
        if size < 0 or pos + 8 + size > n:
            raise ValueError(f"{p}: record at byte {pos} claims {size} bytes, only {n - pos - 8} left")
        yield data[pos + 8 : pos + 8 + size]
        pos += 8 + size


def write_bin_records(path: str | os.PathLike, records: Iterable[bytes]) -> int:
    """Write records as ``<q`` length + bytes (the pointer-generator format); return the count."""
    count = 0
    with open(path, "wb") as f:
        for r in records:
            f.write(struct.pack("<q", len(r)))
            f.write(r)
            count += 1
    return count
