"""Tests of spikecodec.lab.bench.codecs: the codecs (JPEG, JPEG 2000, spikecodec), the registry."""

import numpy as np
import pytest
from PIL import Image

from spikecodec.lab.bench import CODECS, Codec, PillowCodec, get_codec, register_codec
from spikecodec.lab.bench.codecs import JPEG, JPEG2000, SpikeCodec
from spikecodec.metrics import bd_rate, bpp, psnr


def _kodak(data_dir, name="kodim23", mode="L"):
    with Image.open(data_dir / "kodak" / f"{name}.png") as im:
        return np.asarray(im.convert(mode))


@pytest.fixture(scope="module")
def kodak_rgb(data_dir):
    return _kodak(data_dir, mode="RGB")


@pytest.fixture(scope="module")
def kodak_luma(data_dir):
    return _kodak(data_dir, mode="L")


@pytest.fixture(scope="module")
def crops(kodak_rgb, kodak_luma):
    """A small real image (an odd-sized crop, so no dimension is a multiple of 8)."""
    window = (slice(200, 301), slice(300, 453))
    return {"gray": kodak_luma[window], "rgb": kodak_rgb[window]}


# --- registry -------------------------------------------------------------------------------------


def test_registry():
    assert CODECS["jpeg"] is JPEG and CODECS["jpeg2000"] is JPEG2000
    assert CODECS["spikecodec"] is SpikeCodec
    codec = get_codec("jpeg2000")
    assert isinstance(codec, JPEG2000) and codec.name == "jpeg2000"
    assert all(name == cls.name for name, cls in CODECS.items())
    with pytest.raises(ValueError, match="unknown codec"):
        get_codec("no-such-codec")


def test_registering_a_small_subclass():
    @register_codec
    class PNG(PillowCodec):  # lossless, but it shows the shape of a new codec
        name = "test-png"
        format = "PNG"
        feature = "zlib"
        settings = [1, 9]

        def save_options(self, image, setting):
            return {"compress_level": int(setting)}

    try:
        codec = get_codec("test-png")
        img = np.arange(60, dtype=np.uint8).reshape(6, 10)
        np.testing.assert_array_equal(codec.decode(codec.encode(img, 9)), img)
        with pytest.raises(ValueError, match="already registered"):
            register_codec(type("Other", (PNG,), {}))
        with pytest.raises(TypeError):
            register_codec(int)
    finally:
        CODECS.pop("test-png", None)


def test_codec_is_abstract():
    with pytest.raises(TypeError):
        Codec()


def test_settings_increase():
    for cls in (JPEG, JPEG2000, SpikeCodec):
        assert len(cls.settings) >= 12
        assert list(cls.settings) == sorted(set(cls.settings))


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["jpeg", "jpeg2000", "spikecodec"])
@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_round_trip_shape_and_dtype(crops, name, kind):
    codec = get_codec(name)
    image = crops[kind]
    setting = codec.settings[len(codec.settings) // 2]
    decoded = codec.decode(codec.encode(image, setting))
    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    assert psnr(image, decoded) > 25.0


@pytest.mark.parametrize("name", ["jpeg", "jpeg2000", "spikecodec"])
@pytest.mark.parametrize("shape", [(1, 1), (5, 9), (33, 17, 3)])
def test_round_trip_tiny_images(name, shape):
    codec = get_codec(name)
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    decoded = codec.decode(codec.encode(image, codec.settings[-1]))
    assert decoded.shape == image.shape and decoded.dtype == np.uint8


@pytest.mark.parametrize("name", ["jpeg", "jpeg2000", "spikecodec"])
@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_bytes_and_psnr_increase_with_setting(crops, name, kind):
    codec = get_codec(name)
    image = crops[kind]
    sizes, psnrs = [], []
    for setting in codec.settings[::2]:
        data = codec.encode(image, setting)
        sizes.append(len(data))
        psnrs.append(psnr(image, codec.decode(data)))
    assert np.all(np.diff(sizes) > 0), sizes
    assert np.all(np.diff(psnrs) > 0), psnrs


def test_encoding_is_deterministic():
    image = np.random.default_rng(1).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    for name in ("jpeg", "jpeg2000", "spikecodec"):
        codec = get_codec(name)
        assert codec.encode(image, codec.settings[5]) == codec.encode(image, codec.settings[5])


def test_bad_input_is_rejected():
    jpeg, j2k = get_codec("jpeg"), get_codec("jpeg2000")
    gray = np.zeros((16, 16), np.uint8)
    with pytest.raises(ValueError, match="uint8"):
        jpeg.encode(gray.astype(np.float32), 50)
    with pytest.raises(ValueError, match="shape"):
        jpeg.encode(np.zeros((16, 16, 4), np.uint8), 50)
    for bad in (0, 101, 50.5):
        with pytest.raises(ValueError, match="quality"):
            jpeg.encode(gray, bad)
    for bad in (0.0, -1.0, 8.0, float("nan")):
        with pytest.raises(ValueError, match="target bpp"):
            j2k.encode(gray, bad)
    with pytest.raises(OSError):
        j2k.decode(jpeg.encode(gray, 50))  # a codec only decodes its own format


# --- JPEG specifics -------------------------------------------------------------------------------


def test_jpeg_uses_420_subsampling_and_optimized_huffman(crops):
    data = get_codec("jpeg").encode(crops["rgb"], 75)
    from io import BytesIO

    from PIL import JpegImagePlugin

    with Image.open(BytesIO(data)) as im:
        assert JpegImagePlugin.get_sampling(im) == 2  # 4:2:0
    # optimize=True: smaller than the standard Huffman tables, same pixels.
    plain = BytesIO()
    Image.fromarray(crops["rgb"]).save(plain, format="JPEG", quality=75, subsampling="4:2:0")
    assert len(data) < len(plain.getvalue())


# --- JPEG 2000 specifics ------------------------------------------------------------------------


@pytest.mark.parametrize("target", [0.25, 0.5, 1.0, 2.0])
def test_jpeg2000_hits_target_bpp_on_kodak_luma(kodak_luma, target):
    data = get_codec("jpeg2000").encode(kodak_luma, target)
    assert data[:4] == b"\xff\x4f\xff\x51"  # a raw J2K codestream (SOC, SIZ), not a JP2 box
    assert bpp(len(data), kodak_luma.shape) == pytest.approx(target, rel=0.05)


def test_jpeg2000_hits_target_bpp_on_kodak_rgb(kodak_rgb):
    data = get_codec("jpeg2000").encode(kodak_rgb, 1.0)
    assert bpp(len(data), kodak_rgb.shape) == pytest.approx(1.0, rel=0.05)


def test_jpeg2000_rgb_uses_colour_transform(crops):
    # With the colour transform (mct=1) the same rate buys far more PSNR than coding R, G, B
    # separately, which is what Pillow does by default.
    from io import BytesIO

    image = crops["rgb"]
    codec = get_codec("jpeg2000")
    data = codec.encode(image, 1.0)
    plain = BytesIO()
    Image.fromarray(image).save(
        plain, format="JPEG2000", irreversible=True, quality_layers=[24.0], no_jp2=True
    )
    without = np.asarray(Image.open(BytesIO(plain.getvalue())))
    assert psnr(image, codec.decode(data)) > psnr(image, without) + 1.0


def test_jpeg2000_beats_jpeg_on_kodak_luma(kodak_luma):
    # The anchors' relation (about -40 % BD-rate on Kodak luma over 0.25–2 bpp): a sanity check
    # of the codecs and of bd_rate together.
    curves = {}
    for name in ("jpeg", "jpeg2000"):
        codec = get_codec(name)
        points = [codec.run(kodak_luma, s) for s in codec.settings]
        curves[name] = ([p["bpp"] for p in points], [p["psnr"] for p in points])
    delta = bd_rate(*curves["jpeg"], *curves["jpeg2000"], rate_window=(0.25, 2.0))
    assert -60.0 < delta < -20.0


def test_run_reports_measurements(crops):
    result = get_codec("jpeg").run(crops["rgb"], 50)
    assert set(result) == {
        "bytes", "bpp", "psnr", "psnr_y", "ssim", "ms_ssim", "encoding_time", "decoding_time"
    }  # fmt: skip
    assert result["bpp"] == bpp(result["bytes"], crops["rgb"].shape)
    assert 0 < result["ssim"] < 1 and 20 < result["psnr"] < 60
    assert 0 < result["ms_ssim"] < 1 and result["psnr_y"] != result["psnr"]
    assert result["encoding_time"] > 0 and result["decoding_time"] > 0
