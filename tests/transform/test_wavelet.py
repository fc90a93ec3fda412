"""The reversible 5/3 wavelet of the lossless path.

Checked against what it must be, independently of its code: JPEG 2000's lifting equations
written as loops (:func:`naive.lifting_53`, ITU-T T.800 Annex F) and the wavelet blocks laid out
from the Mallat picture (:func:`naive.wavelet_blocks`), an exact inverse for every integer plane
(hypothesis), and a float inverse made of LeGall's synthesis filters.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import naive
from spikecodec.errors import ParameterError
from spikecodec.transform import wavelet as module
from spikecodec.transform.wavelet import inverse_wavelet, wavelet

shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))


@settings(max_examples=60, deadline=None)
@given(shapes.flatmap(lambda s: arrays(np.int64, s, elements=st.integers(-(2**16), 2**16))))
def test_every_integer_plane_comes_back_exactly(plane):
    coeffs = wavelet(plane)
    assert coeffs.dtype == np.int64
    assert coeffs.shape == (-(-plane.shape[0] // 8), -(-plane.shape[1] // 8), 64)
    back = inverse_wavelet(coeffs, plane.shape)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, plane)


@pytest.mark.parametrize("shape", [(8, 8), (16, 24), (17, 9), (1, 30)])
def test_the_coefficients_are_jpeg_2000s_in_wavelet_blocks(shape):
    plane = np.random.default_rng(sum(shape)).integers(-255, 256, shape)
    np.testing.assert_array_equal(wavelet(plane), naive.wavelet_blocks(plane))


def test_the_reference_lifting_has_known_values():
    # A ramp has no detail but at its mirrored end, and a low band of its even samples (plus a
    # quarter of the details around them: 2 at the end).
    assert naive.lifting_53([0, 2, 4, 6, 8, 10]) == [0, 0, 4, 0, 9, 2]
    assert naive.lifting_53([5, 5, 5, 5]) == [5, 0, 5, 0]


def test_a_flat_plane_is_its_low_band_times_eight():
    coeffs = wavelet(np.full((16, 24), -37))
    assert (coeffs[..., 0] == -37 * 8).all() and not coeffs[..., 1:].any()


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.int32])
def test_extreme_planes_of_every_integer_type_come_back(dtype):
    info = np.iinfo(dtype)
    plane = np.random.default_rng(3).choice([info.min, info.max], (24, 17)).astype(dtype)
    np.testing.assert_array_equal(inverse_wavelet(wavelet(plane), plane.shape), plane)


def test_the_float_synthesis_is_legalls():
    # One level's unrounded inverse of unit impulses: the low band's response is (1/2, 1, 1/2)
    # around its even sample, the high band's (-1/8, -1/4, 3/4, -1/4, -1/8) around its odd one.
    # (Less the roundings' means, which the inverse of zero bands gives.)
    impulse = np.zeros(8)
    impulse[3] = 1.0
    zero = module._synthesis(np.zeros(8), np.zeros(8))
    np.testing.assert_allclose(zero[0::2], -0.125)
    np.testing.assert_allclose(zero[1::2], -0.375)
    low = module._synthesis(impulse, np.zeros(8)) - zero
    high = module._synthesis(np.zeros(8), impulse) - zero
    np.testing.assert_allclose(low[5:8], [0.5, 1.0, 0.5])
    assert not low[:5].any() and not low[8:].any()
    np.testing.assert_allclose(high[5:10], [-1 / 8, -1 / 4, 3 / 4, -1 / 4, -1 / 8])
    assert not high[:5].any() and not high[10:].any()


def test_the_float_inverse_is_linear_and_close_to_the_exact_one():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 40, (2, 3, 4, 64))
    shape = (20, 30)
    zero = inverse_wavelet(np.zeros_like(a), shape)
    np.testing.assert_allclose(
        inverse_wavelet(a + 2 * b, shape) - zero,
        inverse_wavelet(a, shape) - zero + 2 * (inverse_wavelet(b, shape) - zero),
        atol=1e-9,
    )


def test_the_float_inverse_of_a_photograph_is_unbiased(data_dir):
    from PIL import Image

    plane = np.asarray(Image.open(data_dir / "kodak" / "kodim05.png").convert("L"), np.int64)
    difference = inverse_wavelet(wavelet(plane).astype(np.float64), plane.shape) - plane
    assert abs(difference.mean()) < 0.1
    assert np.sqrt(np.mean(difference**2)) < 1.0


@pytest.mark.parametrize(
    "plane",
    [np.zeros((4, 4)), np.zeros((0, 5), np.int64), np.zeros(8, np.int64), np.zeros((2, 2, 2), int)],
)
def test_what_is_not_an_integer_plane_is_refused(plane):
    with pytest.raises(ParameterError, match="integer plane"):
        wavelet(plane)


def test_coefficients_of_the_wrong_shape_are_refused():
    with pytest.raises(ParameterError, match="shape"):
        inverse_wavelet(np.zeros((1, 1, 64), np.int64), (9, 9))
    with pytest.raises(ParameterError, match="numbers"):
        inverse_wavelet(np.zeros((1, 1, 64), bool), (8, 8))
