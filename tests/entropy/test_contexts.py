"""The contexts of the bit models: every model's indices (as the compiled passes compute them)
distinct and inside the table, the frequency tables as their definitions say, and the DC
prediction's boundary weights."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import naive
from spikecodec.entropy import contexts
from spikecodec.entropy.contexts import (
    BAND,
    BITLEN,
    COARSE_BAND,
    CONTEXTS,
    EOB_DISTANCE,
    FREQUENCY_MASK,
    MODELS,
    edge_weights,
)
from spikecodec.entropy.passes import context


def test_every_context_of_every_model_has_its_own_slot():
    seen: list[int] = []
    for name, model in MODELS.items():
        sizes = [size for _, size in contexts._DIMENSIONS[name]]
        indices = [context(name, *values) for values in itertools.product(*map(range, sizes))]
        assert len(indices) == model.size == int(np.prod(sizes))
        assert min(indices) == model.offset and max(indices) == model.offset + model.size - 1
        seen += indices
    assert sorted(seen) == list(range(CONTEXTS))


def test_a_context_outside_its_model_is_refused():
    for name in MODELS:
        sizes = [size for _, size in contexts._DIMENSIONS[name]]
        with pytest.raises(ValueError):
            context(name, *sizes)  # each value one past its dimension
        with pytest.raises(ValueError):
            context(name, *[0] * (len(sizes) + 1))
    with pytest.raises(KeyError):
        context("no such model", 0)


def test_the_frequency_tables():
    assert BAND[0] == 0 and BAND[1:].min() == 1 and BAND.max() == 8
    assert np.all(np.diff(BAND) >= 0) and np.all(np.diff(COARSE_BAND) >= 0)
    assert list(np.bincount(COARSE_BAND)) == [6, 15, 43]
    assert [BITLEN[v] for v in (0, 1, 2, 3, 4, 63, 64)] == [0, 1, 2, 2, 3, 6, 6]
    assert [EOB_DISTANCE[d] for d in (0, 1, 2, 5, 6, 63)] == [0, 0, 1, 1, 2, 2]


def test_frequency_neighbours_are_the_grid_neighbours():
    raster = np.array(naive.JPEG_ZIGZAG)  # zigzag index -> raster position
    for k in range(64):
        i, j = divmod(int(raster[k]), 8)
        expected = {
            int(np.flatnonzero(raster == (i + di) * 8 + j + dj)[0])
            for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1))
            if 0 <= i + di < 8 and 0 <= j + dj < 8
        }
        mask = int(FREQUENCY_MASK[k]) & (2**64 - 1)
        assert {f for f in range(64) if mask >> f & 1} == expected


def test_the_dc_prediction_weights():
    # The orthonormal DC basis is 1/8 on every pixel: 3*8/8 - 8/8 = 2 on every side, in units
    # of 2^20; a band's weight scales with its step relative to the DC's.
    weights = edge_weights(tuple(np.ones(64)))
    np.testing.assert_array_equal(weights[0], [2 << 20] * 4)
    # The first horizontal frequency is odd across the block: opposite on left and right,
    # nothing along the top and bottom lines (whose sums of a cosine vanish).
    assert weights[1, 0] == -weights[1, 1] != 0 and weights[1, 2] == weights[1, 3] == 0
    doubled = edge_weights(tuple(np.r_[1.0, np.full(63, 2.0)]))
    np.testing.assert_allclose(doubled[1:], 2 * weights[1:], rtol=0, atol=1)  # each rounded


@pytest.mark.parametrize("k", [1, 2, 9, 40, 63])
def test_the_weights_follow_the_basis_functions(k):
    C = naive.dct_matrix()
    u, v = divmod(naive.JPEG_ZIGZAG[k], 8)
    basis = np.outer(C[u], C[v])  # rows, columns
    left = (3 * basis[:, 0] - basis[:, 1]).sum()
    bottom = (3 * basis[7, :] - basis[6, :]).sum()
    weights = edge_weights(tuple(np.ones(64)))
    assert weights[k, 0] == round(left * 2**20)
    assert weights[k, 3] == round(bottom * 2**20)
