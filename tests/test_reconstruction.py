"""Counts back to pixels: the cells of counts known at different instants, the centroid
offsets, and the slabs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import spikecodec as sc
from spikecodec import reconstruction
from spikecodec.data import load_sample
from spikecodec.entropy import Layout, PlaneState
from spikecodec.params import band_thresholds, block_grid, plane_shapes
from spikecodec.quantizer import unit_quantizer
from spikecodec.reconstruction import plane_image


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return load_sample("kodim23")


@pytest.fixture(scope="module")
def cut_states(sample):
    """The counts of a q90 stream cut at 2/3 of its bytes: known at different instants."""
    data = sc.encode(sample, quality=90)
    header, states = sc.decode_counts(data[: len(data) * 2 // 3])
    assert len({int(v) for st in states for v in np.unique(st.level)}) > 1
    return header, states


def planes(header, states) -> list[np.ndarray]:
    quantizer = unit_quantizer(header.R, header.C, header.T, header.bias)
    return [
        plane_image(state, quantizer, band_thresholds(header, c), shape, np.float64)
        for c, (state, shape) in enumerate(zip(states, plane_shapes(header), strict=True))
    ]


def test_thresholds_past_the_table_give_the_same_planes(cut_states, monkeypatch):
    # Each count's cell from the tabulated thresholds, or computed per count past them.
    tabulated = planes(*cut_states)
    monkeypatch.setattr(reconstruction, "_EDGES", 0)
    for got, want in zip(planes(*cut_states), tabulated, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("slab", [64, 64 * 7, 1 << 30])
def test_slabs_of_any_size_give_the_same_planes(cut_states, monkeypatch, slab):
    whole = planes(*cut_states)
    monkeypatch.setattr(reconstruction, "_SLAB", slab)
    for got, want in zip(planes(*cut_states), whole, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_count_is_reconstructed_in_its_cell_at_the_fitted_centroid():
    # One block with the DC and one AC count: the DC at its cell's midpoint, the AC at the
    # offset of a Laplacian fitted to its band's counts (one count k = 2: r = 1.5 / 3).
    header = sc.spike_counts(np.zeros((8, 8), np.uint8), quality=50)[0]
    layout = Layout(block_grid((8, 8)), False, np.ones(64))
    state = PlaneState.empty(layout, 0)
    state.prefix[0, 0, 0], state.sign[0, 0, 0] = 3, 1
    state.prefix[0, 0, 1], state.sign[0, 0, 1] = 2, -1
    quantizer = unit_quantizer(header.R, header.C, header.T, header.bias)
    thresholds = band_thresholds(header, 0)
    dequantizer = reconstruction._Dequantizer(state, quantizer, thresholds)
    out = np.zeros((1, 64))
    dequantizer.into(slice(0, 1), out)
    lo, hi = quantizer.thresholds(np.array([3, 4]))
    assert out[0, 0] == pytest.approx((lo + (hi - lo) / 2) * thresholds[0])
    r = (1 + 0.5) / (1 + 1 + 1.0)
    a = -math.log(r)
    delta = 1 / a - r / (1 - r)
    lo, hi = quantizer.thresholds(np.array([2, 3]))
    assert out[0, 1] == pytest.approx(-(lo + delta * (hi - lo)) * thresholds[1])
    assert np.count_nonzero(out) == 2
