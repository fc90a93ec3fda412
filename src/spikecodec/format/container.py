"""The ``.spk`` file format: a signature, then typed, checksummed chunks.

A stream is the 4-byte signature ``b"\\x89SPK"`` followed by chunks, in the manner of PNG: each
chunk is an 8-byte head and a payload (all integers little-endian)::

    tag       u32      type << 28 | length: the chunk's type (0-15) and its payload's length
                       in bytes (below 2**28)
    crc       u32      CRC32 (zlib's) of the tag's 4 bytes followed by the payload
    payload   length bytes

Types 1-7 are *critical*: a reader must understand them, and refuses a stream with one it does
not know (:class:`~spikecodec.CorruptStreamError` naming it). Types 8-15 are *ancillary*: a
reader may skip them, and skips those it does not know. Type 0 is never a chunk (a head of
zeros is the padding of a cut stream, below). The chunks, in this order:

- ``HEADER`` (type 1, critical, first, 57 bytes): what a decoder needs before the first slice,
  :class:`~spikecodec.params.Header`::

      version   u8       12; other versions are refused
      flags     u8       bit 0: a cut stream (below); other bits 0
      mode      u8       0 = grayscale "L", 1 = "RGB" with 4:2:0 chroma, 2 = "RGB" with 4:4:4
      width     u32
      height    u32
      R, C, T   f64 x 3  neuron resistance, capacitance, window T (ms)
      theta     f64      base threshold
      bias      f32      bias current as a fraction beta of the step: b_f = beta*C*theta_f/T
      table     u8       threshold table id (see :mod:`spikecodec.tables`)
      chroma    f32      the chroma planes' threshold factor
      slices    u8       number of time slices S = bit-planes of the counts
      size      u32      length of the whole stream in bytes, the signature included

- ``SAMPLES`` (type 3, critical, right after the header when present, 2 bytes): how the
  samples are coded, ``depth u8`` (bits per sample: 8 or 16) and
  ``transform u8`` (0: the lapped DCT and YCoCg of the lossy path, 16-bit samples on the 8-bit
  scale, 1: the reversible 5/3 wavelet and YCoCg-R of a lossless stream, 4:4:4 only); absent,
  depth 8 and transform 0.
  Written only when one differs, so lossy 8-bit streams read as before, and a reader that
  predates the chunk refuses a lossless stream by name. Like the header, it is what a decoder
  needs first: a stream ending inside it is truncated (:class:`~spikecodec.TruncatedStreamError`),
  and one that fails its CRC corrupt, without a header to decode from;
- ``ALPHA`` (type 4, critical, after the header and SAMPLES, before any other chunk, when the
  image has an alpha plane, :class:`Alpha`)::

      count     u16      n: 0, or the number of levels in the level table
      levels    n x u8 (u16 for 16-bit samples)   strictly increasing alpha levels
      stream    the rest: a whole ``.spk`` stream of the plane

  The stream is grayscale, of the image's size and depth, lossless (always, with a level
  table) or lossy, itself without alpha or metadata, checked as a stream when read. With a
  level table its samples ``s`` are indices: the alpha is ``levels[clip(s - first, 0, n-1)]``,
  ``first = 2**(depth-1) - n//2`` (:mod:`spikecodec.alpha`). Before the slices, a cut keeps
  all of it: the alpha plane is whole at every instant. Like SAMPLES, a stream ending inside it
  is truncated and one whose CRC or contents fail is corrupt, with no header to decode from;
- ``STRIPES`` (type 5, critical, after the header and SAMPLES, before ALPHA, 3 bytes): how
  the slices are cut into sub-streams, ``stripes u16`` (1 to
  :func:`~spikecodec.params.stripe_limit`) and ``split u8`` (1: luma and chroma apart, RGB
  only); absent, one stripe, planes together (:mod:`spikecodec.entropy.stripes`). Each slice
  then holds the lengths of its first ``n - 1`` sub-streams (u32 each) and the ``n``
  sub-streams (:func:`join_stripes`). Like SAMPLES, it belongs with the header;
- metadata, ancillary, before the first slice (so that a cut keeps them), each at most once:
  ``ICC`` (type 8, an ICC colour profile), ``EXIF`` (type 9, an EXIF block: a TIFF header and
  its IFDs, as Pillow's ``info["exif"]`` holds it, ``"Exif\\0\\0"`` prefix included or not),
  ``XMP`` (type 10, an XMP packet, UTF-8 XML); unknown ancillary chunks also lie there. A
  chunk other than a slice after the first slice, or a metadata chunk twice, is damage;
- ``SLICE`` (type 2, critical), S of them, the earliest instant first: the range-coded bits
  of one bit-plane of every count (:mod:`spikecodec.entropy`).

Reading checks the signature, the header chunk's type, length and CRC, the version, the limits
(dimensions: the pixels of the image padded to whole 8x8 blocks, at most ``max_pixels``;
slices) and the neuron parameters' domains (:func:`spikecodec.params.domain_error`) before any
allocation, and each chunk's length against the bytes present. Reading a stream imports no
compiled kernel.

Damage and truncation are told apart by the declared ``size``:

- a stream longer than ``size`` has trailing garbage (:class:`CorruptStreamError`, with the
  intact slices before it);
- a stream exactly ``size`` long is complete: a chunk whose length runs past its end, a chunk
  head cut short, or a tag or payload that does not match its CRC is damage;
- a stream shorter than ``size`` is truncated: the chunks fully present are returned and the
  bytes of the slice being received as a :class:`PartialChunk` (a metadata chunk cut short is
  dropped). A length reaching past ``size`` is damage. The one damage that cannot be told from
  truncation is a length of the last chunk present altered to a value that still ends inside
  ``size`` but past the bytes received: it reads as a partial chunk, i.e. the intact slices
  before it decode.

Because the CRC covers the tag, a damaged type or length fails its chunk's CRC, like a damaged
payload (up to CRC32 collisions, probability 2**-32). A metadata chunk that fails its CRC is
reported (:attr:`Stream.damaged`) and skipped, and the slices after it still decode; as in PNG,
its length is then trusted. An ancillary chunk that fails its CRC but would pass it as the
critical type with bit 3 cleared is a critical chunk (a slice, SAMPLES) whose type bit 3 flipped:
damage, not skipped. One damage escapes (docs/FORMAT.md section 6.3): a metadata length damaged
to end on a later chunk's boundary swallows the chunks up to it, and the slices read are intact
ones, one bit-plane early.

A *cut stream* (flag bit 0, made by :func:`cut_stream`) is the first ``size`` bytes of a stream
made whole again: its header has the flag and the new ``size``, so it may end before its last
time slice, and inside one. The slice it ends in keeps its length (the slice's whole length) and
its CRC covers the tag and the bytes kept; a cut inside a chunk's head leaves that many zero
bytes instead. Read whole, a cut stream is complete and every byte of it is checked (CRCs, zero
padding), and it gives exactly the chunks and partial chunk its original's first ``size``
bytes give (with ``Header.cut`` set); cut short in turn, it reads like any truncated stream.
A cut keeps the header and every metadata chunk: it is at least :attr:`Stream.first_slice`
bytes long; a stream that ends inside a metadata chunk cannot be cut (its
:attr:`Stream.first_slice` lies past its end).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import (
    CorruptStreamError,
    LimitError,
    ParameterError,
    SpikeCodecError,
    TruncatedStreamError,
)
from ..params import (
    DEPTHS,
    LAPPED,
    REVERSIBLE,
    REVERSIBLE_COLOURS,
    Header,
    domain_error,
    slice_instants,
    stripe_limit,
)

__all__ = [
    "CHUNK_HEAD_SIZE",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "MAX_IMAGE_PIXELS",
    "METADATA",
    "TYPES",
    "Alpha",
    "Header",
    "SLICE_TYPE",
    "PartialChunk",
    "Stream",
    "chunk_head",
    "cut_stream",
    "emitted_by",
    "join_stripes",
    "pack",
    "read_header",
    "stripe_payloads",
    "substream_count",
    "unpack",
]

MAGIC = b"\x89SPK"
FORMAT_VERSION = 12
MAX_IMAGE_PIXELS = 178_956_970  # Pillow's DecompressionBombError limit: 2 * Image.MAX_IMAGE_PIXELS
TYPES = {
    1: "HEADER",
    2: "SLICE",
    3: "SAMPLES",
    4: "ALPHA",
    5: "STRIPES",
    8: "ICC",
    9: "EXIF",
    10: "XMP",
}
"""The chunk types this reader knows, by number (1-7 critical, 8-15 ancillary)."""
METADATA = {8: "icc_profile", 9: "exif", 10: "xmp"}
"""The metadata chunks, by type, and their keys in :attr:`Stream.metadata` (Pillow's)."""
_HEADER_TYPE = 1
SLICE_TYPE = 2
"""The type of a time slice's chunk."""
_SAMPLES_TYPE = 3
_SAMPLES = struct.Struct("<BB")  # depth, transform (then colour u8 for transform 2)
_SAMPLES_MAX = _SAMPLES.size + 1
_ALPHA_TYPE = 4
_STRIPES_TYPE = 5
_STRIPES = struct.Struct("<HB")  # the number of stripes, luma and chroma apart
_LENGTH = struct.Struct("<I")  # a sub-stream's length in a slice's table
_FIRST = (_SAMPLES_TYPE, _STRIPES_TYPE, _ALPHA_TYPE)  # the critical chunks with the header
_ANCILLARY = 8  # types from here on may be skipped
_MAX_LENGTH = (1 << 28) - 1
_MODES = (("L", "4:2:0"), ("RGB", "4:2:0"), ("RGB", "4:4:4"))  # the mode byte's meanings
_CUT_FLAG = 1

_HEAD = struct.Struct("<II")  # tag, crc
_FIELDS = struct.Struct("<BBBII4dfBfBI")
CHUNK_HEAD_SIZE = _HEAD.size
HEADER_SIZE = len(MAGIC) + CHUNK_HEAD_SIZE + _FIELDS.size
"""The signature and the header chunk: the shortest stream."""
_SIZE_AT = HEADER_SIZE - 4  # the size field ends the header


def _chunk(kind: int, payload: bytes, declared: int | None = None) -> bytes:
    """A chunk's head and payload; ``declared`` is the length a cut chunk keeps."""
    length = len(payload) if declared is None else declared
    if length > _MAX_LENGTH:
        raise LimitError(f"a chunk of {length} bytes exceeds the format's limit of {_MAX_LENGTH}")
    tag = struct.pack("<I", kind << 28 | length)
    return tag + struct.pack("<I", zlib.crc32(payload, zlib.crc32(tag))) + payload


def chunk_head(data: bytes, at: int = 0) -> tuple[int, int, int]:
    """The type, payload length and CRC of the 8-byte chunk head at offset ``at`` of ``data``."""
    tag, crc = _HEAD.unpack_from(data, at)
    return tag >> 28, tag & _MAX_LENGTH, crc


def _crc(kind: int, length: int, payload: bytes) -> int:
    """The CRC of a chunk of type ``kind``, declared ``length`` and ``payload``."""
    return zlib.crc32(payload, zlib.crc32(struct.pack("<I", kind << 28 | length)))


def _header_fields(header: Header, size: int) -> bytes:
    mode = _MODES.index((header.mode, header.subsampling if header.mode == "RGB" else "4:2:0"))
    return _FIELDS.pack(
        FORMAT_VERSION,
        _CUT_FLAG if header.cut else 0,
        mode,
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


def _assemble(header: Header, before: bytes, slices: list[bytes], padding: int) -> bytes:
    """Signature, header chunk, the chunks ``before`` the slices (already serialized), the
    slices (a cut stream's :class:`PartialChunk` with its declared length) and ``padding``."""
    parts = [before]
    for payload in slices:
        declared = payload.declared if header.cut and isinstance(payload, PartialChunk) else None
        parts.append(_chunk(SLICE_TYPE, payload, declared))
    size = HEADER_SIZE + sum(map(len, parts)) + padding
    if size > 0xFFFF_FFFF:
        raise LimitError(f"a stream of {size} bytes exceeds the format's 4 GiB limit")
    head = _chunk(_HEADER_TYPE, _header_fields(header, size))
    return b"".join([MAGIC, head, *parts]) + bytes(padding)


def pack(
    header: Header,
    slices: list[bytes],
    metadata: dict | None = None,
    *,
    alpha: Alpha | None = None,
    padding: int = 0,
) -> bytes:
    """Serialize a header, metadata (``{"icc_profile": bytes, "exif": bytes, "xmp": bytes}``,
    any of them), an :class:`Alpha` plane (checked as a reader checks it) and time-slice
    payloads into a ``.spk`` byte string.

    With ``header.cut`` the stream is a cut one: a :class:`PartialChunk` is written with its
    slice's whole length (``declared``) and a CRC over the bytes it holds, and ``padding`` zero
    bytes end the stream (a cut inside the next chunk's head).
    """
    if padding and not (header.cut and 0 < padding < CHUNK_HEAD_SIZE):
        raise ParameterError(f"only a cut stream ends with 1 to 7 zero bytes, not {padding}")
    metadata = metadata or {}
    unknown = sorted(set(metadata) - set(METADATA.values()))
    if unknown:
        known = ", ".join(METADATA.values())
        raise ParameterError(f"unknown metadata {', '.join(unknown)} (known: {known})")
    before = b"".join(
        _chunk(kind, bytes(metadata[key])) for kind, key in METADATA.items() if metadata.get(key)
    )
    if alpha is not None:
        payload = alpha.payload(header.depth)
        try:
            _alpha(header, payload, 1 << 62)
        except SpikeCodecError as err:
            raise ParameterError(f"not an alpha plane of this image: {err}") from err
        before = _chunk(_ALPHA_TYPE, payload) + before
    if header.stripes != 1 or header.split:
        fits = 0 < header.stripes < 1 << 16
        stripes = _STRIPES.pack(header.stripes, int(header.split)) if fits else b""
        try:
            _stripes(header, stripes)
        except SpikeCodecError as err:
            raise ParameterError(f"not a header a reader would take: {err}") from err
        before = _chunk(_STRIPES_TYPE, stripes) + before
    if header.reversible or header.depth != 8:
        samples = _SAMPLES.pack(header.depth, header.transform)
        if header.transform == REVERSIBLE:
            samples += bytes([header.colour])
        try:
            _samples(header, samples)
        except SpikeCodecError as err:
            raise ParameterError(f"not a header a reader would take: {err}") from err
        before = _chunk(_SAMPLES_TYPE, samples) + before
    return _assemble(header, before, slices, padding)


def _samples(header: Header, payload: bytes) -> Header:
    """The header with what a ``SAMPLES`` chunk's payload says (checked)."""
    if len(payload) < _SAMPLES.size:
        raise CorruptStreamError(f"a SAMPLES chunk of {len(payload)} bytes (it has 2 or 3)")
    depth, transform = _SAMPLES.unpack_from(payload)
    if transform > REVERSIBLE:
        raise CorruptStreamError(f"unknown sample transform {transform}")
    size = _SAMPLES.size + (transform == REVERSIBLE)
    if len(payload) != size:
        raise CorruptStreamError(
            f"a SAMPLES chunk of {len(payload)} bytes (that of transform {transform} has {size})"
        )
    colour = payload[2] if transform == REVERSIBLE else 0
    if depth not in DEPTHS:
        raise CorruptStreamError(f"unsupported sample depth {depth} bits (this reads 8 and 16)")
    if transform != LAPPED and header.mode == "RGB" and header.subsampling != "4:4:4":
        raise CorruptStreamError("a reversible RGB stream has 4:4:4 chroma")
    if colour >= (len(REVERSIBLE_COLOURS) if header.mode == "RGB" else 1):
        raise CorruptStreamError(f"unknown reversible colour transform {colour} ({header.mode})")
    return replace(header, depth=depth, transform=transform, colour=colour)


def _stripes(header: Header, payload: bytes) -> Header:
    """The header with what a ``STRIPES`` chunk's payload says (checked)."""
    if len(payload) != _STRIPES.size:
        raise CorruptStreamError(f"a STRIPES chunk of {len(payload)} bytes (it has 3)")
    stripes, split = _STRIPES.unpack(payload)
    most = stripe_limit(header)
    if not 1 <= stripes <= most:
        raise CorruptStreamError(
            f"{stripes} stripes (a stream of this image's planes has 1 to {most})"
        )
    if split > 1 or (split and header.mode != "RGB"):
        raise CorruptStreamError(f"luma and chroma apart = {split} in a {header.mode} stream")
    if stripes == 1 and not split:
        raise CorruptStreamError("a STRIPES chunk of one stripe, luma and chroma together")
    return replace(header, stripes=stripes, split=bool(split))


def substream_count(header: Header) -> int:
    """The sub-streams of each of a stream's slices: one per stripe, two with ``split``."""
    return header.stripes * (1 + header.split)


def join_stripes(parts: list[bytes]) -> bytes:
    """A time slice's payload of its sub-streams (:func:`substream_count`): one as it is; ``n`` as
    the lengths of the first ``n - 1`` (u32 each) and the ``n`` one after the other."""
    if len(parts) == 1:
        return bytes(parts[0])
    table = b"".join(_LENGTH.pack(len(part)) for part in parts[:-1])
    return table + b"".join(parts)


def _stripe_lengths(payload: bytes, declared: int, count: int) -> list[int] | None:
    """The lengths of the ``count`` sub-streams of a slice of ``declared`` bytes (``payload``
    those present), or None while its table is not all there; :class:`CorruptStreamError` if
    they do not fit in the slice."""
    table = _LENGTH.size * (count - 1)
    if declared < table:
        raise CorruptStreamError(
            f"a slice of {declared} bytes, shorter than its sub-streams' table"
        )
    if len(payload) < table:
        return None
    lengths = list(struct.unpack_from(f"<{count - 1}I", payload))
    last = declared - table - sum(lengths)
    if last < 0:
        raise CorruptStreamError(
            f"sub-streams of {sum(lengths)} bytes in a slice of {declared - table} past its table"
        )
    return [*lengths, last]


def stripe_payloads(
    slices: list[bytes], partial: PartialChunk, count: int
) -> list[tuple[list[bytes], bytes]]:
    """Per sub-stream (``count`` of them in each slice, :func:`substream_count`), its part of each
    whole slice and the bytes present of its part of the ``partial`` slice (empty if none: a
    part wholly present counts as whole). Tables checked (:class:`CorruptStreamError`)."""
    if count == 1:
        return [(list(slices), partial)]
    parts: list[tuple[list[bytes], bytes]] = [([], b"") for _ in range(count)]
    for payload in [*slices, partial] if partial else slices:
        declared = getattr(payload, "declared", len(payload))
        lengths = _stripe_lengths(payload, declared, count)
        if lengths is None:
            break
        start = _LENGTH.size * (count - 1)
        for k, length in enumerate(lengths):
            part = payload[start : start + length]
            if len(part) == length:
                parts[k][0].append(part)
            elif part:
                parts[k] = (parts[k][0], part)
            start += length
    return parts


@dataclass(frozen=True)
class Alpha:
    """An image's alpha plane as its ALPHA chunk holds it: ``stream``, a whole grayscale
    stream of the plane, and ``levels``, empty when the stream's samples are the alpha values,
    else the level table its samples index (module docstring, :mod:`spikecodec.alpha`)."""

    stream: bytes
    levels: tuple[int, ...] = ()

    def payload(self, depth: int = 8) -> bytes:
        """The chunk's payload for samples of ``depth`` bits."""
        table = np.asarray(self.levels, dtype="<u2" if depth > 8 else "u1").tobytes()
        return struct.pack("<H", len(self.levels)) + table + bytes(self.stream)


def _alpha(header: Header, payload: bytes, max_pixels: int) -> Alpha:
    """An ``ALPHA`` chunk's payload read and checked (:class:`CorruptStreamError` if bad)."""
    width = 2 if header.depth > 8 else 1
    if len(payload) < 2:
        raise CorruptStreamError(f"an ALPHA chunk of {len(payload)} bytes")
    (count,) = struct.unpack_from("<H", payload)
    if len(payload) < 2 + count * width:
        raise CorruptStreamError(f"an ALPHA chunk too short for its {count} levels")
    levels = np.frombuffer(payload, "<u2" if width == 2 else "u1", count, 2).astype(np.int64)
    if np.any(np.diff(levels) <= 0):
        raise CorruptStreamError("the ALPHA chunk's levels are not strictly increasing")
    data = payload[2 + count * width :]
    try:
        alpha = unpack(data, max_pixels)
    except SpikeCodecError as err:
        raise CorruptStreamError(f"the ALPHA chunk's stream: {err}") from err
    inner = alpha.header
    problem = (
        "is not grayscale"
        if inner.mode != "L"
        else f"is {inner.width}x{inner.height}, not {header.width}x{header.height}"
        if (inner.width, inner.height) != (header.width, header.height)
        else f"has {inner.depth}-bit samples, not {header.depth}"
        if inner.depth != header.depth
        else "has an alpha plane itself"
        if inner.alpha
        else "carries metadata"
        if alpha.metadata or alpha.damaged
        else f"is truncated ({len(data)} of {alpha.size} bytes)"
        if len(data) < alpha.size
        else "is lossy but indexes a level table"
        if count and not inner.reversible
        else None
    )
    if problem:
        raise CorruptStreamError(f"the ALPHA chunk's stream {problem}")
    return Alpha(data, tuple(int(v) for v in levels))


def _read_header(data: bytes, max_pixels: int) -> tuple[Header, int]:
    """The header and the declared stream size; raise a :class:`SpikeCodecError` if bad."""
    if not data.startswith(MAGIC) and not MAGIC.startswith(data):
        raise CorruptStreamError("not a spikecodec stream (bad signature)")
    if len(data) < HEADER_SIZE:
        raise TruncatedStreamError(f"the header needs {HEADER_SIZE} bytes, got {len(data)}")
    tag, crc = _HEAD.unpack_from(data, len(MAGIC))
    fields = data[len(MAGIC) + CHUNK_HEAD_SIZE : HEADER_SIZE]
    if tag != (_HEADER_TYPE << 28 | _FIELDS.size):
        version = data[len(MAGIC) + CHUNK_HEAD_SIZE]
        if tag >> 28 == _HEADER_TYPE and version != FORMAT_VERSION:
            raise CorruptStreamError(
                f"unsupported format version {version} (this reads {FORMAT_VERSION})"
            )
        raise CorruptStreamError("the stream does not start with its header chunk")
    if zlib.crc32(fields, zlib.crc32(data[len(MAGIC) : len(MAGIC) + 4])) != crc:
        raise CorruptStreamError("header checksum mismatch")
    (version, flags, mode, width, height, R, C, T, theta, bias, table, chroma, slices, size) = (
        _FIELDS.unpack(fields)
    )
    if version != FORMAT_VERSION:
        raise CorruptStreamError(
            f"unsupported format version {version} (this reads {FORMAT_VERSION})"
        )
    if flags & ~_CUT_FLAG:
        raise CorruptStreamError(f"unknown header flags {flags:#04x}")
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
    values = dict(slices=slices, R=R, C=C, T=T, theta=theta, chroma=chroma, bias=bias, table=table)
    for name, value in values.items():
        problem = domain_error(name, value)
        if problem is not None:
            raise CorruptStreamError(f"invalid {problem}")
    colour, subsampling = _MODES[mode]
    cut = bool(flags & _CUT_FLAG)
    header = Header(
        colour, width, height, R, C, T, theta, bias, table, chroma, slices, cut, subsampling
    )
    return header, size


def read_header(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS) -> Header:
    """Parse and check the header, and the SAMPLES and STRIPES chunks after it if there are;
    raise a :class:`SpikeCodecError` subclass if one is bad. ``Header.alpha`` says whether the
    head of an ALPHA chunk follows (the chunk itself is read by :func:`unpack`)."""
    data = bytes(data[: HEADER_SIZE + 3 * CHUNK_HEAD_SIZE + _SAMPLES_MAX + _STRIPES.size])
    header, size = _read_header(data[:HEADER_SIZE], max_pixels)
    data = data[:size]  # chunks past the declared end are not the stream's
    pos = HEADER_SIZE
    for expected, sizes, read in (
        (_SAMPLES_TYPE, (_SAMPLES.size, _SAMPLES_MAX), _samples),
        (_STRIPES_TYPE, (_STRIPES.size, _STRIPES.size), _stripes),
    ):
        if len(data) < pos + CHUNK_HEAD_SIZE:
            return header
        kind, length, crc = chunk_head(data, pos)
        if kind != expected:
            continue
        name = TYPES[kind]
        if not sizes[0] <= length <= sizes[1]:
            raise CorruptStreamError(f"a {name} chunk of {length} bytes")
        payload = data[pos + CHUNK_HEAD_SIZE : pos + CHUNK_HEAD_SIZE + length]
        if len(payload) < length:
            raise TruncatedStreamError(
                f"the stream ends inside its {name} chunk, at {len(data)} bytes"
            )
        if _crc(kind, length, payload) != crc:
            raise CorruptStreamError(f"the {name} chunk fails its checksum")
        header = read(header, payload)
        pos += CHUNK_HEAD_SIZE + length
    if len(data) >= pos + CHUNK_HEAD_SIZE and chunk_head(data, pos)[0] == _ALPHA_TYPE:
        header = replace(header, alpha=True)
    return header


class PartialChunk(bytes):
    """The bytes received of a chunk cut short; ``declared`` is the length its head gave."""

    declared: int

    def __new__(cls, payload: bytes, declared: int) -> PartialChunk:
        chunk = super().__new__(cls, payload)
        chunk.declared = declared
        return chunk


@dataclass
class Stream:
    """A stream read by :func:`unpack`.

    ``slices`` are the complete slice payloads and ``partial`` the bytes of the one being
    received (possibly empty); ``metadata`` maps ``"icc_profile"``, ``"exif"``, ``"xmp"`` to the
    bytes of the metadata chunks present; ``chunks`` lists every chunk read as ``(type name,
    offset of its head, payload length declared, bytes present)`` (``"type N"`` for an unknown
    ancillary one); ``ends[s]`` is the offset where slice ``s``'s chunk ends, and
    ``first_slice`` where the first one's head begins (the header and metadata before it);
    ``damaged`` says which metadata chunks failed their CRC (skipped); ``alpha`` is the
    image's :class:`Alpha` plane (its ALPHA chunk), or None.
    """

    header: Header
    slices: list[bytes] = field(default_factory=list)
    partial: PartialChunk = field(default_factory=lambda: PartialChunk(b"", 0))
    metadata: dict[str, bytes] = field(default_factory=dict)
    chunks: list[tuple[str, int, int, int]] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    first_slice: int = HEADER_SIZE
    damaged: list[str] = field(default_factory=list)
    size: int = HEADER_SIZE
    alpha: Alpha | None = None


def unpack(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS) -> Stream:
    """Read a stream: its header, metadata, complete checked slices and a partial last slice.

    A stream cut short is not an error: the chunks fully present are returned, with the bytes of
    the slice that was being received. A slice whose length or CRC does not match raises
    :class:`CorruptStreamError` (``err.chunks`` holds the good slices before it, ``err.header``
    the header); so do an unknown critical chunk, a second header, and bytes past the declared
    stream size (see the module docstring for how damage is told from truncation).
    """
    data = data if isinstance(data, bytes) else bytes(data)
    header, size = _read_header(data[:HEADER_SIZE], max_pixels)
    stream = Stream(header, size=size)
    complete = len(data) >= size
    end = min(len(data), size)
    pos = HEADER_SIZE

    def damaged(message: str) -> CorruptStreamError:
        """The error of a damaged chunk: with what was read before it, unless it is one that
        belongs with the header (SAMPLES, ALPHA, before the slices): then the stream is
        refused whole."""
        where = f"time slice {len(stream.slices)}" if kind == SLICE_TYPE else f"chunk at {pos}"
        if kind in _FIRST and not stream.slices:
            return CorruptStreamError(f"{where}: {message}")
        return CorruptStreamError(f"{where}: {message}", stream.slices, stream.header, stream.alpha)

    kind = 0
    while len(stream.slices) < header.slices and pos < end:
        if end - pos < CHUNK_HEAD_SIZE:
            if complete and not (header.cut and not any(data[pos:end])):
                raise damaged("its head runs past the end of the stream")
            break
        kind, length, crc = chunk_head(data, pos)
        if kind == 0 and header.cut and not any(data[pos:end]):
            break  # a cut stream's padding
        if pos + CHUNK_HEAD_SIZE + length > size and not header.cut:
            raise damaged(
                f"its length {length} runs past the end of the {size}-byte stream (damaged "
                "length field)"
            )
        name = TYPES.get(kind, f"type {kind}")
        if kind == _SAMPLES_TYPE and pos != HEADER_SIZE:
            raise damaged("a SAMPLES chunk not right after the header")
        if kind == _STRIPES_TYPE and any(c[0] != "SAMPLES" for c in stream.chunks):
            raise damaged("a STRIPES chunk not right after the header and SAMPLES")
        if kind == _ALPHA_TYPE and any(c[0] not in ("SAMPLES", "STRIPES") for c in stream.chunks):
            raise damaged("an ALPHA chunk not right after the header, SAMPLES and STRIPES")
        if kind < _ANCILLARY and kind not in (SLICE_TYPE, *_FIRST):
            raise damaged(f"critical chunk {name} that this reader does not know where it is")
        if kind != SLICE_TYPE and stream.slices:
            raise damaged(f"{name} chunk after the first time slice")
        if kind in METADATA and METADATA[kind] in stream.metadata:
            raise damaged(f"a second {name} chunk")
        head, pos = pos, pos + CHUNK_HEAD_SIZE
        payload = data[pos : min(pos + length, end)]
        pos += len(payload)
        ok = _crc(kind, length, payload) == crc
        stream.chunks.append((name, head, length, len(payload)))
        if kind == SLICE_TYPE:
            # A payload cut short is the end of a cut stream, or of a stream truncated in
            # transit (whose last bytes cannot be checked).
            if (len(payload) == length or complete) and not ok:
                raise damaged("checksum mismatch (damaged payload or length field)")
            if substream_count(header) > 1:
                try:
                    _stripe_lengths(payload, length, substream_count(header))
                except CorruptStreamError as err:
                    raise damaged(str(err)) from None
            if len(payload) < length:
                stream.partial = PartialChunk(payload, length)
                break
            stream.slices.append(payload)
            stream.ends.append(pos)
        elif len(payload) < length:
            if kind in _FIRST:
                raise TruncatedStreamError(
                    f"the stream ends inside its {name} chunk, at {len(data)} bytes"
                )
            stream.first_slice = pos - len(payload) + length  # past the bytes: no cut
            break  # a metadata chunk cut short: dropped
        elif kind == _SAMPLES_TYPE:
            if not ok:
                raise CorruptStreamError("the SAMPLES chunk fails its checksum")
            stream.header = header = _samples(header, payload)
        elif kind == _STRIPES_TYPE:
            if not ok:
                raise CorruptStreamError("the STRIPES chunk fails its checksum")
            stream.header = header = _stripes(header, payload)
        elif kind == _ALPHA_TYPE:
            if not ok:
                raise CorruptStreamError("the ALPHA chunk fails its checksum")
            stream.alpha = _alpha(header, payload, max_pixels)
            stream.header = header = replace(header, alpha=True)
        elif not ok and _crc(kind - _ANCILLARY, length, payload) == crc:
            kind -= _ANCILLARY  # a critical chunk (a slice, SAMPLES) turned ancillary
            raise damaged(f"a {TYPES.get(kind, kind)} chunk whose type bit 3 is damaged")
        elif not ok:
            stream.damaged.append(name)
        elif kind in METADATA:
            stream.metadata[METADATA[kind]] = payload
        if kind != SLICE_TYPE and not stream.slices:
            stream.first_slice = pos
    if pos < size and len(stream.slices) == header.slices:
        kind = SLICE_TYPE
        raise damaged(f"{size - pos} unexpected bytes after the last time slice")
    if len(data) > size:
        raise CorruptStreamError(
            f"{len(data) - size} unexpected bytes after the end of the {size}-byte stream",
            stream.slices,
            stream.header,
            stream.alpha,
        )
    return stream


def cut_stream(data: bytes, size: int, max_pixels: int = MAX_IMAGE_PIXELS) -> bytes:
    """A stream's first ``size`` bytes as a cut stream: complete, checked, and decoding exactly
    like those bytes (see the module docstring).

    The stream is read (and checked) with :func:`unpack`; it may itself be cut or truncated.
    ``size`` runs from the end of the header and metadata (:attr:`Stream.first_slice`) to the
    stream's length; a whole stream cut to its own length is returned as it is.
    """
    stream = unpack(data, max_pixels)
    if not stream.first_slice <= size <= len(data):
        raise SpikeCodecError(
            f"cannot cut a {len(data)}-byte stream to {size} bytes (the header and metadata "
            f"alone are {stream.first_slice})"
        )
    if size == len(data) == stream.size:
        return bytes(data)
    kept: list[bytes] = []
    pos = stream.first_slice
    for payload in [*stream.slices, stream.partial]:
        room = size - pos - CHUNK_HEAD_SIZE
        if room < 0:
            break
        kept.append(PartialChunk(payload[:room], getattr(payload, "declared", len(payload))))
        pos += CHUNK_HEAD_SIZE + len(kept[-1])
    before = data[HEADER_SIZE : stream.first_slice]  # metadata (and unknown chunks) as they are
    return _assemble(replace(stream.header, cut=True), before, kept, size - pos)


def emitted_by(stream: Stream, until_ms: float) -> tuple[list[bytes], PartialChunk]:
    """What the neurons have emitted by ``until_ms`` (> 0): the slices complete by then, and of
    the next one the share of its bytes that its time span has elapsed."""
    slices, partial = stream.slices, stream.partial
    instants = slice_instants(stream.header)
    done = int(np.searchsorted(instants, until_ms, side="right"))
    if done >= len(slices) and not (done == len(slices) and partial):
        return slices, partial
    start = instants[done - 1] if done else 0.0
    share = (until_ms - start) / (instants[done] - start)
    nxt, declared = (
        (slices[done], len(slices[done])) if done < len(slices) else (partial, partial.declared)
    )
    return slices[:done], PartialChunk(nxt[: int(share * declared)], declared)
