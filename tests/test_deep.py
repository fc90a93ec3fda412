"""16-bit samples in lossy streams: coded on the 8-bit scale, so that a quality means the same.

A lossy stream of 16-bit samples codes ``x / 257`` (``x * 255/65535``) through the lossy path
and decodes ``rint(clip(v, 0, 255) * 257)``: an 8-bit image spread to 16 bits by ``* 257``
gives exactly the 8-bit image's spike counts, and one with real low bits the same bytes and
PSNR (each on its own peak) within a few per mille.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import spikecodec as sc
from spikecodec.data import load_sample
from spikecodec.format import container
from spikecodec.metrics import psnr


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_sample("kodim23")[:96, :128]


def spread(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """An 8-bit image at 16 bits: ``x * 257`` plus uniform low bits, clipped at 65535."""
    noise = np.random.default_rng(seed).integers(0, 257, image.shape)
    return np.minimum(image.astype(np.int64) * 257 + noise, 65535).astype(np.uint16)


@pytest.mark.parametrize("rgb", [False, True], ids=["gray", "rgb"])
def test_an_image_times_257_gives_the_8_bit_images_counts(photo, rgb):
    image = photo if rgb else photo[:, :, 1]
    header8, counts8 = sc.spike_counts(image, 60)
    header16, counts16 = sc.spike_counts(image.astype(np.uint16) * 257, 60)
    assert header16.depth == 16 and not header16.reversible
    assert header16.theta == header8.theta and header16.subsampling == header8.subsampling
    for k8, k16 in zip(counts8, counts16, strict=True):
        np.testing.assert_array_equal(k8, k16)


@pytest.mark.parametrize("rgb", [False, True], ids=["gray", "rgb"])
@pytest.mark.parametrize("quality", [30, 75, 95])
def test_a_quality_means_the_same_at_both_depths(photo, rgb, quality):
    image = photo if rgb else photo[:, :, 1]
    deep = spread(image, seed=quality)
    data8, data16 = sc.encode(image, quality), sc.encode(deep, quality)
    decoded = sc.decode(data16)
    assert decoded.dtype == np.uint16 and decoded.shape == deep.shape
    assert abs(len(data16) / len(data8) - 1) < 0.01
    # as good (better at high qualities, where the 8-bit output's own rounding shows)
    assert 0 <= psnr(deep, decoded) - psnr(image, sc.decode(data8)) + 0.1 < 1.0


def test_the_decoded_samples_follow_the_formula(photo):
    """``rint(clip(v, 0, 255) * 257)``: an image at 8-bit levels decodes, at quality 100, to
    within half an 8-bit step of itself, every sample a multiple of 1/257 of the scale."""
    image = photo[:, :, 0].astype(np.uint16) * 257
    decoded = sc.decode(sc.encode(image, 100)).astype(np.int64)
    assert np.abs(decoded - image).max() <= 257 // 2
    assert decoded.min() >= 0 and decoded.max() <= 65535


def test_a_16_bit_stream_cuts_and_listens_like_any(photo):
    deep = spread(photo, seed=1)
    data = sc.encode(deep, 75)
    header = container.read_header(data)
    assert header.depth == 16 and not header.reversible
    quality = [psnr(deep, image) for _, image in sc.decode_progressive(data)]
    assert all(b >= a - 0.05 for a, b in zip(quality, quality[1:]))
    assert sc.decode(data, until=0.25).dtype == np.uint16
    cut = sc.encode(deep, target_psnr=35.0)
    assert psnr(deep, sc.decode(cut)) >= 35.0
    assert len(sc.encode(deep, target_bytes=3000)) == 3000


def test_pillow_saves_and_opens_lossy_16_bit_gray(photo):
    from spikecodec.pillow import register_pillow

    register_pillow()
    deep = spread(photo[:, :, 2], seed=2)
    out = io.BytesIO()
    Image.fromarray(deep).save(out, "SPK", quality=80)
    with Image.open(io.BytesIO(out.getvalue())) as im:
        assert im.mode == "I;16" and not im.spk_header.reversible
        assert psnr(deep, np.asarray(im)) > 38


def test_16_bit_gray_and_alpha_at_qualities(photo):
    deep = spread(photo[:, :, 0], seed=3)
    alpha = np.tile(np.linspace(0, 65535, 128).astype(np.uint16), (96, 1))
    decoded = sc.decode(sc.encode(np.dstack([deep, alpha]), 70, alpha_quality=60))
    assert decoded.dtype == np.uint16 and decoded.shape == (96, 128, 2)
    assert psnr(deep, decoded[:, :, 0]) > 35 and psnr(alpha, decoded[:, :, 1]) > 35
