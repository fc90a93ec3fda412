"""A decoder of the ``.spk`` format (version 12, lossless streams included) written from
``docs/FORMAT.md`` alone.

It shares nothing with spikecodec (no import of the package at all): the container, the range
decoder, the contexts and passes, the reconstruction, the inverse transform and the colour
conversion are written here again from the document, in plain Python (integers) and numpy
(the real-valued parts), with other operation orders and other matrix code than the library's.
It is slow (pure Python bit by bit) and meant for the small test vectors:
``tests/format/test_spec_decoder.py`` checks that its counts equal the library's exactly and its
pixels within the tolerance of FORMAT.md section 1.3. Section numbers below are FORMAT.md's.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SpecError", "decode", "decode_counts", "read_stream"]

MAGIC = b"\x89SPK"
VERSION = 12
HEADER_TAG = 1 << 28 | 57
HEADER_SIZE = 69
MAX_PIXELS = 178_956_970
STOP = -1


class SpecError(Exception):
    """The stream is refused (section 6)."""


# --------------------------------------------------------------------------------------------
# Tables (sections 9, 12, Appendix A), typed in from the document.

ZIGZAG = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
    20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58,
    59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]  # fmt: skip
POSITION = {r: k for k, r in enumerate(ZIGZAG)}  # raster -> zigzag


def _band(k: int) -> int:
    return sum(k >= edge for edge in (1, 3, 6, 10, 15, 21, 28, 36))


BAND = [_band(k) for k in range(64)]
COARSE_BAND = [0 if k <= 5 else 1 if k <= 20 else 2 for k in range(64)]
BITLEN = [min(e.bit_length(), 6) for e in range(65)]
EOB_DISTANCE = [0 if d <= 1 else 1 if d <= 5 else 2 for d in range(64)]
DC_SIGNIFICANCE_SPLITS = (-3, -2, -1, 0, 2, 4, 8)
DC_REFINEMENT_SPLITS = (-8, -4, -2, 0, 2, 4, 8)
PREDICTION_SHIFT = 22
RECIP = [(65536 + (m + 2) // 2) // (m + 2) for m in range(128)]


def _frequency_mask(k: int) -> int:
    u, v = divmod(ZIGZAG[k], 8)
    mask = 0
    for du, dv in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        if 0 <= u + du < 8 and 0 <= v + dv < 8:
            mask |= 1 << POSITION[(u + du) * 8 + v + dv]
    return mask


FMASK = [_frequency_mask(k) for k in range(64)]


def _wavelet_entries(k: int) -> tuple[int, int, int]:
    """Section 9.4: ``WBAND[k]``, ``WCOARSE[k]``, ``WMASK[k]`` of the wavelet geometry."""
    r, c = divmod(ZIGZAG[k], 8)
    if r == c == 0:
        return 0, 0, FMASK[0]
    m = max(r, c)
    level = 3 if m == 1 else 2 if m <= 3 else 1
    n = 8 >> level
    o = 0 if r < n else 1 if c < n else 2
    a, b = r % n, c % n

    def zz(lv: int, u: int, v: int) -> int:  # the zigzag index of place (u, v) of band o
        if lv == 4:
            return 0
        side = 8 >> lv
        return POSITION[(u + side * (o > 0)) * 8 + v + side * (o != 1)]

    near = [
        zz(level, a + da, b + db)
        for da, db in ((-1, 0), (1, 0), (0, -1), (0, 1))
        if 0 <= a + da < n and 0 <= b + db < n
    ]
    near.append(zz(level + 1, a >> 1, b >> 1))
    if level > 1:
        near += [zz(level - 1, 2 * a + s, 2 * b + t) for s in (0, 1) for t in (0, 1)]
    band = (1, 1, 2)[o] if level == 3 else 9 - 3 * level + o
    return band, 3 - level, sum(1 << z for z in near)


WBAND, WCOARSE, WMASK = (list(t) for t in zip(*(_wavelet_entries(k) for k in range(64))))
GEOMETRY = {0: (BAND, COARSE_BAND, FMASK), 1: (WBAND, WCOARSE, WMASK)}  # section 9.4

# Appendix A.5: (k, u, v) -> the weight of the non-zero sides, for flat, jpeg luma, jpeg
# chroma, mild luma, mild chroma.
_EDGE_ROWS = [
    (0, 0, 0, 2097152, 2097152, 2097152, 2097152, 2097152),
    (1, 0, 1, 3130255, 2152050, 3314388, 2850348, 3175306),
    (2, 1, 0, 3130255, 2347691, 3314388, 2913031, 3175306),
    (3, 2, 0, 3542606, 3099781, 5001327, 3426296, 3861566),
    (5, 0, 2, 3542606, 2214129, 5001327, 3149872, 3861566),
    (6, 0, 3, 3988286, 3988286, 11026439, 3988286, 5142787),
    (9, 3, 0, 3988286, 3489750, 11026439, 3857344, 5142787),
    (10, 4, 0, 4194304, 4718592, 24425653, 4319645, 6515631),
    (14, 0, 4, 4194304, 6291456, 24425653, 4641760, 6515631),
    (15, 0, 5, 3925999, 9814998, 22863173, 4936683, 6098834),
    (20, 5, 0, 3925999, 5888999, 22863173, 4344832, 6098834),
    (21, 6, 0, 3072486, 9409489, 17892714, 4064517, 4772946),
    (27, 0, 6, 3072486, 9793550, 17892714, 4105372, 4772946),
    (28, 0, 7, 1691765, 6449855, 9852045, 2363973, 2628068),
    (35, 7, 0, 1691765, 7612944, 9852045, 2464014, 2628068),
]
LEFT, RIGHT, TOP, BOTTOM = range(4)


def edge_table(table: int, chroma: bool) -> list[list[int]]:
    """``E[k][side]`` (section 12.4) of a table id (0 flat, 1 jpeg, 2 mild) and plane kind."""
    column = {0: 3, 1: 5 if chroma else 4, 2: 7 if chroma else 6}[table]
    E = [[0, 0, 0, 0] for _ in range(64)]
    for row in _EDGE_ROWS:
        k, u, v, value = row[0], row[1], row[2], row[column]
        if u == 0:
            E[k][LEFT], E[k][RIGHT] = value, (-1) ** v * value
        if v == 0:
            E[k][TOP], E[k][BOTTOM] = value, (-1) ** u * value
    return E


EDGE_MASK = sum(1 << row[0] for row in _EDGE_ROWS if row[0])

JPEG_LUMA = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]  # fmt: skip
JPEG_CHROMA = [99] * 64
for _r, _row in enumerate([[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]):
    JPEG_CHROMA[8 * _r : 8 * _r + 4] = _row

V_GAIN = np.array(
    [
        [0.95499090, 0.78333218, 0.35480519, 0.23914452],
        [-0.55198898, 0.90078514, 0.61878687, 0.23536764],
        [0.11234742, -0.36466145, 1.09161382, 0.39038537],
        [-0.02948294, 0.00815759, -0.11955500, 1.18791000],
    ]
)


def _wrap(x: int) -> int:
    """``x`` as a 64-bit two's-complement integer (section 1.2)."""
    return (x + (1 << 63)) % (1 << 64) - (1 << 63)


# --------------------------------------------------------------------------------------------
# The container (sections 3-6).


@dataclass
class Header:
    version: int
    flags: int
    mode: int
    width: int
    height: int
    R: float
    C: float
    T: float
    theta: float
    bias: float
    table: int
    chroma: float
    slices: int
    size: int
    depth: int = 8  # section 5.3
    transform: int = 0
    colour: int = 0
    stripes: int = 1  # section 5.5
    split: int = 0

    @property
    def cut(self) -> bool:
        return bool(self.flags & 1)


@dataclass
class Stream:
    header: Header
    slices: list[bytes] = field(default_factory=list)
    partial: bytes = b""
    declared: int = 0  # the partial slice's declared length
    metadata: dict[int, bytes] = field(default_factory=dict)
    damaged: list[int] = field(default_factory=list)
    first_slice: int = HEADER_SIZE  # where the header and metadata end (section 6.4)
    alpha: tuple[list[int], bytes] | None = None  # section 5.4: levels, inner stream


def _crc(tag: bytes, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(tag))


def read_header(data: bytes, max_pixels: int = MAX_PIXELS) -> Header:
    """Section 6.1, in its order."""
    if not (data.startswith(MAGIC) or MAGIC.startswith(data)):
        raise SpecError("not a spikecodec stream")
    if len(data) < HEADER_SIZE:
        raise SpecError("truncated header")
    (tag,) = struct.unpack_from("<I", data, 4)
    if tag != HEADER_TAG:
        if tag >> 28 == 1 and data[12] != VERSION:
            raise SpecError(f"unsupported version {data[12]}")
        raise SpecError("the stream does not start with its header chunk")
    if _crc(data[4:8], data[12:69]) != struct.unpack_from("<I", data, 8)[0]:
        raise SpecError("header checksum")
    fields = struct.unpack_from("<BBBIIddddfBfBI", data, 12)
    h = Header(*fields)
    if h.version != VERSION:
        raise SpecError(f"unsupported version {h.version}")
    if h.flags & 0xFE:
        raise SpecError("unknown flags")
    if h.mode > 2:
        raise SpecError("unknown mode")
    if h.width < 1 or h.height < 1:
        raise SpecError("empty image")
    if 64 * -(-h.width // 8) * -(-h.height // 8) > max_pixels:
        raise SpecError("too many pixels")
    if h.size < HEADER_SIZE:
        raise SpecError("size below the header's")
    if not 1 <= h.slices <= 31:
        raise SpecError("slices")
    for value in (h.R, h.C, h.T, h.theta, h.chroma):
        if not 1e-30 <= value <= 1e30:
            raise SpecError("parameter out of its domain")
    if not 0 <= h.bias < 1:
        raise SpecError("bias")
    if h.table > 2:
        raise SpecError("table")
    return h


def _read_alpha(h: Header, payload: bytes, max_pixels: int) -> tuple[list[int], bytes]:
    """Section 5.4: the level table and the inner stream, checked."""
    w = 1 if h.depth == 8 else 2
    if len(payload) < 2:
        raise SpecError("ALPHA too short")
    n = payload[0] | payload[1] << 8
    if len(payload) < 2 + n * w:
        raise SpecError("ALPHA too short for its levels")
    levels = [int.from_bytes(payload[2 + i * w : 2 + (i + 1) * w], "little") for i in range(n)]
    if any(b <= a for a, b in zip(levels, levels[1:])):
        raise SpecError("ALPHA levels not increasing")
    inner_bytes = payload[2 + n * w :]
    inner = read_stream(inner_bytes, max_pixels)
    g = inner.header
    if g.mode != 0 or (g.width, g.height) != (h.width, h.height) or g.depth != h.depth:
        raise SpecError("ALPHA's stream is not a gray plane of the image")
    if inner.alpha is not None or inner.metadata or inner.damaged:
        raise SpecError("ALPHA's stream has alpha or metadata")
    if len(inner_bytes) < g.size:
        raise SpecError("ALPHA's stream is truncated")
    if n and g.transform not in (1, 2):
        raise SpecError("a level table over a lossy stream")
    return levels, inner_bytes


def read_stream(data: bytes, max_pixels: int = MAX_PIXELS) -> Stream:
    """Section 6.2: the header, metadata, complete slices and the partial slice."""
    data = bytes(data)
    h = read_header(data[:HEADER_SIZE], max_pixels)
    stream = Stream(h)
    n, size = len(data), h.size
    complete, end = n >= size, min(n, size)
    pos, read = HEADER_SIZE, []  # read: the types of the chunks read so far
    while len(stream.slices) < h.slices and pos < end:
        if end - pos < 8:
            if complete and not (h.cut and not any(data[pos:end])):
                raise SpecError("a chunk head runs past the end")
            break
        tag, crc = struct.unpack_from("<II", data, pos)
        kind, length = tag >> 28, tag & 0x0FFFFFFF
        if kind == 0 and h.cut and not any(data[pos:end]):
            break
        if pos + 8 + length > size and not h.cut:
            raise SpecError("a chunk's length runs past the end of the stream")
        if kind == 3 and pos != HEADER_SIZE:
            raise SpecError("SAMPLES not right after the header")
        if kind == 5 and any(k != 3 for k in read):
            raise SpecError("STRIPES not right after the header and SAMPLES")
        if kind == 4 and any(k not in (3, 5) for k in read):
            raise SpecError("ALPHA not right after the header, SAMPLES and STRIPES")
        read.append(kind)
        if kind < 8 and kind not in (2, 3, 4, 5):
            raise SpecError(f"critical chunk of type {kind}")
        if kind != 2 and stream.slices:
            raise SpecError(f"a chunk of type {kind} after the first slice")
        if kind in stream.metadata:
            raise SpecError(f"a second metadata chunk of type {kind}")
        payload = data[pos + 8 : min(pos + 8 + length, end)]
        ok = _crc(data[pos : pos + 4], payload) == crc
        head, pos = pos, pos + 8 + len(payload)
        if kind == 2:
            if (len(payload) == length or complete) and not ok:
                raise SpecError("slice checksum")
            if h.stripes * (1 + h.split) > 1:
                _substream_lengths(payload, length, h.stripes * (1 + h.split))
            if len(payload) < length:
                stream.partial, stream.declared = payload, length
                break
            stream.slices.append(payload)
        elif len(payload) < length:
            if kind in (3, 4, 5):
                raise SpecError("truncated inside SAMPLES, ALPHA or STRIPES")
            stream.first_slice = head + 8 + length  # past the bytes present: no cut
            break
        elif kind == 3:
            if not ok:
                raise SpecError("SAMPLES checksum")
            if length < 2 or payload[0] not in (8, 16) or payload[1] > 2:
                raise SpecError("SAMPLES this reader does not know")
            if length != 2 + (payload[1] == 2):
                raise SpecError("SAMPLES of another length")
            if payload[1] and h.mode == 1:
                raise SpecError("reversible 4:2:0")
            h.depth, h.transform = payload[0], payload[1]
            h.colour = payload[2] if length == 3 else 0
            if h.colour > (5 if h.mode == 2 else 0):
                raise SpecError("a colour transform this reader does not know")
        elif kind == 5:
            if not ok:
                raise SpecError("STRIPES checksum")
            if length != 3:
                raise SpecError("STRIPES of another length")
            h.stripes, h.split = struct.unpack("<HB", payload)
            fewest = min(-(-ph // 8) for ph, _ in plane_shapes(h))
            if not 1 <= h.stripes <= min(fewest, 256):
                raise SpecError("a number of stripes the planes do not allow")
            if h.split > 1 or (h.split and h.mode == 0) or (h.stripes, h.split) == (1, 0):
                raise SpecError("luma and chroma apart where they cannot be, or no stripes")
        elif kind == 4:
            if not ok:
                raise SpecError("ALPHA checksum")
            stream.alpha = _read_alpha(h, payload, max_pixels)
        elif not ok and _crc(struct.pack("<I", (kind - 8) << 28 | length), payload) == crc:
            raise SpecError(f"a chunk of type {kind - 8} with its type bit 3 damaged")
        elif not ok:
            stream.damaged.append(kind)
        elif kind in (8, 9, 10):
            stream.metadata[kind] = payload
        if kind != 2:
            stream.first_slice = pos
    if pos < size and len(stream.slices) == h.slices:
        raise SpecError("bytes after the last slice")
    if n > size:
        raise SpecError("bytes after the end of the stream")
    return stream


def _substream_lengths(payload: bytes, declared: int, n: int) -> list[int] | None:
    """Section 5.2: the lengths of a slice's ``n`` sub-streams (None while the table is not all
    present)."""
    if declared < 4 * (n - 1):
        raise SpecError("a slice shorter than its table of sub-streams")
    if len(payload) < 4 * (n - 1):
        return None
    lengths = list(struct.unpack_from(f"<{n - 1}I", payload))
    if sum(lengths) > declared - 4 * (n - 1):
        raise SpecError("sub-streams that do not fit in the slice")
    return lengths + [declared - 4 * (n - 1) - sum(lengths)]


# --------------------------------------------------------------------------------------------
# The range decoder and the models (section 10).


class RangeDecoder:
    def __init__(self, buf: bytes, complete: bool):
        self.buf, self.complete = buf, complete
        self.code = 0
        for i in range(4):
            self.code = (self.code << 8) | (buf[i] if i < len(buf) else 0)
        self.range, self.pos = 0xFFFFFFFF, 4
        self.stopped = not complete and len(buf) < 4

    def decode(self, p: int) -> int:
        if self.stopped:
            return STOP
        bound = (self.range >> 16) * (65536 - p)
        if self.code >= bound:
            bit = 1
            self.code -= bound
            self.range -= bound
        else:
            bit = 0
            self.range = bound
        while self.range < 1 << 24:
            self.range <<= 8
            if self.pos < len(self.buf):
                byte = self.buf[self.pos]
            else:
                byte = 0
                if not self.complete:
                    self.stopped = True
            self.pos += 1
            self.code = ((self.code << 8) | byte) & 0xFFFFFFFF
        return bit


class Models:
    """The adaptive contexts, each identified by its model's name and index tuple (their layout
    does not matter: section 10.3)."""

    SIZES = {
        "dc": (3, 8, 4, 2, 2),
        "dc_sign": (3, 2, 2),
        "growth": (7, 7, 2),
        "extent": (7, 2, 64, 5),
        "significance": (8, 3, 3, 3, 2),
        "refinement": (3, 2, 4, 3, 2),
    }

    def __init__(self):
        self.contexts: dict[tuple, list[int]] = {}

    def decode(self, coder: RangeDecoder, model: str, *index: int) -> int:
        assert all(0 <= x < s for x, s in zip(index, self.SIZES[model], strict=True)), (
            model,
            index,
        )
        ctx = self.contexts.setdefault((model, index), [32768, 32768, 0])
        f, s, n = ctx
        bit = coder.decode((f + s) >> 1)
        if bit == STOP:
            return STOP
        t = bit << 16
        f += ((t - f) * RECIP[min(n, 15)]) >> 16
        s += ((t - s) * RECIP[n]) >> 16
        ctx[0] = min(max(f, 16), 65520)
        ctx[1] = min(max(s, 16), 65520)
        ctx[2] = min(n + 1, 127)
        return bit


# --------------------------------------------------------------------------------------------
# The decoder's state and the passes (sections 11-14).


class Plane:
    """One colour plane's counts (section 11) and block state."""

    def __init__(
        self, by: int, bx: int, chroma: bool, edges: list[list[int]], S: int, geometry: int = 0
    ):
        self.by, self.bx, self.chroma = by, bx, int(chroma)
        self.band, self.coarse, self.nmask = GEOMETRY[geometry]
        nb = by * bx
        self.prefix = [[0] * 64 for _ in range(nb)]
        self.sign = [[0] * 64 for _ in range(nb)]
        self.level = [[S] * 64 for _ in range(nb)]
        self.significant = [0] * nb
        self.fresh = [0] * nb
        self.eob = [0] * nb
        self.sides = [[0, 0, 0, 0] for _ in range(nb)]
        self.rank = [0] * nb
        self.order: list[int] = []
        self.E = edges

    def neighbours(self, b: int) -> list[int]:
        """Block indices of the existing neighbours above, below, left, right."""
        i, j = divmod(b, self.bx)
        out = []
        if i > 0:
            out.append(b - self.bx)
        if i + 1 < self.by:
            out.append(b + self.bx)
        if j > 0:
            out.append(b - 1)
        if j + 1 < self.bx:
            out.append(b + 1)
        return out

    def value2(self, b: int, k: int, p: int) -> int:
        return self.sign[b][k] * ((2 * self.prefix[b][k] + 1) << (self.level[b][k] - p))

    def around(self, b: int, k: int) -> int:
        return min(sum((self.significant[n] >> k) & 1 for n in self.neighbours(b)), 2)


class SliceDecoder:
    def __init__(self, planes: list[Plane], models: Models, coder: RangeDecoder, p: int):
        self.planes, self.models, self.coder, self.p = planes, models, coder, p

    def bit(self, model: str, *index: int) -> int:
        return self.models.decode(self.coder, model, *index)

    def run(self) -> bool:
        """Section 13.1; False once the stream stops."""
        p = self.p
        for pl in self.planes:
            for b in range(pl.by * pl.bx):
                pl.fresh[b] = 0
                sides = [0, 0, 0, 0]
                m = pl.significant[b] & EDGE_MASK
                for k in range(1, 64):
                    if (m >> k) & 1:
                        v = pl.value2(b, k, p)
                        for side in range(4):
                            sides[side] += v * pl.E[k][side]
                pl.sides[b] = [_wrap(x) for x in sides]
                n = bin(pl.significant[b]).count("1")
                if n:
                    pl.rank[b] = min(1 + n.bit_length(), 7)
                else:
                    pl.rank[b] = int(any(pl.significant[c] for c in pl.neighbours(b)))
            pl.order = sorted(range(pl.by * pl.bx), key=lambda b, pl=pl: (-pl.rank[b], b))
        for step in ("active", "refinement", "dc", "near", "rest"):
            for pl in self.planes:
                if step == "refinement":
                    ok = self.refinement(pl)
                elif step == "dc":
                    ok = self.dc(pl, 0) and self.dc(pl, 1)
                else:
                    wanted = {"active": lambda r: r >= 2, "near": lambda r: r == 1}.get(
                        step, lambda r: r == 0
                    )
                    ok = all(self.significance(pl, b) for b in pl.order if wanted(pl.rank[b]))
                if not ok:
                    return False
        for pl in self.planes:
            for row in pl.level:
                row[:] = [p] * 64
        return True

    def significance(self, pl: Plane, b: int) -> bool:
        """Section 13.2 for block b; False once the stream stops (nothing of it committed)."""
        p, ch = self.p, pl.chroma
        old = pl.eob[b]
        nbrs = pl.neighbours(b)
        total, cnt = sum(pl.eob[n] for n in nbrs), len(nbrs)
        if cnt == 4:
            guess = (total + 2) >> 2
        elif cnt:
            guess = (2 * total + cnt) // (2 * cnt)
        else:
            guess = 0
        grows = self.bit("growth", BITLEN[old], BITLEN[guess], ch)
        if grows == STOP:
            return False
        new = old
        if grows:
            lowest = max(old, 1)
            a, node = 0, 1
            for bp in range(5, -1, -1):
                mid = a + (1 << bp)
                if mid <= lowest:
                    bit = 1
                else:
                    rel = min(max((guess - 1 - mid) >> max(bp - 1, 0), -2), 2) + 2
                    bit = self.bit("extent", BITLEN[old], ch, node, rel)
                    if bit == STOP:
                        return False
                node = 2 * node + bit
                if bit:
                    a = mid
            new = a + 1
            negative = self.coder.decode(32768)
            if negative == STOP:
                return False
            pl.sign[b][a] = -1 if negative else 1
            pl.prefix[b][a] = 1
            pl.level[b][a] = p
            pl.significant[b] |= 1 << a
            pl.fresh[b] |= 1 << a
        for k in range(max(new, 1), 64):
            pl.level[b][k] = p
        pl.eob[b] = new
        before = pl.significant[b]
        known = before | int(pl.prefix[b][0] > 0)
        fired = 0
        for k in range(1, new):
            if (before >> k) & 1:
                continue
            inside = min(bin(known & pl.nmask[k]).count("1"), 2)
            fires = self.bit(
                "significance",
                pl.band[k] - 1,
                inside,
                pl.around(b, k),
                EOB_DISTANCE[new - 1 - k],
                ch,
            )
            if fires == STOP:
                return False
            if fires:
                negative = self.coder.decode(32768)
                if negative == STOP:
                    return False
                pl.sign[b][k] = -1 if negative else 1
                pl.prefix[b][k] = 1
                fired |= 1 << k
                known |= 1 << k
            pl.level[b][k] = p
        pl.significant[b] = before | fired
        pl.fresh[b] |= fired
        return True

    def refinement(self, pl: Plane) -> bool:
        """Section 13.3."""
        p, ch = self.p, pl.chroma
        for b in range(pl.by * pl.bx):
            m = pl.significant[b] & ~pl.fresh[b]
            known = pl.significant[b] | int(pl.prefix[b][0] > 0)
            for k in range(1, 64):
                if not (m >> k) & 1:
                    continue
                u = pl.prefix[b][k]
                inside = min(bin(known & pl.nmask[k]).count("1"), 3)
                bit = self.bit("refinement", pl.coarse[k], int(u == 1), inside, pl.around(b, k), ch)
                if bit == STOP:
                    return False
                pl.prefix[b][k] = 2 * u + bit
                pl.level[b][k] = p
        return True

    def dc(self, pl: Plane, phase: int) -> bool:
        """Section 13.4."""
        p, ch = self.p, pl.chroma
        e_dc = pl.E[0][0]
        for i in range(pl.by):
            for j in range(pl.bx):
                if (i + j) % 2 != phase:
                    continue
                b = i * pl.bx + j
                q, cnt, ts = 0, 0, []
                for n, (y, x), facing in (
                    (LEFT, (i, j - 1), RIGHT),
                    (RIGHT, (i, j + 1), LEFT),
                    (TOP, (i - 1, j), BOTTOM),
                    (BOTTOM, (i + 1, j), TOP),
                ):
                    if 0 <= y < pl.by and 0 <= x < pl.bx:
                        c = y * pl.bx + x
                        t = _wrap(pl.sides[c][facing] + pl.value2(c, 0, p) * e_dc - pl.sides[b][n])
                        q = _wrap(q + t)
                        cnt += 1
                        ts.append(t)
                unit = max(cnt, 1) << PREDICTION_SHIFT
                if cnt < 2:
                    spread = 3
                else:
                    d = _wrap(max(ts) - min(ts)) >> PREDICTION_SHIFT
                    spread = 0 if d < 1 else 1 if d < 2 else 2 if d < 4 else 3
                u = pl.prefix[b][0]
                if u == 0:
                    x4 = _wrap(4 * _wrap(abs(q)) - 4 * unit)
                    splits = DC_SIGNIFICANCE_SPLITS
                else:
                    x4 = _wrap(4 * pl.sign[b][0] * q - 4 * (2 * u + 1) * unit)
                    splits = DC_REFINEMENT_SPLITS
                cls = sum(sp * unit < x4 for sp in splits)
                bit = self.bit("dc", min(u, 2), cls, spread, phase, ch)
                if bit == STOP:
                    return False
                if u == 0 and bit:
                    q4 = _wrap(4 * q)
                    side = int(q4 > -unit) + int(q4 > unit)
                    negative = self.bit("dc_sign", side, phase, ch)
                    if negative == STOP:
                        return False
                    pl.sign[b][0] = -1 if negative else 1
                pl.prefix[b][0] = 2 * u + bit
                pl.level[b][0] = p
        return True


# --------------------------------------------------------------------------------------------
# Geometry and thresholds (sections 7-9).


def plane_shapes(h: Header) -> list[tuple[int, int]]:
    H, W = h.height, h.width
    if h.mode == 0:
        return [(H, W)]
    if h.mode == 1:
        return [(H, W), ((H + 1) // 2, (W + 1) // 2), ((H + 1) // 2, (W + 1) // 2)]
    return [(H, W)] * 3


def table_weights(table: int, chroma: bool) -> np.ndarray:
    Q = JPEG_CHROMA if chroma else JPEG_LUMA
    if table == 0:
        return np.ones(64)
    w = np.array([Q[ZIGZAG[f]] / 16 for f in range(64)])
    return w if table == 1 else w**0.25


def band_thresholds(h: Header, c: int) -> np.ndarray:
    """Section 7.3."""
    if h.transform in (1, 2):
        return np.full(64, h.theta)
    weights = table_weights(h.table, c > 0)
    if c == 0:
        return h.theta * weights
    area = 4.0 if h.mode == 1 else 1.0
    g = h.chroma * math.sqrt(3.0 / (area * (2.0, 3.0)[c - 1]))
    return h.theta * weights * g


class Thresholds:
    """``I(m)`` of the unit quantizer (section 8)."""

    def __init__(self, h: Header):
        self.R, self.T = h.R, h.T
        self.b = h.bias * h.C / h.T
        self.tau = h.R * h.C
        lo = 1.0 / self.R - self.b
        # the least float v with R*(v + b) > 1
        while not self.R * (lo + self.b) > 1.0:
            lo = math.nextafter(lo, math.inf)
        self.least = lo
        if not self(1) > 0:
            raise SpecError("the neurons fire at rest")

    def __call__(self, m: int) -> float:
        return max(1.0 / (self.R * -math.expm1(-self.T / (m * self.tau))) - self.b, self.least)


# --------------------------------------------------------------------------------------------
# Decoding.


def _layouts(h: Header) -> list[Plane]:
    planes = []
    for c, (ph, pw) in enumerate(plane_shapes(h)):
        by, bx = -(-ph // 8), -(-pw // 8)
        geometry = 1 if h.transform == 2 else 0
        planes.append(Plane(by, bx, c > 0, edge_table(h.table, c > 0), h.slices, geometry))
    return planes


def emitted_by(stream: Stream, until_ms: float) -> tuple[list[bytes], bytes]:
    """What the neurons emitted by ``until_ms`` (section 14, informative): the complete slices
    and a partial one."""
    h = stream.header
    instants = [h.T / 2 ** (h.slices - 1 - s) for s in range(h.slices)]
    done = sum(t <= until_ms for t in instants)
    slices, partial = stream.slices, stream.partial
    if done > len(slices) or (done == len(slices) and not partial):
        return slices, partial
    start = instants[done - 1] if done else 0.0
    share = (until_ms - start) / (instants[done] - start)
    payload, declared = (
        (slices[done], len(slices[done])) if done < len(slices) else (partial, stream.declared)
    )
    return slices[:done], payload[: math.floor(share * declared)]


def decode_counts(data: bytes, until: float | None = None):
    """``(header, planes)``: the counts of section 11 (``plane.prefix``, ``sign``, ``level``,
    lists per block in raster order) of a stream, as far as it reaches, or up to the instant
    ``until * T``."""
    stream = read_stream(data)
    h = stream.header
    Thresholds(h)  # section 7.1: refuse neurons firing at rest
    chunks, partial = stream.slices, stream.partial
    if until is not None:
        chunks, partial = emitted_by(stream, until * h.T)
    cut_from = stream.slices[len(chunks)] if len(chunks) < len(stream.slices) else None
    declared = stream.declared if cut_from is None else len(cut_from)  # the partial's length
    n = h.stripes * (1 + h.split)  # the sub-streams of a slice
    if n == 1:
        planes = _layouts(h)
        _decode_stripe(h, planes, [(c, True) for c in chunks] + [(partial, False)] * bool(partial))
        return h, planes
    # Section 5.5: each sub-stream, its stripe's rows of its planes, decoded as a stream of
    # its own; luma and chroma apart (split), the luma's sub-streams first.
    whole = _layouts(h)
    per_stripe: list[list[tuple[bytes, bool]]] = [[] for _ in range(n)]
    for payload, length in [(c, len(c)) for c in chunks] + [(partial, declared)] * bool(partial):
        lengths = _substream_lengths(payload, length, n)
        if lengths is None:
            break
        at = 4 * (n - 1)
        for k, size in enumerate(lengths):
            part = payload[at : at + size]
            if len(part) == size:
                per_stripe[k].append((part, True))
            elif part:
                per_stripe[k].append((part, False))
            at += size
    groups = [[0], list(range(1, len(whole)))] if h.split else [list(range(len(whole)))]
    m = h.stripes
    for index in range(n):
        group, k = groups[index // m], index % m
        rows = {c: (k * whole[c].by // m, (k + 1) * whole[c].by // m) for c in group}
        planes = [
            Plane(b - a, whole[c].bx, c > 0, whole[c].E, h.slices, 1 if h.transform == 2 else 0)
            for c, (a, b) in rows.items()
        ]
        _decode_stripe(h, planes, per_stripe[index])
        for (c, (a, b)), part in zip(rows.items(), planes):  # the stripe's rows of each plane
            pl = whole[c]
            for name in ("prefix", "sign", "level"):
                getattr(pl, name)[a * pl.bx : b * pl.bx] = getattr(part, name)
    return h, whole


def _decode_stripe(h: Header, planes: list[Plane], payloads: list[tuple[bytes, bool]]) -> None:
    """Sections 10-14: the slices ``(payload, complete)`` of a stream (or a stripe) decoded
    into ``planes``, with models of their own."""
    models = Models()
    for s, (payload, complete) in enumerate(payloads[: h.slices]):
        coder = RangeDecoder(payload, complete)
        if not SliceDecoder(planes, models, coder, h.slices - 1 - s).run():
            break
        if not complete:
            break


def counts_array(plane: Plane) -> tuple[np.ndarray, np.ndarray]:
    """``(counts int64, level int8)``, shaped ``(by, bx, 64)``."""
    prefix = np.array(plane.prefix, np.int64)
    sign = np.array(plane.sign, np.int64)
    level = np.array(plane.level, np.int8)
    shape = (plane.by, plane.bx, 64)
    return (sign * prefix).reshape(shape), level.reshape(shape)


def reconstruct(h: Header, plane: Plane, c: int) -> np.ndarray:
    """Section 15: the coefficients ``(by, bx, 64)``."""
    q = Thresholds(h)
    theta_f = band_thresholds(h, c)
    n: dict[tuple[int, int], int] = {}
    e: dict[tuple[int, int], int] = {}
    for b in range(plane.by * plane.bx):
        for f in range(64):
            k = plane.prefix[b][f]
            if k:
                key = (plane.level[b][f], f)
                n[key] = n.get(key, 0) + 1
                e[key] = e.get(key, 0) + k - 1
    delta = {}
    for key in n:
        if key[1] == 0:
            delta[key] = 0.5
            continue
        r = (e[key] + 0.5) / (e[key] + n[key] + 1.0)
        a = -math.log(r)
        delta[key] = min(max(1.0 / a - r / (1.0 - r), 0.0), 0.5)
    out = np.zeros((plane.by * plane.bx, 64))
    for b in range(plane.by * plane.bx):
        for f in range(64):
            k = plane.prefix[b][f]
            if k:
                lv = plane.level[b][f]
                lo, hi = q(k << lv), q((k + 1) << lv)
                out[b, f] = plane.sign[b][f] * (lo + delta[(lv, f)] * (hi - lo)) * theta_f[f]
    return out.reshape(plane.by, plane.bx, 64)


def _dct_matrix() -> np.ndarray:
    C = np.empty((8, 8))
    for k in range(8):
        a = math.sqrt(1 / 8) if k == 0 else 0.5
        for m in range(8):
            C[k, m] = a * math.cos(math.pi * (2 * m + 1) * k / 16)
    return C


def _post_filter() -> np.ndarray:
    """``P^-1`` as one 8x8 matrix: the inverse of ``P`` (section 16.2), not of ``V``."""
    I, J, Z = np.eye(4), np.fliplr(np.eye(4)), np.zeros((4, 4))
    B = np.block([[I, J], [J, -I]])
    V = np.eye(4) + 0.7 * (V_GAIN - np.eye(4))
    P = 0.5 * B @ np.block([[I, Z], [Z, V]]) @ B
    return np.linalg.solve(P, np.eye(8))


def inverse_transform(coeffs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Section 16.3: the plane (level restored, not rounded)."""
    by, bx, _ = coeffs.shape
    C = _dct_matrix()
    x = np.empty((8 * by, 8 * bx))
    for i in range(by):
        for j in range(bx):
            X = np.zeros((8, 8))
            for k in range(64):
                X[ZIGZAG[k] // 8, ZIGZAG[k] % 8] = coeffs[i, j, k]
            x[8 * i : 8 * i + 8, 8 * j : 8 * j + 8] = C.T @ X @ C
    post = _post_filter()
    for b in range(8, 8 * by, 8):  # across the horizontal boundaries, down the columns
        x[b - 4 : b + 4, :] = post @ x[b - 4 : b + 4, :]
    for b in range(8, 8 * bx, 8):  # across the vertical boundaries, along the rows
        x[:, b - 4 : b + 4] = x[:, b - 4 : b + 4] @ post.T
    return x[: shape[0], : shape[1]] + 128.0


def _upsample(c: np.ndarray, size: int) -> np.ndarray:
    """Section 16.5 along axis 0: ``size`` outputs from ``len(c)`` samples."""
    n = c.shape[0]

    def s(i):
        return c[min(max(i, 0), n - 1)]

    out = []
    for r in range(size):
        i = r // 2
        if r % 2 == 0:
            out.append((-3 * s(i - 2) + 29 * s(i - 1) + 111 * s(i) - 9 * s(i + 1)) / 128)
        else:
            out.append((-9 * s(i - 1) + 111 * s(i) + 29 * s(i + 1) - 3 * s(i + 2)) / 128)
    return np.array(out)


def _round(v: np.ndarray) -> np.ndarray:
    return np.clip(np.round(v), 0, 255).astype(np.uint8)  # np.round: half to even


def _round_deep(v: np.ndarray) -> np.ndarray:
    """Section 16.7: 16-bit samples from values on the 8-bit scale."""
    return np.round(np.clip(v, 0, 255) * 257).astype(np.uint16)


def _inverse_lift(low: list, high: list) -> list:
    """Section 16.6: one level backwards along a sequence; exact on ints, the roundings'
    means on floats."""
    m = len(low)
    exact = all(isinstance(v, int) for v in low + high)

    def update(a, b):
        return (a + b + 2) // 4 if exact else (a + b) / 4 + 0.125

    def predict(a, b):
        return (a + b) // 2 if exact else (a + b) / 2 - 0.25

    even = [low[i] - update(high[max(i - 1, 0)], high[i]) for i in range(m)]
    odd = [high[i] + predict(even[i], even[min(i + 1, m - 1)]) for i in range(m)]
    return [v for pair in zip(even, odd) for v in pair]


def inverse_wavelet(coeffs, by: int, bx: int, shape: tuple[int, int]):
    """Section 16.6: the plane (level restored) as a list of rows, from zigzag coefficients
    ``coeffs[b][k]`` (ints or floats)."""
    exact = all(isinstance(v, int) for row in coeffs for v in row)
    H, W = 8 * by, 8 * bx
    picture = [[0] * W for _ in range(H)]  # the Mallat picture of section 16.6
    for i in range(by):
        for j in range(bx):
            for k in range(64):
                u, v = divmod(ZIGZAG[k], 8)
                value = coeffs[i * bx + j][k]
                if u == v == 0:
                    picture[i][j] = value >> 3 if exact else value / 8
                    continue
                level = 1 if max(u, v) >= 4 else (2 if max(u, v) >= 2 else 3)
                m = 8 >> level
                row = (H >> level if u >= m else 0) + i * m + u % m
                col = (W >> level if v >= m else 0) + j * m + v % m
                picture[row][col] = value
    for level in (3, 2, 1):
        rows, cols = H >> (level - 1), W >> (level - 1)
        for c in range(cols):  # the columns first, then the rows
            column = [picture[r][c] for r in range(rows)]
            for r, value in enumerate(_inverse_lift(column[: rows // 2], column[rows // 2 :])):
                picture[r][c] = value
        for r in range(rows):
            row = picture[r][:cols]
            picture[r][:cols] = _inverse_lift(row[: cols // 2], row[cols // 2 :])
    return [row[: shape[1]] for row in picture[: shape[0]]]


def _reversible_decode(h: Header, planes: list) -> np.ndarray:
    """Sections 15 and 16.6."""
    values = []
    for c, (pl, shape) in enumerate(zip(planes, plane_shapes(h))):
        if all(lv == 0 for row in pl.level for lv in row):
            coeffs = [
                [pl.sign[b][f] * pl.prefix[b][f] for f in range(64)] for b in range(len(pl.prefix))
            ]
        else:
            coeffs = [[float(v) for v in row] for row in reconstruct(h, pl, c).reshape(-1, 64)]
        plane = inverse_wavelet(coeffs, pl.by, pl.bx, shape)
        offset = 2 ** (h.depth - 1) if c == 0 else 0
        values.append([[v + offset for v in row] for row in plane])
    top, dtype = 2**h.depth - 1, np.uint8 if h.depth == 8 else np.uint16
    if h.mode == 0:
        return np.clip(np.round(np.array(values[0], np.float64)), 0, top).astype(dtype)
    out = np.empty((h.height, h.width, 3))
    for r in range(h.height):
        for x in range(h.width):
            y, c1, c2 = (values[c][r][x] for c in range(3))
            exact = all(isinstance(v, int) for v in (y, c1, c2))
            if h.colour < 3:  # YCoCg-R
                t = y - (c2 >> 1 if exact else c2 / 2)
                g = c2 + t
                b = t - (c1 >> 1 if exact else c1 / 2)
                rgb = [b + c1, g, b]
            else:  # RCT
                g = y - ((c1 + c2) >> 2 if exact else (c1 + c2) / 4)
                rgb = [c2 + g, g, c1 + g]
            swap = {1: (0, 1), 4: (0, 1), 2: (1, 2), 5: (1, 2)}.get(h.colour)
            if swap:  # r, g, b were R and G, or B and G, exchanged
                rgb[swap[0]], rgb[swap[1]] = rgb[swap[1]], rgb[swap[0]]
            out[r, x] = rgb
    return np.clip(np.round(out), 0, top).astype(dtype)


def decode(data: bytes, until: float | None = None) -> np.ndarray:
    """The image: uint8 ``(H, W)`` or ``(H, W, 3)``, the alpha plane last if it has one
    (section 5.4)."""
    colour = _decode_colour(data, until)
    alpha = read_stream(data).alpha
    if alpha is None:
        return colour
    levels, inner = alpha
    plane = decode(inner)
    if levels:
        first = 2 ** (read_stream(inner).header.depth - 1) - len(levels) // 2
        index = np.clip(plane.astype(np.int64) - first, 0, len(levels) - 1)
        plane = np.array(levels, plane.dtype)[index]
    return np.dstack([colour, plane])


def _decode_colour(data: bytes, until: float | None) -> np.ndarray:
    h, planes = decode_counts(data, until)
    if h.transform in (1, 2):
        return _reversible_decode(h, planes)
    shapes = plane_shapes(h)
    values = [inverse_transform(reconstruct(h, pl, c), shapes[c]) for c, pl in enumerate(planes)]
    out = _round if h.depth == 8 else _round_deep  # sections 16.4, 16.5 and 16.7
    if h.mode == 0:
        return out(values[0])
    y, co, cg = values
    if h.mode == 1:
        co, cg = (_upsample(_upsample(p, h.height).T, h.width).T for p in (co, cg))
    co, cg = co - 128.0, cg - 128.0
    return out(np.stack([y + co - cg, y + cg, y - co - cg], axis=-1))
