"""The reversible integer 8x8 DCT of the lossless path: integers in, integers out, exactly
inverted.

The orthonormal 8-point DCT-II (:mod:`.lapped`'s ``C``) factors into 13 plane rotations of
lanes ``(i, j)`` by angles ``t`` (:data:`ROTATIONS`), ``x_i <- x_i cos t - x_j sin t``,
``x_j <- x_i sin t + x_j cos t``, applied in order to the 8 samples; coefficient ``k`` is then
lane :data:`OUTPUTS` ``[k][0]`` times the sign ``OUTPUTS[k][1]``. Each rotation is three lifting
steps (Daubechies & Sweldens 1998),

    x_i -= [p x_j];   x_j += [u x_i];   x_i -= [p x_j]      p = tan(t/2), u = sin t,

with ``p`` and ``u`` held as integers over ``2**14`` (:data:`LIFTS`) and ``[c v] = (c v +
2**13) >> 14``: each step adds to one lane a rounded function of the other, so running the steps
backwards with the same rounding undoes them exactly (the integer-to-integer transforms of JPEG
XR and of Liang & Tran's binDCT work the same way).

In two dimensions the first four rotations (the butterflies ``(k, 7 - k)`` by ``pi/4``) of the
rows and of the columns together map each quadruple ``p, q, s, t`` of samples ``(r, c), (r, 7 -
c), (7 - r, c), (7 - r, 7 - c)`` (``r, c < 4``) to the orthonormal 2x2 Hadamard transform
``(p + q + s + t)/2`` at ``(7 - r, 7 - c)``, ``(p + q - s - t)/2`` at ``(r, 7 - c)``, ``(p - q + s
- t)/2`` at ``(7 - r, c)`` and ``(p - q - s + t)/2`` at ``(r, c)``: that stage is computed on the
quadruples with JPEG XR's reversible Hadamard, one rounding per quadruple instead of six lifting
steps per butterfly (a third fewer bits on the dev corpus than the separable butterflies); the
other nine rotations run along the rows, then along the columns. Blocks are edge-padded to a
multiple of 8, as in :mod:`.lapped`; the coefficients are ``(blocks_y, blocks_x, 64)`` in zigzag
order, within about one unit of the orthonormal DCT's (their RMS difference is below 1).

:func:`integer_idct` of integer coefficients is the exact inverse; of float coefficients (a
lossy prefix of a lossless stream), the same steps unrounded: the linear inverse of the forward
transform's linear part.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from ..tables import BLOCK, ZIGZAG

__all__ = ["LIFTS", "OUTPUTS", "ROTATIONS", "integer_dct", "integer_idct"]

ROTATIONS = (
    (0, 7, math.pi / 4),
    (1, 6, math.pi / 4),
    (2, 5, math.pi / 4),
    (3, 4, math.pi / 4),
    (7, 4, math.pi / 4),
    (6, 5, math.pi / 4),
    (4, 5, math.pi / 4),
    (6, 7, math.pi / 8),
    (3, 0, -3 * math.pi / 16),
    (2, 1, -math.pi / 16),
    (0, 2, math.pi / 4),
    (1, 3, math.pi / 4),
    (2, 3, math.pi / 4),
)
"""The rotations ``(i, j, t)`` of the 8-point DCT, in order."""
OUTPUTS = ((5, 1), (3, 1), (7, 1), (0, 1), (4, 1), (1, -1), (6, -1), (2, 1))
"""``(lane, sign)`` of DCT coefficient ``k`` after the rotations."""
_BITS = 14
LIFTS = tuple(
    (round(math.tan(t / 2) * 2**_BITS), round(math.sin(t) * 2**_BITS)) for _, _, t in ROTATIONS
)
"""``(p, u)`` of each rotation as integers over ``2**14``."""
_HALF = 1 << (_BITS - 1)
_LOW, _HIGH = slice(0, BLOCK // 2), slice(BLOCK - 1, BLOCK // 2 - 1, -1)


def _scaled(c: int, v: np.ndarray) -> np.ndarray:
    """``[c v]``: ``(c v + 2**13) >> 14`` of integers, ``c v / 2**14`` of floats."""
    if v.dtype.kind == "f":
        return v * (c / 2**_BITS)
    return (c * v + _HALF) >> _BITS


def _half(v: np.ndarray) -> np.ndarray:
    return v / 2 if v.dtype.kind == "f" else v >> 1


def _rotations(x: np.ndarray, forward: bool) -> None:
    """The rotations after the butterflies (or their inverse) along the last axis, in place."""
    steps = list(zip(ROTATIONS[4:], LIFTS[4:], strict=True))
    for (i, j, _), (p, u) in steps if forward else reversed(steps):
        a, b = x[..., i], x[..., j]
        if forward:
            a -= _scaled(p, b)
            b += _scaled(u, a)
            a -= _scaled(p, b)
        else:
            a += _scaled(p, b)
            b -= _scaled(u, a)
            a += _scaled(p, b)


def _quadruples(x: np.ndarray):
    """Views of the samples ``(r, c), (r, 7-c), (7-r, c), (7-r, 7-c)``, ``r, c < 4``, of blocks
    ``x`` (..., 8, 8)."""
    return (
        x[..., _LOW, _LOW],
        x[..., _LOW, _HIGH],
        x[..., _HIGH, _LOW],
        x[..., _HIGH, _HIGH],
    )


def _hadamard(x: np.ndarray) -> None:
    """The butterflies of rows and columns as 2x2 Hadamards (module docstring), in place."""
    a, b, c, d = (v.copy() for v in _quadruples(x))
    a += d
    b -= c
    t = _half(a - b + (0 if x.dtype.kind == "f" else 1))
    c, d = t - d, t - c
    a -= d
    b += c
    p, q, s, u = _quadruples(x)
    u[...], q[...], s[...], p[...] = a, b, c, d


def _inverse_hadamard(x: np.ndarray) -> None:
    p, q, s, u = _quadruples(x)
    a, b, c, d = u.copy(), q.copy(), s.copy(), p.copy()
    a += d
    b -= c
    t = _half(a - b + (0 if x.dtype.kind == "f" else 1))
    p[...], q[...], s[...], u[...] = a - (t - c), b + (t - d), t - d, t - c


def _blocks(plane: np.ndarray) -> np.ndarray:
    """An integer plane edge-padded to a multiple of 8 -> int64 blocks (by, bx, 8, 8)."""
    h, w = plane.shape
    by, bx = -(-h // BLOCK), -(-w // BLOCK)
    padded = np.pad(plane.astype(np.int64), ((0, by * BLOCK - h), (0, bx * BLOCK - w)), "edge")
    return padded.reshape(by, BLOCK, bx, BLOCK).swapaxes(1, 2).copy()


_LANES = np.array([lane for lane, _ in OUTPUTS])
_SIGNS = np.array([sign for _, sign in OUTPUTS])
_RASTER = (_LANES[:, None] * BLOCK + _LANES[None, :]).ravel()[ZIGZAG]
_RASTER_SIGNS = np.outer(_SIGNS, _SIGNS).ravel()[ZIGZAG]


def integer_dct(plane: np.ndarray) -> np.ndarray:
    """The reversible integer DCT of an integer (H, W) plane -> (ceil(H/8), ceil(W/8), 64) int64
    coefficients in zigzag order (module docstring)."""
    plane = np.asarray(plane)
    if plane.ndim != 2 or plane.dtype.kind not in "iu" or 0 in plane.shape:
        raise ParameterError(
            f"integer_dct takes a non-empty 2-D integer plane, got {plane.dtype} {plane.shape}"
        )
    x = _blocks(plane)
    _hadamard(x)
    _rotations(x, True)
    _rotations(x.swapaxes(-1, -2), True)
    by, bx = x.shape[:2]
    return x.reshape(by, bx, BLOCK * BLOCK)[..., _RASTER] * _RASTER_SIGNS


def integer_idct(coeffs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The inverse of :func:`integer_dct` -> the (H, W) plane of ``shape``: exact (int64) for
    integer ``coeffs``, linear (float64) for float ones."""
    coeffs = np.asarray(coeffs)
    h, w = shape
    blocks = (-(-h // BLOCK), -(-w // BLOCK))
    if coeffs.shape != (*blocks, BLOCK * BLOCK) or coeffs.dtype.kind not in "iuf":
        raise ParameterError(
            f"the coefficients of a {shape} plane are numbers of shape {(*blocks, 64)}, "
            f"got {coeffs.dtype} {coeffs.shape}"
        )
    kind = np.float64 if coeffs.dtype.kind == "f" else np.int64
    x = np.empty((*blocks, BLOCK * BLOCK), kind)
    x[..., _RASTER] = coeffs * _RASTER_SIGNS
    x = x.reshape(*blocks, BLOCK, BLOCK)
    _rotations(x.swapaxes(-1, -2), False)
    _rotations(x, False)
    _inverse_hadamard(x)
    return x.swapaxes(1, 2).reshape(blocks[0] * BLOCK, blocks[1] * BLOCK)[:h, :w]
