"""Colour conversion, 4:2:0 resampling and the 8x8 block DCT.

References are built here independently: the orthonormal DCT-II matrix from its formula
``C[k, n] = a(k) cos(pi (2n + 1) k / 16)``, the lapped pre-filter
``P = 1/2 [[I, J], [J, -I]] diag(I, V) [[I, J], [J, -I]]`` of Tran, Liang & Tu (2003) applied
by loops at every internal block boundary (only the tuned 4x4 ``V`` is taken from the module),
the coding gains of the DCT and of the lapped transform on an AR(1) source, the zigzag sequence
as printed in ITU-T T.81 (Figure A.6), PIL's own RGB -> YCbCr conversion, and libjpeg's "fancy"
upsampling written as a loop. The previous numpy implementation is kept here too: the compiled
kernels must reproduce it on random images of any size and on a photograph.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
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
    rgb_to_ycbcr_420,
    upsample_420,
    ycbcr420_to_rgb,
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
    # The compiled butterflies, applied to the unit vectors, are P (with V) and P^-1 (with V^-1).
    pre = np.array([transform._lap(transform._V, *e) for e in np.eye(8)]).T
    post = np.array([transform._lap(transform._V_INV, *e) for e in np.eye(8)]).T
    np.testing.assert_allclose(pre, prefilter(transform._V), atol=1e-12)
    np.testing.assert_allclose(pre @ post, np.eye(8), atol=1e-12)


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


# --------------------------------------------------------------------------------------------
# The previous implementation (numpy and scipy.fft, before the compiled kernels), as it was but
# for names, the reference the kernels must reproduce: floats within 1e-9, uint8 RGB identical
# but for values within 1e-9 of a rounding boundary.


def reference_rgb_to_ycbcr(rgb):
    ycc = np.tensordot(REF_RGB_TO_YCBCR, rgb.astype(np.float64), axes=([1], [2]))
    ycc[1:] += 128.0
    return ycc


def reference_ycbcr_to_rgb_unrounded(y, cb, cr):
    return np.tensordot(np.linalg.inv(REF_RGB_TO_YCBCR), np.stack([y, cb - 128.0, cr - 128.0]), 1)


def reference_ycbcr_to_rgb(y, cb, cr):
    rgb = reference_ycbcr_to_rgb_unrounded(y, cb, cr)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8).transpose(1, 2, 0)


def reference_downsample_420(plane):
    h, w = plane.shape
    padded = np.pad(plane, ((0, h % 2), (0, w % 2)), mode="edge")
    return padded.reshape((h + 1) // 2, 2, (w + 1) // 2, 2).mean(axis=(1, 3))


def reference_upsample_axis(plane, axis, size):
    ext = np.concatenate([np.take(plane, [0], axis), plane, np.take(plane, [-1], axis)], axis=axis)
    n = plane.shape[axis]
    centre = np.take(ext, np.arange(1, n + 1), axis)
    before = np.take(ext, np.arange(0, n), axis)
    after = np.take(ext, np.arange(2, n + 2), axis)
    even, odd = 0.75 * centre + 0.25 * before, 0.75 * centre + 0.25 * after
    out = np.stack([even, odd], axis=axis + 1)
    shape = list(plane.shape)
    shape[axis] = 2 * n
    return np.take(out.reshape(shape), np.arange(size), axis)


def reference_upsample_420(plane, shape):
    return reference_upsample_axis(reference_upsample_axis(plane, 0, shape[0]), 1, shape[1])


def reference_filter_boundaries(x, matrix, axis):
    x = np.moveaxis(x, axis, -1)
    blocks = x.shape[-1] // 8
    if blocks > 1:
        around = np.arange(1, blocks)[:, None] * 8 + np.arange(-4, 4)
        x[..., around] = x[..., around] @ matrix.T
    return np.moveaxis(x, -1, axis)


def reference_block_dct(plane):
    h, w = plane.shape
    x = np.pad(plane.astype(np.float64) - 128.0, ((0, -h % 8), (0, -w % 8)), mode="edge")
    x = reference_filter_boundaries(reference_filter_boundaries(x, REF_PRE, 1), REF_PRE, 0)
    by, bx = x.shape[0] // 8, x.shape[1] // 8
    blocks = x.reshape(by, 8, bx, 8).transpose(0, 2, 1, 3)
    coeffs = scipy.fft.dctn(blocks, type=2, axes=(2, 3), norm="ortho")
    return coeffs.reshape(by, bx, 64)[:, :, JPEG_ZIGZAG]


def reference_block_idct(coeffs, shape):
    by, bx, _ = coeffs.shape
    blocks = coeffs[:, :, np.argsort(JPEG_ZIGZAG)].reshape(by, bx, 8, 8)
    x = scipy.fft.idctn(blocks, type=2, axes=(2, 3), norm="ortho")
    plane = x.transpose(0, 2, 1, 3).reshape(by * 8, bx * 8)
    plane = reference_filter_boundaries(
        reference_filter_boundaries(plane, REF_POST, 0), REF_POST, 1
    )
    return plane[: shape[0], : shape[1]] + 128.0


REF_RGB_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)
REF_PRE = prefilter(transform._V)
REF_POST = np.linalg.inv(REF_PRE)


def assert_same_rgb(ours, y, cb, cr):
    """``ours`` equals the reference's RGB wherever that is not within 1e-9 of a rounding tie."""
    expected = reference_ycbcr_to_rgb(y, cb, cr)
    assert ours.shape == expected.shape and ours.dtype == np.uint8
    unrounded = reference_ycbcr_to_rgb_unrounded(y, cb, cr).transpose(1, 2, 0)
    tie = np.abs(unrounded - np.floor(unrounded) - 0.5) < 1e-9
    np.testing.assert_array_equal(ours[~tie], expected[~tie])
    assert np.abs(ours.astype(int) - expected)[tie].max(initial=0) <= 1


def assert_matches_the_reference(rgb: np.ndarray):
    """Every function against the reference on an RGB image: its colour planes, their 4:2:0
    chroma, the lapped DCT of each, the inverse of perturbed coefficients, and back to RGB."""
    ycc = rgb_to_ycbcr(rgb)
    assert ycc.shape == (3, *rgb.shape[:2]) and ycc.dtype == np.float64
    np.testing.assert_allclose(ycc, reference_rgb_to_ycbcr(rgb), rtol=0, atol=1e-9)
    rng = np.random.default_rng(rgb.size)
    full = ycc.shape[1:]
    for plane in ycc:
        small = downsample_420(plane)
        np.testing.assert_allclose(small, reference_downsample_420(plane), rtol=0, atol=1e-9)
        up = upsample_420(small, full)
        np.testing.assert_allclose(up, reference_upsample_420(small, full), rtol=0, atol=1e-9)
        for p in (plane, small):
            coeffs = block_dct(p)
            np.testing.assert_allclose(coeffs, reference_block_dct(p), rtol=0, atol=1e-9)
            noisy = np.round(coeffs / 4) * 4 + rng.normal(0, 1, coeffs.shape)  # as if decoded
            back = block_idct(noisy, p.shape)
            assert back.shape == p.shape and back.dtype == np.float64
            np.testing.assert_allclose(back, reference_block_idct(noisy, p.shape), atol=1e-9)
    y, cb, cr = ycc + rng.normal(0, 2, ycc.shape)  # off the integers, some out of gamut
    assert_same_rgb(ycbcr_to_rgb(y, cb, cr), y, cb, cr)


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (9, 17), (64, 64), (1, 30), (30, 1), (8, 72)])
def test_the_kernels_match_the_reference_on_random_images(shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    assert_matches_the_reference(rng.integers(0, 256, (*shape, 3), dtype=np.uint8))


@settings(max_examples=25, deadline=None)
@given(shape=st.tuples(st.integers(1, 150), st.integers(1, 150)), seed=st.integers(0, 2**32 - 1))
def test_the_kernels_match_the_reference_on_any_size(shape, seed):
    # Widths past one 64-column chunk of the kernels, and partial chunks, included.
    rng = np.random.default_rng(seed)
    assert_matches_the_reference(rng.integers(0, 256, (*shape, 3), dtype=np.uint8))


def test_the_kernels_match_the_reference_on_a_photograph(data_dir):
    with Image.open(data_dir / "kodak" / "kodim05.png") as im:
        rgb = np.asarray(im.convert("RGB"))
    assert_matches_the_reference(rgb)
    assert_matches_the_reference(rgb[:333, :517])  # odd sizes, partial blocks and chunks


def assert_fused_equal_composition(rgb: np.ndarray):
    """The fused 4:2:0 kernels give exactly, bit for bit, what conversion then resampling give
    (the codec's streams and images depend on every bit)."""
    y, cb, cr = rgb_to_ycbcr_420(rgb)
    ycc = rgb_to_ycbcr(rgb)
    np.testing.assert_array_equal(y, ycc[0])
    np.testing.assert_array_equal(cb, downsample_420(ycc[1]))
    np.testing.assert_array_equal(cr, downsample_420(ycc[2]))
    rng = np.random.default_rng(rgb.size)
    y, cb, cr = (p + rng.normal(0, 3, p.shape) for p in (y, cb, cr))  # as if decoded
    full = y.shape
    expected = ycbcr_to_rgb(y, upsample_420(cb, full), upsample_420(cr, full))
    np.testing.assert_array_equal(ycbcr420_to_rgb(y, cb, cr), expected)


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (9, 17), (33, 65), (1, 2), (2, 1), (64, 72)])
def test_the_fused_420_kernels_equal_conversion_then_resampling(shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    assert_fused_equal_composition(rng.integers(0, 256, (*shape, 3), dtype=np.uint8))


def test_the_fused_420_kernels_equal_conversion_then_resampling_on_a_photograph(data_dir):
    with Image.open(data_dir / "kodak" / "kodim23.png") as im:
        rgb = np.asarray(im.convert("RGB"))
    assert_fused_equal_composition(rgb)
    assert_fused_equal_composition(rgb[:333, :517])


def strided(a: np.ndarray) -> np.ndarray:
    """``a`` as a view every other column of a wider array: not contiguous."""
    wide = np.zeros((a.shape[0], 2 * a.shape[1], *a.shape[2:]), a.dtype)
    wide[:, ::2] = a
    return wide[:, ::2]


def test_the_kernels_accept_any_layout_and_dtype():
    # Strided, Fortran-ordered, read-only and integer inputs give what contiguous floats give.
    rng = np.random.default_rng(5)
    plane = rng.uniform(0, 255, (40, 70))
    coeffs = block_dct(plane)
    readonly = plane.copy()
    readonly.flags.writeable = False
    for variant in (strided(plane), np.asfortranarray(plane), readonly):
        assert not variant.flags.c_contiguous or not variant.flags.writeable
        np.testing.assert_array_equal(block_dct(variant), coeffs)
    back = block_idct(coeffs, plane.shape)
    for variant in (strided(coeffs), np.asfortranarray(coeffs)):
        np.testing.assert_array_equal(block_idct(variant, plane.shape), back)
    np.testing.assert_array_equal(block_dct(plane.astype(np.uint8)), block_dct(np.floor(plane)))
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    ycc = rgb_to_ycbcr(rgb)
    np.testing.assert_array_equal(rgb_to_ycbcr(strided(rgb)), ycc)
    np.testing.assert_array_equal(rgb_to_ycbcr(rgb.astype(np.float32)), ycc)
    y, cb, cr = ycc
    expected = ycbcr_to_rgb(y, cb, cr)
    np.testing.assert_array_equal(ycbcr_to_rgb(strided(y), cb.T.copy().T, cr), expected)
    np.testing.assert_array_equal(downsample_420(strided(y)), downsample_420(y))
    np.testing.assert_array_equal(upsample_420(strided(cb), (39, 60)), upsample_420(cb, (39, 60)))
    fused = rgb_to_ycbcr_420(rgb)
    for variant in (strided(rgb), rgb.astype(np.float32)):
        for got, want in zip(rgb_to_ycbcr_420(variant), fused, strict=True):
            np.testing.assert_array_equal(got, want)
    y, cb, cr = fused
    expected = ycbcr420_to_rgb(y, cb, cr)
    np.testing.assert_array_equal(ycbcr420_to_rgb(strided(y), np.asfortranarray(cb), cr), expected)


def test_shapes_the_kernels_cannot_serve_are_refused():
    # The compiled loops do not check bounds: the wrappers refuse what would read past an array.
    with pytest.raises(ValueError, match="twice"):
        upsample_420(np.zeros((10, 15)), (21, 30))
    with pytest.raises(ValueError, match="differ"):
        ycbcr_to_rgb(np.zeros((4, 6)), np.zeros((4, 6)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="4:2:0"):
        ycbcr420_to_rgb(np.zeros((5, 6)), np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="64"):
        block_idct(np.zeros((2, 3, 63)), (16, 24))
    # A shape past the blocks gives what they hold, as slicing does; no blocks, an empty plane.
    assert block_idct(np.zeros((2, 3, 64)), (20, 30)).shape == (16, 24)
    assert block_idct(np.zeros((0, 3, 64)), (0, 24)).shape == (0, 24)
