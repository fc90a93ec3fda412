"""Per-frequency tables: the zigzag order of the 64 frequencies, the threshold tables, and the
quality scale.

Band ``f`` (zigzag order) of a plane fires with threshold ``theta_f = theta * W[f]``, so its
asymptotic step is ``Delta_f = C*theta_f/T``. Three tables:

- ``flat``: ``W = 1`` for every frequency, the mean-squared-error choice;
- ``jpeg``: the luminance/chrominance tables of JPEG (ITU-T T.81 Annex K) divided by their DC
  entry 16, strongly perceptually shaped;
- ``mild`` (the default): the JPEG shape with a quarter of its log-contrast,
  ``W = (Q/16)**(1/4)`` (high frequencies up to 1.8 times coarser).

Chroma planes use their table times ``chroma`` (> 1: coarser).

``quality`` 1..100 follows the scale JPEG users know (libjpeg's): ``S = 5000/q`` below 50,
``200 - 2q`` above, and the base step is ``Delta = BASE_STEP * S / 100``, with ``S >= 1``.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

__all__ = ["BASE_STEP", "BLOCK", "TABLES", "ZIGZAG", "quality_to_step", "table_weights"]

BLOCK = 8
"""Side of the transform's blocks (pixels); a block has ``BLOCK**2 = 64`` frequencies."""


def _zigzag_order(n: int = BLOCK) -> np.ndarray:
    """Raster indices of an n x n block in JPEG zigzag order."""
    cells = sorted(
        ((i, j) for i in range(n) for j in range(n)),
        key=lambda ij: (ij[0] + ij[1], ij[1] if (ij[0] + ij[1]) % 2 == 0 else ij[0]),
    )
    return np.array([i * n + j for i, j in cells])


ZIGZAG = _zigzag_order()
"""``ZIGZAG[k]``: the raster index (``row * 8 + column``) of the k-th frequency in zigzag order,
the order of every per-frequency array of the package."""

_JPEG_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.float64,
)
_JPEG_CHROMA = np.full((8, 8), 99.0)
_JPEG_CHROMA[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]

TABLES = ("flat", "jpeg", "mild")
"""The threshold tables, in the order of their ids in the stream header."""
BASE_STEP = 16.0
"""The base step ``Delta`` (DCT units) of quality 50."""


def table_weights(table: str, chroma: bool) -> np.ndarray:
    """The 64 weights ``W[f]`` (zigzag order) of a table, for a luma or a chroma plane."""
    if table == "flat":
        return np.ones(64)
    if table in ("jpeg", "mild"):
        t = (_JPEG_CHROMA if chroma else _JPEG_LUMA).ravel()[ZIGZAG] / 16.0
        return t if table == "jpeg" else t**0.25
    raise ParameterError(f"table must be one of {', '.join(TABLES)}, got {table!r}")


def quality_to_step(quality: float) -> float:
    """The base step ``Delta`` (DCT units) of a quality ``1 <= quality <= 100`` on libjpeg's
    scale."""
    if not 1 <= quality <= 100:
        raise ParameterError(f"quality must lie in 1..100, got {quality!r}")
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    return BASE_STEP * max(scale, 1.0) / 100.0
