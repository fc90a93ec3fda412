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
a time, for an encoder or decoder that need not hold full-resolution chroma. A lossless stream's
colour goes through one of the reversible integer transforms of :func:`rgb_to_reversible`.
"""

from __future__ import annotations

cimport cython
from .simd cimport spk_rounded_byte
from libc.stdint cimport uint8_t

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import ParameterError
from ..params import RGB_TO_YCOCG, stripe_rows

__all__ = [
    "chroma_shape",
    "colour_image",
    "colour_planes",
    "downsample_420",
    "reversible_to_rgb",
    "rgb_to_reversible",
    "rgb_to_ycocg",
    "rgb_to_ycocg_420",
    "upsample_420",
    "ycocg420_to_rgb",
    "ycocg_to_rgb",
]

YCOCG_TO_RGB = np.linalg.inv(RGB_TO_YCOCG)

# Catmull-Rom (a = -1/2) at the phases -1/4 and +1/4 of a chroma sample: the taps on samples
# i-2 .. i+2 of output 2i (even) and 2i + 1 (odd).
_EVEN = np.array([-0.0234375, 0.2265625, 0.8671875, -0.0703125, 0.0])
_ODD = _EVEN[::-1].copy()

# The kernels see an RGB image as (H, 3W), a row as 3W interleaved samples. Every C row function
# below is compiled for the machine's SIMD (SPK_SIMD, SPK_CLIPPING: simd.pxd).
cdef extern from *:
    """
    /* The matrices, spelled out (spk_colour_set compares them with RGB_TO_YCOCG and
       YCOCG_TO_RGB at import) so that the compiler computes a product once where two rows
       share it and leaves out the products by 1 and -1 (all exact), as numba's LLVM does with
       the arrays it takes as constants; the resampling taps, set from _EVEN and _ODD. */
    #define SPK_TO_YCOCG {0.25, 0.5, 0.25, 0.5, 0.0, -0.5, -0.25, 0.5, -0.25}
    #define SPK_TO_RGB {1.0, 1.0, -1.0, 1.0, 0.0, 1.0, 1.0, -1.0, -1.0}
    static double spk_even[5], spk_odd[5];

    /* One RGB row (3n samples) -> its Y, Co and Cg rows: RGB_TO_YCOCG @ (R, G, B), plus 128
       for the chroma, each row of the matrix summed left to right. */
    SPK_SIMD void spk_ycocg_row_f64(const double *restrict src, ptrdiff_t n,
                                    double *restrict y, double *restrict cb,
                                    double *restrict cr)
    {
        const double m[9] = SPK_TO_YCOCG;
        for (ptrdiff_t c = 0; c < n; c++) {
            double red = src[3 * c], green = src[3 * c + 1], blue = src[3 * c + 2];
            y[c] = m[0] * red + m[1] * green + m[2] * blue;
            cb[c] = m[3] * red + m[4] * green + m[5] * blue + 128.0;
            cr[c] = m[6] * red + m[7] * green + m[8] * blue + 128.0;
        }
    }

    /* The same of bytes: a byte is finite and >= 0, so 0 * G adds +0 to R/2 >= 0, which
       changes no bit, and is left out. */
    SPK_SIMD void spk_ycocg_row_u8(const uint8_t *restrict src, ptrdiff_t n,
                                   double *restrict y, double *restrict cb,
                                   double *restrict cr)
    {
        const double m[9] = SPK_TO_YCOCG;
        for (ptrdiff_t c = 0; c < n; c++) {
            double red = src[3 * c], green = src[3 * c + 1], blue = src[3 * c + 2];
            y[c] = m[0] * red + m[1] * green + m[2] * blue;
            cb[c] = m[3] * red + m[5] * blue + 128.0;
            cr[c] = m[6] * red + m[7] * green + m[8] * blue + 128.0;
        }
    }

    /* One row of Y, Co, Cg -> its RGB row (3n samples): YCOCG_TO_RGB @ (Y, Co - 128,
       Cg - 128) rounded half to even and clipped to 0..255 (clipping first gives the same
       bytes). */
    SPK_SIMD SPK_CLIPPING void spk_rgb_row(const double *restrict luma,
                                           const double *restrict blue,
                                           const double *restrict red, ptrdiff_t n,
                                           uint8_t *restrict dst)
    {
        const double m[9] = SPK_TO_RGB;
        for (ptrdiff_t c = 0; c < n; c++) {
            double yc = luma[c], cbc = blue[c] - 128.0, crc = red[c] - 128.0;
            for (int k = 0; k < 3; k++) {
                double v = m[3 * k] * yc + m[3 * k + 1] * cbc + m[3 * k + 2] * crc;
                v = 0.0 > v ? 0.0 : v;
                v = 255.0 < v ? 255.0 : v;
                dst[3 * c + k] = spk_rounded_byte(v);
            }
        }
    }

    /* The 2x2 means of two rows of w samples (the last column replicated when w is odd). */
    SPK_SIMD void spk_down_row(const double *restrict top, const double *restrict bottom,
                               ptrdiff_t w, double *restrict dst)
    {
        for (ptrdiff_t j = 0; j < w / 2; j++)
            dst[j] = (top[2 * j] + top[2 * j + 1] + bottom[2 * j] + bottom[2 * j + 1]) * 0.25;
        if (w % 2)
            dst[w / 2] = (top[w - 1] + top[w - 1] + bottom[w - 1] + bottom[w - 1]) * 0.25;
    }

    /* Row r of an (h, w) plane upsampled to n columns, into dst: along the columns first, the
       taps on rows r/2 - 2 .. r/2 + 2 (edges replicated), into row[2 .. w + 2) (row: w + 4
       samples, two replicated at each end), then along it. */
    SPK_SIMD void spk_up_row(const double *restrict plane, ptrdiff_t h, ptrdiff_t w,
                             ptrdiff_t r, double *restrict row, ptrdiff_t n,
                             double *restrict dst)
    {
        const double *taps = r % 2 == 0 ? spk_even : spk_odd, *src[5];
        double t[5], e[5], o[5];
        for (int d = 0; d < 5; d++) {
            ptrdiff_t i = r / 2 - 2 + d;
            src[d] = plane + (i < 0 ? 0 : i > h - 1 ? h - 1 : i) * w;
            t[d] = taps[d];
            e[d] = spk_even[d];
            o[d] = spk_odd[d];
        }
        for (ptrdiff_t j = 0; j < w; j++)
            row[j + 2] = 0.0 + t[0] * src[0][j] + t[1] * src[1][j] + t[2] * src[2][j]
                         + t[3] * src[3][j] + t[4] * src[4][j];
        row[0] = row[1] = row[2];
        row[w + 2] = row[w + 3] = row[w + 1];
        for (ptrdiff_t j = 0; j < n / 2; j++) {
            const double *x = row + j;
            dst[2 * j] = 0.0 + e[0] * x[0] + e[1] * x[1] + e[2] * x[2] + e[3] * x[3]
                         + e[4] * x[4];
            dst[2 * j + 1] = 0.0 + o[0] * x[0] + o[1] * x[1] + o[2] * x[2] + o[3] * x[3]
                             + o[4] * x[4];
        }
        if (n % 2) {
            const double *x = row + n / 2;
            dst[n - 1] = 0.0 + e[0] * x[0] + e[1] * x[1] + e[2] * x[2] + e[3] * x[3]
                         + e[4] * x[4];
        }
    }

    /* Returns 0 unless the spelled-out matrices are to_ycocg and to_rgb; sets the taps. */
    static int spk_colour_set(const double *to_ycocg, const double *to_rgb,
                              const double *even, const double *odd)
    {
        const double m[9] = SPK_TO_YCOCG, w[9] = SPK_TO_RGB;
        for (int k = 0; k < 5; k++) {
            spk_even[k] = even[k];
            spk_odd[k] = odd[k];
        }
        for (int k = 0; k < 9; k++)
            if (m[k] != to_ycocg[k] || w[k] != to_rgb[k])
                return 0;
        return 1;
    }

    #if defined(__GNUC__) && !defined(__clang__)
    #  pragma GCC pop_options
    #endif
    """
    int spk_colour_set(const double *to_ycocg, const double *to_rgb, const double *even,
                       const double *odd) nogil
    void spk_ycocg_row_u8(const uint8_t *src, Py_ssize_t n, double *y, double *cb,
                          double *cr) nogil
    void spk_ycocg_row_f64(const double *src, Py_ssize_t n, double *y, double *cb,
                           double *cr) nogil
    void spk_rgb_row(const double *luma, const double *blue, const double *red, Py_ssize_t n,
                     uint8_t *dst) nogil
    void spk_down_row(const double *top, const double *bottom, Py_ssize_t w,
                      double *dst) nogil
    void spk_up_row(const double *plane, Py_ssize_t h, Py_ssize_t w, Py_ssize_t r,
                    double *row, Py_ssize_t n, double *dst) nogil


cdef const double[:, ::1] _to_ycocg = np.ascontiguousarray(RGB_TO_YCOCG, dtype=np.float64)
cdef const double[:, ::1] _to_rgb = np.ascontiguousarray(YCOCG_TO_RGB, dtype=np.float64)
cdef const double[::1] _even = _EVEN, _odd = _ODD
if not spk_colour_set(&_to_ycocg[0, 0], &_to_rgb[0, 0], &_even[0], &_odd[0]):
    raise ImportError("the C matrices of spikecodec.transform.colour are not RGB_TO_YCOCG's")

ctypedef fused sample:
    uint8_t
    double


def _samples(rgb: np.ndarray) -> np.ndarray:
    """An (H, W, 3) image as the kernels read it: (H, 3W), uint8 as it is, else float64."""
    rgb = np.ascontiguousarray(rgb, dtype=None if rgb.dtype == np.uint8 else np.float64)
    h, w, _ = rgb.shape
    return rgb.reshape(h, 3 * w)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _ycocg_row(
    const sample[:, ::1] rgb, Py_ssize_t r, double[::1] y, double[::1] cb, double[::1] cr
) noexcept nogil:
    """Row ``r`` of an RGB image -> its Y, Co and Cg rows."""
    if sample is uint8_t:
        spk_ycocg_row_u8(&rgb[r, 0], y.shape[0], &y[0], &cb[0], &cr[0])
    else:
        spk_ycocg_row_f64(&rgb[r, 0], y.shape[0], &y[0], &cb[0], &cr[0])


def chroma_shape(h: int, w: int) -> tuple[int, int]:
    """The shape of 4:2:0 chroma for (h, w) pixels."""
    return (h + 1) // 2, (w + 1) // 2


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _rgb_to_ycocg_420(
    const sample[:, ::1] rgb,
    double[:, ::1] y,
    double[:, ::1] cb,
    double[:, ::1] cr,
    double[:, ::1] rows,
) noexcept:
    """``rows``: (4, W) scratch, the Co and Cg rows of a 2x2 cell's top and bottom rows."""
    cdef Py_ssize_t h = y.shape[0], w = y.shape[1], i, bottom
    with nogil:
        for i in range(cb.shape[0]):
            bottom = min(2 * i + 1, h - 1)
            _ycocg_row(rgb, 2 * i, y[2 * i], rows[0], rows[1])
            _ycocg_row(rgb, bottom, y[bottom], rows[2], rows[3])
            spk_down_row(&rows[0, 0], &rows[2, 0], w, &cb[i, 0])
            spk_down_row(&rows[1, 0], &rows[3, 0], w, &cr[i, 0])


def rgb_to_ycocg_420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) RGB in [0, 255] -> float64 Y (H, W) and 4:2:0 Co, Cg (ceil(H/2), ceil(W/2))."""
    rgb = np.asarray(rgb)
    h, w, _ = rgb.shape
    y, cb, cr = np.empty((h, w)), np.empty(chroma_shape(h, w)), np.empty(chroma_shape(h, w))
    if h and w:
        samples = _samples(rgb)
        if samples.dtype == np.uint8:
            _rgb_to_ycocg_420[uint8_t](samples, y, cb, cr, np.empty((4, w)))
        else:
            _rgb_to_ycocg_420[double](samples, y, cb, cr, np.empty((4, w)))
    return y, cb, cr


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _ycocg420_to_rgb(
    const double[:, ::1] y,
    const double[:, ::1] cb,
    const double[:, ::1] cr,
    uint8_t[:, ::1] out,
    double[:, ::1] mid,
    double[:, ::1] full,
    Py_ssize_t start,
    Py_ssize_t stop,
) noexcept:
    """Rows ``start:stop`` of ``out``; ``mid``: (2, chroma width + 4) and ``full``: (2, W)
    scratch: the upsampled Co, Cg rows."""
    cdef Py_ssize_t h = cb.shape[0], w = cb.shape[1], n = y.shape[1], r
    with nogil:
        for r in range(start, stop):
            spk_up_row(&cb[0, 0], h, w, r, &mid[0, 0], n, &full[0, 0])
            spk_up_row(&cr[0, 0], h, w, r, &mid[1, 0], n, &full[1, 0])
            spk_rgb_row(&y[r, 0], &full[0, 0], &full[1, 0], n, &out[r, 0])


def _in_bands(convert, rows: int, threads: int) -> None:
    """``convert(start, stop)`` over ``rows`` rows, in as many bands of rows as ``threads``
    (at least 256 rows each), each on its own thread."""
    bands = stripe_rows(rows, max(1, min(threads, rows // 256)))
    if len(bands) == 1:
        convert(0, rows)
        return
    with ThreadPoolExecutor(len(bands)) as pool:
        list(pool.map(lambda band: convert(*band), bands))


def ycocg420_to_rgb(
    y: np.ndarray, cb: np.ndarray, cr: np.ndarray, threads: int = 1
) -> np.ndarray:
    """Float Y (H, W) and 4:2:0 Co, Cg (ceil(H/2), ceil(W/2)) -> (H, W, 3) uint8 RGB: chroma
    upsampled, converted, rounded and clipped, a row at a time (bands of rows on up to
    ``threads`` threads)."""
    y, cb, cr = (np.ascontiguousarray(p, dtype=np.float64) for p in (y, cb, cr))
    h, w = y.shape
    if not cb.shape == cr.shape == chroma_shape(h, w):
        raise ParameterError(f"4:2:0 chroma of a {y.shape} plane has shape {chroma_shape(h, w)}")
    out = np.empty((h, w, 3), np.uint8)
    if h and w:
        rows = out.reshape(h, 3 * w)

        def convert(start: int, stop: int) -> None:
            mid, full = np.empty((2, cb.shape[1] + 4)), np.empty((2, w))
            _ycocg420_to_rgb(y, cb, cr, rows, mid, full, start, stop)

        _in_bands(convert, h, threads)
    return out


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _rgb_to_ycocg(
    const sample[:, ::1] rgb, double[:, ::1] y, double[:, ::1] cb, double[:, ::1] cr
) noexcept:
    cdef Py_ssize_t r
    with nogil:
        for r in range(y.shape[0]):
            _ycocg_row(rgb, r, y[r], cb[r], cr[r])


def rgb_to_ycocg(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) RGB in [0, 255] -> float64 Y, Co, Cg (H, W) each."""
    rgb = np.asarray(rgb)
    h, w, _ = rgb.shape
    y, cb, cr = np.empty((h, w)), np.empty((h, w)), np.empty((h, w))
    if h and w:
        samples = _samples(rgb)
        if samples.dtype == np.uint8:
            _rgb_to_ycocg[uint8_t](samples, y, cb, cr)
        else:
            _rgb_to_ycocg[double](samples, y, cb, cr)
    return y, cb, cr


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _ycocg_to_rgb(
    const double[:, ::1] y, const double[:, ::1] cb, const double[:, ::1] cr,
    uint8_t[:, ::1] out, Py_ssize_t start, Py_ssize_t stop,
) noexcept:
    cdef Py_ssize_t r
    with nogil:
        for r in range(start, stop):
            spk_rgb_row(&y[r, 0], &cb[r, 0], &cr[r, 0], y.shape[1], &out[r, 0])


def ycocg_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, threads: int = 1) -> np.ndarray:
    """Float Y, Co, Cg (H, W) each -> (H, W, 3) uint8 RGB, rounded and clipped (bands of rows
    on up to ``threads`` threads)."""
    y, cb, cr = (np.ascontiguousarray(p, dtype=np.float64) for p in (y, cb, cr))
    if not y.shape == cb.shape == cr.shape:
        raise ParameterError(f"the planes differ in shape: {y.shape}, {cb.shape}, {cr.shape}")
    h, w = y.shape
    out = np.empty((h, w, 3), np.uint8)
    if h and w:
        rows = out.reshape(h, 3 * w)
        _in_bands(lambda start, stop: _ycocg_to_rgb(y, cb, cr, rows, start, stop), h, threads)
    return out


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _downsample_420(const double[:, ::1] plane, double[:, ::1] out) noexcept:
    cdef Py_ssize_t h = plane.shape[0], i
    with nogil:
        for i in range(out.shape[0]):
            spk_down_row(&plane[2 * i, 0], &plane[min(2 * i + 1, h - 1), 0], plane.shape[1],
                         &out[i, 0])


def downsample_420(plane: np.ndarray) -> np.ndarray:
    """A plane's 4:2:0 version: the 2x2 means (as :func:`rgb_to_ycocg_420` computes them)."""
    plane = np.ascontiguousarray(plane, dtype=np.float64)
    out = np.empty(chroma_shape(*plane.shape))
    if out.size:
        _downsample_420(plane, out)
    return out


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _upsample_420(const double[:, ::1] plane, double[:, ::1] out, double[::1] row) noexcept:
    cdef Py_ssize_t r
    with nogil:
        for r in range(out.shape[0]):
            spk_up_row(&plane[0, 0], plane.shape[0], plane.shape[1], r, &row[0], out.shape[1],
                       &out[r, 0])


def upsample_420(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A 4:2:0 plane upsampled to ``shape`` (as :func:`ycocg420_to_rgb` upsamples chroma)."""
    plane = np.ascontiguousarray(plane, dtype=np.float64)
    if chroma_shape(*shape) != plane.shape:
        raise ParameterError(f"a {plane.shape} plane is not the 4:2:0 chroma of {shape}")
    out = np.empty(shape)
    if out.size:
        _upsample_420(plane, out, np.empty(plane.shape[1] + 4))
    return out


# Which input channel takes the place of red, green and blue in each reversible transform's
# formulas (by REVERSIBLE_COLOURS index modulo 3): as they are, red as green, blue as green.
_ROLES = ((0, 1, 2), (1, 0, 2), (0, 2, 1))


def rgb_to_reversible(
    rgb: np.ndarray, colour: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) integer RGB -> int64 planes (H, W) each by the reversible colour transform
    ``REVERSIBLE_COLOURS[colour]`` (:data:`~spikecodec.params.REVERSIBLE_COLOURS`): with the
    channels ``r, g, b`` in the roles of ``_ROLES[colour % 3]``, YCoCg-R (``colour`` 0..2)

        Co = r - b,  t = b + (Co >> 1),  Cg = g - t,  Y = t + (Cg >> 1)     -> Y, Co, Cg

    or JPEG 2000's RCT (3..5)

        Y = (r + 2g + b) >> 2,  U = b - g,  V = r - g                       -> Y, U, V

    (Malvar and Sullivan's lifting steps; ITU-T T.800 G.2). The transform that costs least
    depends on the image's colours; the encoder chooses (:mod:`spikecodec.codec`)."""
    channels = np.moveaxis(np.asarray(rgb, np.int64), -1, 0)
    red, green, blue = (channels[i] for i in _ROLES[colour % 3])
    if colour < 3:
        co = red - blue
        t = blue + (co >> 1)
        cg = green - t
        return t + (cg >> 1), co, cg
    return (red + 2 * green + blue) >> 2, blue - green, red - green


def reversible_to_rgb(
    y: np.ndarray, c1: np.ndarray, c2: np.ndarray, colour: int = 0
) -> np.ndarray:
    """The planes of :func:`rgb_to_reversible` -> (H, W, 3) RGB: its exact inverse (int64) for
    integer planes, its linear version (``>> n`` read as ``/ 2**n``, float64) for float ones
    (a lossy prefix of a lossless stream)."""
    planes = np.broadcast_arrays(y, c1, c2)
    real = any(p.dtype.kind == "f" for p in planes)
    if colour < 3:
        half = (lambda v: v / 2) if real else (lambda v: v >> 1)
        t = planes[0] - half(planes[2])
        green = planes[2] + t
        blue = t - half(planes[1])
        red = blue + planes[1]
    else:
        quarter = (lambda v: v / 4) if real else (lambda v: v >> 2)
        green = planes[0] - quarter(planes[1] + planes[2])
        red, blue = planes[2] + green, planes[1] + green
    out = [None, None, None]
    for channel, value in zip(_ROLES[colour % 3], (red, green, blue)):
        out[channel] = value
    return np.stack(out, axis=-1)


def colour_planes(image: np.ndarray, subsampling: str = "4:2:0") -> list[np.ndarray]:
    """The colour planes the codec codes: a grayscale image itself, or Y, Co, Cg with the
    chroma at 4:2:0 (the default) or full resolution (``"4:4:4"``)."""
    if image.ndim == 2:
        return [image]
    if subsampling == "4:4:4":
        return list(rgb_to_ycocg(image))
    return list(rgb_to_ycocg_420(image))


def colour_image(
    planes: list[np.ndarray], subsampling: str = "4:2:0", threads: int = 1
) -> np.ndarray:
    """The image of decoded colour planes (the inverse of :func:`colour_planes`): a gray plane
    as it is, or Y, Co, Cg to uint8 RGB (on up to ``threads`` threads)."""
    if len(planes) == 1:
        return planes[0]
    if subsampling == "4:4:4":
        return ycocg_to_rgb(*planes, threads=threads)
    return ycocg420_to_rgb(*planes, threads=threads)
