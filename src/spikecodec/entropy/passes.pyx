"""The coding passes of a time slice, compiled (Cython): the same kernel encodes and decodes.

Slice ``s`` carries bit-plane ``p = S-1-s`` of every count. Its passes over a colour plane:

- :func:`slice_start`: what the passes need of every block before they start: its boundary
  sums for the DC prediction, its rank (activity) and the order of the blocks by rank.
- :func:`significance_pass`, over the blocks of a span of ranks: does the block's extent
  ``eob`` (1 + the last AC zigzag index whose count is non-zero) grow, and to what (a bit, then
  the new ``eob - 1`` down a binary tree whose impossible branches are skipped), with the sign
  of that new last coefficient; then, for every other silent AC coefficient before ``eob``,
  whether it fires now, and the sign of each that does. AC coefficients past ``eob`` are known
  silent.
- :func:`refinement_pass`: bit ``p`` of the AC counts non-zero before this slice.
- :func:`dc_pass`: bit ``p`` of every DC count (significance and sign, or refinement), in two
  checkerboard halves, predicted from the neighbouring blocks.

The contexts' layout and tables are in :mod:`.contexts`, loaded at import into C arrays from
which the ``*_context`` functions here compute a context's index (:func:`context` from Python);
the order of the passes is in :mod:`.slices`.

Every kernel takes the colour plane's state ``plane = (prefix, sign, level)`` (see
:class:`~spikecodec.entropy.slices.PlaneState`), the encoder's ``truth = (counts, extents)``
(the true signed counts and each block's ``eob`` at every bit-plane; dummies when decoding),
and last the coder ``(state, buffer, models)`` (:mod:`.rangecoder`, whose bit functions the
passes ``cimport`` from ``rangecoder.pxd``), ``enc`` and the block to start from. A kernel is
a Python function that checks its arrays' types and shapes, then runs a C function without the
GIL, one for each side (``enc`` a constant in it). It returns the number of blocks of the plane
when it is done, the place to resume from when the encoder's buffer is full (the caller grows
it), or -1 once a decoder's stream is cut; it then leaves the state as far as the stream
reached. The AC ``level`` of each
coefficient coded is written only if ``track`` (a slice that may be cut); a whole slice sets
every level at its end.

Each block keeps, from slice to slice, 64-bit masks of its coefficients (``masks =
(significant, fresh, eob, order)``: the significant AC coefficients, those of them that became
significant in this slice, the extent, and the blocks in coding order): the passes visit only
the coefficients they code, lowest set bit first, and read neighbours' significance from the
masks.
"""

from __future__ import annotations

cimport cython
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint64_t

from .rangecoder cimport FIELDS, Coder, code_bit, load, store

import numpy as np

from .contexts import (
    BITLEN,
    CONTEXTS,
    DC_REFINEMENT_SPLITS,
    DC_SIGNIFICANCE_SPLITS,
    EOB_DISTANCE,
    GEOMETRIES,
    MODELS,
    NCOEF,
    PREDICTION_SHIFT,
)

__all__ = [
    "TOP_RANK",
    "context",
    "dc_pass",
    "extents_in_time",
    "refinement_pass",
    "significance_pass",
    "slice_start",
]

cdef extern from *:
    """
    /* The bits set in x: __builtin_popcountll where it is one instruction; on an x86 target
       without POPCNT (the compiler's default) the same count branch-free and inline, instead of
       the call to libgcc's __popcountdi2 that the builtin would make. */
    static inline int spikecodec_popcount(unsigned long long x) {
    #if defined(__POPCNT__) || !(defined(__x86_64__) || defined(__i386__))
        return __builtin_popcountll(x);
    #else
        x -= (x >> 1) & 0x5555555555555555ULL;
        x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
        x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
        return (int)((x * 0x0101010101010101ULL) >> 56);
    #endif
    }
    """
    int trailing_zeros "__builtin_ctzll"(unsigned long long) nogil
    int leading_zeros "__builtin_clzll"(unsigned long long) nogil
    int popcount "spikecodec_popcount"(unsigned long long) nogil

# Block ranks: ``1 + bit_length(n)`` (2..7) for ``n`` significant AC coefficients, 1 for none
# but a neighbour with some, 0 otherwise.
cpdef enum:
    TOP_RANK = 7

cdef enum:
    _NCOEF = 64  # contexts.NCOEF (checked below): a block's masks have one bit per coefficient
    _SPLITS = 7  # the DC prediction's split points (8 classes)
    _GEOMETRIES = 2  # len(contexts.GEOMETRIES) (checked below)

cdef enum:
    _LEFT, _RIGHT, _TOP, _BOTTOM
cdef int[4] _FACING = [_RIGHT, _LEFT, _BOTTOM, _TOP]  # the side of the neighbour facing the block


# --- the contexts: their layout and tables from .contexts, loaded once at import ------------

# The tables are int16, a type that no pass stores: the compiler need not reload them after
# every store to the models or the planes' arrays.
ctypedef struct Layout:
    int16_t offset  # a model's first context
    int16_t stride[5]  # and the stride of each of its dimensions

cdef Layout _DC, _DC_SIGN, _GROWTH, _EXTENT, _SIGNIFICANCE, _REFINEMENT
cdef int16_t _BAND[_GEOMETRIES][_NCOEF]  # by geometry, then zigzag index
cdef int16_t _COARSE_BAND[_GEOMETRIES][_NCOEF]
cdef int16_t _EOB_DISTANCE[_NCOEF]
cdef int16_t _BITLEN[_NCOEF + 1]
cdef int16_t _DC_SIGNIFICANCE_SPLITS[_SPLITS]
cdef int16_t _DC_REFINEMENT_SPLITS[_SPLITS]
cdef int16_t _PREDICTION_SHIFT
cdef uint64_t _NEIGHBOURS[_GEOMETRIES][_NCOEF]
cdef int64_t _CONTEXTS = CONTEXTS


cdef int16_t _small(str name, value) except? -1:
    """A table's value as int16 (all of them are small)."""
    if not -(1 << 15) <= value < (1 << 15):
        raise ImportError(f"contexts.{name} holds {value}, beyond the passes' int16 tables")
    return value


cdef void _load_table(str name, values, int16_t* table, Py_ssize_t n) except *:
    """Copy the table ``contexts.<name>`` into ``table`` (``n`` entries)."""
    values = np.asarray(values, np.int64).ravel()
    if values.size != n:
        raise ImportError(f"contexts.{name} has {values.size} entries, the passes expect {n}")
    for i in range(n):
        table[i] = _small(name, int(values[i]))


cdef Layout _load_layout(str name, Py_ssize_t dimensions) except *:
    """The offset and strides of the model ``contexts.MODELS[name]``."""
    cdef Layout layout
    model = MODELS[name]
    if len(model.strides) != dimensions:
        raise ImportError(f"the {name} model has {len(model.strides)} dimensions, not {dimensions}")
    _small("MODELS", model.offset + model.size - 1)  # every context's index fits
    layout.offset = model.offset
    for d in range(dimensions):
        layout.stride[d] = _small("MODELS", model.strides[d])
    return layout


cdef void _load_geometries() except *:
    """Copy the tables of ``contexts.GEOMETRIES`` into their C tables (the masks, 64-bit masks
    held as int64, as unsigned)."""
    if len(GEOMETRIES) != _GEOMETRIES:
        raise ImportError(f"contexts.GEOMETRIES has {len(GEOMETRIES)}, not {_GEOMETRIES}")
    for g, geometry in enumerate(GEOMETRIES):
        _load_table(f"GEOMETRIES[{g}].band", geometry.band, _BAND[g], _NCOEF)
        _load_table(f"GEOMETRIES[{g}].coarse_band", geometry.coarse_band, _COARSE_BAND[g], _NCOEF)
        if len(geometry.mask) != _NCOEF:
            raise ImportError(f"contexts.GEOMETRIES[{g}].mask has {len(geometry.mask)} entries")
        for k in range(_NCOEF):
            _NEIGHBOURS[g][k] = int(geometry.mask[k]) & 0xFFFFFFFFFFFFFFFF


if NCOEF != _NCOEF:
    raise ImportError(f"the passes code blocks of {_NCOEF} coefficients, not {NCOEF}")
_DC = _load_layout("dc", 5)
_DC_SIGN = _load_layout("dc_sign", 3)
_GROWTH = _load_layout("growth", 3)
_EXTENT = _load_layout("extent", 4)
_SIGNIFICANCE = _load_layout("significance", 5)
_REFINEMENT = _load_layout("refinement", 5)
_load_table("EOB_DISTANCE", EOB_DISTANCE, _EOB_DISTANCE, _NCOEF)
_load_table("BITLEN", BITLEN, _BITLEN, _NCOEF + 1)
_PREDICTION_SHIFT = _small("PREDICTION_SHIFT", PREDICTION_SHIFT)
_load_geometries()
_load_table("DC_SIGNIFICANCE_SPLITS", DC_SIGNIFICANCE_SPLITS, _DC_SIGNIFICANCE_SPLITS, _SPLITS)
_load_table("DC_REFINEMENT_SPLITS", DC_REFINEMENT_SPLITS, _DC_REFINEMENT_SPLITS, _SPLITS)


cdef inline int64_t dc_context(
    int64_t count, int64_t prediction, int64_t spread, int64_t phase, int64_t chroma
) noexcept nogil:
    """The ``dc`` model's context (see :mod:`.contexts`)."""
    cdef const int16_t* s = _DC.stride
    return (
        _DC.offset + count * s[0] + prediction * s[1] + spread * s[2] + phase * s[3]
        + chroma * s[4]
    )


cdef inline int64_t spread_class(int64_t neighbours, int64_t spread) noexcept nogil:
    """The ``spread`` of the DC model: 0, 1, 2 for neighbours' estimates less than 1, 2, 4 count
    units apart (``spread`` in units of ``2**-PREDICTION_SHIFT``), 3 for farther or fewer than
    two neighbours."""
    if neighbours < 2:
        return 3
    cdef int64_t d = spread >> _PREDICTION_SHIFT
    return 0 if d < 1 else (1 if d < 2 else (2 if d < 4 else 3))


cdef inline int64_t dc_sign_context(int64_t side, int64_t phase, int64_t chroma) noexcept nogil:
    """The ``dc_sign`` model's context."""
    cdef const int16_t* s = _DC_SIGN.stride
    return _DC_SIGN.offset + side * s[0] + phase * s[1] + chroma * s[2]


cdef inline int64_t growth_context(
    int64_t extent, int64_t neighbours, int64_t chroma
) noexcept nogil:
    """The ``growth`` model's context (``extent``, ``neighbours``: bit lengths)."""
    cdef const int16_t* s = _GROWTH.stride
    return _GROWTH.offset + extent * s[0] + neighbours * s[1] + chroma * s[2]


cdef inline int64_t extent_context(
    int64_t extent, int64_t chroma, int64_t node, int64_t neighbours
) noexcept nogil:
    """The ``extent`` model's context (``neighbours`` already shifted to 0..4)."""
    cdef const int16_t* s = _EXTENT.stride
    return _EXTENT.offset + extent * s[0] + chroma * s[1] + node * s[2] + neighbours * s[3]


cdef inline int64_t significance_context(
    int64_t band, int64_t inside, int64_t around, int64_t distance, int64_t chroma
) noexcept nogil:
    """The ``significance`` model's context (``band``: :data:`~.contexts.BAND` less one)."""
    cdef const int16_t* s = _SIGNIFICANCE.stride
    return (
        _SIGNIFICANCE.offset + band * s[0] + inside * s[1] + around * s[2] + distance * s[3]
        + chroma * s[4]
    )


cdef inline int64_t refinement_context(
    int64_t band, int64_t first, int64_t inside, int64_t around, int64_t chroma
) noexcept nogil:
    """The ``refinement`` model's context."""
    cdef const int16_t* s = _REFINEMENT.stride
    return (
        _REFINEMENT.offset + band * s[0] + first * s[1] + inside * s[2] + around * s[3]
        + chroma * s[4]
    )


def context(model: str, *values: int) -> int:
    """The index of the context of ``model`` (a name of :data:`~.contexts.MODELS`) at
    ``values``, one per dimension, as the passes compute it (each value must lie below its
    dimension's size: the passes clamp them)."""
    offset, strides, size = MODELS[model]
    sizes = [(size if d == 0 else strides[d - 1]) // strides[d] for d in range(len(strides))]
    if len(values) != len(sizes) or not all(0 <= int(v) < n for v, n in zip(values, sizes)):
        raise ValueError(f"the {model} model's dimensions have sizes {sizes}, got {values}")
    v = [int(x) for x in values]
    if model == "dc":
        return dc_context(v[0], v[1], v[2], v[3], v[4])
    if model == "dc_sign":
        return dc_sign_context(v[0], v[1], v[2])
    if model == "growth":
        return growth_context(v[0], v[1], v[2])
    if model == "extent":
        return extent_context(v[0], v[1], v[2], v[3])
    if model == "significance":
        return significance_context(v[0], v[1], v[2], v[3], v[4])
    return refinement_context(v[0], v[1], v[2], v[3], v[4])


# --- the kernels' arrays ----------------------------------------------------------------------

ctypedef struct Plane:
    # A colour plane's state (prefix, sign, level: blocks_y x blocks_x x 64, C order) and its
    # size in blocks; block (i, j) is b = i*bx + j, its coefficient k at b*64 + k.
    int32_t* prefix
    int8_t* sign
    int8_t* level
    Py_ssize_t by, bx

ctypedef struct Masks:
    # A plane's block masks (see the module docstring), blocks_y x blocks_x each, and the
    # blocks in coding order.
    uint64_t* significant
    uint64_t* fresh
    int64_t* eob
    const int64_t* order

# The two sides a kernel is compiled for: a fused type, one C function for each, in which
# ``enc`` is a constant (the encoder carries no decoding code, nor the decoder encoding code).
ctypedef struct Encoding:
    char side
ctypedef struct Decoding:
    char side
ctypedef fused Side:
    Encoding
    Decoding

ctypedef struct Truth:
    # The encoder's true counts (as the plane, int32) and extents (blocks_y x blocks_x x depth).
    const int32_t* counts
    const int8_t* extents
    Py_ssize_t depth


cdef inline int64_t _abs(int64_t x) noexcept nogil:
    """``|x|`` (of the least int64, itself: 64-bit two's complement)."""
    return -x if x < 0 else x


cdef inline int64_t _value2(const Plane* pl, Py_ssize_t b, int k, int64_t p) noexcept nogil:
    """Twice the count of coefficient k of block b known at instant T/2^p, in units of plane p:
    the midpoint ``(2*prefix + 1) * 2^(level - p)`` of its cell (0 if silent, whose sign is 0).
    """
    cdef Py_ssize_t x = b * _NCOEF + k
    return <int64_t>pl.sign[x] * ((2 * <int64_t>pl.prefix[x] + 1) << (pl.level[x] - p))


cdef inline void _neighbour_masks(
    const uint64_t* significant, Py_ssize_t by, Py_ssize_t bx, Py_ssize_t i, Py_ssize_t j,
    uint64_t* around,
) noexcept nogil:
    """``around``: the significance masks of the blocks above, below, left and right of block
    (i, j) (0 off the plane); in a pass, the blocks above and to the left are already this
    slice's."""
    cdef Py_ssize_t b = i * bx + j
    around[0] = significant[b - bx] if i > 0 else 0
    around[1] = significant[b + bx] if i + 1 < by else 0
    around[2] = significant[b - 1] if j > 0 else 0
    around[3] = significant[b + 1] if j + 1 < bx else 0


cdef inline int64_t _bits_at(const uint64_t* masks, int k) noexcept nogil:
    """How many of 4 masks have bit k set."""
    return <int64_t>(
        ((masks[0] >> k) & 1) + ((masks[1] >> k) & 1) + ((masks[2] >> k) & 1)
        + ((masks[3] >> k) & 1)
    )


cdef inline int64_t _count_to_2(uint64_t x) noexcept nogil:
    """``min(popcount(x), 2)`` without counting: is there a set bit, and another once the
    lowest is cleared (``x & (x - 1)``). A few instructions on any x86-64, where the popcount
    instruction is not in the baseline the package is compiled for."""
    return (x != 0) + ((x & (x - 1)) != 0)


cdef inline int64_t _count_to_3(uint64_t x) noexcept nogil:
    """``min(popcount(x), 3)``, as :func:`_count_to_2`."""
    cdef uint64_t rest = x & (x - 1)
    return (x != 0) + (rest != 0) + ((rest & (rest - 1)) != 0)


cdef inline int64_t _rank(
    const uint64_t* significant, Py_ssize_t by, Py_ssize_t bx, Py_ssize_t i, Py_ssize_t j
) noexcept nogil:
    """A block's rank before a slice (see :data:`TOP_RANK`)."""
    cdef int64_t n = popcount(significant[i * bx + j])
    cdef uint64_t around[4]
    if n:
        return min(1 + 64 - leading_zeros(n), <int64_t>TOP_RANK)
    _neighbour_masks(significant, by, bx, i, j, around)
    return (around[0] | around[1] | around[2] | around[3]) != 0


cdef inline void _order_by_rank(
    const int64_t* rank, Py_ssize_t by, Py_ssize_t bx, int64_t* order, int64_t* first
) noexcept nogil:
    """``order``: the blocks by rank, highest first, raster order within a rank (a counting
    sort), packed ``i << 32 | j``; ``order[first[r]:first[r + 1]]`` (``first[r - 1]`` for
    ``r < TOP_RANK``) are those of rank ``r``."""
    cdef Py_ssize_t i, j
    cdef int64_t r, n, top
    for r in range(TOP_RANK + 1):
        first[r] = 0
    for i in range(by * bx):
        first[rank[i]] += 1  # for now, how many blocks have rank r
    top = 0
    for r in range(TOP_RANK, -1, -1):  # where the blocks of rank r start
        n = first[r]
        first[r] = top
        top += n
    for i in range(by):
        for j in range(bx):
            r = rank[i * bx + j]
            order[first[r]] = (<int64_t>i << 32) | j
            first[r] += 1
    top = 0
    for r in range(TOP_RANK, -1, -1):  # back to the starts
        n = first[r] - top
        first[r] = top
        top += n


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _slice_start(
    const Plane* pl, const int64_t* edges, uint64_t edge_mask, const uint64_t* significant,
    int64_t p, int64_t* sides, int64_t* rank, int64_t* order, int64_t* first,
) noexcept nogil:
    cdef Py_ssize_t i, j, b
    cdef int64_t s0, s1, s2, s3, v
    cdef uint64_t m
    cdef int k
    for i in range(pl.by):
        for j in range(pl.bx):
            b = i * pl.bx + j
            s0 = s1 = s2 = s3 = 0
            m = significant[b] & edge_mask
            while m:
                k = trailing_zeros(m)
                m &= m - 1
                v = _value2(pl, b, k, p)
                s0 += v * edges[4 * k]
                s1 += v * edges[4 * k + 1]
                s2 += v * edges[4 * k + 2]
                s3 += v * edges[4 * k + 3]
            sides[4 * b], sides[4 * b + 1], sides[4 * b + 2], sides[4 * b + 3] = s0, s1, s2, s3
            rank[b] = _rank(significant, pl.by, pl.bx, i, j)
    _order_by_rank(rank, pl.by, pl.bx, order, first)


cdef inline bint _room(const Coder* c, bint enc) noexcept nogil:
    """Whether the encoder's buffer has room for a block's worst case."""
    return not enc or c.pos + c.pending + 1024 <= c.size


cdef inline int64_t _dc_prediction(
    const Plane* pl, const int64_t* sides, int64_t edge_dc, Py_ssize_t i, Py_ssize_t j,
    int64_t p, int64_t* unit, int64_t* spread,
) noexcept nogil:
    """The DC prediction of block (i, j) from its neighbours' boundaries, ``q`` (returned),
    ``unit`` and ``spread``: the sum over the neighbours of (its facing side sum + its DC's) -
    (the block's own side), the count unit of that sum (``2**PREDICTION_SHIFT`` per neighbour),
    and how far the neighbours' estimates lie apart (:func:`spread_class`)."""
    cdef int64_t q = 0, t, lo = <int64_t>1 << 62, hi = -(<int64_t>1 << 62)
    cdef int64_t cnt = 0
    cdef Py_ssize_t y, x, b = i * pl.bx + j, nb
    cdef int n
    for n in range(4):
        y = i + (n == 3) - (n == 2)  # left, right, top, bottom
        x = j + (n == 1) - (n == 0)
        if 0 <= y < pl.by and 0 <= x < pl.bx:
            nb = y * pl.bx + x
            t = sides[4 * nb + _FACING[n]] + _value2(pl, nb, 0, p) * edge_dc - sides[4 * b + n]
            q += t
            lo = min(lo, t)
            hi = max(hi, t)
            cnt += 1
    unit[0] = max(cnt, <int64_t>1) << _PREDICTION_SHIFT
    spread[0] = spread_class(cnt, hi - lo)
    return q


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef int64_t _dc_pass(
    const Side* side, const Plane* pl, const int64_t* sides, int64_t edge_dc, int64_t p,
    int64_t phase, int64_t chroma, const Truth* truth, int64_t* st, uint8_t* buf, int64_t size,
    int64_t* models, int64_t start,
) noexcept nogil:
    cdef bint enc = Side is Encoding
    cdef Coder c
    cdef Py_ssize_t by = pl.by, bx = pl.bx, i, j, i0 = start // bx, j0 = start % bx, b
    cdef int64_t q, unit, spread, u, x4, cls, ctx, bit, negative, truth_bit
    cdef const int16_t* splits
    cdef int s
    load(&c, st, buf, size, models)
    for i in range(i0, by):
        j = j0 if i == i0 else 0
        j += (i + j + phase) % 2  # the first block of the phase from there
        while j < bx:
            if not _room(&c, enc):
                store(&c, st)
                return i * bx + j
            b = i * bx + j
            q = _dc_prediction(pl, sides, edge_dc, i, j, p, &unit, &spread)
            u = pl.prefix[b * _NCOEF]
            if u == 0:
                x4 = 4 * _abs(q) - 4 * unit
                splits = _DC_SIGNIFICANCE_SPLITS
            else:
                x4 = 4 * pl.sign[b * _NCOEF] * q - 4 * (2 * u + 1) * unit
                splits = _DC_REFINEMENT_SPLITS
            cls = 0
            for s in range(_SPLITS):
                cls += splits[s] * unit < x4
            ctx = dc_context(min(u, <int64_t>2), cls, spread, phase, chroma)
            truth_bit = (_abs(truth.counts[b * _NCOEF]) >> p) & 1 if enc else 0
            bit = code_bit(&c, ctx, truth_bit, enc)
            if bit < 0:
                store(&c, st)
                return -1
            if u == 0 and bit:
                ctx = dc_sign_context((-unit < 4 * q) + (unit < 4 * q), phase, chroma)
                negative = code_bit(&c, ctx, truth.counts[b * _NCOEF] < 0 if enc else 0, enc)
                if negative < 0:
                    store(&c, st)
                    return -1
                pl.sign[b * _NCOEF] = -1 if negative else 1
            pl.prefix[b * _NCOEF] = <int32_t>(2 * u + bit)
            pl.level[b * _NCOEF] = <int8_t>p
            j += 2
    store(&c, st)
    return by * bx


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _extents_in_time(
    const int32_t* counts, Py_ssize_t blocks, int8_t* out, Py_ssize_t depth
) noexcept nogil:
    cdef Py_ssize_t b, q
    cdef int64_t v
    cdef int k
    for b in range(blocks):
        for q in range(depth):
            out[b * depth + q] = 0
        for k in range(1, _NCOEF):
            v = _abs(counts[b * _NCOEF + k])
            q = 0
            while v and q < depth:  # (counts of more bits than depth: the first depth)
                out[b * depth + q] = <int8_t>(k + 1)
                v >>= 1
                q += 1


@cython.cdivision(True)
cdef inline int64_t _neighbour_extent(
    const int64_t* eob, Py_ssize_t by, Py_ssize_t bx, Py_ssize_t i, Py_ssize_t j
) noexcept nogil:
    """Mean ``eob`` of the (up to 4) neighbouring blocks, rounded half up."""
    cdef int64_t total = 0, cnt = 0
    cdef Py_ssize_t b = i * bx + j
    if i > 0:
        total += eob[b - bx]
        cnt += 1
    if i + 1 < by:
        total += eob[b + bx]
        cnt += 1
    if j > 0:
        total += eob[b - 1]
        cnt += 1
    if j + 1 < bx:
        total += eob[b + 1]
        cnt += 1
    if cnt == 4:  # inside the plane: no division
        return (total + 2) >> 2
    return (2 * total + cnt) // (2 * cnt) if cnt else 0


cdef inline bint _fire(
    const Side* side, const Plane* pl, Py_ssize_t b, int k, const Truth* truth, Coder* c
) noexcept nogil:
    """Coefficient k of block b starts firing: its ON/OFF sign (1 bit at probability 1/2).
    False once the stream is cut."""
    cdef bint enc = Side is Encoding
    cdef int64_t negative = code_bit(c, -1, truth.counts[b * _NCOEF + k] < 0 if enc else 0, enc)
    if negative < 0:
        return False
    pl.sign[b * _NCOEF + k] = -1 if negative else 1
    pl.prefix[b * _NCOEF + k] = 1
    return True


cdef inline int64_t _grow_extent(
    const Side* side, const Plane* pl, const Masks* masks, Py_ssize_t i, Py_ssize_t j,
    int64_t p, int64_t chroma, bint track, const Truth* truth, Coder* c,
) noexcept nogil:
    """Whether block (i, j)'s ``eob`` grows, to what, and the new last coefficient's sign.
    Returns the new eob, -1 once the stream is cut."""
    cdef bint enc = Side is Encoding
    cdef Py_ssize_t b = i * pl.bx + j
    cdef int64_t old = masks.eob[b], new, lowest, node, a, mid, rel, ctx, grows, bit, target
    cdef int64_t guess = _neighbour_extent(masks.eob, pl.by, pl.bx, i, j)  # the neighbours' hint
    cdef int bit_pos, k
    target = truth.extents[b * truth.depth + p] if enc else 0
    ctx = growth_context(_BITLEN[old], _BITLEN[guess], chroma)
    grows = code_bit(c, ctx, target > old, enc)
    if grows < 0:
        return -1
    new = old
    if grows:
        lowest = max(old, <int64_t>1)  # new - 1 >= lowest
        node = 1
        a = 0
        for bit_pos in range(5, -1, -1):
            mid = a + (<int64_t>1 << bit_pos)
            if mid <= lowest:
                bit = 1
            else:
                rel = (guess - 1 - mid) >> max(bit_pos - 1, 0)
                rel = min(max(rel, <int64_t>-2), <int64_t>2) + 2
                ctx = extent_context(_BITLEN[old], chroma, node, rel)
                bit = code_bit(c, ctx, (target - 1) >= mid, enc)
                if bit < 0:
                    return -1
            node = 2 * node + bit
            if bit:
                a = mid
        new = a + 1
        # the new last coefficient fires by definition: its sign, before the others
        if not _fire(side, pl, b, <int>a, truth, c):
            return -1
        masks.significant[b] |= <uint64_t>1 << a
        masks.fresh[b] |= <uint64_t>1 << a
        if track:
            pl.level[b * _NCOEF + a] = <int8_t>p
    if track:
        for k in range(max(new, <int64_t>1), _NCOEF):  # past eob: known silent
            pl.level[b * _NCOEF + k] = <int8_t>p
    masks.eob[b] = new
    return new


cdef inline bint _fire_before_extent(
    const Side* side, const Plane* pl, const Masks* masks, Py_ssize_t i, Py_ssize_t j,
    int64_t new, int64_t p, int64_t chroma, int geometry, bint track, const Truth* truth,
    Coder* c,
) noexcept nogil:
    """Significance and sign of the AC coefficients of block (i, j) before ``new`` (its
    ``eob``) that were silent before this slice. False once the stream is cut."""
    cdef bint enc = Side is Encoding
    cdef Py_ssize_t b = i * pl.bx + j
    cdef uint64_t before = masks.significant[b], fired = 0, silent = 0, known, bit_k
    cdef uint64_t around[4]
    cdef int64_t inside, ctx, fires
    cdef int k
    known = before | <uint64_t>(pl.prefix[b * _NCOEF] > 0)  # significant now, DC included
    if new:
        silent = ~before & (((<uint64_t>1 << (new - 1)) << 1) - 2)
    if silent:
        _neighbour_masks(masks.significant, pl.by, pl.bx, i, j, around)
    while silent:
        k = trailing_zeros(silent)
        silent &= silent - 1
        inside = _count_to_2(known & _NEIGHBOURS[geometry][k])
        ctx = significance_context(
            _BAND[geometry][k] - 1, inside, min(_bits_at(around, k), <int64_t>2),
            _EOB_DISTANCE[new - 1 - k], chroma,
        )
        fires = code_bit(
            c, ctx, (_abs(truth.counts[b * _NCOEF + k]) >> p) > 0 if enc else 0, enc
        )
        if fires < 0:
            return False
        if fires:
            if not _fire(side, pl, b, k, truth, c):
                return False
            bit_k = <uint64_t>1 << k
            fired |= bit_k
            known |= bit_k
        if track:
            pl.level[b * _NCOEF + k] = <int8_t>p
    masks.significant[b] = before | fired
    masks.fresh[b] |= fired
    return True


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int64_t _significance_pass(
    const Side* side, const Plane* pl, const Masks* masks, Py_ssize_t lo, Py_ssize_t hi,
    int64_t p, int64_t chroma, int geometry, bint track, const Truth* truth, int64_t* st,
    uint8_t* buf, int64_t size, int64_t* models, int64_t start,
) noexcept nogil:
    cdef bint enc = Side is Encoding
    cdef Coder c
    cdef Py_ssize_t t, i, j
    cdef int64_t new
    load(&c, st, buf, size, models)
    for t in range(lo + start, hi):
        i, j = masks.order[t] >> 32, masks.order[t] & 0xFFFFFFFFLL
        if not _room(&c, enc):
            store(&c, st)
            return t - lo
        new = _grow_extent(side, pl, masks, i, j, p, chroma, track, truth, &c)
        if new < 0:
            store(&c, st)
            return -1
        if not _fire_before_extent(
            side, pl, masks, i, j, new, p, chroma, geometry, track, truth, &c
        ):
            store(&c, st)
            return -1
    store(&c, st)
    return pl.by * pl.bx


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef int64_t _refinement_pass(
    const Side* side, const Plane* pl, const Masks* masks, int64_t p, int64_t chroma,
    int geometry, bint track, const Truth* truth, int64_t* st, uint8_t* buf, int64_t size,
    int64_t* models, int64_t start,
) noexcept nogil:
    cdef bint enc = Side is Encoding
    cdef Coder c
    cdef Py_ssize_t by = pl.by, bx = pl.bx, i = start // bx, j = start % bx, b
    cdef uint64_t m, known
    cdef uint64_t around[4]
    cdef int64_t u, inside, around_k, ctx, bit
    cdef int k
    load(&c, st, buf, size, models)
    for b in range(start, by * bx):  # block (i, j), without a division per block
        if not _room(&c, enc):
            store(&c, st)
            return b
        m = masks.significant[b] & ~masks.fresh[b]
        known = masks.significant[b] | <uint64_t>(pl.prefix[b * _NCOEF] > 0)
        if m:
            _neighbour_masks(masks.significant, by, bx, i, j, around)
        while m:
            k = trailing_zeros(m)
            m &= m - 1
            u = pl.prefix[b * _NCOEF + k]
            inside = _count_to_3(known & _NEIGHBOURS[geometry][k])
            around_k = min(_bits_at(around, k), <int64_t>2)
            ctx = refinement_context(_COARSE_BAND[geometry][k], u == 1, inside, around_k, chroma)
            bit = code_bit(
                &c, ctx, (_abs(truth.counts[b * _NCOEF + k]) >> p) & 1 if enc else 0, enc
            )
            if bit < 0:
                store(&c, st)
                return -1
            pl.prefix[b * _NCOEF + k] = <int32_t>(2 * u + bit)
            if track:
                pl.level[b * _NCOEF + k] = <int8_t>p
        j += 1
        if j == bx:
            i, j = i + 1, 0
    store(&c, st)
    return by * bx


# --- from Python: the arrays checked, then the kernels without the GIL ------------------------

@cython.boundscheck(False)
@cython.wraparound(False)
cdef Plane _plane(plane) except *:
    """A plane's ``(prefix, sign, level)`` as the kernels take it (their shapes checked)."""
    cdef int32_t[:, :, ::1] prefix
    cdef int8_t[:, :, ::1] sign, level
    cdef Plane pl
    prefix, sign, level = plane
    for d in range(3):
        if sign.shape[d] != prefix.shape[d] or level.shape[d] != prefix.shape[d]:
            raise ValueError("a plane's prefix, sign and level must have one shape")
    if prefix.shape[2] != _NCOEF:
        raise ValueError(f"a plane's arrays must have shape (blocks_y, blocks_x, {_NCOEF})")
    pl.prefix, pl.sign, pl.level = &prefix[0, 0, 0], &sign[0, 0, 0], &level[0, 0, 0]
    pl.by, pl.bx = prefix.shape[0], prefix.shape[1]
    return pl


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int64_t* _blockwise(int64_t[:, ::1] a, const Plane* pl, str name) except NULL:
    """The data of a (blocks_y, blocks_x) int64 array of the plane's blocks."""
    if a.shape[0] != pl.by or a.shape[1] != pl.bx:
        raise ValueError(f"{name} must have shape ({pl.by}, {pl.bx}) (one entry per block)")
    return &a[0, 0]


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Masks _masks(masks, const Plane* pl) except *:
    """The plane's block masks ``(significant, fresh, eob, order)``, their shapes checked."""
    cdef int64_t[::1] order
    cdef Masks m
    significant, fresh, eob, order = masks
    m.significant = <uint64_t*>_blockwise(significant, pl, "significant")
    m.fresh = <uint64_t*>_blockwise(fresh, pl, "fresh")
    m.eob = _blockwise(eob, pl, "eob")
    if order.shape[0] != pl.by * pl.bx:
        raise ValueError(f"order must have {pl.by * pl.bx} entries")
    m.order = &order[0]
    return m


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Truth _truth(truth, const Plane* pl, int64_t p, bint enc) except *:
    """The encoder's ``(counts, extents)``, checked; none when decoding (the kernels read them
    only when encoding)."""
    cdef const int32_t[:, :, ::1] counts
    cdef const int8_t[:, :, ::1] extents
    cdef Truth t
    t.counts, t.extents, t.depth = NULL, NULL, 0
    if not enc:
        return t
    counts, extents = truth
    if not (
        counts.shape[0] == pl.by and counts.shape[1] == pl.bx and counts.shape[2] == _NCOEF
        and extents.shape[0] == pl.by and extents.shape[1] == pl.bx and p < extents.shape[2]
    ):
        raise ValueError("the encoder's counts and extents must be the plane's, with plane p")
    t.counts, t.extents, t.depth = &counts[0, 0, 0], &extents[0, 0, 0], extents.shape[2]
    return t


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int64_t* _coder(coder, uint8_t** buf, int64_t* size, int64_t** models) except NULL:
    """The coder ``(state, buffer, models)``: the state's data, and the buffer's and models'."""
    cdef int64_t[::1] st
    cdef uint8_t[::1] b
    cdef int64_t[:, ::1] m
    st, b, m = coder
    if st.shape[0] != FIELDS or m.shape[0] < _CONTEXTS or m.shape[1] != 3:
        raise ValueError("the coder must be (new_state(), a buffer, new_models(CONTEXTS))")
    buf[0], size[0], models[0] = &b[0], b.shape[0], &m[0, 0]
    return &st[0]


cdef void _check(bint ok, str what) except *:
    if not ok:
        raise ValueError(what)


@cython.boundscheck(False)
@cython.wraparound(False)
def slice_start(plane, edges, edge_mask, significant, p, sides, rank, order, first):
    """Before a slice's passes: each block's AC boundary sums ``sum_k value_k * E[k, side]``
    over its significant AC coefficients ``k`` in ``edge_mask`` (those with a non-zero weight
    ``E``, :func:`~.contexts.edge_weights`: the first row and column) into ``sides``, its rank
    into ``rank``, and the blocks in ``order`` of rank (:func:`_order_by_rank`)."""
    cdef Plane pl = _plane(plane)
    cdef const int64_t[:, ::1] e = edges
    cdef int64_t[:, :, ::1] s = sides
    cdef int64_t[::1] o = order, f = first
    cdef int64_t* sig = _blockwise(significant, &pl, "significant")
    cdef int64_t* r = _blockwise(rank, &pl, "rank")
    cdef uint64_t mask = <uint64_t><int64_t>edge_mask
    cdef int64_t bitplane = p
    _check(e.shape[0] == _NCOEF and e.shape[1] == 4, f"edges must have shape ({_NCOEF}, 4)")
    _check(s.shape[0] == pl.by and s.shape[1] == pl.bx and s.shape[2] == 4, "sides: (by, bx, 4)")
    _check(o.shape[0] == pl.by * pl.bx, "order must have an entry per block")
    _check(f.shape[0] >= TOP_RANK + 1, f"first must have {TOP_RANK + 1} entries or more")
    _check(0 <= bitplane < 63, "p must lie in 0..62")
    with nogil:
        _slice_start(&pl, &e[0, 0], mask, <uint64_t*>sig, bitplane, &s[0, 0, 0], r, &o[0], &f[0])


@cython.boundscheck(False)
@cython.wraparound(False)
def dc_pass(plane, sides, edge_dc, p, phase, chroma, truth, coder, enc, start):
    """Bit p of the DC counts of the blocks with ``(i + j) % 2 == phase``, from block index
    ``start``: its context is where the prediction (:func:`_dc_prediction`) falls against the
    decision point, so the second half is predicted from neighbours already known at ``T/2^p``.
    """
    cdef Plane pl = _plane(plane)
    cdef int64_t[:, :, ::1] s = sides
    cdef int64_t bitplane = p, ph = phase, ch = chroma, at = start, size, done
    cdef bint encoding = enc
    cdef Truth t = _truth(truth, &pl, bitplane, encoding)
    cdef uint8_t* buf
    cdef int64_t* models
    cdef int64_t* st = _coder(coder, &buf, &size, &models)
    cdef int64_t dc_weight = edge_dc
    _check(s.shape[0] == pl.by and s.shape[1] == pl.bx and s.shape[2] == 4, "sides: (by, bx, 4)")
    _check(0 <= bitplane < 63 and 0 <= ph <= 1 and 0 <= ch <= 1, "p, phase or chroma out of range")
    _check(0 <= at <= pl.by * pl.bx, "start must be a block index")
    if pl.by * pl.bx == 0:
        return 0
    with nogil:
        if encoding:
            done = _dc_pass(
                <Encoding*>NULL, &pl, &s[0, 0, 0], dc_weight, bitplane, ph, ch, &t, st, buf, size,
                models, at,
            )
        else:
            done = _dc_pass(
                <Decoding*>NULL, &pl, &s[0, 0, 0], dc_weight, bitplane, ph, ch, &t, st, buf, size,
                models, at,
            )
    return done


@cython.boundscheck(False)
@cython.wraparound(False)
def extents_in_time(counts, out):
    """``out[i, j, p]``: block (i, j)'s ``eob`` at instant ``T/2^p`` (the encoder's truth) of
    int32 ``counts``."""
    cdef const int32_t[:, :, ::1] c = counts
    cdef int8_t[:, :, ::1] o = out
    _check(c.shape[2] == _NCOEF and o.shape[0] == c.shape[0] and o.shape[1] == c.shape[1],
           "out must have shape (blocks_y, blocks_x, slices) of the counts' blocks")
    if c.shape[0] * c.shape[1] == 0:
        return
    with nogil:
        _extents_in_time(&c[0, 0, 0], c.shape[0] * c.shape[1], &o[0, 0, 0], o.shape[2])


@cython.boundscheck(False)
@cython.wraparound(False)
def significance_pass(plane, masks, lo, hi, p, chroma, geometry, track, truth, coder, enc, start):
    """Extent growth (:func:`_grow_extent`), then the coefficients before the extent
    (:func:`_fire_before_extent`, whose contexts read the tables of ``contexts.GEOMETRIES
    [geometry]``), of the blocks ``order[lo:hi]`` from ``lo + start``; it resumes at the
    offset from ``lo`` it returns when the encoder's buffer is full."""
    cdef Plane pl = _plane(plane)
    cdef Masks m = _masks(masks, &pl)
    cdef Py_ssize_t first = lo, last = hi
    cdef int64_t bitplane = p, ch = chroma, at = start, size, done
    cdef int g = geometry
    cdef bint encoding = enc, tracking = track
    cdef Truth t = _truth(truth, &pl, bitplane, encoding)
    cdef uint8_t* buf
    cdef int64_t* models
    cdef int64_t* st = _coder(coder, &buf, &size, &models)
    _check(0 <= first <= last <= pl.by * pl.bx, "lo, hi must be a span of order")
    _check(0 <= bitplane < 63 and 0 <= ch <= 1 and 0 <= at, "p, chroma or start out of range")
    _check(0 <= g < _GEOMETRIES, "geometry out of range")
    with nogil:
        if encoding:
            done = _significance_pass(
                <Encoding*>NULL, &pl, &m, first, last, bitplane, ch, g, tracking, &t, st, buf,
                size, models, at,
            )
        else:
            done = _significance_pass(
                <Decoding*>NULL, &pl, &m, first, last, bitplane, ch, g, tracking, &t, st, buf,
                size, models, at,
            )
    return done


@cython.boundscheck(False)
@cython.wraparound(False)
def refinement_pass(plane, masks, p, chroma, geometry, track, truth, coder, enc, start):
    """Bit p of the AC counts non-zero before this slice, from block index ``start`` (the
    contexts read the tables of ``contexts.GEOMETRIES[geometry]``)."""
    cdef Plane pl = _plane(plane)
    cdef Masks m = _masks(masks, &pl)
    cdef int64_t bitplane = p, ch = chroma, at = start, size, done
    cdef int g = geometry
    cdef bint encoding = enc, tracking = track
    cdef Truth t = _truth(truth, &pl, bitplane, encoding)
    cdef uint8_t* buf
    cdef int64_t* models
    cdef int64_t* st = _coder(coder, &buf, &size, &models)
    _check(0 <= bitplane < 63 and 0 <= ch <= 1, "p or chroma out of range")
    _check(0 <= g < _GEOMETRIES, "geometry out of range")
    _check(0 <= at <= pl.by * pl.bx, "start must be a block index")
    if pl.by * pl.bx == 0:
        return 0
    with nogil:
        if encoding:
            done = _refinement_pass(
                <Encoding*>NULL, &pl, &m, bitplane, ch, g, tracking, &t, st, buf, size, models,
                at,
            )
        else:
            done = _refinement_pass(
                <Decoding*>NULL, &pl, &m, bitplane, ch, g, tracking, &t, st, buf, size, models,
                at,
            )
    return done
