"""The lapped 8x8 DCT of a plane and its inverse, compiled.

Level shift by 128, a time-domain lapped pre-filter across every internal block boundary, then
the orthonormal 2-D DCT-II of every 8x8 block,

    C[k, n] = a(k) cos(pi (2n + 1) k / 16),   a(0) = sqrt(1/8), a(k > 0) = 1/2

(the same scaling as JPEG's FDCT). The inverse runs the IDCT and the post-filter ``P^-1``.
Pre-filter and DCT together form a lapped biorthogonal transform (Tran, Liang & Tu, "Lapped
transform via time-domain pre- and post-filtering", IEEE TSP 2003): the 8 samples straddling a
boundary (4 on each side) are mapped by

    P = 1/2 [[I, J], [J, -I]] diag(I, V) [[I, J], [J, -I]]        (I, J: 4x4 identity, reversal)

separably along rows and columns (``P^-1`` is the same with ``V^-1``). The coding-gain optimum
:data:`V_GAIN` of the resulting 8x16 transform for a unit-variance AR(1) source with correlation
0.95 (the usual image model) gives 9.62 dB against 8.83 dB for the DCT alone; the codec uses a
milder pre-filter, :data:`V` ``= I + PREFILTER_STRENGTH (V_GAIN - I)`` (``V = I`` is no
pre-filter at all), which keeps most of that gain (9.53 dB) and codes better with the codec's
dead-zone quantizer and context coder (docs/design.md). Either way it decorrelates across
blocks and removes blocking. A plane of any size is padded by edge replication to a multiple of 8
and cropped back after the inverse. Coefficients are ``(blocks_y, blocks_x, 64)`` in zigzag
order (:data:`~spikecodec.tables.ZIGZAG`).

The kernels allocate nothing full-size but their result; the transform runs a strip of 8 rows
at a time, through the even/odd split of the DCT and the butterflies of ``P``; the inverse is
fed a slab of block rows at a time (:class:`Synthesis`), so that a decoder never holds the whole
coefficient array.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel
from ..errors import ParameterError
from ..tables import BLOCK, ZIGZAG

__all__ = ["PREFILTER_STRENGTH", "V", "V_GAIN", "Synthesis", "lapped_dct"]

V_GAIN = np.array(
    [
        [0.95499090, 0.78333218, 0.35480519, 0.23914452],
        [-0.55198898, 0.90078514, 0.61878687, 0.23536764],
        [0.11234742, -0.36466145, 1.09161382, 0.39038537],
        [-0.02948294, 0.00815759, -0.11955500, 1.18791000],
    ]
)
"""The 4x4 matrix maximizing the coding gain of ``P`` (9.62 dB on AR(1), correlation 0.95)."""
PREFILTER_STRENGTH = 0.7
V = np.eye(4) + PREFILTER_STRENGTH * (V_GAIN - np.eye(4))
"""The 4x4 matrix of the codec's pre-filter ``P``."""
_V_INV = np.linalg.inv(V)


def _dct_matrix(n: int = BLOCK) -> np.ndarray:
    """The orthonormal DCT-II: ``C[k, m] = a(k) cos(pi (2m + 1) k / 2n)``, ``a(0) = sqrt(1/n)``,
    ``a(k > 0) = sqrt(2/n)``."""
    k = np.arange(n)
    dct = np.sqrt(2 / n) * np.cos(np.pi * np.outer(k, 2 * k + 1) / (2 * n))
    dct[0] = np.sqrt(1 / n)
    return dct


# C[k, 7 - m] = (-1)^k C[k, m]: the even rows act on x[m] + x[7-m], the odd on x[m] - x[7-m].
_DCT_EVEN, _DCT_ODD = _dct_matrix()[0::2, :4].copy(), _dct_matrix()[1::2, :4].copy()
_IDCT_EVEN, _IDCT_ODD = _DCT_EVEN.T.copy(), _DCT_ODD.T.copy()


@kernel
def _mul4(m, a, b, c, d):
    """``m @ (a, b, c, d)`` for a 4x4 ``m``."""
    return (
        m[0, 0] * a + m[0, 1] * b + m[0, 2] * c + m[0, 3] * d,
        m[1, 0] * a + m[1, 1] * b + m[1, 2] * c + m[1, 3] * d,
        m[2, 0] * a + m[2, 1] * b + m[2, 2] * c + m[2, 3] * d,
        m[3, 0] * a + m[3, 1] * b + m[3, 2] * c + m[3, 3] * d,
    )


@kernel
def _lap(v, x0, x1, x2, x3, x4, x5, x6, x7):
    """``1/2 [[I, J], [J, -I]] diag(I, v) [[I, J], [J, -I]] @ x``: ``P`` (v = V), ``P^-1``."""
    a0, a1, a2, a3 = x0 + x7, x1 + x6, x2 + x5, x3 + x4
    e0, e1, e2, e3 = _mul4(v, x3 - x4, x2 - x5, x1 - x6, x0 - x7)
    return (
        0.5 * (a0 + e3),
        0.5 * (a1 + e2),
        0.5 * (a2 + e1),
        0.5 * (a3 + e0),
        0.5 * (a3 - e0),
        0.5 * (a2 - e1),
        0.5 * (a1 - e2),
        0.5 * (a0 - e3),
    )


@kernel
def _dct8(x0, x1, x2, x3, x4, x5, x6, x7):
    """``C @ x``: even outputs from the sums ``x[n] + x[7-n]``, odd from the differences."""
    e0, e1, e2, e3 = _mul4(_DCT_EVEN, x0 + x7, x1 + x6, x2 + x5, x3 + x4)
    o0, o1, o2, o3 = _mul4(_DCT_ODD, x0 - x7, x1 - x6, x2 - x5, x3 - x4)
    return e0, o0, e1, o1, e2, o2, e3, o3


@kernel
def _idct8(y0, y1, y2, y3, y4, y5, y6, y7):
    """``C.T @ y``, the inverse of :func:`_dct8`."""
    e0, e1, e2, e3 = _mul4(_IDCT_EVEN, y0, y2, y4, y6)
    o0, o1, o2, o3 = _mul4(_IDCT_ODD, y1, y3, y5, y7)
    return e0 + o0, e1 + o1, e2 + o2, e3 + o3, e3 - o3, e2 - o2, e1 - o1, e0 - o0


# Both kernels work one block row (a strip of 8 rows) at a time, in two layouts that keep the
# SIMD lanes contiguous and every distance between operands a constant, so that LLVM vectorizes
# the loops (numba cannot tell it that two arrays do not overlap, and it gives up on a loop that
# would need many run-time overlap checks; every index is a loop counter plus constants, in a
# view, as an index that might be negative defeats it too):
# - down the columns, the strip in chunks of _CHUNK columns, each a (12, _CHUNK) region of
#   ``work``: rows 0-3 the lower half of the previous boundary's filter, rows 4-11 the samples
#   of the next one (the 8 rows from the middle of this block row down);
# - along the rows, ``blocks``: every block transposed (column-major), so that the 8 rows of a
#   strip are the lanes. ``_ZIGZAG_T[k]`` is the place there of zigzag coefficient k.
_CHUNK = 64
_REGION = 12 * _CHUNK
_ZIGZAG_T = BLOCK * (ZIGZAG % BLOCK) + ZIGZAG // BLOCK


@kernel
def _load8(a, p, step):
    """``a[p], a[p + step], ..., a[p + 7 step]``."""
    return (
        a[p], a[p + step], a[p + 2 * step], a[p + 3 * step],
        a[p + 4 * step], a[p + 5 * step], a[p + 6 * step], a[p + 7 * step],
    )  # fmt: skip


@kernel
def _store4(a, p, step, x0, x1, x2, x3):
    """``a[p], a[p + step], ..., a[p + 3 step] = x0, ..., x3``."""
    a[p], a[p + step], a[p + 2 * step], a[p + 3 * step] = x0, x1, x2, x3


@kernel
def _store8(a, p, step, x0, x1, x2, x3, x4, x5, x6, x7):
    """``a[p], a[p + step], ..., a[p + 7 step] = x0, ..., x7``."""
    _store4(a, p, step, x0, x1, x2, x3)
    _store4(a, p + 4 * step, step, x4, x5, x6, x7)


@kernel
def _rows_in(plane, row, count, seg, c0):
    """``count`` rows of ``plane`` from ``row`` (level-shifted, edges replicated) -> ``seg``."""
    h, w = plane.shape
    n = min(_CHUNK, w - c0)
    for k in range(count):
        src, dst = plane[min(row + k, h - 1), c0:], seg[k * _CHUNK :]
        for c in range(n):
            dst[c] = src[c] - 128.0
        dst[n:_CHUNK] = src[n - 1] - 128.0


@kernel
def _rows_out(seg, count, out, row, c0, to_bytes):
    """``count`` rows of ``seg`` (level restored) -> ``out`` from ``row``; ``to_bytes``: rounded
    half to even and clipped to 0..255 (for a uint8 ``out``)."""
    n = min(_CHUNK, out.shape[1] - c0)
    for k in range(count):
        src, dst = seg[k * _CHUNK :], out[row + k, c0:]
        for c in range(n):
            v = src[c] + 128.0
            if to_bytes:
                v = min(max(np.rint(v), 0.0), 255.0)
            dst[c] = v


@kernel
def _analyse(plane, out, work, blocks):
    """Lapped DCT of ``plane`` into ``out``; ``work`` and ``blocks`` from :func:`_scratch`."""
    by, bx, _ = out.shape
    for i in range(by):
        lap = i < by - 1  # no boundary below the last block row
        for t in range(work.size // _REGION):
            seg, c0 = work[t * _REGION : (t + 1) * _REGION], t * _CHUNK
            cols = blocks[BLOCK * c0 : BLOCK * (c0 + _CHUNK)]
            if i == 0:
                _rows_in(plane, 0, 4, seg, c0)
            _rows_in(plane, BLOCK * i + 4, 8 if lap else 4, seg[4 * _CHUNK :], c0)
            for c in range(_CHUNK):
                x = _load8(seg, 4 * _CHUNK + c, _CHUNK)
                if lap:
                    x = _lap(V, *x)
                top = _load8(seg, c, _CHUNK)
                _store8(cols, BLOCK * c, 1, *_dct8(*top[:4], *x[:4]))
                _store4(seg, c, _CHUNK, *x[4:])
        for j in range(bx):
            if j < bx - 1:
                seam = blocks[64 * j + 32 : 64 * j + 96]
                for u in range(BLOCK):
                    _store8(seam, u, BLOCK, *_lap(V, *_load8(seam, u, BLOCK)))
            block, coeffs = blocks[64 * j : 64 * j + 64], out[i, j]
            for u in range(BLOCK):
                _store8(block, u, BLOCK, *_dct8(*_load8(block, u, BLOCK)))
            for k in range(64):
                coeffs[k] = block[_ZIGZAG_T[k]]


@kernel
def _synthesise(coeffs, out, work, blocks, first, total, to_bytes):
    """Inverse of :func:`_analyse` into ``out`` (8 * ``total`` rows, W), level restored: the
    block rows ``first, first + 1, ...`` of ``coeffs``, the rows before them done by earlier
    calls with the same ``work`` and ``blocks``."""
    rows, bx, _ = coeffs.shape
    for r in range(rows):
        i = first + r
        for j in range(bx):
            block, block_coeffs = blocks[64 * j : 64 * j + 64], coeffs[r, j]
            for k in range(64):
                block[_ZIGZAG_T[k]] = block_coeffs[k]
            for u in range(BLOCK):
                _store8(block, u, BLOCK, *_idct8(*_load8(block, u, BLOCK)))
            if j > 0:
                seam = blocks[64 * j - 32 : 64 * j + 32]
                for u in range(BLOCK):
                    _store8(seam, u, BLOCK, *_lap(_V_INV, *_load8(seam, u, BLOCK)))
        for t in range(work.size // _REGION):
            seg, c0 = work[t * _REGION : (t + 1) * _REGION], t * _CHUNK
            cols = blocks[BLOCK * c0 : BLOCK * (c0 + _CHUNK)]
            if i == 0:  # no boundary above: rows 0-3 as they are
                for c in range(_CHUNK):
                    y = _idct8(*_load8(cols, BLOCK * c, 1))
                    _store4(seg, 8 * _CHUNK + c, _CHUNK, *y[:4])
                    _store4(seg, c, _CHUNK, *y[4:])
                _rows_out(seg[8 * _CHUNK :], 4, out, 0, c0, to_bytes)
            else:
                for c in range(_CHUNK):
                    y = _idct8(*_load8(cols, BLOCK * c, 1))
                    x = _lap(_V_INV, *_load8(seg, c, _CHUNK)[:4], *y[:4])
                    _store8(seg, 4 * _CHUNK + c, _CHUNK, *x)
                    _store4(seg, c, _CHUNK, *y[4:])
                _rows_out(seg[4 * _CHUNK :], 8, out, BLOCK * i - 4, c0, to_bytes)
    if first + rows == total:  # the last block row's lower half
        for t in range(work.size // _REGION):
            _rows_out(work[t * _REGION :], 4, out, BLOCK * total - 4, t * _CHUNK, to_bytes)


def _scratch(width: int) -> tuple[np.ndarray, np.ndarray]:
    """``work`` and ``blocks`` for a plane ``width`` wide (zeroed: columns past the plane's)."""
    chunks = -(-width // _CHUNK)
    return np.zeros(chunks * _REGION), np.zeros(chunks * _CHUNK * BLOCK)


def lapped_dct(plane: np.ndarray) -> np.ndarray:
    """The lapped 8x8 DCT of a (H, W) plane, level-shifted -> (ceil(H/8), ceil(W/8), 64) zigzag.
    A uint8 plane is read as it is, not copied to floats."""
    plane = np.asarray(plane)
    if plane.dtype != np.uint8:
        plane = plane.astype(np.float64, copy=False)
    h, w = plane.shape
    out = np.empty((-(-h // BLOCK), -(-w // BLOCK), BLOCK * BLOCK))
    _analyse(plane, out, *_scratch(w))
    return out


class Synthesis:
    """The inverse of :func:`lapped_dct` fed with its block rows in order, a slab at a time (a
    decoder then never holds the whole coefficient array): ``feed`` the next rows of zigzag
    coefficients, ``(rows, blocks_x, 64)``, then take ``image()``, ``(H, W)``: float with the
    level restored, or uint8 (rounded half to even, clipped) for ``dtype=np.uint8``."""

    def __init__(self, blocks: tuple[int, int], shape: tuple[int, int], dtype=np.float64):
        width = BLOCK * blocks[1]
        self.out = np.empty((BLOCK * blocks[0], min(shape[1], width)), dtype)
        self.height, self.total, self.done = shape[0], blocks[0], 0
        self.blocks_x = blocks[1]
        self.work, self.blocks = _scratch(width)

    def feed(self, coeffs: np.ndarray) -> None:
        """Inverse-transform the next block rows, ``(rows, blocks_x, 64)``."""
        if coeffs.ndim != 3 or coeffs.shape[1:] != (self.blocks_x, BLOCK * BLOCK):
            raise ParameterError(
                f"coefficients must have shape (rows, {self.blocks_x}, 64), not {coeffs.shape}"
            )
        if self.done + coeffs.shape[0] > self.total:
            raise ParameterError(f"more than the {self.total} block rows of the plane")
        if self.out.size and coeffs.shape[0]:
            to_bytes = self.out.dtype == np.uint8
            _synthesise(coeffs, self.out, self.work, self.blocks, self.done, self.total, to_bytes)
        self.done += coeffs.shape[0]

    def image(self) -> np.ndarray:
        """The plane, once every block row has been fed."""
        if self.done < self.total:
            raise ParameterError(f"{self.done} of the {self.total} block rows fed")
        return self.out[: self.height]
