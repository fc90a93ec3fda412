"""Colour conversion and 4:2:0 chroma resampling.

YCoCg (:data:`~spikecodec.params.RGB_TO_YCOCG`),

    Y  =       (R + 2G + B) / 4
    Co = 128 + (R - B) / 2
    Cg = 128 + (2G - R - B) / 4,

chroma subsampled 4:2:0 by averaging 2x2 pixels (the last row or column replicated when the
size is odd) and upsampled separably by Catmull-Rom cubic interpolation at the output pixels'
phases, a quarter of a chroma sample either side of it, edges replicated: ``out[2i] =
(-3 c[i-2] + 29 c[i-1] + 111 c[i] - 9 c[i+1]) / 128`` and ``out[2i+1]`` the mirror image, along
each axis (sharper than libjpeg's (1/4, 3/4) triangle, and as exact on linear ramps).
:func:`rgb_to_ycocg_420` and :func:`ycocg420_to_rgb` fuse conversion and resampling a row at
a time, for an encoder or decoder that need not hold full-resolution chroma.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel
from ..errors import ParameterError
from ..params import RGB_TO_YCOCG

__all__ = [
    "chroma_shape",
    "colour_image",
    "colour_planes",
    "downsample_420",
    "rgb_to_ycocg",
    "rgb_to_ycocg_420",
    "rgb_to_ycocg_r",
    "upsample_420",
    "ycocg420_to_rgb",
    "ycocg_r_to_rgb",
    "ycocg_to_rgb",
]

YCOCG_TO_RGB = np.linalg.inv(RGB_TO_YCOCG)


# The kernels see an RGB image as (H, 3W) so that the stride of its channels is a constant:
# LLVM vectorizes interleaved channels then, not a stride known only at run time.
@kernel
def _ycocg_row(src, y, cb, cr):
    """One RGB row (3W samples) -> its Y, Co and Cg rows."""
    m = RGB_TO_YCOCG
    for c in range(y.size):
        red, green, blue = float(src[3 * c]), float(src[3 * c + 1]), float(src[3 * c + 2])
        y[c] = m[0, 0] * red + m[0, 1] * green + m[0, 2] * blue
        cb[c] = m[1, 0] * red + m[1, 1] * green + m[1, 2] * blue + 128.0
        cr[c] = m[2, 0] * red + m[2, 1] * green + m[2, 2] * blue + 128.0


@kernel
def _rgb_row(luma, blue, red, dst):
    """One row of Y, Co, Cg -> its RGB row (3W samples), rounded and clipped."""
    m = YCOCG_TO_RGB
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


# Catmull-Rom (a = -1/2) at the phases -1/4 and +1/4 of a chroma sample: the taps on samples
# i-2 .. i+2 of output 2i (even) and 2i + 1 (odd).
_EVEN = np.array([-0.0234375, 0.2265625, 0.8671875, -0.0703125, 0.0])
_ODD = _EVEN[::-1].copy()


@kernel
def _up_row(plane, r, row, dst):
    """Row ``r`` of the upsampled ``plane`` into ``dst``: along the columns first, into ``row``
    (with two replicated samples at each end), then along it."""
    h, w = plane.shape
    taps = _EVEN if r % 2 == 0 else _ODD
    i = r // 2
    for j in range(w):
        v = 0.0
        for d in range(5):
            v += taps[d] * plane[min(max(i - 2 + d, 0), h - 1), j]
        row[j + 2] = v
    row[0], row[1], row[w + 2], row[w + 3] = row[2], row[2], row[w + 1], row[w + 1]
    for j in range(dst.size // 2):
        even = odd = 0.0
        for d in range(5):
            even += _EVEN[d] * row[j + d]
            odd += _ODD[d] * row[j + d]
        dst[2 * j], dst[2 * j + 1] = even, odd
    if dst.size % 2:
        j = dst.size // 2
        even = 0.0
        for d in range(5):
            even += _EVEN[d] * row[j + d]
        dst[-1] = even


def chroma_shape(h: int, w: int) -> tuple[int, int]:
    """The shape of 4:2:0 chroma for (h, w) pixels."""
    return (h + 1) // 2, (w + 1) // 2


@kernel
def _rgb_to_ycocg_420(rgb, y, cb, cr, rows):
    """``rows``: (4, W) scratch, the Co and Cg rows of a 2x2 cell's top and bottom rows."""
    h = y.shape[0]
    for i in range(cb.shape[0]):
        bottom = min(2 * i + 1, h - 1)
        _ycocg_row(rgb[2 * i], y[2 * i], rows[0], rows[1])
        _ycocg_row(rgb[bottom], y[bottom], rows[2], rows[3])
        _down_row(rows[0], rows[2], cb[i])
        _down_row(rows[1], rows[3], cr[i])


def rgb_to_ycocg_420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) RGB in [0, 255] -> float64 Y (H, W) and 4:2:0 Co, Cg (ceil(H/2), ceil(W/2))."""
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    y, cb, cr = np.empty((h, w)), np.empty(chroma_shape(h, w)), np.empty(chroma_shape(h, w))
    _rgb_to_ycocg_420(rgb.reshape(h, 3 * w), y, cb, cr, np.empty((4, w)))
    return y, cb, cr


@kernel
def _ycocg420_to_rgb(y, cb, cr, out, mid, full):
    """``mid``: (2, chroma width + 4) and ``full``: (2, W) scratch: :func:`_up_row` of Co, Cg."""
    for r in range(y.shape[0]):
        _up_row(cb, r, mid[0], full[0])
        _up_row(cr, r, mid[1], full[1])
        _rgb_row(y[r], full[0], full[1], out[r])


def ycocg420_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """Float Y (H, W) and 4:2:0 Co, Cg (ceil(H/2), ceil(W/2)) -> (H, W, 3) uint8 RGB: chroma
    upsampled, converted, rounded and clipped, a row at a time."""
    y, cb, cr = (np.ascontiguousarray(p, dtype=np.float64) for p in (y, cb, cr))
    h, w = y.shape
    if not cb.shape == cr.shape == chroma_shape(h, w):
        raise ParameterError(f"4:2:0 chroma of a {y.shape} plane has shape {chroma_shape(h, w)}")
    out = np.empty((h, w, 3), np.uint8)
    mid, full = np.empty((2, cb.shape[1] + 4)), np.empty((2, w))
    _ycocg420_to_rgb(y, cb, cr, out.reshape(h, 3 * w), mid, full)
    return out


@kernel
def _rgb_to_ycocg(rgb, y, cb, cr):
    for r in range(y.shape[0]):
        _ycocg_row(rgb[r], y[r], cb[r], cr[r])


def rgb_to_ycocg(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) RGB in [0, 255] -> float64 Y, Co, Cg (H, W) each."""
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    y, cb, cr = np.empty((h, w)), np.empty((h, w)), np.empty((h, w))
    _rgb_to_ycocg(rgb.reshape(h, 3 * w), y, cb, cr)
    return y, cb, cr


@kernel
def _ycocg_to_rgb(y, cb, cr, out):
    for r in range(y.shape[0]):
        _rgb_row(y[r], cb[r], cr[r], out[r])


def ycocg_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """Float Y, Co, Cg (H, W) each -> (H, W, 3) uint8 RGB, rounded and clipped."""
    y, cb, cr = (np.ascontiguousarray(p, dtype=np.float64) for p in (y, cb, cr))
    if not y.shape == cb.shape == cr.shape:
        raise ParameterError(f"the planes differ in shape: {y.shape}, {cb.shape}, {cr.shape}")
    h, w = y.shape
    out = np.empty((h, w, 3), np.uint8)
    _ycocg_to_rgb(y, cb, cr, out.reshape(h, 3 * w))
    return out


@kernel
def _downsample_420(plane, out):
    h = plane.shape[0]
    for i in range(out.shape[0]):
        _down_row(plane[2 * i], plane[min(2 * i + 1, h - 1)], out[i])


def downsample_420(plane: np.ndarray) -> np.ndarray:
    """A plane's 4:2:0 version: the 2x2 means (as :func:`rgb_to_ycocg_420` computes them)."""
    plane = np.ascontiguousarray(plane, dtype=np.float64)
    out = np.empty(chroma_shape(*plane.shape))
    _downsample_420(plane, out)
    return out


@kernel
def _upsample_420(plane, out, row):
    for r in range(out.shape[0]):
        _up_row(plane, r, row, out[r])


def upsample_420(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A 4:2:0 plane upsampled to ``shape`` (as :func:`ycocg420_to_rgb` upsamples chroma)."""
    plane = np.ascontiguousarray(plane, dtype=np.float64)
    if chroma_shape(*shape) != plane.shape:
        raise ParameterError(f"a {plane.shape} plane is not the 4:2:0 chroma of {shape}")
    out = np.empty(shape)
    _upsample_420(plane, out, np.empty(plane.shape[1] + 4))
    return out


def rgb_to_ycocg_r(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) integer RGB -> int64 Y, Co, Cg (H, W) each, by YCoCg-R (module docstring)."""
    red, green, blue = np.moveaxis(np.asarray(rgb, np.int64), -1, 0)
    co = red - blue
    t = blue + (co >> 1)
    cg = green - t
    return t + (cg >> 1), co, cg


def ycocg_r_to_rgb(y: np.ndarray, co: np.ndarray, cg: np.ndarray) -> np.ndarray:
    """Y, Co, Cg (H, W) each -> (H, W, 3) RGB: the exact inverse of :func:`rgb_to_ycocg_r`
    (int64) for integer planes, its linear version (``>> 1`` read as ``/ 2``, float64) for float
    ones."""
    planes = np.broadcast_arrays(y, co, cg)
    half = (lambda v: v / 2) if any(p.dtype.kind == "f" for p in planes) else (lambda v: v >> 1)
    t = planes[0] - half(planes[2])
    green = planes[2] + t
    blue = t - half(planes[1])
    return np.stack([blue + planes[1], green, blue], axis=-1)


def colour_planes(image: np.ndarray, subsampling: str = "4:2:0") -> list[np.ndarray]:
    """The colour planes the codec codes: a grayscale image itself, or Y, Co, Cg with the
    chroma at 4:2:0 (the default) or full resolution (``"4:4:4"``)."""
    if image.ndim == 2:
        return [image]
    if subsampling == "4:4:4":
        return list(rgb_to_ycocg(image))
    return list(rgb_to_ycocg_420(image))


def colour_image(planes: list[np.ndarray], subsampling: str = "4:2:0") -> np.ndarray:
    """The image of decoded colour planes (the inverse of :func:`colour_planes`): a gray plane
    as it is, or Y, Co, Cg to uint8 RGB."""
    if len(planes) == 1:
        return planes[0]
    if subsampling == "4:4:4":
        return ycocg_to_rgb(*planes)
    return ycocg420_to_rgb(*planes)
