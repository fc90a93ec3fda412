"""The coding passes of a time slice, compiled: the same kernel encodes and decodes.

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

The contexts are in :mod:`.contexts`; the order of the passes in :mod:`.slices`.

Every kernel takes the colour plane's state ``plane = (prefix, sign, level)`` (see
:class:`~spikecodec.entropy.slices.PlaneState`), the encoder's ``truth = (counts, extents)``
(the true signed counts and each block's ``eob`` at every bit-plane; dummies when decoding),
and last the coder ``(state, buffer, models)`` (:mod:`.rangecoder`), ``enc`` and the block to
start from. A kernel returns the number of blocks of the plane when it is done, the place to
resume from when the encoder's buffer is full (the caller grows it), or -1 once a decoder's
stream is cut; it then leaves the state as far as the stream reached. The AC ``level`` of each
coefficient coded is written only if ``track`` (a slice that may be cut); a whole slice sets
every level at its end.

Each block keeps, from slice to slice, 64-bit masks of its coefficients (``masks =
(significant, fresh, eob, order)``: the significant AC coefficients, those of them that became
significant in this slice, the extent, and the blocks in coding order): the passes visit only
the coefficients they code, lowest set bit first, and read neighbours' significance from the
masks.
"""

from __future__ import annotations

import numpy as np

from .._jit import inline, kernel, leading_zeros, popcount, trailing_zeros
from .contexts import (
    BAND,
    BITLEN,
    COARSE_BAND,
    DC_REFINEMENT_SPLITS,
    DC_SIGNIFICANCE_SPLITS,
    EOB_DISTANCE,
    FREQUENCY_MASK,
    NCOEF,
    PREDICTION_SHIFT,
    dc_context,
    dc_sign_context,
    extent_context,
    growth_context,
    refinement_context,
    significance_context,
    spread_class,
)
from .rangecoder import PENDING, POS, code_bit, load, store

__all__ = [
    "TOP_RANK",
    "dc_pass",
    "extents_in_time",
    "refinement_pass",
    "significance_pass",
    "slice_start",
]

TOP_RANK = 7
"""Block ranks: ``1 + bit_length(n)`` (2..7) for ``n`` significant AC coefficients, 1 for none
but a neighbour with some, 0 otherwise."""
_LEFT, _RIGHT, _TOP, _BOTTOM = range(4)
_FACING = (_RIGHT, _LEFT, _BOTTOM, _TOP)  # the side of the neighbour facing the block


@inline
def _value2(plane, i, j, k, p):
    """Twice the count of coefficient k known at instant T/2^p, in units of plane p: the
    midpoint ``(2*prefix + 1) * 2^(level - p)`` of its cell (0 if silent, whose sign is 0)."""
    prefix, sign, level = plane
    return np.int64(sign[i, j, k]) * ((2 * np.int64(prefix[i, j, k]) + 1) << (level[i, j, k] - p))


@inline
def _neighbour_masks(significant, i, j):
    """The significance masks of the blocks above, below, left and right of block (i, j)
    (0 off the plane); in a pass, the blocks above and to the left are already this slice's."""
    by, bx = significant.shape
    return (
        significant[i - 1, j] if i > 0 else np.int64(0),
        significant[i + 1, j] if i + 1 < by else np.int64(0),
        significant[i, j - 1] if j > 0 else np.int64(0),
        significant[i, j + 1] if j + 1 < bx else np.int64(0),
    )


@inline
def _bits_at(masks, k):
    """How many of 4 masks have bit k set."""
    return (
        ((masks[0] >> k) & 1)
        + ((masks[1] >> k) & 1)
        + ((masks[2] >> k) & 1)
        + ((masks[3] >> k) & 1)
    )


@inline
def _rank(significant, i, j):
    """A block's rank before a slice (see :data:`TOP_RANK`)."""
    n = popcount(significant[i, j])
    if n:
        return min(1 + 64 - leading_zeros(n), TOP_RANK)
    around = _neighbour_masks(significant, i, j)
    return np.int64((around[0] | around[1] | around[2] | around[3]) != 0)


@inline
def _order_by_rank(rank, order, first):
    """``order``: the blocks by rank, highest first, raster order within a rank (a counting
    sort), packed ``i << 32 | j``; ``order[first[r]:first[r + 1]]`` (``first[r - 1]`` for
    ``r < TOP_RANK``) are those of rank ``r``."""
    by, bx = rank.shape
    for r in range(TOP_RANK + 1):
        first[r] = 0
    for i in range(by):
        for j in range(bx):
            first[rank[i, j]] += 1  # for now, how many blocks have rank r
    top = 0
    for r in range(TOP_RANK, -1, -1):  # where the blocks of rank r start
        n = first[r]
        first[r] = top
        top += n
    for i in range(by):
        for j in range(bx):
            r = rank[i, j]
            order[first[r]] = (np.int64(i) << 32) | j
            first[r] += 1
    top = 0
    for r in range(TOP_RANK, -1, -1):  # back to the starts
        n = first[r] - top
        first[r] = top
        top += n


@kernel
def slice_start(plane, edges, edge_mask, significant, p, sides, rank, order, first):
    """Before a slice's passes: each block's AC boundary sums ``sum_k value_k * E[k, side]``
    over its significant AC coefficients ``k`` in ``edge_mask`` (those with a non-zero weight
    ``E``, :func:`~.contexts.edge_weights`: the first row and column) into ``sides``, its rank
    into ``rank``, and the blocks in ``order`` of rank (:func:`_order_by_rank`)."""
    by, bx = significant.shape
    for i in range(by):
        for j in range(bx):
            s0 = s1 = s2 = s3 = np.int64(0)
            m = significant[i, j] & edge_mask
            while m:
                k = trailing_zeros(m)
                m &= m - 1
                v = _value2(plane, i, j, k, p)
                s0 += v * edges[k, 0]
                s1 += v * edges[k, 1]
                s2 += v * edges[k, 2]
                s3 += v * edges[k, 3]
            sides[i, j, 0], sides[i, j, 1], sides[i, j, 2], sides[i, j, 3] = s0, s1, s2, s3
            rank[i, j] = _rank(significant, i, j)
    _order_by_rank(rank, order, first)


@inline
def _room(s, buf, enc):
    """Whether the encoder's buffer has room for a block's worst case (``s``: coder state)."""
    return not enc or s[POS] + s[PENDING] + 1024 <= buf.size


@inline
def _dc_prediction(plane, sides, edge_dc, i, j, p):
    """The DC prediction of block (i, j) from its neighbours' boundaries, as ``(q, unit,
    spread)``: the sum over the neighbours of (its facing side sum + its DC's) - (the block's
    own side), the count unit of that sum (``2**PREDICTION_SHIFT`` per neighbour), and how far
    the neighbours' estimates lie apart (:func:`~.contexts.spread_class`)."""
    by, bx = sides.shape[:2]
    q = np.int64(0)
    cnt = 0
    lo = np.int64(1) << 62
    hi = -lo
    for n in range(4):
        y, x = i + (n == 3) - (n == 2), j + (n == 1) - (n == 0)  # left, right, top, bottom
        if 0 <= y < by and 0 <= x < bx:
            t = sides[y, x, _FACING[n]] + _value2(plane, y, x, 0, p) * edge_dc - sides[i, j, n]
            q += t
            lo, hi = min(lo, t), max(hi, t)
            cnt += 1
    return q, np.int64(max(cnt, 1)) << PREDICTION_SHIFT, spread_class(cnt, hi - lo)


@kernel
def dc_pass(plane, sides, edge_dc, p, phase, chroma, truth, coder, enc, start):
    """Bit p of the DC counts of the blocks with ``(i + j) % 2 == phase``, from block index
    ``start``: its context is where the prediction (:func:`_dc_prediction`) falls against the
    decision point, so the second half is predicted from neighbours already known at ``T/2^p``.
    """
    prefix, sign, level = plane
    counts = truth[0]
    st, buf, models = coder
    s = load(st)
    by, bx = prefix.shape[:2]
    i0, j0 = divmod(start, bx)
    for i in range(i0, by):
        j = j0 if i == i0 else 0
        j += (i + j + phase) % 2  # the first block of the phase from there
        while j < bx:
            if not _room(s, buf, enc):
                store(st, s)
                return i * bx + j
            q, unit, spread = _dc_prediction(plane, sides, edge_dc, i, j, p)
            u = np.int64(prefix[i, j, 0])
            if u == 0:
                x4 = 4 * abs(q) - 4 * unit
                splits = DC_SIGNIFICANCE_SPLITS
            else:
                x4 = 4 * sign[i, j, 0] * q - 4 * (2 * u + 1) * unit
                splits = DC_REFINEMENT_SPLITS
            cls = 0
            for split in splits:
                cls += split * unit < x4
            ctx = dc_context(min(u, 2), cls, spread, phase, chroma)
            truth_bit = (abs(counts[i, j, 0]) >> p) & 1 if enc else 0
            bit, s = code_bit(s, buf, models, ctx, truth_bit, enc)
            if bit < 0:
                store(st, s)
                return -1
            if u == 0 and bit:
                ctx = dc_sign_context((-unit < 4 * q) + (unit < 4 * q), phase, chroma)
                negative, s = code_bit(s, buf, models, ctx, counts[i, j, 0] < 0 if enc else 0, enc)
                if negative < 0:
                    store(st, s)
                    return -1
                sign[i, j, 0] = -1 if negative else 1
            prefix[i, j, 0] = 2 * u + bit
            level[i, j, 0] = p
            j += 2
    store(st, s)
    return by * bx


@kernel
def extents_in_time(counts, out):
    """``out[i, j, p]``: block (i, j)'s ``eob`` at instant ``T/2^p`` (the encoder's truth)."""
    by, bx = counts.shape[:2]
    for i in range(by):
        for j in range(bx):
            for q in range(out.shape[2]):
                out[i, j, q] = 0
            for k in range(1, NCOEF):
                v = abs(counts[i, j, k])
                q = 0
                while v:
                    out[i, j, q] = k + 1
                    v >>= 1
                    q += 1


@inline
def _neighbour_extent(eob, i, j):
    """Mean ``eob`` of the (up to 4) neighbouring blocks, rounded half up."""
    by, bx = eob.shape
    total = 0
    cnt = 0
    for y, x in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
        if 0 <= y < by and 0 <= x < bx:
            total += eob[y, x]
            cnt += 1
    if cnt == 4:  # inside the plane: no division
        return (total + 2) >> 2
    return (2 * total + cnt) // (2 * cnt) if cnt else 0


@inline
def _fire(plane, i, j, k, counts, s, buf, models, enc):
    """Coefficient k starts firing: its ON/OFF sign (1 bit at probability 1/2). Returns
    ``(False, s)`` once the stream is cut."""
    prefix, sign, _ = plane
    negative, s = code_bit(s, buf, models, -1, counts[i, j, k] < 0 if enc else 0, enc)
    if negative < 0:
        return False, s
    sign[i, j, k] = -1 if negative else 1
    prefix[i, j, k] = 1
    return True, s


@inline
def _grow_extent(plane, masks, i, j, p, chroma, track, truth, s, buf, models, enc):
    """Whether block (i, j)'s ``eob`` grows, to what, and the new last coefficient's sign.
    Returns ``(new eob, s)``, ``(-1, s)`` once the stream is cut."""
    level = plane[2]
    significant, fresh, eob, _ = masks
    counts, extents = truth
    old = eob[i, j]
    guess = _neighbour_extent(eob, i, j)  # what the neighbours suggest
    target = extents[i, j, p] if enc else 0
    ctx = growth_context(BITLEN[old], BITLEN[guess], chroma)
    grows, s = code_bit(s, buf, models, ctx, target > old, enc)
    if grows < 0:
        return -1, s
    new = old
    if grows:
        lowest = max(old, 1)  # new - 1 >= lowest
        node = 1
        a = 0
        for bit_pos in range(5, -1, -1):
            mid = a + (1 << bit_pos)
            if mid <= lowest:
                bit = 1
            else:
                rel = min(max((guess - 1 - mid) >> max(bit_pos - 1, 0), -2), 2) + 2
                ctx = extent_context(BITLEN[old], chroma, node, rel)
                bit, s = code_bit(s, buf, models, ctx, (target - 1) >= mid, enc)
                if bit < 0:
                    return -1, s
            node = 2 * node + bit
            if bit:
                a = mid
        new = a + 1
        # the new last coefficient fires by definition: its sign, before the others
        ok, s = _fire(plane, i, j, a, counts, s, buf, models, enc)
        if not ok:
            return -1, s
        significant[i, j] |= np.int64(1) << a
        fresh[i, j] |= np.int64(1) << a
        if track:
            level[i, j, a] = p
    if track:
        for k in range(max(new, 1), NCOEF):  # past eob: known silent
            level[i, j, k] = p
    eob[i, j] = new
    return new, s


@inline
def _fire_before_extent(plane, masks, i, j, new, p, chroma, track, counts, s, buf, models, enc):
    """Significance and sign of the AC coefficients of block (i, j) before ``new`` (its
    ``eob``) that were silent before this slice. Returns ``(False, s)`` once the stream is
    cut."""
    prefix, _, level = plane
    significant, fresh, _, _ = masks
    before = significant[i, j]
    fired = np.int64(0)
    known = before | np.int64(prefix[i, j, 0] > 0)  # significant now, DC included
    around = _neighbour_masks(significant, i, j)
    silent = np.int64(0)
    if new:
        silent = ~before & (((np.int64(1) << (new - 1)) << 1) - 2)
    while silent:
        k = trailing_zeros(silent)
        silent &= silent - 1
        inside = min(popcount(known & FREQUENCY_MASK[k]), 2)
        ctx = significance_context(
            BAND[k] - 1, inside, min(_bits_at(around, k), 2), EOB_DISTANCE[new - 1 - k], chroma
        )
        fires, s = code_bit(s, buf, models, ctx, (abs(counts[i, j, k]) >> p) > 0 if enc else 0, enc)
        if fires < 0:
            return False, s
        if fires:
            ok, s = _fire(plane, i, j, k, counts, s, buf, models, enc)
            if not ok:
                return False, s
            fired |= np.int64(1) << k
            known |= np.int64(1) << k
        if track:
            level[i, j, k] = p
    significant[i, j] = before | fired
    fresh[i, j] |= fired
    return True, s


@kernel
def significance_pass(plane, masks, lo, hi, p, chroma, track, truth, coder, enc, start):
    """Extent growth (:func:`_grow_extent`), then the coefficients before the extent
    (:func:`_fire_before_extent`), of the blocks ``order[lo:hi]`` from ``lo + start``; it
    resumes at the offset from ``lo`` it returns when the encoder's buffer is full."""
    order = masks[3]
    st, buf, models = coder
    s = load(st)
    by, bx = plane[0].shape[:2]
    for t in range(lo + start, hi):
        i, j = order[t] >> 32, order[t] & 0xFFFFFFFF
        if not _room(s, buf, enc):
            store(st, s)
            return t - lo
        new, s = _grow_extent(plane, masks, i, j, p, chroma, track, truth, s, buf, models, enc)
        if new < 0:
            store(st, s)
            return -1
        counts = truth[0]
        ok, s = _fire_before_extent(
            plane, masks, i, j, new, p, chroma, track, counts, s, buf, models, enc
        )
        if not ok:
            store(st, s)
            return -1
    store(st, s)
    return by * bx


@kernel
def refinement_pass(plane, masks, p, chroma, track, truth, coder, enc, start):
    """Bit p of the AC counts non-zero before this slice, from block index ``start``."""
    prefix, _, level = plane
    significant, fresh, _, _ = masks
    counts = truth[0]
    st, buf, models = coder
    s = load(st)
    by, bx = prefix.shape[:2]
    i, j = divmod(start, bx)
    for b in range(start, by * bx):  # block (i, j), without a division per block
        if not _room(s, buf, enc):
            store(st, s)
            return b
        m = significant[i, j] & ~fresh[i, j]
        known = significant[i, j] | np.int64(prefix[i, j, 0] > 0)
        around = _neighbour_masks(significant, i, j)
        while m:
            k = trailing_zeros(m)
            m &= m - 1
            u = prefix[i, j, k]
            inside = min(popcount(known & FREQUENCY_MASK[k]), 3)
            around_k = min(_bits_at(around, k), 2)
            ctx = refinement_context(COARSE_BAND[k], u == 1, inside, around_k, chroma)
            bit, s = code_bit(
                s, buf, models, ctx, (abs(counts[i, j, k]) >> p) & 1 if enc else 0, enc
            )
            if bit < 0:
                store(st, s)
                return -1
            prefix[i, j, k] = 2 * u + bit
            if track:
                level[i, j, k] = p
        j += 1
        if j == bx:
            i, j = i + 1, 0
    store(st, s)
    return by * bx
