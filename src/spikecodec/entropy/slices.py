"""Spike counts coded in time: one range-coded slice per bit-plane, the passes in the order of
what their bits are worth.

The count at the dyadic instant ``T/2^p`` is ``N_T >> p`` (NOTES, "Time is a bit-plane"), so
slice ``s`` of ``S`` carries bit-plane ``p = S-1-s`` of every count: listening from
``T/2^(p+1)`` to ``T/2^p`` reveals one more bit of each. A slice is one stream of the binary
range coder (:mod:`.rangecoder`), through the passes of :mod:`.passes` over every colour plane,
in this order (:data:`STEPS`), which is what a stream cut inside the slice keeps (JPEG 2000's
fractional bit-planes, by block):

1. ``active``: the significance of the blocks that had significant AC coefficients before the
   slice, ranked by how many (32 or more first, then 16-31, ..., then one: the likeliest to
   gain more);
2. ``refinement`` of the counts already non-zero;
3. ``dc``: the DC bits;
4. ``near``, then ``rest``: the significance of the blocks without any significant AC
   coefficient, those next to a block with some first.

The ranks are known to the decoder; within a rank, and in the DC pass, raster order. Every
context depends only on what the decoder holds before the bit, including the blocks above and
to the left already coded in this slice; each adapts after every bit. A stream cut anywhere
decodes exactly up to its last whole coefficient: a decoder stopping inside a slice knows some
counts one bit better than others (:attr:`PlaneState.level`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .contexts import CONTEXTS, NCOEF, bit_mask, edge_weights
from .passes import (
    TOP_RANK,
    dc_pass,
    extents_in_time,
    refinement_pass,
    significance_pass,
    slice_start,
)
from .rangecoder import PENDING, POS, finish, new_models, new_state, start_decoding

__all__ = [
    "STEPS",
    "Layout",
    "PlaneState",
    "decode_into",
    "encode_slices",
    "number_of_slices",
]

STEPS = ("active", "refinement", "dc", "near", "rest")
"""The order of a slice's passes (see the module docstring)."""


@dataclass(frozen=True)
class Layout:
    """A colour plane as the coder sees it: its blocks, whether it is chroma, the relative
    quantization steps of its 64 bands (zigzag order), used only to shape contexts, and what a
    block's coefficients are: ``geometry`` indexes :data:`~.contexts.GEOMETRIES` (0 an 8x8
    DCT's frequencies, 1 a wavelet block's bands)."""

    blocks: tuple[int, int]
    chroma: bool
    weights: np.ndarray
    geometry: int = 0


@dataclass
class PlaneState:
    """What is known of one colour plane's counts: ``|N| >> level`` and the sign.

    ``prefix`` (int32) and ``sign`` (int8) have shape ``(blocks_y, blocks_x, 64)`` (zigzag
    order); ``level`` (int8) is the bit-plane each prefix refers to (an array of the same
    shape, since a decoder that stops inside a slice knows some counts one bit better than
    others): the count of each neuron at the instant ``T / 2**level`` is ``sign * prefix``.
    """

    prefix: np.ndarray
    sign: np.ndarray
    level: np.ndarray
    chroma: bool
    weights: np.ndarray
    geometry: int = 0

    @classmethod
    def empty(cls, layout: Layout, level: int) -> PlaneState:
        """Nothing known yet: every count 0 at the instant ``T / 2**level``."""
        shape = (*layout.blocks, NCOEF)
        return cls(
            np.zeros(shape, np.int32),
            np.zeros(shape, np.int8),
            np.full(shape, level, np.int8),
            layout.chroma,
            np.asarray(layout.weights, dtype=np.float64),
            layout.geometry,
        )

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(prefix, sign, level)``, as the pass kernels take a plane."""
        return self.prefix, self.sign, self.level

    def counts(self) -> np.ndarray:
        """The signed counts, each at its own instant ``T / 2**level``."""
        return self.sign.astype(np.int64) * self.prefix

    def rows(self, start: int, stop: int) -> PlaneState:
        """The state of block rows ``start:stop``, a view: decoding into it fills this one."""
        view = (a[start:stop] for a in self.arrays)
        return PlaneState(*view, self.chroma, self.weights, self.geometry)


def number_of_slices(counts: list[np.ndarray]) -> int:
    """Bit-planes needed for the largest count magnitude (at least 1; read off each array's
    least and largest count, without a copy)."""
    top = max(max(-int(np.min(c, initial=0)), int(np.max(c, initial=0))) for c in counts)
    return max(top.bit_length(), 1)


class _Slice:
    """One time slice being coded: the coder state, its byte buffer and the models. The
    encoder's buffer grows when a kernel stops for room; the decoder reads the slice's bytes."""

    def __init__(self, models, enc: bool, data: bytes = b"", complete: bool = True, size: int = 0):
        self.models, self.enc, self.st = models, enc, new_state()
        if enc:
            self.buf = np.empty(max(size, 4096), np.uint8)
        else:
            self.buf = np.frombuffer(data, np.uint8).copy()  # one kernel type for both sides
            start_decoding(self.st, self.buf, complete)
        self.track = not (enc or complete)  # only a partial slice can be cut
        self.exhausted = False  # the decoder ran out of bytes: the stream is cut here

    def run(self, kernel, plane: tuple, *args) -> bool:
        """Run a pass kernel on a plane's arrays and ``args`` to its end; False once the
        stream is cut."""
        done = plane[0].shape[0] * plane[0].shape[1]
        start = 0
        while not self.exhausted:
            start = kernel(plane, *args, (self.st, self.buf, self.models), self.enc, start)
            if start == done:
                return True
            if start < 0:
                self.exhausted = True
            else:
                self.buf = np.concatenate([self.buf, np.empty_like(self.buf)])
        return False

    def payload(self) -> bytes:
        """The encoder's bytes of the slice (flushed)."""
        need = int(self.st[POS] + self.st[PENDING] + 16)
        if need > self.buf.size:
            self.buf = np.concatenate([self.buf, np.empty(need, np.uint8)])
        return self.buf[: finish(self.st, self.buf, self.models)].tobytes()


_NO_TRUTH = (np.zeros((1, 1, 1), np.int32), np.zeros((1, 1, 1), np.int8))


class _Blocks:
    """What the passes keep of a colour plane's blocks from slice to slice: the masks
    (``significant``, ``fresh``, ``eob``, ``order``: see :mod:`.passes`), the ranks, where each
    rank starts in ``order``, and the boundary sums of the DC prediction."""

    def __init__(self, state: PlaneState):
        shape = state.prefix.shape[:2]
        self.significant = np.zeros(shape, np.int64)
        self.fresh = np.zeros(shape, np.int64)
        self.eob = np.zeros(shape, np.int64)
        self.rank = np.zeros(shape, np.int64)
        self.order = np.zeros(shape[0] * shape[1], np.int64)
        self.first = np.zeros(TOP_RANK + 2, np.int64)
        self.sides = np.empty((*shape, 4), np.int64)
        self.edges = edge_weights(tuple(state.weights))
        self.edge_mask = bit_mask(np.flatnonzero(np.any(self.edges[1:] != 0, axis=1)) + 1)

    @property
    def masks(self):
        """``(significant, fresh, eob, order)``, as the pass kernels take them."""
        return self.significant, self.fresh, self.eob, self.order

    def span(self, step: str) -> tuple[int, int]:
        """Where in ``order`` the blocks of a significance step are (see :data:`STEPS`)."""
        near, rest = self.first[1], self.first[0]  # ranks >= 2 come before
        return {"active": (0, near), "near": (near, rest), "rest": (rest, self.order.size)}[step]


def _code_slice(
    sl: _Slice, states: list[PlaneState], blocks: list[_Blocks], p: int, truths=None
) -> None:
    """Code bit-plane ``p`` of every colour plane and update ``states`` to the instant T/2^p
    (as far as the stream reaches). The same procedure runs on both sides: the encoder is
    given each plane's ``(counts, extents)`` (:func:`~.passes.extents_in_time`); ``states``
    then hold what a decoder knows."""
    truths = truths if truths is not None else [_NO_TRUTH] * len(states)
    for st, b in zip(states, blocks):  # the AC part, which the DC pass does not change
        b.fresh.fill(0)
        args = (b.edges, b.edge_mask, b.significant, p, b.sides, b.rank, b.order, b.first)
        slice_start(st.arrays, *args)
    for step in STEPS:
        for st, b, truth in zip(states, blocks, truths):
            chroma, geometry = int(st.chroma), st.geometry
            if step == "refinement":
                args = (b.masks, p, chroma, geometry, sl.track, truth)
                if not sl.run(refinement_pass, st.arrays, *args):
                    return
            elif step == "dc":
                for phase in (0, 1):
                    args = (b.sides, b.edges[0, 0], p, phase, chroma, truth)
                    if not sl.run(dc_pass, st.arrays, *args):
                        return
            else:
                lo, hi = b.span(step)
                args = (b.masks, lo, hi, p, chroma, geometry, sl.track, truth)
                if not sl.run(significance_pass, st.arrays, *args):
                    return
    for st in states:
        st.level.fill(p)


def encode_slices(counts: list[np.ndarray], layouts: list[Layout], slices: int) -> list[bytes]:
    """Code signed counts (one ``(blocks_y, blocks_x, 64)`` array per colour plane) in time.

    Returns ``slices`` payloads, the earliest instant (most significant bit) first.
    """
    models = new_models(CONTEXTS)
    if number_of_slices(counts) > 31:  # the passes take int32 counts
        raise ValueError("counts of 2**31 or more are beyond a stream's 31 bit-planes")
    counts = [np.ascontiguousarray(c, dtype=np.int32) for c in counts]  # as the passes take them
    truths = []
    for c in counts:
        extents = np.empty((*c.shape[:2], slices), np.int8)
        extents_in_time(c, extents)
        truths.append((c, extents))
    states = [PlaneState.empty(layout, slices) for layout in layouts]
    blocks = [_Blocks(st) for st in states]
    size = sum(c.size for c in counts) // 8
    payloads = []
    for p in range(slices - 1, -1, -1):
        sl = _Slice(models, True, size=size)
        _code_slice(sl, states, blocks, p, truths)
        payloads.append(sl.payload())
    return payloads


def decode_into(
    states: list[PlaneState], slices: int, chunks: list[bytes], partial: bytes = b""
) -> Iterator[int]:
    """Decode the slices present (the last maybe partial) into ``states``, one per colour
    plane, empty at ``T / 2**slices`` (:meth:`PlaneState.empty`), yielding the index of each
    slice once it is done."""
    models = new_models(CONTEXTS)
    blocks = [_Blocks(st) for st in states]
    payloads = [(c, True) for c in chunks[:slices]] + ([(partial, False)] if partial else [])
    for s, (payload, complete) in enumerate(payloads[:slices]):
        sl = _Slice(models, False, payload, complete)
        _code_slice(sl, states, blocks, slices - 1 - s)
        yield s
        if sl.exhausted:
            return
