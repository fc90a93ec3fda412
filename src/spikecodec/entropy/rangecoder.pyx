"""A binary range coder with adaptive bit models, compiled (Cython).

The coder is LZMA's (carry propagation through a cached byte, 32-bit range renormalized
below ``2^24``): a bit with probability ``P(1) = p/2^16`` splits the range at
``bound = (range >> 16) * (2^16 - p)``, 0 below, 1 above. The output drops LZMA's leading
byte (always 0) and trailing zero bytes, which the decoder supplies itself.

A stream cut anywhere decodes exactly up to where its bytes reach: the decoder stops before
the first bit whose decision would need a byte that is missing (``decode_bit`` returns -1),
so every bit it did return equals the one of the whole stream.

Each context of a model holds two estimates of the probability of a 1, a fast ``f`` and a slow
``s``, and the count ``n`` of the bits it has seen, and codes with their mean
``p = (f + s) >> 1``. After a bit ``b`` each estimate ``e`` moves to
``e + floor((2^16*b - e) * r_m / 2^16)``, ``r_m = round(2^16/(m + 2))`` with ``m = min(n,
_FAST)`` for the fast one and ``m = n`` for the slow one, and ``n`` counts up to ``_SLOW``: both
are the Laplace estimate while ``n`` is small, then exponential forgettings of time constants
``_FAST`` and ``_SLOW`` bits, which follow a context whose statistics change (from one time
slice to the next) and learn a steady one precisely; each is kept within ``[_P_MIN, 2^16 -
_P_MIN]``. All arithmetic is integer: encoder and decoder agree bit for bit on every
machine.

Coder state is one int64 array (:func:`new_state`) so that a compiled pass can stop (for a full
output buffer, or a cut input) and another resume where it left off. Inside a pass it is a C
struct ``Coder``, a local variable of the pass (``load``/``store`` in ``rangecoder.pxd``)
passed by pointer to the bit functions (``encode_bit``, ``decode_bit``, ``code_bit``), C inline
functions of ``rangecoder.pxd`` that the passes ``cimport``: the state then lives in registers
(an array would be reloaded after every store to the pass's arrays). Neither side branches on
the coded bit itself (the interval update and the adaptation go through masks), which is
unpredictable. From Python, :func:`encode_bits` and :func:`decode_bits` code a run of bits.
"""

from __future__ import annotations

cimport cython
from libc.stdint cimport int64_t, uint8_t

import numpy as np

__all__ = [
    "PENDING",
    "POS",
    "decode_bits",
    "encode_bits",
    "finish",
    "new_models",
    "new_state",
    "start_decoding",
]

_RECIPROCAL = np.array([RECIPROCAL[m] for m in range(_SLOW + 1)], np.int64)
"""``round(2^16/(m + 2))`` for ``m = 0.._SLOW``: the adaptation's rates (``rangecoder.pxd``)."""


def new_state() -> np.ndarray:
    """A fresh coder state (for either side)."""
    st = np.zeros(FIELDS, np.int64)
    st[RANGE] = 0xFFFFFFFF
    st[PENDING] = 1
    st[FIRST] = 1
    return st


def new_models(contexts: int) -> np.ndarray:
    """``contexts`` bit models at probability 1/2 with no bits seen: rows ``(f, s, n)``."""
    models = np.zeros((contexts, 3), np.int64)
    models[:, :2] = _P_ONE // 2
    return models


def _check_models(models: np.ndarray, contexts: np.ndarray) -> None:
    """Refuse models that are not bit models or contexts outside them (-1 is no model)."""
    if models.ndim != 2 or models.shape[1] != 3:
        raise ValueError(f"models must have shape (contexts, 3), got {models.shape}")
    p, n = models[:, :2], models[:, 2]
    if not (((p >= _P_MIN) & (p <= _P_ONE - _P_MIN)).all() and ((n >= 0) & (n <= _SLOW)).all()):
        raise ValueError("models hold values that no bit model takes")
    if contexts.size and not (contexts.min() >= -1 and contexts.max() < models.shape[0]):
        raise ValueError(f"contexts must lie in -1..{models.shape[0] - 1}")


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _encode_bits(
    int64_t[::1] st, uint8_t[::1] buf, int64_t[:, ::1] models, const int64_t[::1] contexts,
    const int64_t[::1] bits,
) noexcept nogil:
    """:func:`encode_bit` of each ``bits[i] != 0`` in context ``contexts[i]`` while the buffer
    has room; returns how many were coded."""
    cdef Coder c
    cdef Py_ssize_t i
    load(&c, &st[0], &buf[0], buf.shape[0], &models[0, 0])
    for i in range(bits.shape[0]):
        if c.pos + c.pending + 8 > c.size:
            store(&c, &st[0])
            return i
        encode_bit(&c, contexts[i], bits[i] != 0)
    store(&c, &st[0])
    return bits.shape[0]


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _decode_bits(
    int64_t[::1] st, uint8_t[::1] buf, int64_t[:, ::1] models, const int64_t[::1] contexts,
    int64_t[::1] out,
) noexcept nogil:
    """``out[i]``: :func:`decode_bit` in context ``contexts[i]`` (-1 from the cut on); returns
    how many bits were decoded."""
    cdef Coder c
    cdef Py_ssize_t i, done = out.shape[0]
    load(&c, &st[0], &buf[0], buf.shape[0], &models[0, 0])
    for i in range(out.shape[0]):
        out[i] = decode_bit(&c, contexts[i])
        if out[i] < 0 and done == out.shape[0]:
            done = i
    store(&c, &st[0])
    return done


def _checked_state(st: np.ndarray) -> np.ndarray:
    if st.dtype != np.int64 or st.shape != (FIELDS,):
        raise ValueError(f"a coder state is {FIELDS} int64 (new_state), got {st.dtype} {st.shape}")
    return st


def encode_bits(st: np.ndarray, buf: np.ndarray, models: np.ndarray, contexts, bits) -> int:
    """Encode ``bits`` (each non-zero one a 1), bit ``i`` in context ``contexts[i]`` of
    ``models`` (-1: probability 1/2, no model), from the state ``st`` into ``buf`` (uint8),
    updating both and the models. Returns how many bits were coded: all of them, unless
    ``buf`` runs out of room first (then grow it and code the rest)."""
    contexts = np.ascontiguousarray(contexts, np.int64)
    bits = np.ascontiguousarray(bits, np.int64)
    if contexts.shape != bits.shape or bits.ndim != 1:
        raise ValueError("contexts and bits must be 1-d and of one length")
    _check_models(models, contexts)
    return _encode_bits(_checked_state(st), buf, models, contexts, bits)


def decode_bits(
    st: np.ndarray, buf: np.ndarray, models: np.ndarray, contexts, out: np.ndarray
) -> int:
    """Decode ``out[i]`` in context ``contexts[i]`` of ``models`` (as :func:`encode_bits`) from
    ``buf`` (primed by :func:`start_decoding`), updating the state and the models; from where
    the stream is cut on, ``out`` is -1. Returns how many bits were decoded."""
    contexts = np.ascontiguousarray(contexts, np.int64)
    if contexts.shape != out.shape or out.ndim != 1:
        raise ValueError("contexts and out must be 1-d and of one length")
    _check_models(models, contexts)
    return _decode_bits(_checked_state(st), buf, models, contexts, out)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int64_t _finish(int64_t[::1] st, uint8_t[::1] buf, int64_t[:, ::1] models) noexcept nogil:
    cdef Coder c
    cdef int t
    cdef int64_t n
    load(&c, &st[0], &buf[0], buf.shape[0], &models[0, 0])
    for t in range(48):
        encode_bit(&c, -1, 0)  # models untouched
    store(&c, &st[0])
    n = c.pos
    while n > 0 and buf[n - 1] == 0:
        n -= 1
    return n


def finish(st: np.ndarray, buf: np.ndarray, models: np.ndarray) -> int:
    """Flush the encoder; returns the stream's length in ``buf`` (trailing zeros dropped).

    Coding 48 zero bits at probability 1/2 leaves LOW as it is and shifts all of it out (5
    bytes or more, LZMA's flush), followed by zeros; ``buf`` needs ``st[PENDING] + 16`` bytes
    free past ``st[POS]``.
    """
    _checked_state(st)
    if not 0 <= st[POS] <= st[POS] + st[PENDING] + 16 <= buf.size:
        raise ValueError("the buffer needs st[PENDING] + 16 bytes free past st[POS]")
    return _finish(st, buf, models)


def start_decoding(st: np.ndarray, data: np.ndarray, complete: bool) -> None:
    """Prime the decoder on ``data``: a ``complete`` stream reads zeros past its end (the
    encoder dropped them), a cut one stops there."""
    _checked_state(st)
    st[END] = (1 << 62) if complete else data.size
    for pos in range(4):
        st[CODE] = (st[CODE] << 8) | (int(data[pos]) if pos < data.size else 0)
    st[POS] = 4
    st[CUT] = data.size < 4 and not complete
