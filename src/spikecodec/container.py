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
    size      u32      length of the whole stream in bytes, this header included
    crc       u32      CRC32 of everything above
    then P chunks, earliest instant first:
    length    u32      payload bytes
    crc       u32      CRC32 of the length field's 4 bytes followed by the payload
    payload   length bytes

Reading checks the magic, version, header CRC, limits (dimensions, slices) and the neuron
parameters' domains (R, C, T, theta, chroma in [1e-30, 1e30], 0 <= bias < 1, a known table)
before any allocation, and each chunk's length against the bytes present.

Damage and truncation are told apart by the declared ``size``:

- a stream longer than ``size`` has trailing garbage (:class:`CorruptStreamError`, with the
  intact chunks before it);
- a stream exactly ``size`` long is complete: a chunk whose length runs past its end, a chunk
  head cut short, or a payload or length that does not match its CRC is damage;
- a stream shorter than ``size`` is truncated: the chunks fully present are returned and the
  bytes of the one being received as a :class:`PartialChunk`. A length field reaching past
  ``size`` is damage. The one damage that cannot be told from truncation is a length field of
  the last chunk present altered to a value that still ends inside ``size`` but past the bytes
  received: it reads as a partial chunk, i.e. the intact slices before it decode.

Because the chunk CRC covers the length field, a damaged length is otherwise always caught,
like a damaged payload (up to CRC32 collisions, probability 2**-32).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .errors import CorruptStreamError, LimitError, TruncatedStreamError
from .tables import TABLES

__all__ = ["MAGIC", "Header", "MAX_IMAGE_PIXELS", "PartialChunk", "pack", "read_header", "unpack"]

MAGIC = b"\x89SPK"
FORMAT_VERSION = 1
MAX_IMAGE_PIXELS = 178_956_970  # Pillow's DecompressionBombError limit: 2 * Image.MAX_IMAGE_PIXELS
MAX_PLANES = 40
MODES = ("L", "RGB")
# R, C, T (ms), theta and chroma must lie in [PARAM_MIN, PARAM_MAX]: far wider than any use, and
# narrow enough that no threshold, step or reconstruction the decoder derives from them (products
# and quotients of a few of them and of counts below 2**MAX_PLANES) overflows or divides by 0.
PARAM_MIN = 1e-30
PARAM_MAX = 1e30

_HEADER = struct.Struct("<4sBBII4dfBfBI")
_CRC = struct.Struct("<I")
_CHUNK = struct.Struct("<II")
_LENGTH = struct.Struct("<I")
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


def _chunk_crc(length: bytes, payload: bytes) -> int:
    """CRC32 of a chunk's length field followed by its payload."""
    return zlib.crc32(payload, zlib.crc32(length))


def pack(header: Header, chunks: list[bytes]) -> bytes:
    """Serialize a header and its time-slice chunks into a ``.spk`` byte string."""
    size = HEADER_SIZE + sum(_CHUNK.size + len(payload) for payload in chunks)
    if size > 0xFFFF_FFFF:
        raise LimitError(f"a stream of {size} bytes exceeds the format's 4 GiB limit")
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
        size,
    )
    parts = [fields, _CRC.pack(zlib.crc32(fields))]
    for payload in chunks:
        length = _LENGTH.pack(len(payload))
        parts += [length, _CRC.pack(_chunk_crc(length, payload)), payload]
    return b"".join(parts)


def _read_header(data: bytes, max_pixels: int) -> tuple[Header, int]:
    """The header and the declared stream size; raise a :class:`SpikeCodecError` if bad."""
    if not data.startswith(MAGIC) and not MAGIC.startswith(data):
        raise CorruptStreamError("not a spikecodec stream (bad magic bytes)")
    if len(data) < HEADER_SIZE:
        raise TruncatedStreamError(f"the header needs {HEADER_SIZE} bytes, got {len(data)}")
    fields = data[: _HEADER.size]
    (crc,) = _CRC.unpack_from(data, _HEADER.size)
    (_, version, mode, width, height, R, C, T, theta, bias, table, chroma, planes, size) = (
        _HEADER.unpack(fields)
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
    if size < HEADER_SIZE:
        raise CorruptStreamError(f"invalid stream size {size} (the header alone is longer)")
    for name, value in (("R", R), ("C", C), ("T", T), ("theta", theta), ("chroma", chroma)):
        if not PARAM_MIN <= value <= PARAM_MAX:  # also False for NaN
            raise CorruptStreamError(
                f"invalid {name} = {value!r} (the format allows {PARAM_MIN:g} to {PARAM_MAX:g})"
            )
    if not 0 <= bias < 1:  # also False for NaN
        raise CorruptStreamError(f"invalid bias = {bias!r} (must lie in [0, 1))")
    if table >= len(TABLES):
        raise CorruptStreamError(f"unknown threshold table id {table}")
    header = Header(MODES[mode], width, height, R, C, T, theta, bias, table, chroma, planes)
    return header, size


def read_header(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS) -> Header:
    """Parse and check the header; raise a :class:`SpikeCodecError` subclass if it is bad."""
    return _read_header(bytes(data[:HEADER_SIZE]), max_pixels)[0]


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
    length or CRC does not match raises :class:`CorruptStreamError` (``err.chunks`` holds the
    good chunks before it, ``err.header`` the header); so do bytes past the declared stream size
    (see the module docstring for how damage is told from truncation).
    """
    data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    header, size = _read_header(bytes(data[:HEADER_SIZE]), max_pixels)
    complete = len(data) >= size
    end = min(len(data), size)
    chunks: list[bytes] = []
    pos = HEADER_SIZE

    def damaged(message: str) -> CorruptStreamError:
        return CorruptStreamError(f"time slice {len(chunks)}: {message}", chunks, header)

    while len(chunks) < header.planes and pos < end:
        if end - pos < _CHUNK.size:
            if complete:
                raise damaged("its head runs past the end of the stream")
            return header, chunks, PartialChunk(b"", 0)
        length, crc = _CHUNK.unpack_from(data, pos)
        if pos + _CHUNK.size + length > size:
            raise damaged(
                f"its length {length} runs past the end of the {size}-byte stream (damaged "
                "length field)"
            )
        length_field = bytes(data[pos : pos + _LENGTH.size])
        pos += _CHUNK.size
        payload = bytes(data[pos : pos + length])
        pos += length
        if len(payload) < length:  # only when truncated: a complete stream holds `size` bytes
            return header, chunks, PartialChunk(payload, length)
        if _chunk_crc(length_field, payload) != crc:
            raise damaged("checksum mismatch (damaged payload or length field)")
        chunks.append(payload)
    if pos < size and len(chunks) == header.planes:
        raise damaged(f"{size - pos} unexpected bytes after the last time slice")
    if len(data) > size:
        raise CorruptStreamError(
            f"{len(data) - size} unexpected bytes after the end of the {size}-byte stream",
            chunks,
            header,
        )
    return header, chunks, PartialChunk(b"", 0)
