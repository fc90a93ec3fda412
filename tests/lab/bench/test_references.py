"""Tests of the reference codecs added for the bench: mozjpeg, WebP, AVIF and JPEG XL."""

import io

import numpy as np
import pytest
from PIL import Image

from spikecodec.data import load_sample
from spikecodec.lab.bench import CODECS, get_codec
from spikecodec.metrics import luma, psnr

NEW = ("mozjpeg", "webp", "avif", "jpegxl")


def _needs(name):
    return pytest.mark.skipif(not CODECS[name].available(), reason=f"{name} unavailable here")


@pytest.fixture(scope="module")
def images():
    rgb = load_sample()[40:141, 20:173]  # odd sides: no dimension a multiple of 8
    return {"rgb": rgb, "gray": luma(rgb)}


def test_registered_with_sweeps_and_versions():
    for name in (*NEW, "jpeg", "jpeg2000", "spikecodec"):
        cls = CODECS[name]
        assert cls.name == name and list(cls.settings) == sorted(set(cls.settings))
        assert len(cls.settings) >= 12
        if cls.available():
            assert any(ch.isdigit() for ch in cls.version()), cls.version()


@pytest.mark.parametrize("name", [pytest.param(n, marks=_needs(n)) for n in NEW])
@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_round_trip_and_rate_grow_with_quality(images, name, kind):
    codec = get_codec(name)
    image = images[kind]
    sizes, psnrs = [], []
    for setting in codec.settings[::3]:
        data = codec.encode(image, setting)
        decoded = codec.decode(data)
        assert decoded.dtype == np.uint8
        if name == "webp" and kind == "gray":  # WebP has no grayscale mode
            assert decoded.shape == image.shape + (3,)
            decoded = luma(decoded)
        assert decoded.shape == image.shape
        sizes.append(len(data))
        psnrs.append(psnr(image, decoded))
    assert np.all(np.diff(sizes) > 0), sizes
    assert np.all(np.diff(psnrs) > 0), psnrs
    assert psnrs[-1] > 30.0


@pytest.mark.parametrize("name", [pytest.param(n, marks=_needs(n)) for n in NEW])
def test_deterministic_and_bad_quality_rejected(images, name):
    codec = get_codec(name)
    assert codec.encode(images["rgb"], 50) == codec.encode(images["rgb"], 50)
    for bad in (101, 50.5, -1):
        with pytest.raises(ValueError, match="quality"):
            codec.encode(images["gray"], bad)


@_needs("webp")
def test_run_compares_webp_gray_on_luma(images):
    codec = get_codec("webp")
    result = codec.run(images["gray"], 80)
    decoded = luma(codec.decode(codec.encode(images["gray"], 80)))
    assert result["psnr"] == result["psnr_y"] == psnr(images["gray"], decoded)


@_needs("mozjpeg")
def test_mozjpeg_is_progressive_420_and_trellis_quantized(images):
    from PIL import JpegImagePlugin

    from spikecodec.lab.bench.codecs import _vips

    data = get_codec("mozjpeg").encode(images["rgb"], 90)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and im.info.get("progressive")
        assert JpegImagePlugin.get_sampling(im) == 2  # 4:2:0, also at high quality
    # Trellis quantization (mozjpeg only; libjpeg-turbo ignores it) saves bytes.
    options = dict(Q=90, optimize_coding=True, interlace=True, overshoot_deringing=True,
                   optimize_scans=True, quant_table=3, subsample_mode="on", keep=0)  # fmt: skip
    plain = _vips().Image.new_from_array(images["rgb"]).jpegsave_buffer(**options)
    assert len(data) < len(plain)


@_needs("avif")
def test_avif_codes_gray_as_one_plane(images):
    codec = get_codec("avif")
    with Image.open(io.BytesIO(codec.encode(images["gray"], 50))) as im:
        assert im.mode == "L"
    with Image.open(io.BytesIO(codec.encode(images["rgb"], 50))) as im:
        assert im.mode == "RGB"
