"""The zigzag order, the threshold tables and the quality scale, from their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import naive
from spikecodec.errors import ParameterError
from spikecodec.tables import BASE_STEP, TABLES, ZIGZAG, quality_to_step, table_weights

# ITU-T T.81 Annex K, tables K.1 and K.2 (raster order): the first row of each.
K1_ROW0 = [16, 11, 10, 16, 24, 40, 51, 61]
K2_ROW0 = [17, 18, 24, 47, 99, 99, 99, 99]


def test_zigzag_is_the_jpeg_sequence():
    assert ZIGZAG.tolist() == naive.JPEG_ZIGZAG


def test_flat_is_one_everywhere():
    for chroma in (False, True):
        np.testing.assert_array_equal(table_weights("flat", chroma), np.ones(64))


@pytest.mark.parametrize("chroma", [False, True])
def test_jpeg_is_annex_k_over_its_dc_in_zigzag_order(chroma):
    weights = table_weights("jpeg", chroma)
    row0 = K2_ROW0 if chroma else K1_ROW0
    raster = np.empty(64)
    raster[ZIGZAG] = weights * 16
    np.testing.assert_allclose(raster[:8], row0)
    assert weights[0] == row0[0] / 16


@pytest.mark.parametrize("chroma", [False, True])
def test_mild_is_the_fourth_root_of_jpeg(chroma):
    np.testing.assert_allclose(table_weights("mild", chroma), table_weights("jpeg", chroma) ** 0.25)
    assert table_weights("mild", False).max() == pytest.approx((121 / 16) ** 0.25)


def test_an_unknown_table_is_refused():
    with pytest.raises(ParameterError, match="table must be one of flat, jpeg, mild"):
        table_weights("mpeg", False)
    assert TABLES == ("flat", "jpeg", "mild")


@pytest.mark.parametrize(
    ("quality", "step"),
    [(50, BASE_STEP), (75, 8.0), (10, 80.0), (1, 800.0), (25, 32.0), (100, 0.16), (99, 0.32)],
)
def test_the_quality_scale_is_libjpegs(quality, step):
    # S = 5000/q below 50, 200 - 2q above (at least 1); the step is 16*S/100.
    assert quality_to_step(quality) == pytest.approx(step)


@pytest.mark.parametrize("quality", [0, 0.99, 100.01, -5, math.nan])
def test_qualities_outside_1_to_100_are_refused(quality):
    with pytest.raises(ParameterError, match="quality must lie in 1..100"):
        quality_to_step(quality)
