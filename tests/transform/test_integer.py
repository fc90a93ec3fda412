"""The reversible integer DCT of the lossless path.

Checked against what it must be, independently of its code: an exact inverse for every integer
plane (hypothesis), within about one unit of the orthonormal DCT computed from its formula
(:mod:`naive`), its rotations composing to that DCT's matrix exactly, and its float inverse the
inverse of that DCT up to the lifting constants' precision (2**-14).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import naive
from spikecodec.errors import ParameterError
from spikecodec.transform import integer
from spikecodec.transform.integer import integer_dct, integer_idct

shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))


def _dct_blocks(plane: np.ndarray) -> np.ndarray:
    """The orthonormal 8x8 DCT of every block of the edge-padded plane, zigzag order."""
    C = naive.dct_matrix()
    padded = naive.padded_edge(plane.astype(np.float64))
    by, bx = padded.shape[0] // 8, padded.shape[1] // 8
    out = np.empty((by, bx, 64))
    for i in range(by):
        for j in range(bx):
            block = padded[8 * i : 8 * i + 8, 8 * j : 8 * j + 8]
            out[i, j] = (C @ block @ C.T).ravel()[naive.JPEG_ZIGZAG]
    return out


def _idct_blocks(coeffs: np.ndarray, shape) -> np.ndarray:
    C = naive.dct_matrix()
    by, bx = coeffs.shape[:2]
    out = np.empty((8 * by, 8 * bx))
    raster = np.empty(64)
    for i in range(by):
        for j in range(bx):
            raster[naive.JPEG_ZIGZAG] = coeffs[i, j]
            out[8 * i : 8 * i + 8, 8 * j : 8 * j + 8] = C.T @ raster.reshape(8, 8) @ C
    return out[: shape[0], : shape[1]]


@settings(max_examples=60, deadline=None)
@given(shapes.flatmap(lambda s: arrays(np.int64, s, elements=st.integers(-510, 510))))
def test_every_integer_plane_comes_back_exactly(plane):
    coeffs = integer_dct(plane)
    assert coeffs.dtype == np.int64
    assert coeffs.shape == (-(-plane.shape[0] // 8), -(-plane.shape[1] // 8), 64)
    back = integer_idct(coeffs, plane.shape)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, plane)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.uint16])
def test_extreme_planes_of_every_integer_type_come_back(dtype):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(3)
    lo, hi = max(info.min, -(1 << 16)), min(info.max, 1 << 16)
    plane = rng.choice([lo, hi], (24, 17)).astype(dtype)
    np.testing.assert_array_equal(integer_idct(integer_dct(plane), plane.shape), plane)


def test_the_coefficients_are_within_a_unit_of_the_dct():
    rng = np.random.default_rng(7)
    plane = rng.integers(-128, 128, (64, 48))
    difference = integer_dct(plane) - _dct_blocks(plane)
    assert math.sqrt(np.mean(difference**2)) < 1.0
    assert np.abs(difference).max() < 5


def test_a_photograph_is_close_to_its_dct(data_dir):
    from PIL import Image

    plane = np.asarray(Image.open(data_dir / "kodak" / "kodim05.png").convert("L"), np.int64)
    difference = integer_dct(plane - 128) - _dct_blocks(plane - 128)
    assert math.sqrt(np.mean(difference**2)) < 1.0


def test_the_rotations_and_the_hadamard_compose_to_the_dct():
    # The float network (no rounding) applied to the 64 unit blocks is the 2-D DCT's matrix, up
    # to the constants' precision: the Hadamard stage stands for the rows' and columns'
    # butterflies, and the outputs' lanes and signs pick the coefficients.
    basis = np.eye(64).reshape(64, 1, 1, 8, 8)
    coeffs = np.empty((64, 64))
    for n, block in enumerate(basis):
        x = block.copy()
        integer._hadamard(x)
        integer._rotations(x, True)
        integer._rotations(x.swapaxes(-1, -2), True)
        raster = x.reshape(64)[integer._RASTER] * integer._RASTER_SIGNS
        coeffs[:, n] = raster
    C = naive.dct_matrix()
    expected = np.kron(C, C)[naive.JPEG_ZIGZAG]
    np.testing.assert_allclose(coeffs, expected, atol=2e-4)


def test_each_lift_pair_is_its_rotation():
    for (_, _, t), (p, u) in zip(integer.ROTATIONS, integer.LIFTS, strict=True):
        assert p == round(math.tan(t / 2) * 2**14) and u == round(math.sin(t) * 2**14)
        lift_p = np.array([[1, -p / 2**14], [0, 1]])
        lift_u = np.array([[1, 0], [u / 2**14, 1]])
        rotation = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
        np.testing.assert_allclose(lift_p @ lift_u @ lift_p, rotation, atol=2e-4)


def test_the_float_inverse_is_the_dct_inverse():
    rng = np.random.default_rng(11)
    coeffs = rng.normal(0, 50, (3, 4, 64))
    shape = (21, 30)
    np.testing.assert_allclose(integer_idct(coeffs, shape), _idct_blocks(coeffs, shape), atol=0.1)


def test_the_float_inverse_undoes_the_forward_up_to_its_roundings():
    rng = np.random.default_rng(5)
    plane = rng.integers(-255, 256, (40, 40))
    back = integer_idct(integer_dct(plane).astype(np.float64), plane.shape)
    assert np.abs(back - plane).max() < 4
    assert math.sqrt(np.mean((back - plane) ** 2)) < 1.5


@pytest.mark.parametrize(
    "plane",
    [np.zeros((4, 4)), np.zeros((0, 5), np.int64), np.zeros(8, np.int64), np.zeros((2, 2, 2), int)],
)
def test_what_is_not_an_integer_plane_is_refused(plane):
    with pytest.raises(ParameterError, match="integer plane"):
        integer_dct(plane)


def test_coefficients_of_the_wrong_shape_are_refused():
    with pytest.raises(ParameterError, match="shape"):
        integer_idct(np.zeros((1, 1, 64), np.int64), (9, 9))
    with pytest.raises(ParameterError, match="numbers"):
        integer_idct(np.zeros((1, 1, 64), bool), (8, 8))
