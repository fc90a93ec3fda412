"""The contexts of the coder's adaptive bit models, each model defined once.

Every coded bit (but the signs of AC coefficients, coded at probability 1/2) has a context:
one adaptive probability of :mod:`.rangecoder` among :data:`CONTEXTS`. A model is a named
group of contexts indexed by a few small integers; :data:`MODELS` gives each model's
dimensions and their sizes, from which its offset in the table and its strides follow. This
module is the one definition of the layout and of the tables below: the compiled passes
(:mod:`.passes`) load them at import into C arrays and turn the integers into the index,
``offset + sum(value * stride)`` (:func:`~.passes.context` from Python; each dimension's value
must lie below its size: the passes clamp them).

What each dimension means (``chroma`` is 1 in a chroma plane, 0 in luma):

- ``dc``: a DC count's bit in the slice. ``count``: the count so far (0, 1, 2 or more);
  ``prediction``: where the DC predicted from the neighbouring blocks lies against the decision
  point, 8 classes split at :data:`DC_SIGNIFICANCE_SPLITS` (count 0) or
  :data:`DC_REFINEMENT_SPLITS` quarters of a count unit; ``spread``: how far apart the
  neighbours' own estimates lie (``spread_class`` of :mod:`.passes`), how much the prediction
  is to be trusted; ``phase``: the checkerboard half.
- ``dc_sign``: the sign of a DC that starts firing. ``side``: the prediction below, around or
  above zero.
- ``growth``: whether a block's extent ``eob`` (1 + its last significant AC zigzag index) grows.
  ``extent``: the bit length of the block's ``eob``; ``neighbours``: that of the mean ``eob`` of
  its 4 neighbouring blocks.
- ``extent``: a bit of the new ``eob - 1``, coded down a binary tree of 6 levels. ``node``: the
  tree node (1..63); ``neighbours``: where the neighbours' mean ``eob`` lies against the node's
  split, clamped to -2..2 in units of half the node's span.
- ``significance``: whether a silent AC coefficient before ``eob`` fires. ``band``: its
  frequency band (:data:`BAND`, 1..8, less one); ``inside``: its significant frequency neighbours
  in the block (0, 1, 2+, DC included); ``around``: the 4 neighbouring blocks where the same
  frequency is significant (0, 1, 2+); ``distance``: its distance to ``eob`` (:data:`EOB_DISTANCE`).
- ``refinement``: a bit of an AC count significant before the slice. ``band``:
  :data:`COARSE_BAND`; ``first``: whether it is the count's first refinement; ``inside`` (0..3)
  and ``around`` (0..2) as above.

Blocks above and to the left of the one being coded are already this slice's, so their
significance is as the decoder will have it.

``band``, the refinement's ``band`` and ``inside`` depend on what a block's 64 coefficients are,
its *geometry* (:data:`GEOMETRIES`): the frequencies of an 8x8 DCT (:data:`BAND`,
:data:`COARSE_BAND`, :data:`FREQUENCY_MASK`: bands along the zigzag, the 4 neighbours in the
frequency grid) or the bands of a reversible stream's wavelet block
(:mod:`~spikecodec.transform.wavelet`: :data:`WAVELET_BAND`, :data:`WAVELET_COARSE_BAND`,
:data:`WAVELET_MASK`), where a coefficient's neighbours are those of its own band beside it in
the block, its parent in the coarser band of the same orientation and its four children in the
finer one (the coefficients on the same spot of the image, as zerotree coders use them).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from ..tables import BLOCK, ZIGZAG

__all__ = [
    "BAND",
    "BITLEN",
    "COARSE_BAND",
    "CONTEXTS",
    "DC_REFINEMENT_SPLITS",
    "DC_SIGNIFICANCE_SPLITS",
    "EOB_DISTANCE",
    "FREQUENCY_MASK",
    "GEOMETRIES",
    "MODELS",
    "NCOEF",
    "PREDICTION_SHIFT",
    "WAVELET_BAND",
    "WAVELET_COARSE_BAND",
    "WAVELET_MASK",
    "Geometry",
    "bit_mask",
    "edge_weights",
]

NCOEF = BLOCK * BLOCK


class Model(NamedTuple):
    """A model's place in the table: its first context and the stride of each dimension."""

    offset: int
    strides: tuple[int, ...]
    size: int


_DIMENSIONS = {
    "dc": (("count", 3), ("prediction", 8), ("spread", 4), ("phase", 2), ("chroma", 2)),
    "dc_sign": (("side", 3), ("phase", 2), ("chroma", 2)),
    "growth": (("extent", 7), ("neighbours", 7), ("chroma", 2)),
    "extent": (("extent", 7), ("chroma", 2), ("node", 64), ("neighbours", 5)),
    "significance": (("band", 8), ("inside", 3), ("around", 3), ("distance", 3), ("chroma", 2)),
    "refinement": (("band", 3), ("first", 2), ("inside", 4), ("around", 3), ("chroma", 2)),
}


def _models() -> dict[str, Model]:
    models, offset = {}, 0
    for name, dims in _DIMENSIONS.items():
        sizes = [size for _, size in dims]
        strides = tuple(int(np.prod(sizes[i + 1 :], dtype=np.int64)) for i in range(len(sizes)))
        size = int(np.prod(sizes))
        models[name] = Model(offset, strides, size)
        offset += size
    return models


MODELS = _models()
"""Each model's :class:`Model`, in table order."""
CONTEXTS = sum(m.size for m in MODELS.values())
"""The number of contexts of all models."""

_IDX = np.arange(NCOEF)
BAND = np.digitize(_IDX, [1, 3, 6, 10, 15, 21, 28, 36])
"""Frequency band of each zigzag index: 0 the DC, then 1..8 growing groups of AC coefficients."""
COARSE_BAND = np.digitize(_IDX, [6, 21])
"""Coarser bands of the refinement: zigzag 1-5, 6-20, 21-63 (0, 1, 2)."""
BITLEN = np.minimum([int(v).bit_length() for v in range(NCOEF + 1)], 6)
"""Bit length of an ``eob`` 0..64, at most 6."""
EOB_DISTANCE = np.digitize(_IDX, [2, 6])
"""Class of a coefficient's distance to ``eob``: 0-1, 2-5, 6 and more."""

DC_SIGNIFICANCE_SPLITS = np.array([-3, -2, -1, 0, 2, 4, 8])
DC_REFINEMENT_SPLITS = np.array([-8, -4, -2, 0, 2, 4, 8])
"""Where the DC prediction's classes split, in quarters of the plane's count unit, against the
decision point (see :func:`~spikecodec.entropy.passes.dc_pass`)."""
PREDICTION_SHIFT = 22
"""A boundary difference of ``2**PREDICTION_SHIFT`` is one DC count unit (:func:`edge_weights`
scales by ``2**20``, the DC's ``sum(3/8 - 1/8) = 2`` and its count doubled by ``value2``)."""


def bit_mask(indices) -> np.int64:
    """The int64 with bits ``indices`` (< 64) set."""
    return np.array(sum(1 << int(k) for k in indices), np.uint64).view(np.int64)[()]


def _frequency_neighbours() -> np.ndarray:
    """Zigzag indices of the 4 neighbours of each zigzag position in the 8x8 frequency grid
    (64 where off the grid)."""
    pos = np.empty(NCOEF, dtype=np.int64)
    pos[ZIGZAG] = _IDX
    nbrs = np.full((NCOEF, 4), NCOEF, dtype=np.int64)
    for z, r in enumerate(ZIGZAG):
        i, j = divmod(int(r), BLOCK)
        for n, (di, dj) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
            if 0 <= i + di < BLOCK and 0 <= j + dj < BLOCK:
                nbrs[z, n] = pos[(i + di) * BLOCK + j + dj]
    return nbrs


FREQUENCY_MASK = np.array([bit_mask(row[row < NCOEF]) for row in _frequency_neighbours()])
"""Bit f of ``FREQUENCY_MASK[k]`` is set for each neighbour f of zigzag index k in the 8x8
frequency grid (up, down, left, right)."""


def _wavelet_place(raster: int) -> tuple[int, int, int, int]:
    """Where raster position ``raster`` of a wavelet block lies: its level (1 the finest, 3 the
    coarsest; 0 the low band), its orientation (0 ``HL``, 1 ``LH``, 2 ``HH``) and its row and
    column inside its band (``LL3`` at (0, 0); level ``l``'s bands of side ``n = 8 >> l`` at
    rows, columns ``0..n-1`` / ``n..2n-1``: ``HL`` high horizontally, top right)."""
    row, column = divmod(raster, BLOCK)
    if row == column == 0:
        return 0, 0, 0, 0
    level = 4 - max(row, column).bit_length()  # max 1 -> 3, 2..3 -> 2, 4..7 -> 1
    n = BLOCK >> level
    orientation = 0 if row < n else (1 if column < n else 2)
    return level, orientation, row % n, column % n


def _wavelet_raster(level: int, orientation: int, u: int, v: int) -> int:
    """The raster position of row ``u``, column ``v`` of a band (:func:`_wavelet_place`'s
    inverse; level 4 is the low band)."""
    if level > 3:
        return 0
    n = BLOCK >> level
    return (u + n * (orientation > 0)) * BLOCK + v + n * (orientation != 1)


def _wavelet_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    zigzag_of = np.empty(NCOEF, dtype=np.int64)
    zigzag_of[ZIGZAG] = _IDX
    band, coarse, masks = np.zeros(NCOEF, np.int64), np.zeros(NCOEF, np.int64), []
    for k, raster in enumerate(ZIGZAG):
        level, o, u, v = _wavelet_place(int(raster))
        if level == 0:
            masks.append(FREQUENCY_MASK[k])
            continue
        band[k] = (1, 1, 2)[o] if level == 3 else 3 * (3 - level) + o
        coarse[k] = 3 - level
        n = BLOCK >> level
        near = [
            _wavelet_raster(level, o, u + du, v + dv)
            for du, dv in ((-1, 0), (1, 0), (0, -1), (0, 1))
            if 0 <= u + du < n and 0 <= v + dv < n
        ]
        near.append(_wavelet_raster(level + 1, o, u // 2, v // 2))
        if level > 1:
            children = [(2 * u + a, 2 * v + b) for a in (0, 1) for b in (0, 1)]
            near += [_wavelet_raster(level - 1, o, a, b) for a, b in children]
        masks.append(bit_mask(zigzag_of[near]))
    return band, coarse, np.array(masks)


WAVELET_BAND, WAVELET_COARSE_BAND, WAVELET_MASK = _wavelet_tables()
"""The wavelet geometry's tables (module docstring), by zigzag index: ``WAVELET_BAND`` 0 for the
low band, then 1 ``HL3`` and ``LH3``, 2 ``HH3``, 3..5 ``HL2``, ``LH2``, ``HH2``, 6..8 ``HL1``,
``LH1``, ``HH1``; ``WAVELET_COARSE_BAND`` the level, 0 (``3``) to 2 (``1``); bit f of
``WAVELET_MASK[k]`` set for each neighbour f of k in its band (up, down, left, right, inside
the block), its parent (the low band's coefficient for level 3) and its children (levels 3
and 2). The low band's entries are the DCT's (the DC pass does not read them)."""


class Geometry(NamedTuple):
    """The tables of one geometry: ``band`` (the significance's, 1..8 for AC), ``coarse_band``
    (the refinement's, 0..2) and ``mask`` (each coefficient's neighbours, 64-bit masks)."""

    band: np.ndarray
    coarse_band: np.ndarray
    mask: np.ndarray


GEOMETRIES = (
    Geometry(BAND, COARSE_BAND, FREQUENCY_MASK),
    Geometry(WAVELET_BAND, WAVELET_COARSE_BAND, WAVELET_MASK),
)
"""The geometries by index: 0 an 8x8 DCT's frequencies, 1 a wavelet block's bands."""


@functools.lru_cache(maxsize=16)
def edge_weights(weights: tuple[float, ...]) -> np.ndarray:
    """The DC prediction's boundary weights, (64, 4) integers ``E[k, side] = round(2^20 * w_k *
    sum(3*b_0 - b_1))``: the boundary line ``b_0`` and the one inside it ``b_1`` of DCT basis
    ``k`` (zigzag, orthonormal) on the left, right, top and bottom side; ``w_k`` the band's
    step relative to the DC's. For the DC, ``sum(3/8 - 1/8) = 2``.

    A block's DC is predicted by continuing each neighbour's two boundary pixel lines into it
    (boundary matching); averaged over a boundary this is linear in the counts,
    ``8*mean(a_0 + ((a_0 - a_1) + (b_1 - b_0))/2 - b_0) = sum(3a_0 - a_1)/2 - sum(3b_0 - b_1)/2``,
    so each block keeps one integer per side: ``sum_k value_k * E[k, side]``.
    """
    n = np.arange(BLOCK)
    basis = np.sqrt(np.where(n == 0, 1.0, 2.0) / BLOCK)[:, None] * np.cos(
        np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * BLOCK)
    )  # basis[u, i]
    u, v = np.divmod(ZIGZAG, BLOCK)
    pixels = basis[u][:, :, None] * basis[v][:, None, :]  # (64, rows, cols)
    sides = [
        3 * pixels[:, :, 0] - pixels[:, :, 1],
        3 * pixels[:, :, 7] - pixels[:, :, 6],
        3 * pixels[:, 0, :] - pixels[:, 1, :],
        3 * pixels[:, 7, :] - pixels[:, 6, :],
    ]
    c = np.stack([s.sum(axis=1) for s in sides], axis=1)
    w = np.asarray(weights)
    w = np.clip(np.nan_to_num(w / w[0]), 0, 1 << 12)
    return np.rint(c * w[:, None] * (1 << 20)).astype(np.int64)
