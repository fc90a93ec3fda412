"""Colour conversion, 4:2:0 resampling and the 8x8 block DCT.

References are built here independently: the orthonormal DCT-II matrix from its formula
``C[k, n] = a(k) cos(pi (2n + 1) k / 16)``, the lapped pre-filter
``P = 1/2 [[I, J], [J, -I]] diag(I, V) [[I, J], [J, -I]]`` of Tran, Liang & Tu (2003) applied
by loops at every internal block boundary (only the tuned 4x4 ``V`` is taken from the module),
the coding gains of the DCT and of the lapped transform on an AR(1) source, the zigzag sequence
as printed in ITU-T T.81 (Figure A.6), PIL's own RGB -> YCbCr conversion, and libjpeg's "fancy"
upsampling written as a loop.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from spikecodec import transform
from spikecodec.transform import (
    ZIGZAG,
    block_dct,
    block_idct,
    downsample_420,
    rgb_to_ycbcr,
    upsample_420,
    ycbcr_to_rgb,
)

# ITU-T T.81 Figure A.6: raster index (row * 8 + column) of the k-th coefficient in zigzag order.
JPEG_ZIGZAG = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]  # fmt: skip


def dct_matrix(n: int = 8) -> np.ndarray:
    """Orthonormal DCT-II matrix: ``C[k, m] = a(k) cos(pi (2m + 1) k / (2n))``."""
    C = np.empty((n, n))
    for k in range(n):
        a = math.sqrt(1.0 / n) if k == 0 else math.sqrt(2.0 / n)
        for m in range(n):
            C[k, m] = a * math.cos(math.pi * (2 * m + 1) * k / (2 * n))
    return C


def padded_edge(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape
    return np.pad(plane, ((0, -h % 8), (0, -w % 8)), mode="edge")


shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))


# --------------------------------------------------------------------------------------------
# Zigzag and DCT


def test_zigzag_is_the_jpeg_sequence():
    assert ZIGZAG.tolist() == JPEG_ZIGZAG
    assert sorted(JPEG_ZIGZAG) == list(range(64))


def prefilter(V: np.ndarray) -> np.ndarray:
    """``P = 1/2 [[I, J], [J, -I]] diag(I, V) [[I, J], [J, -I]]`` (I, J: identity, reversal)."""
    I, J, Z = np.eye(4), np.fliplr(np.eye(4)), np.zeros((4, 4))
    B = np.block([[I, J], [J, -I]])
    return 0.5 * B @ np.block([[I, Z], [Z, V]]) @ B


def lapped_reference(plane: np.ndarray) -> np.ndarray:
    """Edge-pad to multiples of 8, level-shift, pre-filter the 8 samples around every internal
    boundary of every row and column, then the DCT matrix on each block, in zigzag order."""
    x = padded_edge(plane.astype(np.float64)) - 128.0
    P = prefilter(transform._V)
    for axis in (0, 1):
        x = np.moveaxis(x, axis, 0)
        for b in range(8, x.shape[0], 8):
            x[b - 4 : b + 4] = P @ x[b - 4 : b + 4]
        x = np.moveaxis(x, 0, axis)
    C = dct_matrix()
    by, bx = x.shape[0] // 8, x.shape[1] // 8
    out = np.empty((by, bx, 64))
    for i in range(by):
        for j in range(bx):
            block = x[8 * i : 8 * i + 8, 8 * j : 8 * j + 8]
            out[i, j] = (C @ block @ C.T).ravel()[JPEG_ZIGZAG]
    return out


@pytest.mark.parametrize("shape", [(8, 8), (5, 7), (1, 1)])
def test_a_single_block_is_the_plain_dct(shape):
    # No internal boundary, no pre-filter: the orthonormal DCT of the edge-padded block.
    rng = np.random.default_rng(1)
    plane = rng.integers(0, 256, shape).astype(np.float64)
    block = padded_edge(plane) - 128.0
    C = dct_matrix()
    coeffs = block_dct(plane)
    assert coeffs.shape == (1, 1, 64)
    np.testing.assert_allclose(coeffs[0, 0], (C @ block @ C.T).ravel()[JPEG_ZIGZAG], atol=1e-9)


def test_the_prefilter_follows_its_formula():
    np.testing.assert_allclose(transform.PREFILTER, prefilter(transform._V), atol=1e-12)
    np.testing.assert_allclose(transform.PREFILTER @ transform.POSTFILTER, np.eye(8), atol=1e-9)


@pytest.mark.parametrize("shape", [(16, 24), (7, 13), (17, 9), (1, 30), (40, 40)])
def test_block_dct_matches_the_lapped_reference(shape):
    rng = np.random.default_rng(sum(shape))
    plane = rng.integers(0, 256, shape).astype(np.float64)
    np.testing.assert_allclose(block_dct(plane), lapped_reference(plane), atol=1e-9)


def coding_gain_db(analysis: np.ndarray, synthesis: np.ndarray, rho: float = 0.95) -> float:
    """Biorthogonal coding gain on a unit-variance AR(1) source:
    ``G = 1 / prod_k(a_k' R a_k * |s_k|^2)^(1/N)`` (analysis rows a_k, synthesis columns s_k)."""
    n = analysis.shape[1]
    R = rho ** np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    variances = np.einsum("ki,ij,kj->k", analysis, R, analysis)
    norms = np.sum(synthesis**2, axis=0)
    return -10 * np.log10(np.prod(variances * norms) ** (1 / analysis.shape[0]))


def test_coding_gains_of_the_dct_and_the_lapped_transform():
    # The figures the module documents: 8.83 dB for the 8-point DCT, 9.62 dB with the filter.
    C = dct_matrix()
    assert coding_gain_db(C, C.T) == pytest.approx(8.83, abs=0.005)
    # One block's basis functions span 16 samples: its 4 left and 4 right neighbours.
    P = prefilter(transform._V)
    Q = np.linalg.inv(P)
    Z = np.zeros((4, 8))
    analysis = C @ np.block([[P[4:], Z], [Z, P[:4]]])
    synthesis = np.block([[Q[:, 4:], Z.T], [Z.T, Q[:, :4]]]) @ C.T
    np.testing.assert_allclose(analysis @ synthesis, np.eye(8), atol=1e-9)
    assert coding_gain_db(analysis, synthesis) == pytest.approx(9.62, abs=0.005)


def test_a_pixel_reaches_only_the_blocks_the_filters_overlap():
    # Pixel (10, 13) lies in block (1, 1), within 4 samples of its upper and right boundaries:
    # it reaches blocks 0-1 down and 1-2 across, and no other.
    rng = np.random.default_rng(3)
    plane = rng.uniform(0, 255, (32, 32))
    bumped = plane.copy()
    bumped[10, 13] += 50.0
    changed = np.any(np.abs(block_dct(bumped) - block_dct(plane)) > 1e-9, axis=-1)
    expected = np.zeros((4, 4), bool)
    expected[:2, 1:3] = True
    np.testing.assert_array_equal(changed, expected)


def test_block_dct_of_a_constant_plane_is_dc_only():
    # Orthonormal 8x8 DCT: DC = 8 * mean of the level-shifted block, AC = 0.
    coeffs = block_dct(np.full((13, 9), 200.0))
    np.testing.assert_allclose(coeffs[..., 0], 8 * (200.0 - 128.0), atol=1e-9)
    np.testing.assert_allclose(coeffs[..., 1:], 0.0, atol=1e-9)


def test_first_ac_coefficients_are_horizontal_then_vertical():  # one block: plain DCT
    # Zigzag index 1 is raster (0, 1): a horizontal cosine; index 2 is raster (1, 0): vertical.
    C = dct_matrix()
    horizontal = 128.0 + 50.0 * np.tile(C[1], (8, 1))  # varies along columns only
    coeffs = block_dct(horizontal)[0, 0]
    assert abs(coeffs[1]) == pytest.approx(50.0 * math.sqrt(8), rel=1e-12)
    np.testing.assert_allclose(np.delete(coeffs, 1), 0.0, atol=1e-9)
    coeffs = block_dct(horizontal.T)[0, 0]
    assert abs(coeffs[2]) == pytest.approx(50.0 * math.sqrt(8), rel=1e-12)
    np.testing.assert_allclose(np.delete(coeffs, 2), 0.0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
@example(shape=(1, 1), seed=0)
@example(shape=(7, 13), seed=1)
@example(shape=(1, 4097), seed=2)
@example(shape=(64, 64), seed=3)
def test_block_dct_pads_by_edge_replication(shape, seed):
    rng = np.random.default_rng(seed)
    plane = rng.uniform(0, 255, shape)
    coeffs = block_dct(plane)
    assert coeffs.shape == (-(-shape[0] // 8), -(-shape[1] // 8), 64)
    padded = padded_edge(plane)
    np.testing.assert_allclose(coeffs, block_dct(padded), atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
@example(shape=(1, 1), seed=0)
@example(shape=(7, 13), seed=1)
@example(shape=(1, 4097), seed=2)
@example(shape=(64, 64), seed=3)
def test_block_idct_inverts_block_dct(shape, seed):
    rng = np.random.default_rng(seed)
    plane = rng.uniform(0, 255, shape)
    back = block_idct(block_dct(plane), shape)
    assert back.shape == shape
    np.testing.assert_allclose(back, plane, rtol=0, atol=1e-9)


def test_block_dct_accepts_uint8_without_wrapping():
    plane = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    np.testing.assert_allclose(block_idct(block_dct(plane), (2, 2)), plane, atol=1e-9)


# --------------------------------------------------------------------------------------------
# Colour


def test_rgb_to_ycbcr_layout_and_known_values():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [77, 77, 77]]], dtype=np.uint8)
    ycc = rgb_to_ycbcr(rgb)
    assert ycc.shape == (3, 1, 4)
    assert ycc.dtype == np.float64
    # JFIF: Y = .299 R + .587 G + .114 B; a gray pixel has Cb = Cr = 128.
    np.testing.assert_allclose(ycc[0, 0], [0.299 * 255, 0.587 * 255, 0.114 * 255, 77], atol=1e-9)
    np.testing.assert_allclose(ycc[1:, 0, 3], [128.0, 128.0], atol=1e-9)
    # Cb peaks at blue, Cr at red: 128 + 0.5 * 255.
    assert ycc[1, 0, 2] == pytest.approx(255.5)
    assert ycc[2, 0, 0] == pytest.approx(255.5)


def test_rgb_to_ycbcr_agrees_with_pillow_within_one_level():
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    ours = np.rint(rgb_to_ycbcr(rgb))  # Pillow works in fixed point and truncates
    pil = np.asarray(Image.fromarray(rgb).convert("YCbCr")).transpose(2, 0, 1).astype(np.float64)
    assert np.abs(ours - pil).max() <= 1.0


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
@example(shape=(1, 1), seed=0)
def test_ycbcr_round_trip_within_one_level(shape, seed):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    back = ycbcr_to_rgb(*rgb_to_ycbcr(rgb))
    assert back.shape == rgb.shape
    assert back.dtype == np.uint8
    assert np.abs(back.astype(int) - rgb).max() <= 1


def test_ycbcr_round_trip_of_every_extreme_colour():
    corners = np.array(
        [[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], dtype=np.uint8
    ).reshape(2, 4, 3)
    back = ycbcr_to_rgb(*rgb_to_ycbcr(corners))
    assert np.abs(back.astype(int) - corners).max() <= 1


def test_ycbcr_to_rgb_clips_out_of_gamut_values():
    y = np.array([[300.0, -40.0]])
    mid = np.full_like(y, 128.0)
    np.testing.assert_array_equal(ycbcr_to_rgb(y, mid, mid), [[[255] * 3, [0] * 3]])


# --------------------------------------------------------------------------------------------
# 4:2:0 chroma


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
@example(shape=(1, 1), seed=0)
@example(shape=(7, 13), seed=1)
def test_downsample_420_averages_each_2x2_cell(shape, seed):
    # Odd sizes replicate the last row/column: the mean over the pixels the cell holds.
    rng = np.random.default_rng(seed)
    plane = rng.uniform(0, 255, shape)
    out = downsample_420(plane)
    h, w = shape
    assert out.shape == ((h + 1) // 2, (w + 1) // 2)
    expected = np.array(
        [
            [plane[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean() for j in range(out.shape[1])]
            for i in range(out.shape[0])
        ]
    )
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-9)


def fancy_upsample_1d(row: np.ndarray, size: int) -> list[float]:
    """libjpeg's h2v1 fancy upsampling, edges replicated:
    ``out[2i] = (3 c[i] + c[i-1]) / 4``, ``out[2i+1] = (3 c[i] + c[i+1]) / 4``."""
    n = len(row)
    out = []
    for i in range(n):
        left, right = row[max(i - 1, 0)], row[min(i + 1, n - 1)]
        out += [0.75 * row[i] + 0.25 * left, 0.75 * row[i] + 0.25 * right]
    return out[:size]


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
@example(shape=(1, 1), seed=0)
@example(shape=(7, 13), seed=1)
def test_upsample_420_is_separable_fancy_upsampling(shape, seed):
    h, w = shape
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, ((h + 1) // 2, (w + 1) // 2))
    out = upsample_420(small, shape)
    assert out.shape == shape
    rows = np.array([fancy_upsample_1d(r, w) for r in small])
    expected = np.array([fancy_upsample_1d(c, h) for c in rows.T]).T
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 1), (7, 13), (9, 4), (16, 16), (5, 4097)])
def test_upsample_420_of_a_constant_plane_is_constant_with_the_target_shape(shape):
    small = np.full(((shape[0] + 1) // 2, (shape[1] + 1) // 2), 37.25)
    out = upsample_420(small, shape)
    assert out.shape == shape
    np.testing.assert_allclose(out, 37.25, rtol=0, atol=1e-12)


def test_down_then_upsampling_keeps_the_interior_of_a_linear_ramp():
    # The (1/4, 3/4) filter is exact on a linear ramp away from the replicated edges.
    ramp = np.add.outer(2.0 * np.arange(20), 3.0 * np.arange(30))
    back = upsample_420(downsample_420(ramp), ramp.shape)
    np.testing.assert_allclose(back[1:-1, 1:-1], ramp[1:-1, 1:-1], atol=1e-9)
