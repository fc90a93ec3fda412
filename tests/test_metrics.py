"""Tests of spikecodec.metrics: PSNR, SSIM, luma (against Pillow), bpp and Bjøntegaard deltas."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from spikecodec.metrics import bd_psnr, bd_rate, bpp, luma, mse, psnr, ssim

RNG_SEED = 20240601


def _image(shape, seed=RNG_SEED):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _smooth_image(shape=(64, 96)):
    """A smooth gradient plus texture: a realistic enough image for SSIM to behave."""
    y, x = np.mgrid[: shape[0], : shape[1]]
    img = 128 + 60 * np.sin(x / 9.0) * np.cos(y / 13.0) + 0.5 * x - 0.3 * y
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


# --- PSNR / MSE ---------------------------------------------------------------------------------


def test_psnr_of_unit_offset_is_48_13_db():
    ref = np.full((16, 24), 100, np.uint8)
    assert psnr(ref, ref + 1) == pytest.approx(10 * math.log10(255**2), abs=1e-12)
    assert round(psnr(ref, ref + 1), 2) == 48.13


def test_psnr_known_mse_and_peak():
    ref = np.zeros((4, 4), np.uint8)
    test = np.full((4, 4), 3, np.uint8)  # MSE = 9
    assert mse(ref, test) == 9.0
    assert psnr(ref, test) == pytest.approx(10 * math.log10(255**2 / 9))
    assert psnr(ref, test, peak=1.0) == pytest.approx(10 * math.log10(1 / 9))


def test_psnr_no_uint8_wraparound():
    ref = np.zeros((2, 2), np.uint8)
    test = np.full((2, 2), 255, np.uint8)  # ref - test must be -255, not 1
    assert psnr(ref, test) == pytest.approx(0.0, abs=1e-12)
    assert psnr(test, ref) == pytest.approx(0.0, abs=1e-12)


def test_psnr_identical_is_inf():
    img = _image((8, 8, 3))
    assert psnr(img, img.copy()) == math.inf


def test_psnr_rgb_is_over_all_samples():
    ref = np.zeros((4, 4, 3), np.uint8)
    test = ref.copy()
    test[..., 0] = 2  # squared error 4 on a third of the samples: MSE = 4/3
    assert psnr(ref, test) == pytest.approx(10 * math.log10(255**2 / (4 / 3)))


def test_psnr_rejects_shape_mismatch_and_bad_peak():
    with pytest.raises(ValueError, match="same shape"):
        psnr(np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError, match="peak"):
        psnr(np.zeros((4, 4), np.uint8), np.ones((4, 4), np.uint8), peak=0)


# --- luma -----------------------------------------------------------------------------------------


def test_luma_equals_pil_on_every_colour():
    # All 2**24 colours, as a 4096x4096 image: bit-exact with Image.convert('L').
    v = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=-1).astype(np.uint8)
    rgb = rgb.reshape(4096, 4096, 3)
    expected = np.asarray(Image.fromarray(rgb).convert("L"))
    got = luma(rgb)
    assert got.dtype == np.uint8 and got.shape == (4096, 4096)
    np.testing.assert_array_equal(got, expected)


def test_luma_equals_pil_on_random_image():
    rgb = _image((37, 53, 3))
    np.testing.assert_array_equal(luma(rgb), np.asarray(Image.fromarray(rgb).convert("L")))


def test_luma_rejects_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        luma(np.zeros((4, 4, 3), np.float64))
    with pytest.raises(ValueError, match="3 channels"):
        luma(np.zeros((4, 4), np.uint8))


# --- SSIM -----------------------------------------------------------------------------------------


def test_ssim_identical_is_one():
    img = _smooth_image()
    assert ssim(img, img.copy()) == pytest.approx(1.0)
    rgb = _image((32, 40, 3))
    assert ssim(rgb, rgb.copy()) == pytest.approx(1.0)


def test_ssim_decreases_with_noise():
    img = _smooth_image()
    rng = np.random.default_rng(1)
    values = []
    for sigma in (2, 8, 32):
        noisy = np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)
        values.append(ssim(img, noisy))
    assert 1.0 > values[0] > values[1] > values[2]


def test_ssim_of_rgb_is_ssim_of_luma():
    from skimage.metrics import structural_similarity

    ref = _image((32, 40, 3), seed=2)
    test = np.clip(ref.astype(int) + _image((32, 40, 3), seed=3) % 9 - 4, 0, 255).astype(np.uint8)
    y_ref = np.asarray(Image.fromarray(ref).convert("L"))
    y_test = np.asarray(Image.fromarray(test).convert("L"))
    assert ssim(ref, test) == structural_similarity(y_ref, y_test, data_range=255)


def test_ssim_rejects_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="7x7"):
        ssim(np.zeros((5, 8), np.uint8), np.zeros((5, 8), np.uint8))


# --- bpp ------------------------------------------------------------------------------------------


def test_bpp():
    assert bpp(49152, (512, 768)) == 1.0
    assert bpp(49152, (512, 768, 3)) == 1.0  # per pixel, not per sample
    assert bpp(0, (2, 2)) == 0.0
    with pytest.raises(ValueError):
        bpp(-1, (2, 2))
    with pytest.raises(ValueError):
        bpp(10, (0, 2))


# --- Bjøntegaard deltas ---------------------------------------------------------------------------

RATES = np.array([0.15, 0.3, 0.55, 1.0, 1.7, 2.9])
PSNRS = np.array([27.0, 29.8, 32.4, 35.5, 38.9, 42.6])


def test_bd_rate_of_scaled_curve_is_minus_20_percent():
    assert bd_rate(RATES, PSNRS, 0.8 * RATES, PSNRS) == pytest.approx(-20.0, abs=1e-9)


def test_bd_rate_identical_is_zero():
    assert bd_rate(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-12)


def test_bd_rate_swapped_is_plus_25_percent():
    assert bd_rate(0.8 * RATES, PSNRS, RATES, PSNRS) == pytest.approx(25.0, abs=1e-9)


def test_bd_rate_ignores_order_and_duplicates():
    order = np.array([3, 0, 5, 1, 4, 2])
    shuffled = bd_rate(RATES[order], PSNRS[order], 0.8 * RATES, PSNRS)
    assert shuffled == pytest.approx(-20.0, abs=1e-9)
    # A repeated quality with a worse rate is dropped (the lower rate is kept).
    rates = np.append(RATES, 2.0 * RATES[2])
    psnrs = np.append(PSNRS, PSNRS[2])
    assert bd_rate(rates, psnrs, 0.8 * RATES, PSNRS) == pytest.approx(-20.0, abs=1e-9)


def test_bd_rate_partial_overlap_uses_common_range():
    # The test curve covers only the middle, where it is 10 % cheaper. Log-rate linear in quality
    # (rate doubling every 3 dB), so that pchip through any subset of the points is the same line.
    quals = np.array([27.0, 30.0, 33.0, 36.0, 39.0, 42.0])
    rates = 0.2 * 2.0 ** ((quals - 27.0) / 3.0)
    assert bd_rate(rates, quals, 0.9 * rates[1:4], quals[1:4]) == pytest.approx(-10.0, abs=1e-9)


def test_bd_rate_empty_overlap_raises():
    with pytest.raises(ValueError, match="overlap"):
        bd_rate(RATES[:3], PSNRS[:3], RATES[3:], PSNRS[3:])


def test_bd_rate_too_few_points_raises():
    with pytest.raises(ValueError, match="at least 2"):
        bd_rate(RATES, PSNRS, RATES[:1], PSNRS[:1])
    with pytest.raises(ValueError, match="at least 2"):
        bd_rate(RATES, PSNRS, [1.0, 2.0], [30.0, 30.0])  # one distinct quality


def test_bd_rate_rejects_bad_rates():
    with pytest.raises(ValueError, match="positive"):
        bd_rate(RATES, PSNRS, np.r_[0.0, RATES[1:]], PSNRS)
    with pytest.raises(ValueError, match="finite"):
        bd_rate(RATES, PSNRS, RATES, np.r_[PSNRS[:-1], np.inf])
    with pytest.raises(ValueError, match="same length"):
        bd_rate(RATES, PSNRS, RATES, PSNRS[:-1])


def test_bd_rate_window_drops_points_outside():
    anchor_q = PSNRS.copy()
    test_q = PSNRS + np.array([5.0, 0.3, 0.2, 0.4, 0.1, -6.0])  # wild outside 0.25–2 bpp
    keep = (RATES >= 0.25) & (RATES <= 2.0)
    windowed = bd_rate(RATES, anchor_q, RATES, test_q, rate_window=(0.25, 2.0))
    manual = bd_rate(RATES[keep], anchor_q[keep], RATES[keep], test_q[keep])
    assert windowed == manual
    assert windowed != bd_rate(RATES, anchor_q, RATES, test_q)
    with pytest.raises(ValueError, match="at least 2"):
        bd_rate(RATES, PSNRS, RATES, PSNRS, rate_window=(0.5, 0.9))
    with pytest.raises(ValueError, match="lo < hi"):
        bd_rate(RATES, PSNRS, RATES, PSNRS, rate_window=(2.0, 0.25))


def test_bd_psnr_of_shifted_curve():
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS + 0.5) == pytest.approx(0.5, abs=1e-9)
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-12)
    # Cheaper at equal quality means better at equal rate.
    assert bd_psnr(RATES, PSNRS, 0.8 * RATES, PSNRS) > 0
    with pytest.raises(ValueError, match="overlap"):
        bd_psnr(RATES[:3], PSNRS[:3], RATES[3:], PSNRS[3:])


@st.composite
def monotone_curves(draw):
    """A rate–quality curve: strictly increasing rates (bpp) and qualities (dB)."""
    n = draw(st.integers(2, 9))
    steps = st.floats(0.05, 1.0, allow_nan=False, allow_infinity=False)
    rate0 = draw(st.floats(0.02, 1.0))
    q0 = draw(st.floats(15.0, 40.0))
    rates = rate0 + np.cumsum([0.0] + draw(st.lists(steps, min_size=n - 1, max_size=n - 1)))
    quals = q0 + np.cumsum([0.0] + draw(st.lists(steps, min_size=n - 1, max_size=n - 1))) * 5
    return rates, quals


@settings(max_examples=200, deadline=None)
@given(curve=monotone_curves(), scale=st.floats(0.2, 5.0))
def test_bd_rate_of_scaled_random_curve(curve, scale):
    rates, quals = curve
    assert bd_rate(rates, quals, scale * rates, quals) == pytest.approx((scale - 1) * 100, abs=1e-9)
    assert bd_rate(scale * rates, quals, rates, quals) == pytest.approx(
        (1 / scale - 1) * 100, abs=1e-9
    )


@settings(max_examples=200, deadline=None)
@given(anchor=monotone_curves(), test=monotone_curves())
def test_bd_rate_is_antisymmetric(anchor, test):
    # Swapping the curves inverts the rate ratio: (1 + a/100) * (1 + b/100) = 1.
    try:
        forward = bd_rate(*anchor, *test)
    except ValueError:
        with pytest.raises(ValueError):
            bd_rate(*test, *anchor)
        return
    backward = bd_rate(*test, *anchor)
    assert (1 + forward / 100) * (1 + backward / 100) == pytest.approx(1.0, rel=1e-9)
