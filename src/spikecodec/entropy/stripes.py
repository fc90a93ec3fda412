"""Stripes: the independent sub-streams of a time slice, which several cores code at once.

A stream of ``n`` stripes (:attr:`~spikecodec.params.Header.stripes`) cuts every colour plane's
block rows into ``n`` bands (:func:`~spikecodec.params.stripe_rows`: stripe ``k`` of a plane of
``by`` block rows starts at row ``floor(k * by / n)``) and codes each stripe as :mod:`.slices`
codes a whole image: the stripe's rows of every colour plane, with its own models (fresh at the
first slice, carried from slice to slice), its own ranks and passes, and the blocks outside it
off the plane (as JPEG 2000 codes its code-blocks and JPEG XL its groups). An RGB stream may
also code its luma and its chroma planes apart (:attr:`~spikecodec.params.Header.split`): every
context is the luma's or the chroma's, so their bits and models are those of the planes coded
together, and only the two streams' ends cost bytes. Slice ``s`` of the stream is the sub-streams'
slices ``s`` one after the other (:func:`substreams`; the container indexes them:
:func:`~spikecodec.format.container.join_stripes`). The sub-streams share nothing while a slice
is coded, so each runs in its own thread (the passes release the GIL) and the bytes are the
same whatever the number of threads; a stream cut inside a slice holds the sub-streams before
the cut one bit-plane further than those after it.

What stripes cost in rate: each stripe's models learn each slice's statistics afresh
(docs/design.md, stripes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from ..params import stripe_rows
from .slices import Layout, PlaneState, decode_into, encode_slices

__all__ = ["decode_stripes", "encode_stripes", "iter_decode_stripes", "substreams"]


Part = list[tuple[int, int, int]]
"""A sub-stream's share of the planes: ``(plane, first block row, stop)`` of each plane it
codes."""


def substreams(rows: Sequence[int], stripes: int, split: bool) -> list[Part]:
    """The sub-streams of a slice, in their order in it: each stripe's rows of every plane (of
    ``rows`` block rows each) or, with ``split`` (luma and chroma apart), first each stripe's
    rows of the luma, then each stripe's rows of the chroma planes."""
    bounds = list(zip(*(stripe_rows(n, stripes) for n in rows)))  # per stripe, per plane
    planes = list(range(len(rows)))
    groups = [planes[:1], planes[1:]] if split else [planes]
    return [[(c, *bounds[k][c]) for c in group] for group in groups for k in range(stripes)]


def _pool(threads: int, jobs: int) -> ThreadPoolExecutor | None:
    """Up to ``threads`` threads for ``jobs`` jobs, or None where one thread does."""
    workers = min(threads, jobs)
    return ThreadPoolExecutor(workers) if workers > 1 else None


def _map(fn: Callable, items: list, threads: int) -> list:
    """``[fn(item) for item in items]``, on up to ``threads`` threads."""
    pool = _pool(threads, len(items))
    if pool is None:
        return [fn(item) for item in items]
    with pool:
        return list(pool.map(fn, items))


def encode_stripes(
    counts: list[np.ndarray],
    layouts: list[Layout],
    slices: int,
    stripes: int,
    split: bool = False,
    threads: int = 1,
) -> list[list[bytes]]:
    """Code signed counts (one ``(blocks_y, blocks_x, 64)`` array per colour plane) in time,
    in ``stripes`` stripes (with ``split``, luma and chroma apart) on up to ``threads``
    threads: per slice (the earliest instant first), the payload of each sub-stream
    (:func:`substreams`)."""

    def code(part: Part) -> list[bytes]:
        rows = [counts[c][start:stop] for c, start, stop in part]
        shaped = [
            replace(layouts[c], blocks=(stop - start, layouts[c].blocks[1]))
            for c, start, stop in part
        ]
        return encode_slices(rows, shaped, slices)

    parts = substreams([layout.blocks[0] for layout in layouts], stripes, split)
    return [list(payloads) for payloads in zip(*_map(code, parts, threads))]


def _decoders(
    layouts: list[Layout], slices: int, payloads: list[tuple[list[bytes], bytes]], split: bool
) -> tuple[list[PlaneState], list[Iterator[int]]]:
    """The planes' empty states and, per sub-stream, its decoder into its views of them."""
    states = [PlaneState.empty(layout, slices) for layout in layouts]
    stripes = len(payloads) // (1 + split)
    parts = substreams([layout.blocks[0] for layout in layouts], stripes, split)
    decoders = [
        decode_into([states[c].rows(start, stop) for c, start, stop in part], slices, *p)
        for part, p in zip(parts, payloads, strict=True)
    ]
    return states, decoders


def iter_decode_stripes(
    layouts: list[Layout],
    slices: int,
    payloads: list[tuple[list[bytes], bytes]],
    split: bool = False,
    threads: int = 1,
) -> Iterator[list[PlaneState]]:
    """Decode a stream's sub-streams slice by slice, on up to ``threads`` threads:
    ``payloads`` holds per sub-stream (:func:`substreams`, ``split`` as the stream's) its
    whole slices and the bytes of the one cut short (maybe empty,
    :func:`~spikecodec.format.container.stripe_payloads`). Yields the states after each
    slice that some sub-stream reached: one :class:`PlaneState` per colour plane (updated in
    place), each count known at the latest instant reached for it."""
    states, decoders = _decoders(layouts, slices, payloads, split)
    pool = _pool(threads, len(decoders))
    try:
        while decoders:
            done = list((pool.map if pool else map)(_advance, decoders))
            decoders = [d for d, s in zip(decoders, done) if s is not None]
            if decoders:
                yield states
    finally:
        if pool is not None:
            pool.shutdown()


def _advance(decoder: Iterator[int]) -> int | None:
    """One more slice of a sub-stream's decoder: its index, or None once it is done."""
    return next(decoder, None)


def decode_stripes(
    layouts: list[Layout],
    slices: int,
    payloads: list[tuple[list[bytes], bytes]],
    split: bool = False,
    threads: int = 1,
) -> list[PlaneState]:
    """The states after decoding every slice present (see :func:`iter_decode_stripes`); each
    sub-stream runs through its slices without waiting for the others."""
    states, decoders = _decoders(layouts, slices, payloads, split)
    _map(_run, decoders, threads)
    return states


def _run(decoder: Iterator[int]) -> None:
    """A sub-stream's decoder through every slice it has."""
    for _ in decoder:
        pass
