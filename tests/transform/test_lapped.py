"""The lapped 8x8 DCT and its inverse.

References are built independently (:mod:`naive`): the orthonormal DCT-II matrix from its
formula, the pre-filter ``P = 1/2 [[I, J], [J, -I]] diag(I, V) [[I, J], [J, -I]]`` of Tran, Liang
& Tu (2003) applied by loops at every internal block boundary (only the tuned 4x4 ``V`` is taken
from the module), a numpy/scipy.fft version of the whole transform, the coding gains of the DCT
and of the lapped transform on an AR(1) source, and the zigzag sequence as printed in ITU-T
T.81 (Figure A.6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

import naive
from spikecodec.tables import ZIGZAG
from spikecodec.transform import lapped
from spikecodec.transform.lapped import Synthesis, lapped_dct

shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))


def inverse(coeffs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The inverse through :class:`Synthesis`, fed the block rows two at a time."""
    synthesis = Synthesis(coeffs.shape[:2], shape)
    for i in range(0, coeffs.shape[0], 2):
        synthesis.feed(coeffs[i : i + 2])
    return synthesis.image()


def test_zigzag_is_the_jpeg_sequence():
    assert ZIGZAG.tolist() == naive.JPEG_ZIGZAG
    assert sorted(naive.JPEG_ZIGZAG) == list(range(64))


@pytest.mark.parametrize("shape", [(8, 8), (5, 7), (1, 1)])
def test_a_single_block_is_the_plain_dct(shape):
    # No internal boundary, no pre-filter: the orthonormal DCT of the edge-padded block.
    rng = np.random.default_rng(1)
    plane = rng.integers(0, 256, shape).astype(np.float64)
    block = naive.padded_edge(plane) - 128.0
    C = naive.dct_matrix()
    coeffs = lapped_dct(plane)
    assert coeffs.shape == (1, 1, 64)
    expected = (C @ block @ C.T).ravel()[naive.JPEG_ZIGZAG]
    np.testing.assert_allclose(coeffs[0, 0], expected, atol=1e-9)


def test_the_prefilter_follows_its_formula():
    # The compiled butterflies, applied to the unit vectors, are P (with V) and P^-1 (with V^-1).
    pre = np.array([lapped._lap(lapped.V, *e) for e in np.eye(8)]).T
    post = np.array([lapped._lap(lapped._V_INV, *e) for e in np.eye(8)]).T
    np.testing.assert_allclose(pre, naive.prefilter(lapped.V), atol=1e-12)
    np.testing.assert_allclose(pre @ post, np.eye(8), atol=1e-12)


@pytest.mark.parametrize("shape", [(16, 24), (7, 13), (17, 9), (1, 30), (40, 40)])
def test_lapped_dct_matches_the_loops(shape):
    rng = np.random.default_rng(sum(shape))
    plane = rng.integers(0, 256, shape).astype(np.float64)
    np.testing.assert_allclose(lapped_dct(plane), naive.lapped_loops(plane), atol=1e-9)


def coding_gain_db(analysis: np.ndarray, synthesis: np.ndarray, rho: float = 0.95) -> float:
    """Biorthogonal coding gain on a unit-variance AR(1) source:
    ``G = 1 / prod_k(a_k' R a_k * |s_k|^2)^(1/N)`` (analysis rows a_k, synthesis columns s_k)."""
    n = analysis.shape[1]
    R = rho ** np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    variances = np.einsum("ki,ij,kj->k", analysis, R, analysis)
    norms = np.sum(synthesis**2, axis=0)
    return -10 * np.log10(np.prod(variances * norms) ** (1 / analysis.shape[0]))


def test_coding_gains_of_the_dct_and_the_lapped_transform():
    # The figures the module documents: 8.83 dB for the 8-point DCT, 9.62 dB with the
    # coding-gain optimum V_GAIN, 9.53 dB with the codec's milder pre-filter.
    C = naive.dct_matrix()
    assert coding_gain_db(C, C.T) == pytest.approx(8.83, abs=0.005)
    for v, gain in ((lapped.V_GAIN, 9.62), (lapped.V, 9.53)):
        # One block's basis functions span 16 samples: its 4 left and 4 right neighbours.
        P = naive.prefilter(v)
        Q = np.linalg.inv(P)
        Z = np.zeros((4, 8))
        analysis = C @ np.block([[P[4:], Z], [Z, P[:4]]])
        synthesis = np.block([[Q[:, 4:], Z.T], [Z.T, Q[:, :4]]]) @ C.T
        np.testing.assert_allclose(analysis @ synthesis, np.eye(8), atol=1e-9)
        assert coding_gain_db(analysis, synthesis) == pytest.approx(gain, abs=0.005)


def test_the_codecs_prefilter_is_part_way_from_none_to_the_optimum():
    np.testing.assert_allclose(
        lapped.V, np.eye(4) + lapped.PREFILTER_STRENGTH * (lapped.V_GAIN - np.eye(4))
    )
    assert 0 < lapped.PREFILTER_STRENGTH < 1


def test_a_pixel_reaches_only_the_blocks_the_filters_overlap():
    # Pixel (10, 13) lies in block (1, 1), within 4 samples of its upper and right boundaries:
    # it reaches blocks 0-1 down and 1-2 across, and no other.
    rng = np.random.default_rng(3)
    plane = rng.uniform(0, 255, (32, 32))
    bumped = plane.copy()
    bumped[10, 13] += 50.0
    changed = np.any(np.abs(lapped_dct(bumped) - lapped_dct(plane)) > 1e-9, axis=-1)
    expected = np.zeros((4, 4), bool)
    expected[:2, 1:3] = True
    np.testing.assert_array_equal(changed, expected)


def test_lapped_dct_of_a_constant_plane_is_dc_only():
    # Orthonormal 8x8 DCT: DC = 8 * mean of the level-shifted block, AC = 0.
    coeffs = lapped_dct(np.full((13, 9), 200.0))
    np.testing.assert_allclose(coeffs[..., 0], 8 * (200.0 - 128.0), atol=1e-9)
    np.testing.assert_allclose(coeffs[..., 1:], 0.0, atol=1e-9)


def test_first_ac_coefficients_are_horizontal_then_vertical():  # one block: plain DCT
    # Zigzag index 1 is raster (0, 1): a horizontal cosine; index 2 is raster (1, 0): vertical.
    C = naive.dct_matrix()
    horizontal = 128.0 + 50.0 * np.tile(C[1], (8, 1))  # varies along columns only
    coeffs = lapped_dct(horizontal)[0, 0]
    assert abs(coeffs[1]) == pytest.approx(50.0 * math.sqrt(8), rel=1e-12)
    np.testing.assert_allclose(np.delete(coeffs, 1), 0.0, atol=1e-9)
    coeffs = lapped_dct(horizontal.T)[0, 0]
    assert abs(coeffs[2]) == pytest.approx(50.0 * math.sqrt(8), rel=1e-12)
    np.testing.assert_allclose(np.delete(coeffs, 2), 0.0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
@example(shape=(1, 1), seed=0)
@example(shape=(7, 13), seed=1)
@example(shape=(1, 4097), seed=2)
@example(shape=(64, 64), seed=3)
def test_lapped_dct_pads_by_edge_replication(shape, seed):
    rng = np.random.default_rng(seed)
    plane = rng.uniform(0, 255, shape)
    coeffs = lapped_dct(plane)
    assert coeffs.shape == (-(-shape[0] // 8), -(-shape[1] // 8), 64)
    np.testing.assert_allclose(coeffs, lapped_dct(naive.padded_edge(plane)), atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
@example(shape=(1, 1), seed=0)
@example(shape=(7, 13), seed=1)
@example(shape=(1, 4097), seed=2)
@example(shape=(64, 64), seed=3)
def test_synthesis_inverts_lapped_dct(shape, seed):
    rng = np.random.default_rng(seed)
    plane = rng.uniform(0, 255, shape)
    back = inverse(lapped_dct(plane), shape)
    assert back.shape == shape
    np.testing.assert_allclose(back, plane, rtol=0, atol=1e-9)


def test_lapped_dct_accepts_uint8_without_wrapping():
    plane = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    np.testing.assert_allclose(inverse(lapped_dct(plane), (2, 2)), plane, atol=1e-9)


def test_synthesis_to_bytes_rounds_half_to_even_and_clips():
    rng = np.random.default_rng(4)
    plane = rng.uniform(-40, 300, (19, 27))
    coeffs = lapped_dct(plane)
    synthesis = Synthesis(coeffs.shape[:2], plane.shape, np.uint8)
    synthesis.feed(coeffs)
    expected = np.clip(np.rint(naive.inverse_lapped_dct(coeffs, plane.shape)), 0, 255)
    np.testing.assert_array_equal(synthesis.image(), expected)


def assert_matches_numpy(plane: np.ndarray):
    """The transform and its inverse of perturbed coefficients against numpy/scipy.fft."""
    coeffs = lapped_dct(plane)
    np.testing.assert_allclose(coeffs, naive.lapped_dct(plane), rtol=0, atol=1e-9)
    rng = np.random.default_rng(plane.size)
    noisy = np.round(coeffs / 4) * 4 + rng.normal(0, 1, coeffs.shape)  # as if decoded
    back = inverse(noisy, plane.shape)
    assert back.shape == plane.shape and back.dtype == np.float64
    np.testing.assert_allclose(back, naive.inverse_lapped_dct(noisy, plane.shape), atol=1e-9)


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (9, 17), (64, 64), (1, 30), (30, 1), (8, 72)])
def test_the_kernels_match_numpy_on_random_planes(shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    assert_matches_numpy(rng.uniform(0, 255, shape))


@settings(max_examples=25, deadline=None)
@given(shape=st.tuples(st.integers(1, 150), st.integers(1, 150)), seed=st.integers(0, 2**32 - 1))
def test_the_kernels_match_numpy_on_any_size(shape, seed):
    # Widths past one 64-column chunk of the kernels, and partial chunks, included.
    rng = np.random.default_rng(seed)
    assert_matches_numpy(rng.uniform(0, 255, shape))


def test_the_kernels_match_numpy_on_a_photograph(data_dir):
    with Image.open(data_dir / "kodak" / "kodim05.png") as im:
        gray = np.asarray(im.convert("L"))
    assert_matches_numpy(gray)
    assert_matches_numpy(gray[:333, :517])  # odd sizes, partial blocks and chunks


def test_the_kernels_accept_any_layout_and_dtype():
    # Strided, Fortran-ordered, read-only and integer inputs give what contiguous floats give.
    rng = np.random.default_rng(5)
    plane = rng.uniform(0, 255, (40, 70))
    coeffs = lapped_dct(plane)
    readonly = plane.copy()
    readonly.flags.writeable = False
    for variant in (naive.strided(plane), np.asfortranarray(plane), readonly):
        assert not variant.flags.c_contiguous or not variant.flags.writeable
        np.testing.assert_array_equal(lapped_dct(variant), coeffs)
    back = inverse(coeffs, plane.shape)
    for variant in (naive.strided(coeffs), np.asfortranarray(coeffs)):
        np.testing.assert_array_equal(inverse(variant, plane.shape), back)
    np.testing.assert_array_equal(lapped_dct(plane.astype(np.uint8)), lapped_dct(np.floor(plane)))


def test_synthesis_refuses_what_it_cannot_serve():
    synthesis = Synthesis((2, 3), (16, 24))
    with pytest.raises(ValueError, match=r"\(rows, 3, 64\)"):
        synthesis.feed(np.zeros((1, 3, 63)))
    with pytest.raises(ValueError, match="of the 2 block rows fed"):
        synthesis.image()
    synthesis.feed(np.zeros((2, 3, 64)))
    with pytest.raises(ValueError, match="more than the 2 block rows"):
        synthesis.feed(np.zeros((1, 3, 64)))
    # A shape past the blocks gives what they hold, as slicing does; no blocks, an empty plane.
    assert inverse(np.zeros((2, 3, 64)), (20, 30)).shape == (16, 24)
    assert inverse(np.zeros((0, 3, 64)), (0, 24)).shape == (0, 24)
