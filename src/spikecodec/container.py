"""The ``.spk`` file format: a checked header, then one checksummed chunk per time slice.

Layout (all integers little-endian)::

    magic     4 bytes  b"\\x89SPK"
    version   u8       FORMAT_VERSION
    mode      u8       0 = grayscale "L", 1 = "RGB" (YCbCr 4:2:0 inside)
    width     u32
    height    u32
    R, C, T   f64 x 3  neuron resistance, capacitance, window T (ms)
    theta     f64      base threshold; band f of plane c uses theta * table_c[f]
    bias      f32      bias current as a fraction beta of the step: b_f = beta*C*theta_f/T
    table     u8       threshold table id (see :mod:`.tables`)
    chroma    f32      extra threshold factor of the chroma planes
    planes    u8       number of count bit-planes P = number of time slices
    crc       u32      CRC32 of everything above
    then P chunks, earliest instant first:
    length    u32      payload bytes
    crc       u32      CRC32 of the payload
    payload   length bytes

Reading checks the magic, version, header CRC and limits (dimensions, slices) before any
allocation, and each chunk's length against the bytes present.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .errors import CorruptStreamError, LimitError, TruncatedStreamError

__all__ = ["MAGIC", "Header", "MAX_IMAGE_PIXELS", "pack", "unpack"]

MAGIC = b"\x89SPK"
FORMAT_VERSION = 1
MAX_IMAGE_PIXELS = 178_956_970  # the same default cap as Pillow's Image.MAX_IMAGE_PIXELS
MAX_PLANES = 40
MODES = ("L", "RGB")

_HEADER = struct.Struct("<4sBBII4dfBfB")
_CRC = struct.Struct("<I")
_CHUNK = struct.Struct("<II")
HEADER_SIZE = _HEADER.size + _CRC.size


@dataclass(frozen=True)
class Header:
    """What a decoder needs before the first slice: image geometry and neuron parameters."""

    mode: str
    width: int
    height: int
    R: float
    C: float
    T: float
    theta: float
    bias: float
    table: int
    chroma: float
    planes: int


def pack(header: Header, chunks: list[bytes]) -> bytes:
    """Serialize a header and its time-slice chunks into a ``.spk`` byte string."""
    fields = _HEADER.pack(
        MAGIC,
        FORMAT_VERSION,
        MODES.index(header.mode),
        header.width,
        header.height,
        header.R,
        header.C,
        header.T,
        header.theta,
        header.bias,
        header.table,
        header.chroma,
        header.planes,
    )
    parts = [fields, _CRC.pack(zlib.crc32(fields))]
    for payload in chunks:
        parts += [_CHUNK.pack(len(payload), zlib.crc32(payload)), payload]
    return b"".join(parts)


def read_header(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS) -> Header:
    """Parse and check the header; raise a :class:`SpikeCodecError` subclass if it is bad."""
    if not data.startswith(MAGIC) and not MAGIC.startswith(data):
        raise CorruptStreamError("not a spikecodec stream (bad magic bytes)")
    if len(data) < HEADER_SIZE:
        raise TruncatedStreamError(f"the header needs {HEADER_SIZE} bytes, got {len(data)}")
    fields = data[: _HEADER.size]
    (crc,) = _CRC.unpack_from(data, _HEADER.size)
    (_, version, mode, width, height, R, C, T, theta, bias, table, chroma, planes) = _HEADER.unpack(
        fields
    )
    if version != FORMAT_VERSION:
        raise CorruptStreamError(f"unsupported format version {version} (this reads 1)")
    if zlib.crc32(fields) != crc:
        raise CorruptStreamError("header checksum mismatch")
    if mode >= len(MODES):
        raise CorruptStreamError(f"unknown image mode id {mode}")
    if width < 1 or height < 1:
        raise CorruptStreamError(f"invalid image size {width}x{height}")
    if width * height > max_pixels:
        raise LimitError(
            f"image of {width}x{height} = {width * height} pixels exceeds the limit of "
            f"{max_pixels} (raise max_pixels to decode it)"
        )
    if not 1 <= planes <= MAX_PLANES:
        raise CorruptStreamError(f"invalid number of time slices {planes}")
    return Header(MODES[mode], width, height, R, C, T, theta, bias, table, chroma, planes)


class PartialChunk(bytes):
    """The bytes received of a chunk cut short; ``declared`` is the length its header gave."""

    declared: int

    def __new__(cls, payload: bytes, declared: int) -> PartialChunk:
        chunk = super().__new__(cls, payload)
        chunk.declared = declared
        return chunk


def unpack(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS) -> tuple[Header, list[bytes], bytes]:
    """Split a stream into its header, its complete checked chunks, and a partial last chunk.

    A stream cut short is not an error: the chunks fully present are returned, with the bytes of
    the chunk that was being received (a :class:`PartialChunk`, possibly empty). A chunk whose
    CRC does not match raises :class:`CorruptStreamError` (``err.chunks`` holds the good chunks
    before it, ``err.header`` the header).
    """
    data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    header = read_header(bytes(data[:HEADER_SIZE]), max_pixels)
    chunks: list[bytes] = []
    pos = HEADER_SIZE
    while len(chunks) < header.planes and pos < len(data):
        if len(data) - pos < _CHUNK.size:
            return header, chunks, PartialChunk(b"", 0)
        length, crc = _CHUNK.unpack_from(data, pos)
        pos += _CHUNK.size
        payload = bytes(data[pos : pos + length])
        pos += length
        if len(payload) < length:
            return header, chunks, PartialChunk(payload, length)
        if zlib.crc32(payload) != crc:
            raise CorruptStreamError(
                f"checksum mismatch in time slice {len(chunks)}", chunks, header
            )
        chunks.append(payload)
    if pos < len(data):
        raise CorruptStreamError(
            f"{len(data) - pos} unexpected bytes after the last time slice", chunks, header
        )
    return header, chunks, PartialChunk(b"", 0)
