"""The neuro-inspired quantizer (NQ): spike counts of ON/OFF LIF neurons as a scalar quantizer.

An input ``x`` drives an ON neuron when ``x > 0`` and an OFF neuron with ``-x`` when
``x < 0``; the signed count ``k = sign(x) * N_T(|x|)`` is the quantization index. Cell ``k >= 1``
is ``[I_k, I_{k+1})`` with ``I_k = theta/(R*(1 - exp(-T/(k*tau)))) - b`` (see :mod:`.neuron`),
cell 0 is the dead zone ``(-I_1, I_1)``. The neurons must be silent at rest within the
window (``I_1 > 0``), which bounds the bias current. Step lengths ``l_k = I_{k+1} - I_k``
tend to the asymptote ``C*theta/T`` as ``k`` grows (and all of them to 0 as ``T`` grows).

Time is a bit-plane: for an integer ``a >= 1`` the count at the instant ``T/a`` is
``N_{T/a}(I) = floor(N_T(I)/a)``; at dyadic instants ``T/2^j`` it is ``N_T >> j``.
"""

from __future__ import annotations

cimport cython
from libc.stdint cimport int64_t

import numpy as np
from numpy.typing import ArrayLike

from .errors import ParameterError
from .neuron import LIF
from .params import positive

__all__ = ["NeuroQuantizer", "unit_quantizer"]

_POINTS = {"lower": 0.0, "midpoint": 0.5}
_MAX_TABLE = 1 << 20  # thresholds (or grid bins) cached at most; beyond, closed forms
_SLAB = 1 << 16  # rows quantized at a time beyond the grid


def _grid(table: np.ndarray, top: float) -> tuple[float, np.ndarray] | None:
    """A grid of ``width`` below the least step of ``table`` up to ``top`` and the number of
    thresholds at or below each of its points (None past ``_MAX_TABLE`` points)."""
    steps = np.diff(table)
    width = min(table[0], steps.min(initial=np.inf)) / 2
    bins = int(top / width) + 2 if width > 0 else _MAX_TABLE + 1
    if bins > _MAX_TABLE:
        return None
    first = np.searchsorted(table, np.arange(bins) * width, side="right")
    return width, first.astype(np.int64, copy=False)


# The two passes over the values, in C as functions of their own (inlined into the large C
# function Cython makes of NeuroQuantizer.encode, their loops run slower: docs/design.md). Each
# is one flat loop over the n values, the index j of the scale wrapping at the end of a row of
# ``width`` values.
cdef extern from *:
    """
    #if defined(__GNUC__)
    #define SPK_NOINLINE __attribute__((noinline))
    #else
    #define SPK_NOINLINE
    #endif

    /* max |x[i] / scale[j]|, or inf if a quotient is not finite. */
    static SPK_NOINLINE double spk_largest(
        const double* x, const double* scale, Py_ssize_t n, Py_ssize_t width)
    {
        double top = 0.0;
        int finite = 1;
        for (Py_ssize_t i = 0, j = 0; i < n; i++) {
            double v = fabs(x[i] / scale[j]);
            finite &= v < INFINITY;
            top = v > top ? v : top;
            if (++j == width) j = 0;
        }
        return finite ? top : INFINITY;
    }

    /* out[i] = sign(v) k of v = x[i] / scale[j]: k = first[|v| / step], plus one if |v| reaches
       table[k]. */
    static SPK_NOINLINE void spk_signed_cells(
        const double* x, const double* scale, Py_ssize_t n, Py_ssize_t width,
        const double* table, double step, const int64_t* first, int64_t* out)
    {
        for (Py_ssize_t i = 0, j = 0; i < n; i++) {
            double v = x[i] / scale[j], mag = fabs(v);
            int64_t k = first[(int64_t)(mag / step)];
            k += mag >= table[k];
            out[i] = v < 0 ? -k : k;
            if (++j == width) j = 0;
        }
    }
    """
    double spk_largest(const double* x, const double* scale, Py_ssize_t n, Py_ssize_t width) nogil
    void spk_signed_cells(
        const double* x, const double* scale, Py_ssize_t n, Py_ssize_t width,
        const double* table, double step, const int64_t* first, int64_t* out,
    ) nogil


@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _largest(const double[:, ::1] rows, const double[::1] scale) noexcept:
    """``max |rows/scale|`` (``scale`` along the rows), or inf if a quotient is not finite."""
    with nogil:
        if rows.shape[0] * rows.shape[1] == 0:
            return 0.0
        return spk_largest(&rows[0, 0], &scale[0], rows.shape[0] * rows.shape[1], rows.shape[1])


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _signed_cells(
    const double[:, ::1] rows,
    const double[::1] scale,
    const double[::1] table,
    double width,
    const int64_t[::1] first,
    int64_t[:, ::1] out,
) noexcept:
    """``out = sign(v) * k`` of ``v = rows/scale``, ``k`` the thresholds at or below ``|v|``:
    ``first`` of its grid point, and the next one if it is reached."""
    cdef Py_ssize_t n = rows.shape[0] * rows.shape[1]
    with nogil:
        if n:
            spk_signed_cells(
                &rows[0, 0], &scale[0], n, rows.shape[1], &table[0], width, &first[0], &out[0, 0]
            )


class NeuroQuantizer:
    """Quantize real values to signed spike counts of an ON/OFF LIF pair observed for ``T`` ms.

    Parameters
    ----------
    lif : LIF
        The neuron model shared by the ON and the OFF neuron.
    T : float
        The observation window in ms.

    Examples
    --------
    >>> nq = NeuroQuantizer(LIF(R=1e4, C=1.0, theta=500.0), T=100.0)
    >>> nq.asymptotic_step  # C*theta/T
    5.0
    >>> nq.encode([-12.0, 0.0, 3.0, 26.0]).tolist()
    [-2, 0, 0, 5]
    """

    def __init__(self, lif: LIF, T: float):
        if not isinstance(lif, LIF):
            raise ParameterError(f"lif must be a spikecodec.LIF, got {type(lif).__name__}")
        self.lif = lif
        self.T = positive("T", T)
        if lif.threshold(1, self.T) <= 0:
            raise ParameterError(
                f"the bias current {lif.bias!r} makes the neurons fire at rest within "
                f"T = {self.T!r} ms; it must stay below {lif.threshold(1, self.T) + lif.bias!r}"
            )
        self._table = np.zeros(0)  # cached I_1, I_2, ... for fast encoding

    def __repr__(self) -> str:
        return f"NeuroQuantizer({self.lif!r}, T={self.T!r})"

    @property
    def asymptotic_step(self) -> float:
        """The step length all ``l_k`` tend to as ``k`` grows: ``C*theta/T``."""
        return self.lif.C * self.lif.theta / self.T

    def thresholds(self, k: ArrayLike) -> np.ndarray:
        """Decision thresholds ``I_k`` of the window ``T`` (``I_0 = -inf``)."""
        return self.lif.threshold(k, self.T)

    def step_lengths(self, kmax: int) -> np.ndarray:
        """Step lengths ``l_k = I_{k+1} - I_k`` for ``k = 1 .. kmax``."""
        if int(kmax) < 1:
            raise ParameterError(f"kmax must be >= 1, got {kmax!r}")
        return self.lif.step_length(np.arange(1, int(kmax) + 1), self.T)

    def _table_up_to(self, kmax: int) -> np.ndarray | None:
        """The cached thresholds ``I_1 .. I_K`` with ``K >= kmax`` (None past ``_MAX_TABLE``)."""
        if kmax > _MAX_TABLE:
            return None
        if self._table.size < kmax:
            size = min(max(kmax, 2 * self._table.size, 64), _MAX_TABLE)
            self._table = self.thresholds(np.arange(1, size + 1))
        return self._table

    def encode(self, x: ArrayLike, scale: ArrayLike = 1.0) -> np.ndarray:
        """Signed spike counts ``sign(v) * N_T(|v|)`` of ``v = x/scale`` (int64, the shape of
        ``x``; ``scale`` a number or one per element of ``x``'s last axis).

        Counts come from the precomputed thresholds: a uniform grid finer than the smallest
        step gives each value its cell up to one threshold, checked by one comparison. A
        compiled pass finds ``max |v|``, another the counts: no temporaries the size of ``x``.
        """
        x = np.asarray(x, dtype=np.float64)
        scale = np.ascontiguousarray(scale, dtype=np.float64).reshape(-1)
        if scale.size != 1 and x.shape[-1:] != scale.shape:
            raise ParameterError(f"scale has {scale.size} values for inputs of shape {x.shape}")
        rows = np.ascontiguousarray(x).reshape(-1, scale.size)
        top = _largest(rows, scale)
        if not np.isfinite(top):
            raise ParameterError("inputs to the quantizer must be finite")
        out = np.empty(rows.shape, np.int64)
        table = self._table_up_to(int(self.lif.count(top, self.T)) + 2)
        grid = None if table is None else _grid(table, top)
        if grid is not None:
            width, first = grid
            _signed_cells(rows, scale, table, width, first, out)
            return out.reshape(x.shape)
        for a in range(0, rows.shape[0], _SLAB):  # beyond the grid: closed forms, or a search
            v = rows[a : a + _SLAB] / scale
            mag = np.abs(v)
            if table is None:
                k = self.lif.count(mag, self.T)
            else:
                k = np.searchsorted(table, mag, side="right")
            out[a : a + _SLAB] = np.where(v < 0, -k, k)
        return out.reshape(x.shape)

    def decode(self, k: ArrayLike, point: str | float | ArrayLike = "midpoint") -> np.ndarray:
        """Reconstruct ``x`` from signed counts: ``k = 0 -> 0``, else a point of the cell.

        ``point`` places the reconstruction at ``I_k + delta*(I_{k+1} - I_k)``: ``"lower"``
        (``delta = 0``, the cell's edge), ``"midpoint"`` (``delta = 1/2``, the seed's choice)
        or a number (or an array broadcasting against ``k``) ``0 <= delta < 1``, e.g. the
        centroid offset of a Laplacian source.
        """
        delta = _POINTS.get(point, point) if isinstance(point, str) else point
        if isinstance(delta, str):
            raise ParameterError(f"point must be 'lower', 'midpoint' or a number, got {point!r}")
        delta = np.asarray(delta, dtype=np.float64)
        if np.any(~((delta >= 0) & (delta < 1))):
            raise ParameterError("the reconstruction offset must lie in [0, 1)")
        k = np.asarray(k)
        if k.dtype.kind not in "iu":
            raise ParameterError(f"spike counts must be integers, got dtype {k.dtype}")
        mag = np.abs(k).astype(np.int64)
        table = self._table_up_to(int(mag.max(initial=0)) + 1)
        if table is None or delta.ndim:
            lo, hi = self.thresholds(np.maximum(mag, 1)), self.thresholds(mag + 1)
            x = np.minimum(lo + delta * (hi - lo), np.nextafter(hi, lo))
            return np.where(k == 0, 0.0, np.copysign(x, k))
        lo, hi = table[:-1], table[1:]
        values = np.concatenate(([0.0], np.minimum(lo + delta * (hi - lo), np.nextafter(hi, lo))))
        return np.copysign(values[mag], k)

    def counts_at(self, k: ArrayLike, a: int) -> np.ndarray:
        """The signed counts at the earlier instant ``T/a``: ``sign(k)*floor(|k|/a)``."""
        if int(a) != a or a < 1:
            raise ParameterError(f"the divisor a must be an integer >= 1, got {a!r}")
        k = np.asarray(k, dtype=np.int64)
        return np.sign(k) * (np.abs(k) // int(a))

    def at(self, t: float) -> NeuroQuantizer:
        """The quantizer of the same neurons observed for the shorter (or longer) window ``t``."""
        return NeuroQuantizer(self.lif, t)


def unit_quantizer(R: float, C: float, T: float, beta: float) -> NeuroQuantizer:
    """The quantizer of unit threshold that every band of the codec shares.

    The membrane equation is linear in ``(I, b, theta)``: a neuron of threshold ``theta_f`` and
    bias current ``b_f = beta*C*theta_f/T`` fed ``x`` fires exactly like one of threshold 1 and
    bias ``beta*C/T`` fed ``x/theta_f``. So the codec quantizes band ``f`` with this quantizer
    on ``x/theta_f``.
    """
    return NeuroQuantizer(LIF(R=R, C=C, theta=1.0, bias=beta * C / T), T)
