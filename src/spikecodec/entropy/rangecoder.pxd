# The range coder's bit functions, inlined into the passes that ``cimport`` them (the module
# docstring of rangecoder.pyx states the coder; docs/FORMAT.md section 10 specifies it).

from libc.stdint cimport int64_t, uint8_t

cdef extern from *:
    """
    /* The coder's constants (rangecoder.pyx) and the adaptation's reciprocals
       RECIPROCAL[m] = round(2^16 / (m + 2)) = (2^16 + (m + 2) / 2) / (m + 2), m = 0.._SLOW,
       a table the compiler builds (the passes load it as constants). */
    enum {
        SPIKECODEC_TOP = 1 << 24,
        SPIKECODEC_P_BITS = 16,
        SPIKECODEC_P_ONE = 1 << SPIKECODEC_P_BITS,
        SPIKECODEC_P_MIN = 16,
        SPIKECODEC_FAST = 15,
        SPIKECODEC_SLOW = 127
    };
    #define SPIKECODEC_R1(m) ((SPIKECODEC_P_ONE + ((m) + 2) / 2) / ((m) + 2))
    #define SPIKECODEC_R4(m) SPIKECODEC_R1(m), SPIKECODEC_R1((m) + 1), \\
        SPIKECODEC_R1((m) + 2), SPIKECODEC_R1((m) + 3)
    #define SPIKECODEC_R16(m) SPIKECODEC_R4(m), SPIKECODEC_R4((m) + 4), \\
        SPIKECODEC_R4((m) + 8), SPIKECODEC_R4((m) + 12)
    #define SPIKECODEC_R64(m) SPIKECODEC_R16(m), SPIKECODEC_R16((m) + 16), \\
        SPIKECODEC_R16((m) + 32), SPIKECODEC_R16((m) + 48)
    static const int64_t spikecodec_reciprocal[SPIKECODEC_SLOW + 1] = {
        SPIKECODEC_R64(0), SPIKECODEC_R64(64)
    };
    """
    cpdef enum:
        _TOP "SPIKECODEC_TOP"  # the range is renormalized below 2^24
        _P_BITS "SPIKECODEC_P_BITS"  # probabilities in units of 2^-16
        _P_ONE "SPIKECODEC_P_ONE"
        _P_MIN "SPIKECODEC_P_MIN"  # probabilities stay within [1/4096, 1 - 1/4096]
        _FAST "SPIKECODEC_FAST"
        _SLOW "SPIKECODEC_SLOW"
    const int64_t RECIPROCAL "spikecodec_reciprocal"[128]

# Fields of the coder state array (PENDING: bytes held back for a carry; POS: the buffer
# position), and how many.
cpdef enum:
    LOW, RANGE, CACHE, PENDING, POS, CODE, CUT, FIRST, END
    FIELDS


ctypedef struct Coder:
    # The coder state of a pass, a local variable whose address goes only into the inline
    # functions below: the compiler keeps its fields in registers.
    int64_t low, rng, cache, pending, pos, code, cut, first, end
    uint8_t* buf  # the stream's bytes (written when encoding, read when decoding)
    int64_t size  # how many
    int64_t* models  # the models' rows (f, s, n), 3 int64 per context


cdef inline void load(
    Coder* c, const int64_t* st, uint8_t* buf, int64_t size, int64_t* models
) noexcept nogil:
    """The coder state array ``st`` (``new_state``) and the coder's buffer and models into
    ``c``, which a pass keeps in registers (an array would be reloaded after every store to the
    pass's other arrays)."""
    c.low, c.rng, c.cache, c.pending, c.pos = st[LOW], st[RANGE], st[CACHE], st[PENDING], st[POS]
    c.code, c.cut, c.first, c.end = st[CODE], st[CUT], st[FIRST], st[END]
    c.buf, c.size, c.models = buf, size, models


cdef inline void store(const Coder* c, int64_t* st) noexcept nogil:
    """Write a pass's coder state back to the state array (see :func:`load`)."""
    st[LOW], st[RANGE], st[CACHE], st[PENDING], st[POS] = c.low, c.rng, c.cache, c.pending, c.pos
    st[CODE], st[CUT], st[FIRST], st[END] = c.code, c.cut, c.first, c.end


cdef inline int64_t _probability(const int64_t* models, int64_t ctx) noexcept nogil:
    """The probability (of a 1, in units of ``2^-16``) a context codes with."""
    return (models[3 * ctx] + models[3 * ctx + 1]) >> 1


cdef inline void _adapt(int64_t* models, int64_t ctx, int64_t bit) noexcept nogil:
    """A context after it has seen ``bit`` (without a branch on it): each estimate ``e`` moves
    to ``e + floor((2^16*b - e) * RECIPROCAL[m] / 2^16)``, ``m = min(n, _FAST)`` for the fast
    one and ``n`` for the slow one, clamped to ``[_P_MIN, 2^16 - _P_MIN]``; ``n`` counts up to
    ``_SLOW``."""
    cdef int64_t* m = models + 3 * ctx
    cdef int64_t n = m[2], target = bit << _P_BITS
    cdef int64_t fast_rate = RECIPROCAL[n if n < _FAST else _FAST], slow_rate = RECIPROCAL[n]
    cdef int64_t fast = m[0] + (((target - m[0]) * fast_rate) >> _P_BITS)
    cdef int64_t slow = m[1] + (((target - m[1]) * slow_rate) >> _P_BITS)
    m[0] = min(max(fast, <int64_t>_P_MIN), <int64_t>(_P_ONE - _P_MIN))
    m[1] = min(max(slow, <int64_t>_P_MIN), <int64_t>(_P_ONE - _P_MIN))
    m[2] = min(n + 1, <int64_t>_SLOW)


cdef inline int64_t encode_bit(Coder* c, int64_t ctx, int64_t bit) noexcept nogil:
    """Write ``bit`` (0 or 1) in context ``ctx`` of the models (``ctx < 0``: probability 1/2,
    no model) and adapt the context; returns ``bit``. The buffer needs ``pending + 8`` bytes
    free past ``pos``."""
    cdef int64_t p = _probability(c.models, ctx) if ctx >= 0 else _P_ONE // 2
    cdef int64_t bound = (c.rng >> _P_BITS) * (_P_ONE - p)
    cdef int64_t one = -bit  # all ones for a 1: no branch on the bit, which is unpredictable
    cdef int64_t byte, t
    c.low += bound & one
    c.rng = bound + ((c.rng - 2 * bound) & one)
    while c.rng < _TOP:  # shift a byte of LOW out, through the carry cache
        c.rng <<= 8
        if c.low < 0xFF000000LL or c.low >= (<int64_t>1 << 32):
            byte = c.cache + (c.low >> 32)
            for t in range(c.pending):
                if c.first:
                    c.first = 0  # LZMA's leading byte, always 0
                else:
                    c.buf[c.pos] = <uint8_t>(byte & 0xFF)
                    c.pos += 1
                byte = 0xFF + (c.low >> 32)
            c.pending = 0
            c.cache = (c.low >> 24) & 0xFF
        c.pending += 1
        c.low = (c.low & 0x00FFFFFF) << 8
    if ctx >= 0:
        _adapt(c.models, ctx, bit)
    return bit


cdef inline int64_t decode_bit(Coder* c, int64_t ctx) noexcept nogil:
    """Read a bit in context ``ctx`` of the models (as :func:`encode_bit`) and adapt the
    context; returns the bit, -1 once the stream's bytes run out (past ``size``, before
    ``end``: a cut stream; a complete one reads zeros there)."""
    if c.cut:
        return -1
    cdef int64_t p = _probability(c.models, ctx) if ctx >= 0 else _P_ONE // 2
    cdef int64_t bound = (c.rng >> _P_BITS) * (_P_ONE - p)
    cdef int64_t bit = c.code >= bound
    cdef int64_t one = -bit  # as in encode_bit, no branch on the bit
    cdef int64_t byte
    c.code -= bound & one
    c.rng = bound + ((c.rng - 2 * bound) & one)
    while c.rng < _TOP:  # shift the next byte in
        c.rng <<= 8
        byte = 0
        if c.pos < c.size:
            byte = c.buf[c.pos]
        elif c.pos >= c.end:
            c.cut = 1  # the stream is cut here: this byte never arrived
        c.pos += 1
        c.code = ((c.code << 8) | byte) & 0xFFFFFFFFLL
    if ctx >= 0:
        _adapt(c.models, ctx, bit)
    return bit


cdef inline int64_t code_bit(Coder* c, int64_t ctx, int64_t bit, bint enc) noexcept nogil:
    """One coding step for a pass that runs on both sides: :func:`encode_bit` of ``bit``
    when ``enc``, else :func:`decode_bit`."""
    if enc:
        return encode_bit(c, ctx, bit)
    return decode_bit(c, ctx)
