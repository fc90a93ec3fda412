"""The ``.spk`` file format: a checked header, then one checksummed chunk per time slice.

Layout (all integers little-endian)::

    magic     4 bytes  b"\\x89SPK"
    version   u8       10, or 11 for a cut stream (below); 1-9 were earlier coders, refused
    mode      u8       0 = grayscale "L", 1 = "RGB" with 4:2:0 chroma, 2 = "RGB" with 4:4:4
    width     u32
    height    u32
    R, C, T   f64 x 3  neuron resistance, capacitance, window T (ms)
    theta     f64      base threshold; band f of plane c uses theta * table_c[f]
    bias      f32      bias current as a fraction beta of the step: b_f = beta*C*theta_f/T
    table     u8       threshold table id (see :mod:`.tables`)
    chroma    f32      extra threshold factor of the chroma planes
    slices    u8       number of time slices S = bit-planes of the counts
    size      u32      length of the whole stream in bytes, this header included
    crc       u32      CRC32 of everything above
    then S chunks, earliest instant first:
    length    u32      payload bytes
    crc       u32      CRC32 of the length field's 4 bytes followed by the payload
    payload   length bytes

Reading checks the magic, version, header CRC, limits (dimensions: the pixels of the image
padded to whole 8x8 blocks, at most ``max_pixels``; slices) and the neuron
parameters' domains (:func:`spikecodec.params.domain_error`: R, C, T, theta, chroma in
[1e-30, 1e30], 0 <= bias < 1, a known table) before any allocation, and each chunk's length
against the bytes present. Reading a stream imports no compiled kernel.

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

A *cut stream* (version 11, made by :func:`cut_stream`) is the first ``size`` bytes of a stream made
whole again: its header says version 11 and the new ``size``, so it may end before its last time
slice, and inside one. The chunk it ends in keeps its length field (the slice's whole length)
and its CRC covers the length field and the bytes kept; a cut inside a chunk's 8-byte head
leaves that many zero bytes instead. Read whole, a cut stream is complete and every byte of it
is checked (header CRC, chunk CRCs, zero padding), and it gives exactly the chunks and partial
chunk its original's first ``size`` bytes give (with ``Header.cut`` set); cut short in turn, it
reads like any truncated stream.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace
from itertools import accumulate

import numpy as np

from ..errors import (
    CorruptStreamError,
    LimitError,
    ParameterError,
    SpikeCodecError,
    TruncatedStreamError,
)
from ..params import Header, domain_error, slice_instants

__all__ = [
    "CHUNK_HEAD_SIZE",
    "CUT_VERSION",
    "FIELDS_SIZE",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "MAX_IMAGE_PIXELS",
    "Header",
    "PartialChunk",
    "cut_stream",
    "emitted_by",
    "pack",
    "read_header",
    "slice_ends",
    "unpack",
]

MAGIC = b"\x89SPK"
FORMAT_VERSION = 10
CUT_VERSION = 11
_MODES = (("L", "4:2:0"), ("RGB", "4:2:0"), ("RGB", "4:4:4"))  # the mode byte's meanings
MAX_IMAGE_PIXELS = 178_956_970  # Pillow's DecompressionBombError limit: 2 * Image.MAX_IMAGE_PIXELS

_HEADER = struct.Struct("<4sBBII4dfBfBI")
_CRC = struct.Struct("<I")
_CHUNK = struct.Struct("<II")
_LENGTH = struct.Struct("<I")
FIELDS_SIZE = _HEADER.size  # the header's fields, its size field last, before its CRC
HEADER_SIZE = _HEADER.size + _CRC.size
CHUNK_HEAD_SIZE = _CHUNK.size  # length u32 + crc u32 before each chunk's payload


def _chunk_crc(length: bytes, payload: bytes) -> int:
    """CRC32 of a chunk's length field followed by its payload."""
    return zlib.crc32(payload, zlib.crc32(length))


def pack(header: Header, chunks: list[bytes], *, padding: int = 0) -> bytes:
    """Serialize a header and its time-slice chunks into a ``.spk`` byte string.

    With ``header.cut`` the stream is a cut one (version 11): a :class:`PartialChunk` is written
    with its slice's whole length (``declared``) and a CRC over the bytes it holds, and
    ``padding`` zero bytes end the stream (a cut inside the next chunk's head).
    """
    if padding and not (header.cut and 0 < padding < _CHUNK.size):
        raise ParameterError(f"only a cut stream ends with 1 to 7 zero bytes, not {padding}")
    size = HEADER_SIZE + sum(_CHUNK.size + len(payload) for payload in chunks) + padding
    if size > 0xFFFF_FFFF:
        raise LimitError(f"a stream of {size} bytes exceeds the format's 4 GiB limit")
    fields = _HEADER.pack(
        MAGIC,
        CUT_VERSION if header.cut else FORMAT_VERSION,
        _MODES.index((header.mode, header.subsampling if header.mode == "RGB" else "4:2:0")),
        header.width,
        header.height,
        header.R,
        header.C,
        header.T,
        header.theta,
        header.bias,
        header.table,
        header.chroma,
        header.slices,
        size,
    )
    parts = [fields, _CRC.pack(zlib.crc32(fields))]
    for payload in chunks:
        declared = payload.declared if header.cut and isinstance(payload, PartialChunk) else None
        length = _LENGTH.pack(len(payload) if declared is None else declared)
        parts += [length, _CRC.pack(_chunk_crc(length, payload)), payload]
    return b"".join(parts) + bytes(padding)


def _read_header(data: bytes, max_pixels: int) -> tuple[Header, int]:
    """The header and the declared stream size; raise a :class:`SpikeCodecError` if bad."""
    if not data.startswith(MAGIC) and not MAGIC.startswith(data):
        raise CorruptStreamError("not a spikecodec stream (bad magic bytes)")
    if len(data) < HEADER_SIZE:
        raise TruncatedStreamError(f"the header needs {HEADER_SIZE} bytes, got {len(data)}")
    fields = data[: _HEADER.size]
    (crc,) = _CRC.unpack_from(data, _HEADER.size)
    (_, version, mode, width, height, R, C, T, theta, bias, table, chroma, slices, size) = (
        _HEADER.unpack(fields)
    )
    if version not in (FORMAT_VERSION, CUT_VERSION):
        raise CorruptStreamError(
            f"unsupported format version {version} (this reads {FORMAT_VERSION} and {CUT_VERSION})"
        )
    if zlib.crc32(fields) != crc:
        raise CorruptStreamError("header checksum mismatch")
    if mode >= len(_MODES):
        raise CorruptStreamError(f"unknown image mode id {mode}")
    if width < 1 or height < 1:
        raise CorruptStreamError(f"invalid image size {width}x{height}")
    padded = 64 * -(-width // 8) * -(-height // 8)  # the decoder's memory goes with blocks
    if padded > max_pixels:
        raise LimitError(
            f"image of {width}x{height} pixels ({padded} in 8x8 blocks) exceeds the limit of "
            f"{max_pixels} (raise max_pixels to decode it)"
        )
    if size < HEADER_SIZE:
        raise CorruptStreamError(f"invalid stream size {size} (the header alone is longer)")
    fields = dict(slices=slices, R=R, C=C, T=T, theta=theta, chroma=chroma, bias=bias, table=table)
    for name, value in fields.items():
        problem = domain_error(name, value)
        if problem is not None:
            raise CorruptStreamError(f"invalid {problem}")
    cut = version == CUT_VERSION
    colour, subsampling = _MODES[mode]
    header = Header(
        colour, width, height, R, C, T, theta, bias, table, chroma, slices, cut, subsampling
    )
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
    partial = PartialChunk(b"", 0)
    pos = HEADER_SIZE

    def damaged(message: str) -> CorruptStreamError:
        return CorruptStreamError(f"time slice {len(chunks)}: {message}", chunks, header)

    while len(chunks) < header.slices and pos < end:
        if end - pos < _CHUNK.size:
            if complete and not (header.cut and not any(data[pos:end])):
                raise damaged("its head runs past the end of the stream")
            break
        length, crc = _CHUNK.unpack_from(data, pos)
        if pos + _CHUNK.size + length > size and not header.cut:
            raise damaged(
                f"its length {length} runs past the end of the {size}-byte stream (damaged "
                "length field)"
            )
        length_field = bytes(data[pos : pos + _LENGTH.size])
        pos += _CHUNK.size
        payload = bytes(data[pos : min(pos + length, end)])
        pos += len(payload)
        # A payload cut short is the end of a cut stream, or of a stream truncated in transit
        # (whose last bytes cannot be checked).
        if (len(payload) == length or complete) and _chunk_crc(length_field, payload) != crc:
            raise damaged("checksum mismatch (damaged payload or length field)")
        if len(payload) < length:
            partial = PartialChunk(payload, length)
            break
        chunks.append(payload)
    if pos < size and len(chunks) == header.slices:
        raise damaged(f"{size - pos} unexpected bytes after the last time slice")
    if len(data) > size:
        raise CorruptStreamError(
            f"{len(data) - size} unexpected bytes after the end of the {size}-byte stream",
            chunks,
            header,
        )
    return header, chunks, partial


def cut_stream(data: bytes, size: int, max_pixels: int = MAX_IMAGE_PIXELS) -> bytes:
    """A stream's first ``size`` bytes as a cut stream (version 11): complete, checked, and
    decoding exactly like those bytes (see the module docstring).

    The stream is read (and checked) with :func:`unpack`; it may itself be cut or truncated.
    ``size`` runs from the header's length to the stream's; a whole stream cut to its own
    length is returned as it is.
    """
    header, chunks, partial = unpack(data, max_pixels)
    if not HEADER_SIZE <= size <= len(data):
        raise SpikeCodecError(
            f"cannot cut a {len(data)}-byte stream to {size} bytes (the header alone is "
            f"{HEADER_SIZE})"
        )
    if size == len(data) == _read_header(bytes(data[:HEADER_SIZE]), max_pixels)[1]:
        return bytes(data)
    kept: list[bytes] = []
    pos = HEADER_SIZE
    for payload in [*chunks, partial]:
        room = size - pos - _CHUNK.size
        if room < 0:
            break
        kept.append(PartialChunk(payload[:room], getattr(payload, "declared", len(payload))))
        pos += _CHUNK.size + len(kept[-1])
    return pack(replace(header, cut=True), kept, padding=size - pos)


def slice_ends(chunks: list[bytes]) -> list[int]:
    """The byte offsets where the header and each chunk end (the header's first)."""
    sizes = (CHUNK_HEAD_SIZE + len(c) for c in chunks)
    return list(accumulate(sizes, initial=HEADER_SIZE))


def emitted_by(
    header: Header, chunks: list[bytes], partial: bytes, until_ms: float
) -> tuple[list[bytes], PartialChunk]:
    """What the neurons have emitted by ``until_ms`` (> 0): the slices complete by then, and of
    the next one the share of its bytes that its time span has elapsed."""
    instants = slice_instants(header)
    done = int(np.searchsorted(instants, until_ms, side="right"))
    if done >= len(chunks) and not (done == len(chunks) and partial):
        return chunks, partial
    start = instants[done - 1] if done else 0.0
    share = (until_ms - start) / (instants[done] - start)
    nxt, declared = (
        (chunks[done], len(chunks[done])) if done < len(chunks) else (partial, partial.declared)
    )
    return chunks[:done], PartialChunk(nxt[: int(share * declared)], declared)
