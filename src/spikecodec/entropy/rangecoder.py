"""A binary range coder with adaptive bit models, compiled.

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
output buffer, or a cut input) and another resume where it left off. Inside a pass it is a
tuple of scalars (:func:`load`/:func:`store`) threaded through the bit functions, which are
inlined into the pass: the state then lives in registers (an array field would be reloaded
after every store to the pass's arrays). Neither side branches on the coded bit itself (the
interval update and the adaptation go through masks), which is unpredictable.
"""

from __future__ import annotations

import numpy as np

from .._jit import inline, kernel

__all__ = [
    "PENDING",
    "POS",
    "code_bit",
    "decode_bit",
    "encode_bit",
    "finish",
    "load",
    "new_models",
    "new_state",
    "start_decoding",
    "store",
]

_TOP = 1 << 24
_P_BITS = 16
_P_ONE = 1 << _P_BITS
_P_MIN = 16  # probabilities stay within [1/4096, 1 - 1/4096]
_FAST = 15
_SLOW = 127
_RECIPROCAL = np.array([(_P_ONE + (n + 2) // 2) // (n + 2) for n in range(_SLOW + 1)], np.int64)

# Fields of the coder state (PENDING: bytes held back for a carry; POS: the buffer position).
LOW, RANGE, CACHE, PENDING, POS, CODE, CUT, FIRST, END = range(9)
_FIELDS = 9


def new_state() -> np.ndarray:
    """A fresh coder state (for either side)."""
    st = np.zeros(_FIELDS, np.int64)
    st[RANGE] = 0xFFFFFFFF
    st[PENDING] = 1
    st[FIRST] = 1
    return st


def new_models(contexts: int) -> np.ndarray:
    """``contexts`` bit models at probability 1/2 with no bits seen: rows ``(f, s, n)``."""
    models = np.zeros((contexts, 3), np.int64)
    models[:, :2] = _P_ONE // 2
    return models


@inline
def _probability(models, ctx):
    """The probability (of a 1, in units of ``2^-16``) a context codes with."""
    return (models[ctx, 0] + models[ctx, 1]) >> 1


@inline
def _adapt(models, ctx, bit):
    """A context after it has seen ``bit`` (without a branch on it)."""
    n = models[ctx, 2]
    target = bit << _P_BITS
    fast = models[ctx, 0] + (((target - models[ctx, 0]) * _RECIPROCAL[min(n, _FAST)]) >> _P_BITS)
    slow = models[ctx, 1] + (((target - models[ctx, 1]) * _RECIPROCAL[n]) >> _P_BITS)
    models[ctx, 0] = min(max(fast, _P_MIN), _P_ONE - _P_MIN)
    models[ctx, 1] = min(max(slow, _P_MIN), _P_ONE - _P_MIN)
    models[ctx, 2] = min(n + 1, _SLOW)


@inline
def load(st):
    """The coder state as a tuple of scalars, which a compiled pass keeps in registers (an
    array would be reloaded after every store to the pass's other arrays)."""
    return (st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7], st[8])


@inline
def store(st, s):
    """Write a state tuple back to the state array (see :func:`load`)."""
    for f in range(_FIELDS):
        st[f] = s[f]


@inline
def encode_bit(s, buf, models, ctx, bit):
    """Write ``bit`` in context ``ctx`` of ``models`` (``ctx < 0``: probability 1/2, no model)
    and adapt the context; returns ``(bit, new state)``. ``buf`` needs ``PENDING + 8`` bytes
    free past ``POS``."""
    low, rng, cache, pending, pos, code, cut, first, end = s
    p = _probability(models, ctx) if ctx >= 0 else _P_ONE // 2
    bound = (rng >> _P_BITS) * (_P_ONE - p)
    one = -np.int64(bit)  # all ones for a 1: no branch on the bit, which is unpredictable
    low += bound & one
    rng = bound + ((rng - 2 * bound) & one)
    while rng < _TOP:  # shift a byte of LOW out, through the carry cache
        rng <<= 8
        if low < 0xFF000000 or low >= (1 << 32):
            byte = cache + (low >> 32)
            for _ in range(pending):
                if first:
                    first = 0  # LZMA's leading byte, always 0
                else:
                    buf[pos] = byte & 0xFF
                    pos += 1
                byte = 0xFF + (low >> 32)
            pending = 0
            cache = (low >> 24) & 0xFF
        pending += 1
        low = (low & 0x00FFFFFF) << 8
    if ctx >= 0:
        _adapt(models, ctx, bit)
    return np.int64(bit), (low, rng, cache, pending, pos, code, cut, first, end)


@inline
def decode_bit(s, buf, models, ctx):
    """Read a bit in context ``ctx`` of ``models`` (as :func:`encode_bit`) and adapt the
    context; returns ``(bit, new state)``, bit -1 once the stream's bytes run out."""
    low, rng, cache, pending, pos, code, cut, first, end = s
    if cut:
        return np.int64(-1), s
    p = _probability(models, ctx) if ctx >= 0 else _P_ONE // 2
    bound = (rng >> _P_BITS) * (_P_ONE - p)
    bit = np.int64(code >= bound)
    one = -bit  # as in encode_bit, no branch on the bit
    code -= bound & one
    rng = bound + ((rng - 2 * bound) & one)
    while rng < _TOP:  # shift the next byte in
        rng <<= 8
        byte = 0
        if pos < buf.size:
            byte = buf[pos]
        elif pos >= end:
            cut = 1  # the stream is cut here: this byte never arrived
        pos += 1
        code = ((code << 8) | byte) & 0xFFFFFFFF
    if ctx >= 0:
        _adapt(models, ctx, bit)
    return bit, (low, rng, cache, pending, pos, code, cut, first, end)


@inline
def code_bit(s, buf, models, ctx, bit, enc):
    """One coding step for a pass that runs on both sides: :func:`encode_bit` of ``bit``
    when ``enc``, else :func:`decode_bit`."""
    if enc:
        return encode_bit(s, buf, models, ctx, bit)
    return decode_bit(s, buf, models, ctx)


@kernel
def finish(st, buf, models):
    """Flush the encoder; returns the stream's length in ``buf`` (trailing zeros dropped).

    Coding 48 zero bits at probability 1/2 leaves LOW as it is and shifts all of it out (5
    bytes or more, LZMA's flush), followed by zeros; ``buf`` needs ``st[PENDING] + 16`` bytes
    free past ``st[POS]``.
    """
    s = load(st)
    for _ in range(48):
        _, s = encode_bit(s, buf, models, -1, 0)  # models untouched
    store(st, s)
    n = st[POS]
    while n > 0 and buf[n - 1] == 0:
        n -= 1
    return n


@kernel
def start_decoding(st, data, complete):
    """Prime the decoder on ``data``: a ``complete`` stream reads zeros past its end (the
    encoder dropped them), a cut one stops there."""
    st[END] = (1 << 62) if complete else data.size
    for pos in range(4):
        st[CODE] = (st[CODE] << 8) | (data[pos] if pos < data.size else 0)
    st[POS] = 4
    st[CUT] = data.size < 4 and not complete
