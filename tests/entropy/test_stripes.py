"""Stripes: a stream's counts coded in independent bands of block rows. Any counts round-trip
whatever the stripes and threads; each stripe's sub-streams are those of its rows coded as an
image of their own; a stream cut inside a slice leaves each stripe at a prefix of its bits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikecodec.entropy import (
    decode_stripes,
    encode_slices,
    encode_stripes,
    iter_decode_stripes,
    number_of_slices,
)
from spikecodec.entropy.stripes import substreams
from spikecodec.params import stripe_rows

from .test_slices import layouts_of, random_counts


def test_stripe_rows_cut_every_plane_into_whole_bands():
    assert stripe_rows(8, 3) == [(0, 2), (2, 5), (5, 8)]
    assert stripe_rows(4, 3) == [(0, 1), (1, 2), (2, 4)]
    assert stripe_rows(5, 1) == [(0, 5)]
    for rows in range(1, 40):
        for n in range(1, rows + 1):
            bands = stripe_rows(rows, n)
            assert bands[0][0] == 0 and bands[-1][1] == rows
            assert all(a < b for a, b in bands) and all(
                bands[k][1] == bands[k + 1][0] for k in range(n - 1)
            )


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 9),
    columns=st.integers(1, 6),
    top=st.sampled_from([1, 40, 2**20]),
    planes=st.integers(1, 3),
    data=st.data(),
)
def test_any_counts_round_trip_in_any_stripes_on_any_threads(
    seed, rows, columns, top, planes, data
):
    shapes = [(rows, columns)] + [((rows + 1) // 2, columns)] * (planes - 1)  # 4:2:0-like rows
    counts = [random_counts(seed + p, shape, top, 0.5) for p, shape in enumerate(shapes)]
    layouts = layouts_of(counts)
    n = data.draw(st.integers(1, min(s[0] for s in shapes)), label="stripes")
    split = planes > 1 and data.draw(st.booleans(), label="split")
    subs = n * (1 + split)
    slices = number_of_slices(counts)
    parts = encode_stripes(counts, layouts, slices, n, split, threads=1)
    assert len(parts) == slices and all(len(p) == subs for p in parts)
    assert encode_stripes(counts, layouts, slices, n, split, threads=3) == parts
    payloads = [([p[k] for p in parts], b"") for k in range(subs)]
    for threads in (1, 2):
        states = decode_stripes(layouts, slices, payloads, split, threads=threads)
        for state, expected in zip(states, counts, strict=True):
            np.testing.assert_array_equal(state.counts(), expected)
            assert np.all(state.level == 0)


def test_each_stripe_is_its_rows_coded_as_an_image_of_their_own():
    counts = [random_counts(1, (7, 5), 50, 0.6), random_counts(2, (4, 5), 20, 0.5)]
    layouts = layouts_of(counts)
    slices = number_of_slices(counts)
    parts = encode_stripes(counts, layouts, slices, 3)
    for k, (luma, chroma) in enumerate(zip(stripe_rows(7, 3), stripe_rows(4, 3))):
        rows = [counts[0][slice(*luma)], counts[1][slice(*chroma)]]
        alone = [replace(lay, blocks=r.shape[:2]) for lay, r in zip(layouts, rows)]
        assert encode_slices(rows, alone, slices) == [p[k] for p in parts]
    assert encode_stripes(counts, layouts, slices, 1) == [
        [p] for p in encode_slices(counts, layouts, slices)
    ]


@pytest.mark.parametrize("threads", [1, 2])
def test_a_stripe_cut_short_leaves_the_others_whole(threads):
    counts = [random_counts(3, (6, 4), 80, 0.7)]
    layouts = layouts_of(counts)
    slices = number_of_slices(counts)
    parts = encode_stripes(counts, layouts, slices, 3)
    s = slices // 2  # slice s: stripe 0 whole, stripe 1 cut in half, stripe 2 absent
    payloads = [
        ([p[0] for p in parts[: s + 1]], b""),
        ([p[1] for p in parts[:s]], parts[s][1][: len(parts[s][1]) // 2]),
        ([p[2] for p in parts[:s]], b""),
    ]
    (state,) = decode_stripes(layouts, slices, payloads, threads=threads)
    level = state.level.astype(np.int64)
    p = slices - 1 - s  # the bit-plane of slice s
    assert np.all(level[0:2] == p) and np.all(level[4:6] == p + 1)
    assert np.all((level[2:4] == p) | (level[2:4] == p + 1))
    np.testing.assert_array_equal(state.prefix, np.abs(counts[0]) >> level)


def test_stripes_decode_slice_by_slice_in_step():
    counts = [random_counts(4, (5, 3), 100, 0.7)]
    layouts = layouts_of(counts)
    slices = number_of_slices(counts)
    parts = encode_stripes(counts, layouts, slices, 2)
    payloads = [([p[0] for p in parts], b""), ([p[1] for p in parts[:2]], b"")]
    seen = []
    for states in iter_decode_stripes(layouts, slices, payloads, threads=2):
        seen.append(states[0].level.copy())
    assert len(seen) == slices
    top = stripe_rows(5, 2)[0][1]
    for s, level in enumerate(seen):
        assert np.all(level[:top] == slices - 1 - s)
        assert np.all(level[top:] == slices - 1 - min(s, 1))  # stripe 1 stops after 2 slices


def test_luma_and_chroma_apart_are_their_planes_coded_alone_at_the_same_cost():
    """Every context is the luma's or the chroma's: the two sub-streams are the luma and the
    chroma coded as images of their own, and together they cost what the planes cost in one
    stream but for the second stream's ends (a few bytes a slice)."""
    counts = [random_counts(7, (12, 10), 200, 0.6)] + [
        random_counts(8 + c, (6, 5), 60, 0.5) for c in range(2)
    ]
    layouts = layouts_of(counts)
    slices = number_of_slices(counts)
    parts = encode_stripes(counts, layouts, slices, 1, split=True)
    assert [p[0] for p in parts] == encode_slices(counts[:1], layouts[:1], slices)
    assert [p[1] for p in parts] == encode_slices(counts[1:], layouts[1:], slices)
    joint = sum(map(len, encode_slices(counts, layouts, slices)))
    assert abs(sum(len(a) + len(b) for a, b in parts) - joint) <= 6 * slices
    two = encode_stripes(counts, layouts, slices, 2, split=True)
    order = substreams([12, 6, 6], 2, True)  # the luma's stripes first, then the chroma's
    assert order == [[(0, 0, 6)], [(0, 6, 12)], [(1, 0, 3), (2, 0, 3)], [(1, 3, 6), (2, 3, 6)]]
    rows = [counts[1][3:6], counts[2][3:6]]
    alone = [replace(layout, blocks=(3, 5)) for layout in layouts[1:]]
    assert [p[3] for p in two] == encode_slices(rows, alone, slices)
