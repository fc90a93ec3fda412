"""Tests of spikecodec.metrics.ms_ssim, the bench's multi-scale SSIM.

The cross-check is against sewar (pure numpy/scipy, small): its single-scale ``ssim`` with the
11x11 Gaussian window gives each scale's SSIM and contrast-structure terms, which this file
combines over 2x2-mean pyramids with Wang et al.'s weights; sewar's own ``msssim`` is checked
loosely only, since it downsamples with a one-pixel shift (``uniform_filter(size=2)[::2]``).
"""

import numpy as np
import pytest
from PIL import Image

from spikecodec.data import load_sample
from spikecodec.metrics import MS_SSIM_WEIGHTS, luma, ms_ssim


@pytest.fixture(scope="module")
def pair():
    """A 256x256 luma image and a noisy copy."""
    x = np.asarray(Image.fromarray(load_sample()).convert("L"))
    noise = np.random.default_rng(0).normal(0, 12, x.shape)
    return x, np.clip(x + noise, 0, 255).astype(np.uint8)


def _reference(x: np.ndarray, y: np.ndarray, scales: int) -> float:
    """MS-SSIM from sewar's per-scale SSIM and CS terms (weights renormalized below 5 scales)."""
    full_ref = pytest.importorskip("sewar.full_ref")
    from sewar.utils import Filter

    window = {"fltr": Filter.GAUSSIAN, "sigma": 1.5, "ws": 11}
    x, y = x.astype(np.float64), y.astype(np.float64)
    terms = []
    for j in range(scales):
        s, cs = full_ref.ssim(x, y, ws=11, MAX=255, fltr_specs=window)
        terms.append(cs if j < scales - 1 else s)
        h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
        x, y = (z[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)) for z in (x, y))
    weights = np.array(MS_SSIM_WEIGHTS[:scales])
    if scales < 5:
        weights /= weights.sum()
    return float(np.prod(np.array(terms) ** weights))


def test_identical_images_score_one(pair):
    x, _ = pair
    assert ms_ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    assert ms_ssim(load_sample(), load_sample()) == pytest.approx(1.0, abs=1e-12)


def test_falls_as_noise_grows(pair):
    x, _ = pair
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 1, x.shape)
    scores = [
        ms_ssim(x, np.clip(x + sigma * noise, 0, 255).astype(np.uint8))
        for sigma in (1, 2, 4, 8, 16, 32, 64)
    ]
    assert all(0 < s < 1 for s in scores)
    assert np.all(np.diff(scores) < 0), scores


def test_matches_sewar_per_scale_terms(pair):
    # 256 pixels a side: all five scales (the coarsest 16 pixels).
    x, y = pair
    assert ms_ssim(x, y) == pytest.approx(_reference(x, y, 5), rel=1e-10)


def test_close_to_sewar_msssim(pair):
    full_ref = pytest.importorskip("sewar.full_ref")
    x, y = pair
    assert ms_ssim(x, y) == pytest.approx(full_ref.msssim(x, y, MAX=255).real, abs=2e-3)


@pytest.mark.parametrize(("side", "scales"), [(64, 3), (100, 4), (175, 4), (176, 5), (22, 2)])
def test_small_images_use_fewer_scales(pair, side, scales):
    x, y = pair[0][:side, :side], pair[1][:side, :side]
    assert ms_ssim(x, y) == pytest.approx(_reference(x, y, scales), rel=1e-10)


def test_single_scale_and_too_small(pair):
    x, y = pair[0][:12, :20], pair[1][:12, :20]
    assert ms_ssim(x, y) == pytest.approx(_reference(x, y, 1), rel=1e-10)
    with pytest.raises(ValueError, match="11x11"):
        ms_ssim(x[:10], y[:10])
    with pytest.raises(ValueError, match="same shape"):
        ms_ssim(x, y[:11])


def test_rgb_is_measured_on_luma():
    a = load_sample()
    b = np.clip(a + np.random.default_rng(2).normal(0, 10, a.shape), 0, 255).astype(np.uint8)
    assert ms_ssim(a, b) == ms_ssim(luma(a), luma(b))


def test_negative_structure_counts_as_zero(pair):
    # An inverted image is anticorrelated at the fine scales: the mean CS term is negative there.
    x, _ = pair
    assert ms_ssim(x, 255 - x) == 0.0
