"""Alpha planes: how an image's transparency is split off, and coded as a grayscale plane.

An LA ``(H, W, 2)`` or RGBA ``(H, W, 4)`` array (alpha last) is its colour image and an alpha
plane (:func:`split_alpha`); the codec codes the plane as a grayscale stream of its own, in
the stream's ALPHA chunk (:class:`spikecodec.format.container.Alpha`). Alpha planes are often
a handful of levels (a mask: 0 and 255), whose edges would cost the lossless wavelet many
bit-planes; such a plane is coded through a level table instead, as PNG's palette and WebP's
colour indexing do: the strictly increasing levels ``L[0] < ... < L[n-1]`` of the plane, and
a plane of indices ``s = first + i`` for the pixels of level ``L[i]``, centred on the depth's
mid-level as the lossless transform's level shift expects, ``first = 2**(depth-1) -
n // 2`` (:func:`level_indices`); decoding maps a sample ``s`` back to ``L[clip(s - first, 0,
n-1)]`` (:func:`indexed_levels`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["indexed_levels", "level_indices", "levels_of", "split_alpha", "with_alpha"]


def split_alpha(array: np.ndarray, keep: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """An array's colour image and alpha plane: None for an image without one, or for a
    fully opaque one (every sample the depth's maximum) unless ``keep``."""
    if array.ndim == 2 or array.shape[2] == 3:
        return array, None
    colour = np.ascontiguousarray(array[:, :, 0] if array.shape[2] == 2 else array[:, :, :3])
    alpha = np.ascontiguousarray(array[:, :, -1])
    opaque = np.iinfo(alpha.dtype).max
    return colour, (alpha if keep or int(alpha.min()) < opaque else None)


def with_alpha(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """A colour image with its alpha plane last: LA ``(H, W, 2)`` or RGBA ``(H, W, 4)``."""
    return np.dstack([image, alpha.astype(image.dtype)])


def levels_of(alpha: np.ndarray) -> np.ndarray | None:
    """The plane's distinct levels when there are at most half as many as its depth allows (a
    level table then narrows the samples' range), else None."""
    levels = np.unique(alpha)
    return levels if 2 * len(levels) <= np.iinfo(alpha.dtype).max + 1 else None


def _first(levels, dtype) -> int:
    return (np.iinfo(dtype).max + 1) // 2 - len(levels) // 2


def level_indices(alpha: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The samples ``first + i`` that code ``alpha`` through its ``levels`` (module docstring)."""
    indices = np.searchsorted(levels, alpha) + _first(levels, alpha.dtype)
    return indices.astype(alpha.dtype)


def indexed_levels(samples: np.ndarray, levels) -> np.ndarray:
    """The alpha plane that decoded index ``samples`` give through ``levels`` (clipped)."""
    levels = np.asarray(levels, dtype=samples.dtype)
    at = samples.astype(np.int64) - _first(levels, samples.dtype)
    return levels[np.clip(at, 0, len(levels) - 1)]
