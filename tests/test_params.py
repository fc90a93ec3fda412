"""Encoding parameters and stream geometry: defaults, every bad value refused with a
ParameterError that names the parameter, the header's domains, and the derived geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spikecodec import ParameterError, SpikeCodecError
from spikecodec.params import (
    DEFAULTS,
    MAX_SLICES,
    PARAM_MAX,
    PARAM_MIN,
    PLANE_WEIGHTS,
    Header,
    band_thresholds,
    block_grid,
    chroma_factor,
    domain_error,
    encoding_header,
    plane_shapes,
    positive,
    slice_instants,
)
from spikecodec.tables import table_weights


def header(**options) -> Header:
    return encoding_header("RGB", 13, 7, **options)


def test_parameter_errors_are_library_errors_and_value_errors():
    assert issubclass(ParameterError, SpikeCodecError) and issubclass(ParameterError, ValueError)


def test_the_defaults():
    h = header()
    assert (h.R, h.C, h.T, h.bias, h.chroma) == (1e4, 1.0, 100.0, np.float32(0.4), 2.0)
    assert h.table == 2 and DEFAULTS["table"] == "mild"
    assert h.theta == pytest.approx(8.0 * 100.0 / 1.0)  # quality 75: step 8 = C*theta/T
    assert (h.mode, h.width, h.height, h.slices, h.cut) == ("RGB", 13, 7, 1, False)
    assert h.subsampling == "4:2:0"


def test_the_tunes_set_the_chroma_factor_unless_it_is_given():
    assert header(tune="psnr").chroma == 1.0 and header(tune="ssim").chroma == 2.0
    assert header(tune="psnr", chroma=1.5).chroma == 1.5
    with pytest.raises(ParameterError, match="tune must be one of ssim, psnr"):
        header(tune="vmaf")
    with pytest.raises(ParameterError, match="subsampling"):
        header(subsampling="4:2:2")


def test_quality_sets_theta_from_the_step_and_the_membrane():
    h = header(quality=50, T=20.0, C=2.0)
    assert h.theta == pytest.approx(16.0 * 20.0 / 2.0)
    assert header(theta=123.5).theta == 123.5


def test_bias_and_chroma_are_what_the_header_stores():
    h = header(bias=0.1, chroma=1.3)
    assert h.bias == float(np.float32(0.1)) and h.chroma == float(np.float32(1.3))


def test_quality_and_theta_together_are_refused():
    with pytest.raises(ParameterError, match="either quality or theta"):
        header(quality=50, theta=100.0)


not_numbers = st.one_of(
    st.text(max_size=3), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)
)


@given(value=not_numbers)
def test_non_numbers_are_refused_by_name(value):
    for name in ("quality", "theta", "R", "C", "T", "bias", "chroma"):
        if value is None and name in ("quality", "theta", "chroma"):
            continue  # None means "not given"
        with pytest.raises(ParameterError, match=name):
            header(**{name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *[(n, v) for n in ("R", "C", "T", "theta", "chroma") for v in (0.0, -1.0, 1e-31, 1e31)],
        *[(n, v) for n in ("R", "C", "T", "theta", "chroma", "bias") for v in (math.nan, math.inf)],
        ("bias", -0.1),
        ("bias", 1.0),
        ("bias", 0.99999999),  # rounds to 1.0 in float32
        ("quality", 0),
        ("quality", 101),
        ("quality", math.nan),
        ("table", "mpeg"),
        ("table", 2),
    ],
)
def test_values_outside_the_domains_are_refused_by_name(name, value):
    with pytest.raises(ParameterError, match=name):
        header(**{name: value})


def test_numpy_numbers_are_numbers():
    assert header(quality=np.int64(60), R=np.float32(1e3)) == header(quality=60, R=1e3)


@pytest.mark.parametrize(
    ("name", "value", "bad"),
    [
        ("R", PARAM_MIN, False),
        ("R", PARAM_MAX, False),
        ("T", PARAM_MAX * 10, True),
        ("theta", math.nan, True),
        ("bias", 0.0, False),
        ("bias", 1.0, True),
        ("table", 2, False),
        ("table", 3, True),
        ("slices", MAX_SLICES, False),
        ("slices", 0, True),
        ("slices", MAX_SLICES + 1, True),
    ],
)
def test_the_header_domains(name, value, bad):
    assert (domain_error(name, value) is not None) == bad


@pytest.mark.parametrize("value", [0, -1.0, math.inf, math.nan, "1", True])
def test_positive_refuses_what_is_not_a_positive_finite_number(value):
    with pytest.raises(ParameterError, match="dt"):
        positive("dt", value)
    assert positive("dt", 2) == 2.0


@given(h=st.integers(1, 100), w=st.integers(1, 100))
def test_the_geometry_of_an_image(h, w):
    half = ((h + 1) // 2, (w + 1) // 2)
    assert plane_shapes(encoding_header("RGB", w, h)) == [(h, w), half, half]
    assert plane_shapes(encoding_header("L", w, h)) == [(h, w)]
    by, bx = block_grid((h, w))
    assert 8 * by >= h > 8 * (by - 1) and 8 * bx >= w > 8 * (bx - 1)


def test_band_thresholds_are_theta_times_the_table_and_chroma():
    h = header(quality=50, table="jpeg", chroma=1.5)
    np.testing.assert_allclose(band_thresholds(h, 0), h.theta * table_weights("jpeg", False))
    for plane in (1, 2):
        expected = h.theta * chroma_factor(h, plane) * table_weights("jpeg", True)
        np.testing.assert_allclose(band_thresholds(h, plane), expected)


@pytest.mark.parametrize(
    ("subsampling", "co", "cg"), [("4:2:0", 0.6124, 0.5), ("4:4:4", 1.2247, 1.0)]
)
def test_chroma_factors_give_equal_slopes_on_psnr_over_rgb(subsampling, co, cg):
    # Steps in inverse proportion to the square root of what a sample's error costs over R, G
    # and B (R, G, B = Y + Co - Cg, Y + Cg, Y - Co - Cg: 3 for Y, 2 for Co, 3 for Cg; four
    # pixels a 4:2:0 chroma sample): sqrt(3 / (a w)).
    h = header(chroma=1.0, subsampling=subsampling)
    assert chroma_factor(h, 1) == pytest.approx(co, abs=1e-3)
    assert chroma_factor(h, 2) == pytest.approx(cg, abs=1e-3)
    doubled = header(chroma=2.0, subsampling=subsampling)
    assert chroma_factor(doubled, 1) == pytest.approx(2 * co, abs=2e-3)
    assert PLANE_WEIGHTS == pytest.approx([3.0, 2.0, 3.0])


def test_slice_instants_double_up_to_the_window():
    h = Header("L", 8, 8, 1e4, 1.0, 100.0, 800.0, 0.3, 2, 1.0, 5)
    np.testing.assert_array_equal(slice_instants(h), [6.25, 12.5, 25.0, 50.0, 100.0])
