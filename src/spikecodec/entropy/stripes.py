"""Stripes: the independent sub-streams of a time slice, which several cores code at once.

A stream of ``n`` stripes (:attr:`~spikecodec.params.Header.stripes`) cuts every colour plane's
block rows into ``n`` bands (:func:`~spikecodec.params.stripe_rows`: stripe ``k`` of a plane of
``by`` block rows starts at row ``floor(k * by / n)``) and codes each stripe as :mod:`.slices`
codes a whole image: the stripe's rows of every colour plane, with its own models (fresh at the
first slice, carried from slice to slice), its own ranks and passes, and the blocks outside it
off the plane (as JPEG 2000 codes its code-blocks and JPEG XL its groups). Slice ``s`` of the
stream is the ``n`` stripes' slices ``s`` one after the other (the container indexes them:
:func:`~spikecodec.format.container.join_stripes`). The stripes share nothing while a slice is
coded, so each runs in its own thread (the passes release the GIL) and the bytes are the same
whatever the number of threads; a stream cut inside a slice holds the stripes before the cut
one bit-plane further than those after it.

What the independence costs in rate: each stripe's models learn afresh and its first and last
rows lose their neighbours across the stripe's edge (docs/design.md, stripes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from ..params import stripe_rows
from .slices import Layout, PlaneState, decode_into, encode_slices

__all__ = ["decode_stripes", "encode_stripes", "iter_decode_stripes"]


def _bounds(rows: Sequence[int], stripes: int) -> list[list[tuple[int, int]]]:
    """Per stripe, the block rows ``[start, stop)`` it holds of each colour plane (of
    ``rows`` block rows each)."""
    return [list(plane) for plane in zip(*(stripe_rows(n, stripes) for n in rows))]


def _map(fn: Callable, items: list, threads: int) -> list:
    """``[fn(item) for item in items]``, on up to ``threads`` threads."""
    if threads <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(fn, items))


def encode_stripes(
    counts: list[np.ndarray], layouts: list[Layout], slices: int, stripes: int, threads: int = 1
) -> list[list[bytes]]:
    """Code signed counts (one ``(blocks_y, blocks_x, 64)`` array per colour plane) in time,
    in ``stripes`` stripes on up to ``threads`` threads: per slice (the earliest instant
    first), the payload of each stripe."""

    def stripe(rows: list[tuple[int, int]]) -> list[bytes]:
        parts = [c[start:stop] for c, (start, stop) in zip(counts, rows)]
        shaped = [
            replace(layout, blocks=(stop - start, layout.blocks[1]))
            for layout, (start, stop) in zip(layouts, rows)
        ]
        return encode_slices(parts, shaped, slices)

    bounds = _bounds([layout.blocks[0] for layout in layouts], stripes)
    per_stripe = _map(stripe, bounds, threads)
    return [list(payloads) for payloads in zip(*per_stripe)]


def _views(states: list[PlaneState], stripes: int) -> list[list[PlaneState]]:
    """Per stripe, the views of ``states`` (one per colour plane) it decodes into."""
    bounds = _bounds([st.prefix.shape[0] for st in states], stripes)
    return [[st.rows(start, stop) for st, (start, stop) in zip(states, rows)] for rows in bounds]


def iter_decode_stripes(
    layouts: list[Layout],
    slices: int,
    payloads: list[tuple[list[bytes], bytes]],
    threads: int = 1,
) -> Iterator[list[PlaneState]]:
    """Decode a stream's stripes slice by slice, on up to ``threads`` threads: ``payloads``
    holds per stripe its whole slices' sub-streams and the bytes of the one cut short (maybe
    empty, :func:`~spikecodec.format.container.stripe_payloads`). Yields the states after each
    slice that some stripe reached: one :class:`PlaneState` per colour plane (updated in
    place), each count known at the latest instant reached for it."""
    states = [PlaneState.empty(layout, slices) for layout in layouts]
    decoders = [
        decode_into(views, slices, *p)
        for views, p in zip(_views(states, len(payloads)), payloads, strict=True)
    ]
    pool = ThreadPoolExecutor(min(threads, len(decoders))) if threads > 1 < len(decoders) else None
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
    """One more slice of a stripe's decoder: its index, or None once the stripe is done."""
    return next(decoder, None)


def decode_stripes(
    layouts: list[Layout],
    slices: int,
    payloads: list[tuple[list[bytes], bytes]],
    threads: int = 1,
) -> list[PlaneState]:
    """The states after decoding every slice present (see :func:`iter_decode_stripes`); each
    stripe runs through its slices without waiting for the others."""
    states = [PlaneState.empty(layout, slices) for layout in layouts]

    def stripe(job) -> None:
        views, (chunks, partial) = job
        for _ in decode_into(views, slices, chunks, partial):
            pass

    _map(stripe, list(zip(_views(states, len(payloads)), payloads, strict=True)), threads)
    return states
