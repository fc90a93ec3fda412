"""Colour conversion and 4:2:0 chroma resampling, fused a row at a time.

Full-range ITU-R BT.601 YCbCr as in JFIF,

    Y  =       0.299 R + 0.587 G + 0.114 B
    Cb = 128 - 0.168736 R - 0.331264 G + 0.5 B
    Cr = 128 + 0.5 R - 0.418688 G - 0.081312 B,

chroma subsampled 4:2:0 by averaging 2x2 pixels (the last row or column replicated when the
size is odd) and upsampled with the separable (1/4, 3/4) triangle filter of libjpeg's "fancy"
upsampling, edges replicated: ``out[2i] = 3/4 c[i] + 1/4 c[i-1]``, ``out[2i+1] = 3/4 c[i] + 1/4
c[i+1]`` along each axis. :func:`rgb_to_ycbcr_420` and :func:`ycbcr420_to_rgb` fuse conversion
and resampling a row at a time: the codec never holds full-resolution chroma.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel
from ..errors import ParameterError

__all__ = ["chroma_shape", "colour_planes", "rgb_to_ycbcr_420", "ycbcr420_to_rgb"]

RGB_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)
"""The JFIF matrix from (R, G, B) to (Y, Cb - 128, Cr - 128)."""
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)


# The kernels see an RGB image as (H, 3W) so that the stride of its channels is a constant:
# LLVM vectorizes interleaved channels then, not a stride known only at run time.
@kernel
def _ycbcr_row(src, y, cb, cr):
    """One RGB row (3W samples) -> its Y, Cb and Cr rows."""
    m = RGB_TO_YCBCR
    for c in range(y.size):
        red, green, blue = float(src[3 * c]), float(src[3 * c + 1]), float(src[3 * c + 2])
        y[c] = m[0, 0] * red + m[0, 1] * green + m[0, 2] * blue
        cb[c] = m[1, 0] * red + m[1, 1] * green + m[1, 2] * blue + 128.0
        cr[c] = m[2, 0] * red + m[2, 1] * green + m[2, 2] * blue + 128.0


@kernel
def _rgb_row(luma, blue, red, dst):
    """One row of Y, Cb, Cr -> its RGB row (3W samples), rounded and clipped."""
    m = YCBCR_TO_RGB
    for c in range(luma.size):
        yc, cbc, crc = luma[c], blue[c] - 128.0, red[c] - 128.0
        for k in range(3):
            value = np.rint(m[k, 0] * yc + m[k, 1] * cbc + m[k, 2] * crc)
            dst[3 * c + k] = min(max(value, 0.0), 255.0)


@kernel
def _down_row(top, bottom, dst):
    """The 2x2 means of two rows (the last column replicated when the width is odd)."""
    w = top.size
    for j in range(w // 2):
        dst[j] = (top[2 * j] + top[2 * j + 1] + bottom[2 * j] + bottom[2 * j + 1]) * 0.25
    if w % 2:
        dst[w // 2] = (top[w - 1] + top[w - 1] + bottom[w - 1] + bottom[w - 1]) * 0.25


@kernel
def _up_row(plane, r, row, dst):
    """Row ``r`` of the upsampled ``plane`` into ``dst``: along the columns first, into ``row``
    (with a replicated sample at each end), then along it."""
    h, w = plane.shape
    near, far = plane[r // 2], plane[min(max(r // 2 - 1 + 2 * (r % 2), 0), h - 1)]
    for j in range(w):
        row[j + 1] = 0.75 * near[j] + 0.25 * far[j]
    row[0], row[w + 1] = row[1], row[w]
    for j in range(dst.size // 2):
        centre = 0.75 * row[j + 1]
        dst[2 * j], dst[2 * j + 1] = centre + 0.25 * row[j], centre + 0.25 * row[j + 2]
    if dst.size % 2:
        dst[-1] = 0.75 * row[w] + 0.25 * row[w - 1]


def chroma_shape(h: int, w: int) -> tuple[int, int]:
    """The shape of 4:2:0 chroma for (h, w) pixels."""
    return (h + 1) // 2, (w + 1) // 2


@kernel
def _rgb_to_ycbcr_420(rgb, y, cb, cr, rows):
    """``rows``: (4, W) scratch, the Cb and Cr rows of a 2x2 cell's top and bottom rows."""
    h = y.shape[0]
    for i in range(cb.shape[0]):
        bottom = min(2 * i + 1, h - 1)
        _ycbcr_row(rgb[2 * i], y[2 * i], rows[0], rows[1])
        _ycbcr_row(rgb[bottom], y[bottom], rows[2], rows[3])
        _down_row(rows[0], rows[2], cb[i])
        _down_row(rows[1], rows[3], cr[i])


def rgb_to_ycbcr_420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) RGB in [0, 255] -> float64 Y (H, W) and 4:2:0 Cb, Cr (ceil(H/2), ceil(W/2))."""
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    y, cb, cr = np.empty((h, w)), np.empty(chroma_shape(h, w)), np.empty(chroma_shape(h, w))
    _rgb_to_ycbcr_420(rgb.reshape(h, 3 * w), y, cb, cr, np.empty((4, w)))
    return y, cb, cr


@kernel
def _ycbcr420_to_rgb(y, cb, cr, out, mid, full):
    """``mid``: (2, chroma width + 2) and ``full``: (2, W) scratch: :func:`_up_row` of Cb, Cr."""
    for r in range(y.shape[0]):
        _up_row(cb, r, mid[0], full[0])
        _up_row(cr, r, mid[1], full[1])
        _rgb_row(y[r], full[0], full[1], out[r])


def ycbcr420_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """Float Y (H, W) and 4:2:0 Cb, Cr (ceil(H/2), ceil(W/2)) -> (H, W, 3) uint8 RGB: chroma
    upsampled, converted, rounded and clipped, a row at a time."""
    y, cb, cr = (np.ascontiguousarray(p, dtype=np.float64) for p in (y, cb, cr))
    h, w = y.shape
    if not cb.shape == cr.shape == chroma_shape(h, w):
        raise ParameterError(f"4:2:0 chroma of a {y.shape} plane has shape {chroma_shape(h, w)}")
    out = np.empty((h, w, 3), np.uint8)
    mid, full = np.empty((2, cb.shape[1] + 2)), np.empty((2, w))
    _ycbcr420_to_rgb(y, cb, cr, out.reshape(h, 3 * w), mid, full)
    return out


def colour_planes(image: np.ndarray) -> list[np.ndarray]:
    """The colour planes the codec codes: a grayscale image itself, or Y and 4:2:0 Cb, Cr."""
    if image.ndim == 2:
        return [image]
    return list(rgb_to_ycbcr_420(image))
