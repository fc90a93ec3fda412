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

cimport cython
from .simd cimport spk_rounded_byte
from libc.stdint cimport int64_t, uint8_t

import numpy as np

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

# Both kernels work one block row (a strip of 8 rows) at a time, in two layouts that keep the
# SIMD lanes contiguous and every distance between operands a constant, so that the C compiler
# vectorizes the loops (each C loop function below is compiled for AVX-512, for AVX2 and for
# any x86-64, and the machine's is picked at load time):
# - down the columns, the strip in chunks of _CHUNK columns, each a (12, _CHUNK) region of
#   ``work``: rows 0-3 the lower half of the previous boundary's filter, rows 4-11 the samples
#   of the next one (the 8 rows from the middle of this block row down);
# - along the rows, ``blocks``: every block transposed (column-major), so that the 8 rows of a
#   strip are the lanes. ``_ZIGZAG_T[k]`` is the place there of zigzag coefficient k.
_CHUNK = 64
_REGION = 12 * _CHUNK
_ZIGZAG_T = BLOCK * (ZIGZAG % BLOCK) + ZIGZAG // BLOCK

cdef extern from *:
    """
    #define SPK_BLOCK 8
    #define SPK_CHUNK 64
    #define SPK_REGION (12 * SPK_CHUNK)

    /* The matrices, set once from the module's arrays (spk_lapped_set): 4x4 row-major. */
    static double spk_v[16], spk_v_inv[16];
    static double spk_dct_even[16], spk_dct_odd[16], spk_idct_even[16], spk_idct_odd[16];
    /* _ZIGZAG_T (checked against it at import): a constant, so that the zigzag loops unroll
       to loads and stores at fixed places. */
    static const int spk_zigzag_t[64] = {
        0, 8, 1, 2, 9, 16, 24, 17, 10, 3, 4, 11, 18, 25, 32, 40,
        33, 26, 19, 12, 5, 6, 13, 20, 27, 34, 41, 48, 56, 49, 42, 35,
        28, 21, 14, 7, 15, 22, 29, 36, 43, 50, 57, 58, 51, 44, 37, 30,
        23, 31, 38, 45, 52, 59, 60, 53, 46, 39, 47, 54, 61, 62, 55, 63,
    };

    /* e = m @ (a, b, c, d), each row summed left to right. */
    SPK_INLINE void spk_mul4(const double *m, double a, double b, double c, double d, double *e)
    {
        for (int r = 0; r < 4; r++)
            e[r] = m[4 * r] * a + m[4 * r + 1] * b + m[4 * r + 2] * c + m[4 * r + 3] * d;
    }

    /* y = 1/2 [[I, J], [J, -I]] diag(I, v) [[I, J], [J, -I]] x: P (v = V) or P^-1 (V^-1). */
    SPK_INLINE void spk_lap(const double *v, const double *x, double *y)
    {
        double e[4];
        spk_mul4(v, x[3] - x[4], x[2] - x[5], x[1] - x[6], x[0] - x[7], e);
        for (int k = 0; k < 4; k++) {
            y[k] = 0.5 * ((x[k] + x[7 - k]) + e[3 - k]);
            y[7 - k] = 0.5 * ((x[k] + x[7 - k]) - e[3 - k]);
        }
    }

    /* y = C x: even outputs from the sums x[n] + x[7-n], odd from the differences. */
    SPK_INLINE void spk_dct8(const double *x, double *y)
    {
        double e[4], o[4];
        spk_mul4(spk_dct_even, x[0] + x[7], x[1] + x[6], x[2] + x[5], x[3] + x[4], e);
        spk_mul4(spk_dct_odd, x[0] - x[7], x[1] - x[6], x[2] - x[5], x[3] - x[4], o);
        for (int k = 0; k < 4; k++) {
            y[2 * k] = e[k];
            y[2 * k + 1] = o[k];
        }
    }

    /* x = C^T y, the inverse of spk_dct8. */
    SPK_INLINE void spk_idct8(const double *y, double *x)
    {
        double e[4], o[4];
        spk_mul4(spk_idct_even, y[0], y[2], y[4], y[6], e);
        spk_mul4(spk_idct_odd, y[1], y[3], y[5], y[7], o);
        for (int k = 0; k < 4; k++) {
            x[k] = e[k] + o[k];
            x[7 - k] = e[k] - o[k];
        }
    }

    /* In place on 8 lanes of 8 values a stride 8 apart (a transposed block, or a seam between
       two): transform (1) the DCT, (-1) its inverse, (2) P, (-2) P^-1. */
    SPK_INLINE void spk_block_lanes(double *restrict b, int transform)
    {
        for (int u = 0; u < 8; u++) {
            double x[8], y[8];
            for (int m = 0; m < 8; m++)
                x[m] = b[8 * m + u];
            if (transform == 1)
                spk_dct8(x, y);
            else if (transform == -1)
                spk_idct8(x, y);
            else
                spk_lap(transform == 2 ? spk_v : spk_v_inv, x, y);
            for (int m = 0; m < 8; m++)
                b[8 * m + u] = y[m];
        }
    }

    /* The level-shifted samples (x - 128) of `count` rows from `row` of an (h, w) plane, the
       last row and column replicated past the plane, into rows `at`.. of every chunk. */
    #define SPK_LEVEL_SHIFT(name, T)                                                        \\
    SPK_SIMD void name(const T *restrict plane, ptrdiff_t h, ptrdiff_t w, ptrdiff_t row,    \\
                       int count, double *restrict work, ptrdiff_t chunks, int at)          \\
    {                                                                                       \\
        for (int k = 0; k < count; k++) {                                                   \\
            const T *src = plane + (row + k < h ? row + k : h - 1) * w;                     \\
            for (ptrdiff_t t = 0; t < chunks; t++) {                                        \\
                double *dst = work + t * SPK_REGION + (at + k) * SPK_CHUNK;                 \\
                ptrdiff_t c0 = t * SPK_CHUNK, n = w - c0 < SPK_CHUNK ? w - c0 : SPK_CHUNK;   \\
                for (ptrdiff_t c = 0; c < n; c++)                                           \\
                    dst[c] = (double)src[c0 + c] - 128.0;                                   \\
                for (ptrdiff_t c = n; c < SPK_CHUNK; c++)                                   \\
                    dst[c] = (double)src[c0 + n - 1] - 128.0;                               \\
            }                                                                               \\
        }                                                                                   \\
    }
    SPK_LEVEL_SHIFT(spk_level_shift_u8, uint8_t)
    SPK_LEVEL_SHIFT(spk_level_shift_f64, double)

    /* Down the columns of a chunk: rows 4-11 pre-filtered (`lap`: a boundary below), the DCT
       of rows 0-3 and the upper half into `cols` (transposed), the lower half to rows 0-3 for
       the next block row. */
    SPK_INLINE void spk_chunk_forward(double *restrict seg, double *restrict cols, int lap)
    {
        for (int c = 0; c < SPK_CHUNK; c++) {
            double x[8], y[8], z[8];
            for (int k = 0; k < 8; k++)
                x[k] = seg[(4 + k) * SPK_CHUNK + c];
            if (lap)
                spk_lap(spk_v, x, y);
            else
                for (int k = 0; k < 8; k++)
                    y[k] = x[k];
            for (int k = 0; k < 4; k++) {
                z[k] = seg[k * SPK_CHUNK + c];
                z[4 + k] = y[k];
            }
            spk_dct8(z, x);
            for (int k = 0; k < 8; k++)
                cols[8 * c + k] = x[k];
            for (int k = 0; k < 4; k++)
                seg[k * SPK_CHUNK + c] = y[4 + k];
        }
    }

    SPK_SIMD void spk_columns_forward(double *restrict work, double *restrict blocks,
                                      ptrdiff_t chunks, int lap)
    {
        for (ptrdiff_t t = 0; t < chunks; t++)
            if (lap)  /* (two loops, each without a branch) */
                spk_chunk_forward(work + t * SPK_REGION, blocks + t * SPK_CHUNK * 8, 1);
            else
                spk_chunk_forward(work + t * SPK_REGION, blocks + t * SPK_CHUNK * 8, 0);
    }

    /* Along the rows of a block row (`bx` blocks): pre-filter every seam, DCT every block,
       its 64 coefficients out in zigzag order. */
    SPK_SIMD void spk_rows_forward(double *restrict blocks, ptrdiff_t bx, double *restrict out)
    {
        for (ptrdiff_t j = 0; j < bx; j++) {
            double *block = blocks + 64 * j;
            if (j < bx - 1)
                spk_block_lanes(block + 32, 2);
            spk_block_lanes(block, 1);
            #pragma GCC unroll 64
            for (int k = 0; k < 64; k++)
                out[64 * j + k] = block[spk_zigzag_t[k]];
        }
    }

    /* The inverse of spk_rows_forward: zigzag coefficients in, IDCT of every block, the
       post-filter on every seam. */
    SPK_SIMD void spk_rows_inverse(const double *restrict coeffs, ptrdiff_t bx,
                                   double *restrict blocks)
    {
        for (ptrdiff_t j = 0; j < bx; j++) {
            double *block = blocks + 64 * j;
            #pragma GCC unroll 64
            for (int k = 0; k < 64; k++)
                block[spk_zigzag_t[k]] = coeffs[64 * j + k];
            spk_block_lanes(block, -1);
            if (j > 0)
                spk_block_lanes(block - 32, -2);
        }
    }

    /* The inverse of spk_columns_forward: the IDCT down every column; with no boundary above
       (`first`), the upper half to rows 8-11 as it is, else post-filtered with the previous
       block row's lower half (rows 0-3) into rows 4-11; the lower half to rows 0-3. */
    SPK_INLINE void spk_chunk_inverse(const double *restrict cols, double *restrict seg,
                                  int first)
    {
        for (int c = 0; c < SPK_CHUNK; c++) {
            double x[8], y[8], z[8];
            for (int k = 0; k < 8; k++)
                z[k] = cols[8 * c + k];
            spk_idct8(z, y);
            if (first) {
                for (int k = 0; k < 4; k++)
                    seg[(8 + k) * SPK_CHUNK + c] = y[k];
            } else {
                for (int k = 0; k < 4; k++) {
                    z[k] = seg[k * SPK_CHUNK + c];
                    z[4 + k] = y[k];
                }
                spk_lap(spk_v_inv, z, x);
                for (int k = 0; k < 8; k++)
                    seg[(4 + k) * SPK_CHUNK + c] = x[k];
            }
            for (int k = 0; k < 4; k++)
                seg[k * SPK_CHUNK + c] = y[4 + k];
        }
    }

    SPK_SIMD void spk_columns_inverse(const double *restrict blocks, double *restrict work,
                                      ptrdiff_t chunks, int first)
    {
        for (ptrdiff_t t = 0; t < chunks; t++)
            if (first)
                spk_chunk_inverse(blocks + t * SPK_CHUNK * 8, work + t * SPK_REGION, 1);
            else
                spk_chunk_inverse(blocks + t * SPK_CHUNK * 8, work + t * SPK_REGION, 0);
    }

    /* `count` rows `at`.. of every chunk, level restored (x + 128), into `count` rows of an
       output `w` wide from `row`: as they are, or rounded half to even and clipped to 0..255
       (clipping first gives the same bytes). */
    SPK_SIMD void spk_restore_f64(const double *restrict work, ptrdiff_t chunks, int at,
                                  int count, double *restrict out, ptrdiff_t w, ptrdiff_t row)
    {
        for (int k = 0; k < count; k++)
            for (ptrdiff_t t = 0; t < chunks; t++) {
                const double *src = work + t * SPK_REGION + (at + k) * SPK_CHUNK;
                double *dst = out + (row + k) * w + t * SPK_CHUNK;
                ptrdiff_t n = w - t * SPK_CHUNK < SPK_CHUNK ? w - t * SPK_CHUNK : SPK_CHUNK;
                for (ptrdiff_t c = 0; c < n; c++)
                    dst[c] = src[c] + 128.0;
            }
    }

    SPK_INLINE SPK_CLIPPING uint8_t spk_byte(double v)
    {
        v = 0.0 > v ? 0.0 : v;
        v = 255.0 < v ? 255.0 : v;
        return spk_rounded_byte(v);
    }

    SPK_SIMD SPK_CLIPPING void spk_restore_u8(const double *restrict work, ptrdiff_t chunks, int at,
                                 int count, uint8_t *restrict out, ptrdiff_t w, ptrdiff_t row)
    {
        for (int k = 0; k < count; k++)
            for (ptrdiff_t t = 0; t < chunks; t++) {
                const double *src = work + t * SPK_REGION + (at + k) * SPK_CHUNK;
                uint8_t *dst = out + (row + k) * w + t * SPK_CHUNK;
                ptrdiff_t n = w - t * SPK_CHUNK < SPK_CHUNK ? w - t * SPK_CHUNK : SPK_CHUNK;
                for (ptrdiff_t c = 0; c < n; c++)
                    dst[c] = spk_byte(src[c] + 128.0);
            }
    }

    /* Returns 0 if zigzag_t is not spk_zigzag_t. */
    static int spk_lapped_set(const double *v, const double *v_inv, const double *even,
                              const double *odd, const double *ieven, const double *iodd,
                              const int64_t *zigzag_t)
    {
        for (int k = 0; k < 16; k++) {
            spk_v[k] = v[k];
            spk_v_inv[k] = v_inv[k];
            spk_dct_even[k] = even[k];
            spk_dct_odd[k] = odd[k];
            spk_idct_even[k] = ieven[k];
            spk_idct_odd[k] = iodd[k];
        }
        for (int k = 0; k < 64; k++)
            if (spk_zigzag_t[k] != zigzag_t[k])
                return 0;
        return 1;
    }

    #if defined(__GNUC__) && !defined(__clang__)
    #  pragma GCC pop_options
    #endif
    """
    enum:
        SPK_BLOCK  # BLOCK
        SPK_REGION  # _REGION
    int spk_lapped_set(const double *v, const double *v_inv, const double *even,
                       const double *odd, const double *ieven, const double *iodd,
                       const int64_t *zigzag_t) nogil
    void spk_lap(const double *v, const double *x, double *y) nogil
    void spk_level_shift_u8(const uint8_t *plane, Py_ssize_t h, Py_ssize_t w, Py_ssize_t row,
                            int count, double *work, Py_ssize_t chunks, int at) nogil
    void spk_level_shift_f64(const double *plane, Py_ssize_t h, Py_ssize_t w, Py_ssize_t row,
                             int count, double *work, Py_ssize_t chunks, int at) nogil
    void spk_columns_forward(double *work, double *blocks, Py_ssize_t chunks, int lap) nogil
    void spk_rows_forward(double *blocks, Py_ssize_t bx, double *out) nogil
    void spk_rows_inverse(const double *coeffs, Py_ssize_t bx, double *blocks) nogil
    void spk_columns_inverse(const double *blocks, double *work, Py_ssize_t chunks,
                             int first) nogil
    void spk_restore_f64(const double *work, Py_ssize_t chunks, int at, int count,
                         double *out, Py_ssize_t w, Py_ssize_t row) nogil
    void spk_restore_u8(const double *work, Py_ssize_t chunks, int at, int count,
                        uint8_t *out, Py_ssize_t w, Py_ssize_t row) nogil


cdef const double[:, ::1] _matrix(m):
    return np.ascontiguousarray(m, dtype=np.float64)


cdef const double[:, ::1] _v = _matrix(V), _v_inv = _matrix(_V_INV)
cdef const double[:, ::1] _even = _matrix(_DCT_EVEN), _odd = _matrix(_DCT_ODD)
cdef const double[:, ::1] _ieven = _matrix(_IDCT_EVEN), _iodd = _matrix(_IDCT_ODD)
cdef const int64_t[::1] _zigzag_t = np.ascontiguousarray(_ZIGZAG_T, dtype=np.int64)
if not spk_lapped_set(&_v[0, 0], &_v_inv[0, 0], &_even[0, 0], &_odd[0, 0], &_ieven[0, 0],
                      &_iodd[0, 0], &_zigzag_t[0]):
    raise ImportError("the C zigzag table of spikecodec.transform.lapped is not tables.ZIGZAG")


def _lap(v, x0, x1, x2, x3, x4, x5, x6, x7):
    """``1/2 [[I, J], [J, -I]] diag(I, v) [[I, J], [J, -I]] @ x``: ``P`` (v = V), ``P^-1``
    (the compiled butterflies, for a 4x4 ``v``)."""
    cdef const double[:, ::1] m = _matrix(v)
    if m.shape[0] != 4 or m.shape[1] != 4:
        raise ParameterError(f"the butterflies take a 4x4 matrix, not {m.shape[0]}x{m.shape[1]}")
    cdef double x[8]
    cdef double y[8]
    x[:] = [x0, x1, x2, x3, x4, x5, x6, x7]
    spk_lap(&m[0, 0], x, y)
    return tuple(y)


ctypedef fused sample:
    uint8_t
    double


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _level_shift(
    const sample[:, ::1] plane, Py_ssize_t row, int count, double[::1] work, int at
) noexcept nogil:
    """:c:func:`spk_level_shift_u8` or ``_f64`` (by the plane's type)."""
    cdef Py_ssize_t chunks = work.shape[0] // SPK_REGION
    if sample is uint8_t:
        spk_level_shift_u8(&plane[0, 0], plane.shape[0], plane.shape[1], row, count, &work[0],
                           chunks, at)
    else:
        spk_level_shift_f64(&plane[0, 0], plane.shape[0], plane.shape[1], row, count,
                            &work[0], chunks, at)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _analyse(
    const sample[:, ::1] plane, double[:, :, ::1] out, double[::1] work, double[::1] blocks
) noexcept:
    """Lapped DCT of ``plane`` into ``out``; ``work`` and ``blocks`` from :func:`_scratch`."""
    cdef Py_ssize_t by = out.shape[0], bx = out.shape[1], chunks = work.shape[0] // SPK_REGION
    cdef Py_ssize_t i
    cdef bint lap
    with nogil:
        if chunks == 0:
            return
        for i in range(by):
            lap = i < by - 1  # no boundary below the last block row
            if i == 0:
                _level_shift(plane, 0, 4, work, 0)
            _level_shift(plane, SPK_BLOCK * i + 4, 8 if lap else 4, work, 4)
            spk_columns_forward(&work[0], &blocks[0], chunks, lap)
            spk_rows_forward(&blocks[0], bx, &out[i, 0, 0])


ctypedef fused pixel:
    uint8_t
    double


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _restore(
    double[::1] work, int at, int count, pixel[:, ::1] out, Py_ssize_t row
) noexcept nogil:
    """:c:func:`spk_restore_u8` or ``_f64`` (by the output's type)."""
    cdef Py_ssize_t chunks = work.shape[0] // SPK_REGION
    if pixel is uint8_t:
        spk_restore_u8(&work[0], chunks, at, count, &out[0, 0], out.shape[1], row)
    else:
        spk_restore_f64(&work[0], chunks, at, count, &out[0, 0], out.shape[1], row)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _synthesise(
    const double[:, :, ::1] coeffs,
    pixel[:, ::1] out,
    double[::1] work,
    double[::1] blocks,
    Py_ssize_t first,
    Py_ssize_t total,
) noexcept:
    """Inverse of :func:`_analyse` into ``out`` (8 * ``total`` rows, W), level restored: the
    block rows ``first, first + 1, ...`` of ``coeffs``, the rows before them done by earlier
    calls with the same ``work`` and ``blocks``."""
    cdef Py_ssize_t rows = coeffs.shape[0], bx = coeffs.shape[1]
    cdef Py_ssize_t chunks = work.shape[0] // SPK_REGION, r, i
    with nogil:
        for r in range(rows):
            i = first + r
            spk_rows_inverse(&coeffs[r, 0, 0], bx, &blocks[0])
            spk_columns_inverse(&blocks[0], &work[0], chunks, i == 0)
            if i == 0:  # no boundary above: rows 0-3 as they are
                _restore(work, 8, 4, out, 0)
            else:
                _restore(work, 4, 8, out, SPK_BLOCK * i - 4)
        if first + rows == total:  # the last block row's lower half
            _restore(work, 0, 4, out, SPK_BLOCK * total - 4)


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
    plane = np.ascontiguousarray(plane)
    h, w = plane.shape
    out = np.empty((-(-h // BLOCK), -(-w // BLOCK), BLOCK * BLOCK))
    work, blocks = _scratch(w)
    if plane.dtype == np.uint8:
        _analyse[uint8_t](plane, out, work, blocks)
    else:
        _analyse[double](plane, out, work, blocks)
    return out


class Synthesis:
    """The inverse of :func:`lapped_dct` fed with its block rows in order, a slab at a time (a
    decoder then never holds the whole coefficient array): ``feed`` the next rows of zigzag
    coefficients, ``(rows, blocks_x, 64)``, then take ``image()``, ``(H, W)``: float with the
    level restored, or uint8 (rounded half to even, clipped) for ``dtype=np.uint8``."""

    def __init__(self, blocks: tuple[int, int], shape: tuple[int, int], dtype=np.float64):
        width = BLOCK * blocks[1]
        self.dtype = np.dtype(dtype)  # a type other than uint8 is computed as float64
        stored = np.uint8 if self.dtype == np.uint8 else np.float64
        self.out = np.empty((BLOCK * blocks[0], min(shape[1], width)), stored)
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
            coeffs = np.ascontiguousarray(coeffs, dtype=np.float64)
            scratch = (self.work, self.blocks, self.done, self.total)
            if self.out.dtype == np.uint8:
                _synthesise[uint8_t](coeffs, self.out, *scratch)
            else:
                _synthesise[double](coeffs, self.out, *scratch)
        self.done += coeffs.shape[0]

    def image(self) -> np.ndarray:
        """The plane, once every block row has been fed."""
        if self.done < self.total:
            raise ParameterError(f"{self.done} of the {self.total} block rows fed")
        return self.out[: self.height].astype(self.dtype, copy=False)
