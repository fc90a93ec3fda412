"""Colour conversion and 4:2:0 resampling.

The fused kernels are checked against numpy references (:mod:`naive`), which are themselves
checked here against the formulas: YCoCg's known values and exact inverse, the 2x2 means, and
Catmull-Rom interpolation written from its cubic.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

import naive
from spikecodec.params import REVERSIBLE_COLOURS
from spikecodec.transform.colour import (
    colour_planes,
    reversible_to_rgb,
    rgb_to_reversible,
    rgb_to_ycocg_420,
    ycocg420_to_rgb,
    ycocg_to_rgb,
)

shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))


# --------------------------------------------------------------------------------------------
# The references against the formulas


def test_the_reference_conversion_layout_and_known_values():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [77, 77, 77]]], dtype=np.uint8)
    ycc = naive.rgb_to_ycocg(rgb)
    assert ycc.shape == (3, 1, 4)
    # Y = (R + 2G + B)/4, Co = 128 + (R - B)/2, Cg = 128 + (2G - R - B)/4; gray: Co = Cg = 128.
    np.testing.assert_allclose(ycc[0, 0], [63.75, 127.5, 63.75, 77], atol=1e-12)
    np.testing.assert_allclose(ycc[1, 0], [255.5, 128, 0.5, 128], atol=1e-12)
    np.testing.assert_allclose(ycc[2, 0], [64.25, 255.5, 64.25, 128], atol=1e-12)


def test_the_reference_inverse_is_g_y_plus_cg_and_so_on():
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    y, co, cg = naive.rgb_to_ycocg(rgb)
    co, cg = co - 128, cg - 128
    np.testing.assert_allclose(y + cg, rgb[..., 1], atol=1e-9)
    np.testing.assert_allclose(y + co - cg, rgb[..., 0], atol=1e-9)
    np.testing.assert_allclose(y - co - cg, rgb[..., 2], atol=1e-9)


def test_the_reference_round_trip_of_every_extreme_colour():
    corners = np.array(
        [[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], dtype=np.uint8
    ).reshape(2, 4, 3)
    back = naive.ycocg_to_rgb(*naive.rgb_to_ycocg(corners))
    assert np.abs(back.astype(int) - corners).max() <= 1


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
@example(shape=(1, 1), seed=0)
@example(shape=(7, 13), seed=1)
def test_the_reference_downsampling_averages_each_2x2_cell(shape, seed):
    # Odd sizes replicate the last row/column: the mean over the pixels the cell holds.
    rng = np.random.default_rng(seed)
    plane = rng.uniform(0, 255, shape)
    out = naive.downsample_420(plane)
    h, w = shape
    assert out.shape == ((h + 1) // 2, (w + 1) // 2)
    expected = np.array(
        [
            [plane[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean() for j in range(out.shape[1])]
            for i in range(out.shape[0])
        ]
    )
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-9)


def test_the_reference_upsampling_is_catmull_rom():
    # Exact on linear ramps away from the replicated edges, and the interpolating cubic at
    # a quarter sample either side of each chroma sample.
    ramp = np.add.outer(2.0 * np.arange(10), 3.0 * np.arange(12))
    up = naive.upsample_420(ramp, (20, 24))
    expected = np.add.outer(2.0 * (np.arange(20) / 2 - 0.25), 3.0 * (np.arange(24) / 2 - 0.25))
    np.testing.assert_allclose(up[3:-3, 3:-3], expected[3:-3, 3:-3], atol=1e-9)
    row = np.array([0.0, 0.0, 128.0, 0.0, 0.0])
    assert naive.upsample_1d(row, 10)[4:6] == [111.0, 111.0]
    assert naive.upsample_1d(row, 10)[2:4] == [-9.0, 29.0]


# --------------------------------------------------------------------------------------------
# The kernels against the references


def assert_same_rgb(ours, y, cb, cr):
    """``ours`` equals the reference's RGB wherever that is not within 1e-9 of a rounding tie."""
    full = y.shape
    cb, cr = naive.upsample_420(cb, full), naive.upsample_420(cr, full)
    expected = naive.ycocg_to_rgb(y, cb, cr)
    assert ours.shape == expected.shape and ours.dtype == np.uint8
    unrounded = naive.ycocg_to_rgb_unrounded(y, cb, cr).transpose(1, 2, 0)
    tie = np.abs(unrounded - np.floor(unrounded) - 0.5) < 1e-9
    np.testing.assert_array_equal(ours[~tie], expected[~tie])
    assert np.abs(ours.astype(int) - expected)[tie].max(initial=0) <= 1


def assert_matches_the_reference(rgb: np.ndarray):
    """Conversion with 4:2:0 chroma, and back from perturbed planes (some out of gamut)."""
    y, cb, cr = rgb_to_ycocg_420(rgb)
    ycc = naive.rgb_to_ycocg(rgb)
    assert y.dtype == cb.dtype == np.float64
    np.testing.assert_allclose(y, ycc[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(cb, naive.downsample_420(ycc[1]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(cr, naive.downsample_420(ycc[2]), rtol=0, atol=1e-9)
    rng = np.random.default_rng(rgb.size)
    y, cb, cr = (p + rng.normal(0, 3, p.shape) for p in (y, cb, cr))  # as if decoded
    assert_same_rgb(ycocg420_to_rgb(y, cb, cr), y, cb, cr)


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (9, 17), (33, 65), (1, 2), (2, 1), (64, 72)])
def test_the_kernels_match_the_reference_on_random_images(shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    assert_matches_the_reference(rng.integers(0, 256, (*shape, 3), dtype=np.uint8))


@settings(max_examples=25, deadline=None)
@given(shape=st.tuples(st.integers(1, 150), st.integers(1, 150)), seed=st.integers(0, 2**32 - 1))
def test_the_kernels_match_the_reference_on_any_size(shape, seed):
    rng = np.random.default_rng(seed)
    assert_matches_the_reference(rng.integers(0, 256, (*shape, 3), dtype=np.uint8))


def test_the_kernels_match_the_reference_on_a_photograph(data_dir):
    with Image.open(data_dir / "kodak" / "kodim23.png") as im:
        rgb = np.asarray(im.convert("RGB"))
    assert_matches_the_reference(rgb)
    assert_matches_the_reference(rgb[:333, :517])


def test_a_constant_image_stays_constant():
    rgb = np.empty((7, 13, 3), np.uint8)
    rgb[...] = (200, 30, 90)
    np.testing.assert_array_equal(ycocg420_to_rgb(*rgb_to_ycocg_420(rgb)), rgb)


def test_colour_planes_are_the_gray_image_or_ycbcr_420():
    rng = np.random.default_rng(6)
    gray = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    (plane,) = colour_planes(gray)
    assert plane is gray
    rgb = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    for got, want in zip(colour_planes(rgb), rgb_to_ycocg_420(rgb), strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_kernels_accept_any_layout_and_dtype():
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    fused = rgb_to_ycocg_420(rgb)
    for variant in (naive.strided(rgb), rgb.astype(np.float32)):
        for got, want in zip(rgb_to_ycocg_420(variant), fused, strict=True):
            np.testing.assert_array_equal(got, want)
    y, cb, cr = fused
    expected = ycocg420_to_rgb(y, cb, cr)
    got = ycocg420_to_rgb(naive.strided(y), np.asfortranarray(cb), cr)
    np.testing.assert_array_equal(got, expected)


def test_chroma_of_the_wrong_shape_is_refused():
    # The compiled loops do not check bounds: the wrapper refuses what would read past an array.
    with pytest.raises(ValueError, match="4:2:0"):
        ycocg420_to_rgb(np.zeros((5, 6)), np.zeros((2, 3)), np.zeros((2, 3)))


# --------------------------------------------------------------------------------------------
# The reversible colour transforms of the lossless path (YCoCg-R, JPEG 2000's RCT)


def ycocg_r_to_rgb(y, co, cg):
    return reversible_to_rgb(y, co, cg, REVERSIBLE_COLOURS.index("YCoCg-R"))


def rgb_to_ycocg_r(rgb):
    return rgb_to_reversible(rgb, REVERSIBLE_COLOURS.index("YCoCg-R"))


@pytest.mark.parametrize("colour", range(len(REVERSIBLE_COLOURS)))
def test_each_reversible_transform_brings_every_rgb_colour_back_exactly(colour):
    levels = np.arange(0, 256, dtype=np.uint8)
    red, green, blue = np.meshgrid(levels, levels[::5], levels[::3], indexing="ij")
    rgb = np.stack([red, green, blue], axis=-1).reshape(-1, 1, 3)
    y, c1, c2 = rgb_to_reversible(rgb, colour)
    assert 0 <= y.min() and y.max() <= 255
    assert -255 <= min(c1.min(), c2.min()) and max(c1.max(), c2.max()) <= 255
    back = reversible_to_rgb(y, c1, c2, colour)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, rgb)


def test_the_rct_is_jpeg_2000s():
    # ITU-T T.800 G.2: Y = floor((R + 2G + B)/4), U = B - G, V = R - G, by hand.
    known = rgb_to_reversible(
        np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 33]]]),
        REVERSIBLE_COLOURS.index("RCT"),
    )
    assert [p.tolist() for p in known] == [
        [[63, 127, 63, 20]],
        [[0, -255, 255, 13]],
        [[255, -255, 0, -10]],
    ]


@pytest.mark.parametrize("family", ["YCoCg-R", "RCT"])
@pytest.mark.parametrize(("suffix", "swap"), [("/R", (1, 0, 2)), ("/B", (0, 2, 1))])
def test_a_suffix_puts_that_channel_in_greens_place(family, suffix, swap):
    rgb = np.random.default_rng(5).integers(0, 256, (7, 9, 3))
    swapped = rgb_to_reversible(rgb[..., swap], REVERSIBLE_COLOURS.index(family))
    for a, b in zip(rgb_to_reversible(rgb, REVERSIBLE_COLOURS.index(family + suffix)), swapped):
        np.testing.assert_array_equal(a, b)


def test_the_float_inverse_of_the_rct_is_linear():
    y, u, v = np.random.default_rng(6).normal(100, 40, (3, 6, 5))
    rgb = reversible_to_rgb(y, u, v, REVERSIBLE_COLOURS.index("RCT"))
    assert rgb.dtype == np.float64
    np.testing.assert_allclose(rgb[..., 1], y - (u + v) / 4)
    np.testing.assert_allclose(rgb[..., 0], v + y - (u + v) / 4)
    np.testing.assert_allclose(rgb[..., 2], u + y - (u + v) / 4)


def test_ycocg_r_is_twice_ycocg_in_chroma_and_ycocg_in_luma():
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (9, 11, 3))
    y, co, cg = rgb_to_ycocg_r(rgb)
    ycc = naive.rgb_to_ycocg(rgb.astype(np.uint8))
    # Within the flooring of its two half steps: |error| <= 1/2 for Co/2, 1 for Y and Cg/2.
    assert np.abs(co / 2 - (ycc[1] - 128)).max() <= 0.5
    assert np.abs(cg / 2 - (ycc[2] - 128)).max() <= 0.75
    assert np.abs(y - ycc[0]).max() <= 1
    known = rgb_to_ycocg_r(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]]))
    assert [p.tolist() for p in known] == [[[63, 127, 63]], [[255, 0, -255]], [[-127, 255, -127]]]


def test_the_float_inverse_of_ycocg_r_is_linear():
    rng = np.random.default_rng(4)
    y, co, cg = rng.normal(100, 40, (3, 6, 5))
    rgb = ycocg_r_to_rgb(y, co, cg)
    assert rgb.dtype == np.float64
    np.testing.assert_allclose(rgb[..., 1], y + cg / 2)
    np.testing.assert_allclose(rgb[..., 0], y - cg / 2 + co / 2)
    np.testing.assert_allclose(rgb[..., 2], y - cg / 2 - co / 2)


@pytest.mark.parametrize("rows", [255, 256, 511, 512, 769, 1025])
def test_bands_of_rows_on_threads_convert_as_one(rows):
    """The conversion back to RGB in bands of rows (at least 256 each) on threads gives the
    image of one pass, the upsampled chroma across the bands' edges included."""
    rng = np.random.default_rng(rows)
    y = rng.uniform(-20, 275, (rows, 37))
    cb, cr = (rng.uniform(-20, 275, ((rows + 1) // 2, 19)) for _ in range(2))
    whole = ycocg420_to_rgb(y, cb, cr)
    assert_same_rgb(whole, y, cb, cr)
    for threads in (2, 3, 5):
        np.testing.assert_array_equal(ycocg420_to_rgb(y, cb, cr, threads=threads), whole)
    full = [rng.uniform(-20, 275, (rows, 23)) for _ in range(3)]
    np.testing.assert_array_equal(ycocg_to_rgb(*full, threads=4), ycocg_to_rgb(*full))
