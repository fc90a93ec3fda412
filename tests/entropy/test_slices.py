"""Counts coded in time: exact round trips of any counts, and a stream cut anywhere decodes,
for every neuron, a prefix of its count's bits (its count at an earlier instant)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikecodec.entropy import (
    Layout,
    decode_stripes,
    encode_slices,
    iter_decode_stripes,
    number_of_slices,
)


def decode_slices(layouts, slices, chunks, partial=b""):
    """The states a stream of one stripe decodes to."""
    return decode_stripes(layouts, slices, [(chunks, partial)])


def iter_decode_slices(layouts, slices, chunks):
    return iter_decode_stripes(layouts, slices, [(chunks, b"")])


def random_counts(seed: int, blocks: tuple[int, int], top: int, density: float) -> np.ndarray:
    """Laplacian-like signed counts, sparser at high frequencies (as a transform gives)."""
    rng = np.random.default_rng(seed)
    decay = np.exp(-np.arange(64) / 12.0)
    scale = top * decay * rng.uniform(0.2, 1.0, (*blocks, 1))
    mags = np.floor(rng.exponential(1.0, (*blocks, 64)) * scale).astype(np.int64)
    mags[rng.random((*blocks, 64)) > density] = 0
    return mags * rng.choice([-1, 1], mags.shape)


def layouts_of(counts: list[np.ndarray]) -> list[Layout]:
    weights = np.linspace(1.0, 1.8, 64)
    return [Layout(c.shape[:2], p > 0, weights) for p, c in enumerate(counts)]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    blocks=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    top=st.sampled_from([1, 3, 40, 1000, 2**20]),
    density=st.floats(0.0, 1.0),
    planes=st.integers(1, 3),
)
def test_any_counts_round_trip(seed, blocks, top, density, planes):
    counts = [random_counts(seed + p, blocks, top, density) for p in range(planes)]
    slices = number_of_slices(counts)
    payloads = encode_slices(counts, layouts_of(counts), slices)
    assert len(payloads) == slices
    states = decode_slices(layouts_of(counts), slices, payloads)
    for state, expected in zip(states, counts, strict=True):
        np.testing.assert_array_equal(state.counts(), expected)
        assert np.all(state.level == 0)


def test_the_largest_counts_the_format_allows_round_trip():
    counts = [np.zeros((2, 3, 64), np.int64)]
    counts[0][0, 0, 0], counts[0][1, 2, 63], counts[0][1, 1, 5] = 2**31 - 1, -(2**31 - 1), 7
    assert number_of_slices(counts) == 31
    payloads = encode_slices(counts, layouts_of(counts), 31)
    (state,) = decode_slices(layouts_of(counts), 31, payloads)
    np.testing.assert_array_equal(state.counts(), counts[0])


@pytest.mark.parametrize("seed", range(3))
def test_a_cut_anywhere_gives_every_count_at_an_earlier_instant(seed):
    counts = [random_counts(seed, (3, 4), 60, 0.6), random_counts(seed + 9, (2, 2), 20, 0.5)]
    slices = number_of_slices(counts)
    payloads = encode_slices(counts, layouts_of(counts), slices)
    known_before = 0
    for s, payload in enumerate(payloads):
        for cut in range(len(payload) + 1):
            states = decode_slices(layouts_of(counts), slices, payloads[:s], payload[:cut])
            known = 0
            for state, truth in zip(states, counts, strict=True):
                level = state.level.astype(np.int64)
                assert np.all((level == slices - s) | (level == slices - s - 1))
                np.testing.assert_array_equal(state.prefix, np.abs(truth) >> level)
                fired = state.prefix > 0
                np.testing.assert_array_equal(state.sign[fired], np.sign(truth)[fired])
                known += int((slices - level).sum())
            assert known >= known_before  # more bytes never know less
            known_before = known


def test_slices_decode_one_by_one_to_the_dyadic_instants():
    counts = [random_counts(5, (4, 4), 100, 0.7)]
    slices = number_of_slices(counts)
    payloads = encode_slices(counts, layouts_of(counts), slices)
    steps = list(iter_decode_slices(layouts_of(counts), slices, payloads))
    assert len(steps) == slices
    for s, states in enumerate(iter_decode_slices(layouts_of(counts), slices, payloads)):
        level = slices - 1 - s
        assert np.all(states[0].level == level)
        np.testing.assert_array_equal(states[0].prefix, np.abs(counts[0]) >> level)


def test_the_number_of_slices_is_the_bit_length_of_the_largest_count():
    assert number_of_slices([np.zeros((1, 1, 64), np.int64)]) == 1
    assert number_of_slices([np.full((1, 1, 64), -5), np.ones((2, 1, 64), np.int64)]) == 3
