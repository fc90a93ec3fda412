"""The reversible wavelet of the lossless path: integers in, integers out, exactly inverted.

Three levels of the 2-D LeGall 5/3 wavelet that JPEG 2000 codes losslessly with (ITU-T T.800
Annex F), computed by its two integer lifting steps along each row, then each column, of the
low band of the level before,

    d[i] = x[2i+1] - floor((x[2i] + x[2i+2]) / 2)           (high band)
    s[i] = x[2i]   + floor((d[i-1] + d[i] + 2) / 4)           (low band)

with whole-sample symmetric extension at the ends (``x[n] = x[n-2]``, ``d[-1] = d[0]``): each
step adds to one half of the samples a rounded function of the other half, so that running the
steps backwards, with the same rounding, undoes them exactly. The plane is edge-padded to a
multiple of 8, as the lossy path's is, so that every level's lengths are even.

The coefficients are laid out as the lossy path's are, ``(blocks_y, blocks_x, 64)`` in zigzag
order, as *wavelet blocks*: the coefficients of each 8x8 block's footprint, in the block the
way the whole image's subbands lie in a Mallat picture of three levels: the low band ``LL3`` at
raster (0, 0), the coarsest detail bands ``HL3`` (high horizontally), ``LH3``, ``HH3`` at (0, 1),
(1, 0), (1, 1), level 2's 2x2 coefficients at rows and columns 0-1/2-3, and level 1's 4x4 at
0-3/4-7. Frequencies then grow along the zigzag, as a DCT's do, and raster neighbours in a block
are the same band's spatial neighbours, which is what the entropy coder's contexts expect.
The low band is held times ``2**3`` (:data:`LOW_SHIFT`; its three lowest bits are then 0): the
scale of an orthonormal transform's DC (the 5/3's low-pass filter has a DC gain of 1, an
orthonormal one of sqrt(2), per level and axis), so that the time slices refine it as early as
the lossy path's DC, and a cut stream's image is sharper for it (docs/design.md).

:func:`inverse_wavelet` of integer coefficients is the exact inverse; of float coefficients (a
lossy prefix of a lossless stream), the same steps with each rounding replaced by its mean
(``floor((a + b)/2)`` by ``(a + b)/2 - 1/4``, ``floor((a + b + 2)/4)`` by ``(a + b)/4 + 1/8``,
over uniformly distributed remainders): the inverse of the wavelet's linear part, LeGall's
synthesis filters (1/2, 1, 1/2) and (-1/8, -1/4, 3/4, -1/4, -1/8), without the bias of the
floors (1.5 grey levels on a photograph, three levels deep).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..tables import BLOCK, ZIGZAG

__all__ = ["LEVELS", "inverse_wavelet", "wavelet"]

LEVELS = 3
"""Decomposition levels: an 8x8 block's footprint holds one low-band coefficient."""
LOW_SHIFT = LEVELS
"""The low band is held times ``2**LOW_SHIFT`` (module docstring)."""


def _next(v: np.ndarray) -> np.ndarray:
    """``v[i + 1]`` along the last axis, the last sample repeated (symmetric extension)."""
    return np.concatenate([v[..., 1:], v[..., -1:]], axis=-1)


def _previous(v: np.ndarray) -> np.ndarray:
    """``v[i - 1]`` along the last axis, the first sample repeated."""
    return np.concatenate([v[..., :1], v[..., :-1]], axis=-1)


def _predict(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``floor((a + b)/2)`` of integers; of floats its mean, ``(a + b)/2 - 1/4``."""
    return (a + b) / 2 - 0.25 if a.dtype.kind == "f" else (a + b) >> 1


def _update(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``floor((a + b + 2)/4)`` of integers; of floats its mean, ``(a + b)/4 + 1/8``."""
    return (a + b) / 4 + 0.125 if a.dtype.kind == "f" else (a + b + 2) >> 2


def _analysis(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One level along the last axis (even length): the low and the high band."""
    even, odd = x[..., 0::2], x[..., 1::2]
    high = odd - _predict(even, _next(even))
    return even + _update(_previous(high), high), high


def _synthesis(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_analysis` (for floats, with the roundings' means)."""
    even = low - _update(_previous(high), high)
    out = np.empty((*low.shape[:-1], 2 * low.shape[-1]), low.dtype)
    out[..., 0::2], out[..., 1::2] = even, high + _predict(even, _next(even))
    return out


def _analysis_2d(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """One 2-D level, rows then columns: ``LL, HL, LH, HH`` (HL: high horizontally)."""
    low, high = _analysis(x)
    ll, lh = _analysis(low.T)
    hl, hh = _analysis(high.T)
    return ll.T, hl.T, lh.T, hh.T


def _synthesis_2d(ll, hl, lh, hh) -> np.ndarray:
    low = _synthesis(ll.T, lh.T).T
    high = _synthesis(hl.T, hh.T).T
    return _synthesis(low, high)


def _places(level: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    """The side ``n`` of level ``level``'s bands in a block (0 the finest) and the raster
    corners of ``HL``, ``LH`` and ``HH``."""
    n = BLOCK >> (level + 1)
    return n, ((0, n), (n, 0), (n, n))


def wavelet(plane: np.ndarray) -> np.ndarray:
    """The reversible 5/3 wavelet of an integer (H, W) plane -> (ceil(H/8), ceil(W/8), 64) int64
    coefficients, wavelet blocks in zigzag order (module docstring)."""
    plane = np.asarray(plane)
    if plane.ndim != 2 or plane.dtype.kind not in "iu" or 0 in plane.shape:
        raise ParameterError(
            f"the wavelet takes a non-empty 2-D integer plane, got {plane.dtype} {plane.shape}"
        )
    h, w = plane.shape
    by, bx = -(-h // BLOCK), -(-w // BLOCK)
    low = np.pad(plane.astype(np.int64), ((0, by * BLOCK - h), (0, bx * BLOCK - w)), "edge")
    blocks = np.empty((by, bx, BLOCK, BLOCK), np.int64)
    for level in range(LEVELS):
        n, corners = _places(level)
        low, *details = _analysis_2d(low)
        for band, (row, column) in zip(details, corners, strict=True):
            blocks[:, :, row : row + n, column : column + n] = band.reshape(by, n, bx, n).swapaxes(
                1, 2
            )
    blocks[:, :, 0, 0] = low << LOW_SHIFT
    return blocks.reshape(by, bx, BLOCK * BLOCK)[..., ZIGZAG]


def inverse_wavelet(coeffs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The inverse of :func:`wavelet` -> the (H, W) plane of ``shape``: exact (int64) for
    integer ``coeffs``, linear (float64) for float ones."""
    coeffs = np.asarray(coeffs)
    h, w = shape
    by, bx = -(-h // BLOCK), -(-w // BLOCK)
    if coeffs.shape != (by, bx, BLOCK * BLOCK) or coeffs.dtype.kind not in "iuf":
        raise ParameterError(
            f"the coefficients of a {shape} plane are numbers of shape {(by, bx, 64)}, "
            f"got {coeffs.dtype} {coeffs.shape}"
        )
    blocks = np.empty((by, bx, BLOCK * BLOCK), np.float64 if coeffs.dtype.kind == "f" else np.int64)
    blocks[..., ZIGZAG] = coeffs
    blocks = blocks.reshape(by, bx, BLOCK, BLOCK)
    low = blocks[:, :, 0, 0]
    low = low / (1 << LOW_SHIFT) if low.dtype.kind == "f" else low >> LOW_SHIFT
    for level in reversed(range(LEVELS)):
        n, corners = _places(level)
        details = [
            blocks[:, :, row : row + n, column : column + n].swapaxes(1, 2).reshape(by * n, bx * n)
            for row, column in corners
        ]
        low = _synthesis_2d(low, *details)
    return low[:h, :w]
