"""Counts back to coefficients and pixels: the decoder's reconstruction rule.

A count ``k`` of band ``f`` known at the dyadic instant ``T/2^l`` lies in its cell of that
window, ``[I_k(T/2^l), I_{k+1}(T/2^l)) = [I_{k 2^l}(T), I_{(k+1) 2^l}(T))`` (the thresholds
``I`` of the unit-threshold quantizer, :func:`~spikecodec.quantizer.unit_quantizer`, times
``theta_f``), and is reconstructed at ``I + delta*(I' - I)`` with the sign of its neuron: the
midpoint ``delta = 1/2`` for the DC, and for AC the centroid of a Laplacian whose decay the
decoder fits per band and level to the counts it has decoded (no side information): with
``r = (e + 1/2) / (e + n + 1)`` over the ``n`` non-zero counts and the sum ``e`` of their
``k - 1``, ``a = -ln r`` and ``delta = 1/a - r/(1 - r)``, clipped to ``[0, 1/2]``. Silent
neurons (``k = 0``) give 0.

:func:`plane_image` dequantizes and inverse-transforms a slab of block rows at a time
(``_SLAB`` coefficients), so that a decoder never holds the whole coefficient array.
:func:`reversible_plane` reconstructs a plane of a lossless stream: once every count is known
at the whole window, the counts are the integer coefficients and the integer inverse DCT gives
the samples exactly; before, the coefficients reconstructed as above go through its linear
inverse.
"""

from __future__ import annotations

cimport cython
from libc.stdint cimport int8_t, int32_t, int64_t, uint64_t

import numpy as np

from .entropy import PlaneState
from .params import MAX_SLICES
from .quantizer import NeuroQuantizer
from .transform import Synthesis
from .transform.wavelet import inverse_wavelet

__all__ = ["plane_image", "reversible_plane"]

_EDGES = 1 << 20  # thresholds tabulated at most to dequantize; past them, computed per count
_SLAB = 1 << 15  # coefficients dequantized and inverse-transformed at a time


cdef extern from *:
    int trailing_zeros "__builtin_ctzll"(unsigned long long) nogil


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _nonzero(const int32_t[:, ::1] prefix, int64_t[::1] masks) noexcept:
    """``masks[r]``: bit f set where ``prefix[r, f] != 0`` (64 bands)."""
    cdef Py_ssize_t r, f
    cdef uint64_t m
    with nogil:
        for r in range(prefix.shape[0]):
            m = 0
            for f in range(prefix.shape[1]):
                m |= <uint64_t>(prefix[r, f] != 0) << f
            masks[r] = <int64_t>m


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int64_t _level_sums(
    const int32_t[:, ::1] prefix,
    const int8_t[:, ::1] level,
    const int64_t[::1] masks,
    int64_t[:, :, ::1] sums,
) noexcept:
    """``sums[l, f] = (n, e)``: the number of non-zero counts ``k`` known at level ``l`` in band
    ``f`` and the sum of their ``k - 1`` (``masks``: :func:`_nonzero`). Returns the largest
    ``(k + 1) 2^l`` (0 if none)."""
    cdef int64_t top = 0, k, reach
    cdef uint64_t m
    cdef Py_ssize_t r
    cdef int f, lv
    with nogil:
        for r in range(prefix.shape[0]):
            m = <uint64_t>masks[r]
            while m:
                f = trailing_zeros(m)
                m &= m - 1
                k, lv = prefix[r, f], level[r, f]
                sums[lv, f, 0] += 1
                sums[lv, f, 1] += k - 1
                reach = (k + 1) << lv
                if reach > top:
                    top = reach
        return top


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _dequantize(
    const int32_t[:, ::1] prefix,
    const int8_t[:, ::1] sign,
    const int8_t[:, ::1] level,
    const int64_t[::1] masks,
    const double[::1] edges,
    const double[:, ::1] delta,
    const double[::1] thresholds,
    double[:, ::1] out,
) noexcept:
    """``out = sign * (lo + delta[l, f] * (hi - lo)) * theta_f`` where ``k != 0`` (``masks``:
    :func:`_nonzero`), with ``lo, hi = I_(k 2^l), I_((k+1) 2^l)`` from ``edges = I_1, I_2,
    ...``."""
    cdef int64_t k
    cdef uint64_t m
    cdef Py_ssize_t r
    cdef int f, lv
    cdef double lo, hi
    with nogil:
        for r in range(prefix.shape[0]):
            m = <uint64_t>masks[r]
            while m:
                f = trailing_zeros(m)
                m &= m - 1
                k, lv = prefix[r, f], level[r, f]
                lo, hi = edges[(k << lv) - 1], edges[((k + 1) << lv) - 1]
                out[r, f] = sign[r, f] * (lo + delta[lv, f] * (hi - lo)) * thresholds[f]


def _centroid_offsets(nonzero: np.ndarray, excess: np.ndarray) -> np.ndarray:
    """Reconstruction offsets ``delta`` per level and band from the number of non-zero decoded
    counts and the sum of their ``k - 1`` (Laplacian fit: ``r = (excess + 1/2) / (excess +
    nonzero + 1)``, ``a = -ln r``, ``delta = 1/a - r/(1 - r)``)."""
    r = (excess + 0.5) / (excess + nonzero + 1.0)
    a = -np.log(r)
    delta = 1.0 / a - r / (1.0 - r)
    delta[:, 0] = 0.5
    return np.clip(delta, 0.0, 0.5)


class _Dequantizer:
    """Coefficients from counts known at instants ``T/2^level`` (see the module docstring),
    delivered a slab of block rows at a time."""

    def __init__(self, state: PlaneState, quantizer: NeuroQuantizer, thresholds: np.ndarray):
        self.prefix, self.sign, self.level = (
            np.ascontiguousarray(a, dtype).reshape(-1, a.shape[-1])
            for a, dtype in zip(state.arrays, (np.int32, np.int8, np.int8), strict=True)
        )
        self.quantizer = quantizer
        self.thresholds = np.ascontiguousarray(thresholds, np.float64)
        self.masks = np.empty(self.prefix.shape[0], np.int64)
        _nonzero(self.prefix, self.masks)
        sums = np.zeros((MAX_SLICES + 1, self.prefix.shape[1], 2), np.int64)
        top = _level_sums(self.prefix, self.level, self.masks, sums)
        self.delta = _centroid_offsets(sums[..., 0], sums[..., 1])
        self.edges = quantizer.thresholds(np.arange(1, top + 1)) if top <= _EDGES else None

    def into(self, rows: slice, out: np.ndarray) -> None:
        """The coefficients of blocks ``rows`` (in raster order) into ``out`` (zeros), shaped
        ``(n, 64)``."""
        prefix, sign, level = self.prefix[rows], self.sign[rows], self.level[rows]
        if self.edges is not None:
            masks = self.masks[rows]
            _dequantize(prefix, sign, level, masks, self.edges, self.delta, self.thresholds, out)
            return
        r, f = np.nonzero(prefix)  # counts past the edges: computed, not tabulated
        k, lv = prefix[r, f].astype(np.int64), level[r, f].astype(np.int64)
        lo, hi = self.quantizer.thresholds(k << lv), self.quantizer.thresholds((k + 1) << lv)
        out[r, f] = sign[r, f] * (lo + self.delta[lv, f] * (hi - lo)) * self.thresholds[f]


def plane_image(
    state: PlaneState, quantizer: NeuroQuantizer, thresholds: np.ndarray, shape, dtype
) -> np.ndarray:
    """A colour plane of ``shape`` from its counts (the unit-threshold ``quantizer`` and each
    band's ``thresholds``), as ``dtype``: uint8 (rounded half to even and clipped) or float.
    """
    dequantizer = _Dequantizer(state, quantizer, thresholds)
    by, bx = state.prefix.shape[:2]
    synthesis = Synthesis((by, bx), shape, dtype)
    rows = max(1, _SLAB // (bx * 64))
    slab = np.empty((min(rows, by), bx, 64))
    for i in range(0, by, rows):
        part = slab[: min(rows, by - i)]
        part.fill(0.0)
        dequantizer.into(slice(i * bx, (i + len(part)) * bx), part.reshape(-1, 64))
        synthesis.feed(part)
    return synthesis.image()


def reversible_plane(
    state: PlaneState, quantizer: NeuroQuantizer, thresholds: np.ndarray, shape
) -> np.ndarray:
    """A colour plane of ``shape`` of a lossless stream (module docstring): int64 samples once
    every count is known at level 0, else float64."""
    if not state.level.any():
        return inverse_wavelet(state.sign * state.prefix.astype(np.int64), shape)
    coeffs = np.zeros(state.prefix.shape)
    _Dequantizer(state, quantizer, thresholds).into(slice(None), coeffs.reshape(-1, 64))
    return inverse_wavelet(coeffs, shape)
