"""The Pillow plugin: Image.open / Image.save of .spk streams, through Pillow itself."""

from __future__ import annotations

import io
import warnings
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

import spikecodec as sc
from spikecodec import pillow
from spikecodec.format import container
from spikecodec.pillow import SpkImageFile, SpkLoadError, register_pillow


@pytest.fixture(autouse=True)
def registered():
    """Register the plugin for one test and restore Pillow's registries afterwards."""
    Image.init()
    saved = [
        (Image.ID, list(Image.ID)),
        (Image.OPEN, dict(Image.OPEN)),
        (Image.SAVE, dict(Image.SAVE)),
        (Image.SAVE_ALL, dict(Image.SAVE_ALL)),
        (Image.EXTENSION, dict(Image.EXTENSION)),
        (Image.DECODERS, dict(Image.DECODERS)),
        (Image.MIME, dict(Image.MIME)),
    ]
    register_pillow()
    yield
    for registry, copy in saved:
        registry.clear()
        registry.extend(copy) if isinstance(registry, list) else registry.update(copy)


@pytest.fixture(scope="module")
def stream(image) -> bytes:
    return sc.encode(image, quality=75)


def test_open_gives_the_pixels_of_decode(tmp_path, image, stream):
    path = tmp_path / "x.spk"
    path.write_bytes(stream)
    with Image.open(path) as im:
        assert isinstance(im, SpkImageFile)
        assert im.format == "SPK"
        assert im.format_description == "spikecodec spike stream"
        assert im.mode == ("L" if image.ndim == 2 else "RGB")
        assert im.size == (image.shape[1], image.shape[0])
        assert im.spk_header == container.read_header(stream)
        pixels = np.asarray(im)
    np.testing.assert_array_equal(pixels, sc.decode(stream))
    assert pixels.shape == image.shape


def test_open_is_lazy(monkeypatch, stream):
    calls = []
    real = pillow.decode
    monkeypatch.setattr(pillow, "decode", lambda *a, **k: calls.append(1) or real(*a, **k))
    im = Image.open(io.BytesIO(stream))
    assert im._im is None and im.tile and not calls
    im.load()
    assert len(calls) == 1 and im._im is not None
    im.load()  # loaded once
    assert len(calls) == 1


def test_a_damaged_last_slice_opens_and_warns_only_at_load(stream):
    damaged = bytearray(stream)
    damaged[-2] ^= 0xFF
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        im = Image.open(io.BytesIO(bytes(damaged)))  # the header is intact: no warning yet
    with pytest.warns(sc.SpikeCodecWarning, match="checksum"):
        im.load()
    with pytest.warns(sc.SpikeCodecWarning):
        expected = sc.decode(bytes(damaged))
    np.testing.assert_array_equal(np.asarray(im), expected)


def test_a_truncated_stream_gives_the_early_image(stream):
    cut = stream[: (len(stream) + container.HEADER_SIZE) // 2]
    with Image.open(io.BytesIO(cut)) as im:
        np.testing.assert_array_equal(np.asarray(im), sc.decode(cut))


def test_a_load_failure_is_an_oserror_and_a_spikecodec_error(monkeypatch, stream):
    def fail(*args, **kwargs):
        raise sc.CorruptStreamError("bad slice")

    monkeypatch.setattr(pillow, "decode", fail)
    im = Image.open(io.BytesIO(stream))
    with pytest.raises(OSError, match="bad slice") as caught:
        im.load()
    assert isinstance(caught.value, SpkLoadError)
    assert isinstance(caught.value, sc.SpikeCodecError)


@pytest.mark.parametrize("name", ["x.png", "x.jpg", "x"])
def test_the_magic_bytes_decide_not_the_extension(tmp_path, stream, name):
    path = tmp_path / name
    path.write_bytes(stream)
    with Image.open(path) as im:
        assert im.format == "SPK"
        np.testing.assert_array_equal(np.asarray(im), sc.decode(stream))


def test_other_images_are_not_claimed(tmp_path, rgb):
    path = tmp_path / "x.spk"  # a PNG behind the .spk extension
    Image.fromarray(rgb).save(path, format="PNG")
    with Image.open(path) as im:
        assert im.format == "PNG"
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(b"\x89SPX" + bytes(100)))


def test_a_broken_header_is_not_identified(stream):
    broken = bytearray(stream)
    broken[10] ^= 0xFF  # header CRC no longer matches
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(bytes(broken)))
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(stream[: container.HEADER_SIZE - 1]))


def test_save_by_path_then_reopen(tmp_path, image):
    path = tmp_path / "out.spk"
    Image.fromarray(image).save(path, quality=60)
    data = path.read_bytes()
    assert data == sc.encode(image, quality=60)
    with Image.open(path) as im:
        np.testing.assert_array_equal(np.asarray(im), sc.decode(data))


def test_save_to_a_buffer_with_format_and_options(image):
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="SPK", quality=40, table="flat", bias=0.2, T=50.0)
    data = buf.getvalue()
    assert data == sc.encode(image, quality=40, table="flat", bias=0.2, T=50.0)
    buf.seek(0)
    with Image.open(buf) as im:
        assert im.spk_header.T == 50.0
        np.testing.assert_array_equal(np.asarray(im), sc.decode(data))


def test_save_takes_stripes_and_threads(image):
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="SPK", quality=60, stripes=2, threads=2)
    data = buf.getvalue()
    assert data == sc.encode(image, quality=60, stripes=2, threads=1)
    assert sc.format.container.read_header(data).stripes == 2


def test_quality_changes_the_size(image):
    sizes = []
    for quality in (20, 60, 95):
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="SPK", quality=quality)
        sizes.append(len(buf.getvalue()))
    assert sizes[0] < sizes[1] < sizes[2]


def test_reencoding_an_opened_stream(stream):
    with Image.open(io.BytesIO(stream)) as im:
        buf = io.BytesIO()
        im.save(buf, format="SPK", quality=50)
        expected = sc.encode(sc.decode(stream), quality=50)
    assert buf.getvalue() == expected


def test_modes_are_converted_as_load_image_does(rgb):
    palette = Image.fromarray(rgb).convert("P")
    buf = io.BytesIO()
    palette.save(buf, format="SPK")
    assert buf.getvalue() == sc.encode(palette)
    buf.seek(0)
    assert Image.open(buf).mode == "RGB"
    opaque = io.BytesIO()  # a fully opaque alpha plane is dropped
    Image.fromarray(rgb).convert("RGBA").save(opaque, format="SPK")
    assert opaque.getvalue() == sc.encode(rgb) and Image.open(opaque).mode == "RGB"


def test_a_failed_save_leaves_no_file(tmp_path, rgb):
    path = tmp_path / "float.spk"
    with pytest.raises(sc.UnsupportedImageError):
        Image.fromarray(rgb[:, :, 0].astype(np.float32)).save(path)
    assert not path.exists()


def test_draft_is_a_no_op_and_thumbnail_works(stream, image):
    with Image.open(io.BytesIO(stream)) as im:
        assert im.draft(im.mode, (10, 7)) is None
        assert im.size == (image.shape[1], image.shape[0])
        im.thumbnail((14, 14))
        assert max(im.size) == 14


def test_registration(stream):
    assert Image.registered_extensions()[".spk"] == "SPK"
    assert "SPK" in Image.SAVE and Image.MIME["SPK"] == "image/x-spikecodec"
    register_pillow()  # idempotent
    assert Image.ID.count("SPK") == 1
    with Image.open(io.BytesIO(stream), formats=["SPK"]) as im:
        assert im.get_format_mimetype() == "image/x-spikecodec"


def test_pillows_pixel_limit_applies(stream):
    header = container.read_header(stream)
    huge = container.pack(replace(header, width=60_000, height=60_000), [])
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(huge))


# --------------------------------------------------------------------------------------------
# Metadata


def metadata() -> dict:
    from PIL import ImageCms

    exif = Image.Exif()
    exif[0x0112] = 6
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return {"icc_profile": icc, "exif": exif.tobytes(), "xmp": b"<x:xmpmeta/>"}


def test_open_gives_the_metadata_in_info(image):
    given = metadata()
    data = sc.encode(image, quality=75, **given)
    with Image.open(io.BytesIO(data)) as im:
        assert im.info["icc_profile"] == given["icc_profile"]
        assert im.info["xmp"] == given["xmp"]
        assert im.getexif()[0x0112] == 6
        assert im._im is None  # still lazy: the metadata come from the chunks after the header
        im.load()


def test_save_takes_metadata_and_keeps_the_images_own(tmp_path, image):
    path = tmp_path / "x.spk"
    exif = Image.Exif()
    exif[0x0112] = 3
    Image.fromarray(image).save(path, quality=60, exif=exif, xmp=b"<given/>")
    with Image.open(path) as im:
        assert im.getexif()[0x0112] == 3 and im.info["xmp"] == b"<given/>"
        copy = tmp_path / "copy.spk"
        im.save(copy)  # the opened image's info goes along
    with Image.open(copy) as again:
        assert again.getexif()[0x0112] == 3 and again.info["xmp"] == b"<given/>"


def test_a_jpeg_converted_to_spk_and_back_keeps_icc_exif_and_xmp(tmp_path, image):
    jpeg = tmp_path / "in.jpg"
    given = metadata()
    Image.fromarray(image).save(jpeg, **given)
    with Image.open(jpeg) as im:
        im.save(tmp_path / "x.spk", quality=80)
    with Image.open(tmp_path / "x.spk") as im:
        im.save(tmp_path / "out.jpg", icc_profile=im.info["icc_profile"], exif=im.getexif(),
                xmp=im.info["xmp"])  # fmt: skip
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.info["icc_profile"] == given["icc_profile"]
        assert out.getexif()[0x0112] == 6 and out.info["xmp"] == given["xmp"]


# --------------------------------------------------------------------------------------------
# verify, save's options, save_all, incremental parsing


def test_verify_checks_every_crc_and_completeness(stream):
    Image.open(io.BytesIO(stream)).verify()
    Image.open(io.BytesIO(sc.truncate(stream, len(stream) // 2))).verify()  # cut on purpose
    with pytest.raises(OSError, match="truncated"):
        Image.open(io.BytesIO(stream[: len(stream) // 2])).verify()
    flipped = bytearray(stream)
    flipped[-3] ^= 0x40
    with pytest.raises(SyntaxError, match="damaged"):
        Image.open(io.BytesIO(bytes(flipped))).verify()


def test_save_takes_the_targets_and_refuses_what_it_does_not_know(tmp_path, image):
    path = tmp_path / "x.spk"
    Image.fromarray(image).save(path, target_bpp=1.0)
    assert len(path.read_bytes()) == int(image.shape[0] * image.shape[1] / 8)
    with pytest.raises(sc.ParameterError, match="does not take optimize"):
        Image.fromarray(image).save(tmp_path / "y.spk", optimize=True)


def test_save_all_saves_one_frame_and_refuses_more(tmp_path, image):
    Image.fromarray(image).save(tmp_path / "one.spk", save_all=True, quality=50)
    with Image.open(tmp_path / "one.spk") as im:
        assert im.size == (image.shape[1], image.shape[0])
    frames = [Image.fromarray(image)] * 2
    with pytest.raises(sc.ParameterError, match="one image, not 3 frames"):
        frames[0].save(tmp_path / "many.spk", save_all=True, append_images=frames)


def test_an_incremental_parser_shows_the_image_slice_by_slice(image):
    from PIL import ImageFile

    from spikecodec.metrics import psnr

    data = sc.encode(image, quality=90)
    ends = container.unpack(data).ends
    parser, quality, seen = ImageFile.Parser(), [], 0
    for start in range(0, len(data), 97):
        parser.feed(data[start : start + 97])
        done = sum(end <= start + 97 for end in ends)
        if parser.image is not None and done > seen:  # a new slice is in: a new image
            seen = done
            quality.append(psnr(image, np.asarray(parser.image)))
    final = parser.close()
    np.testing.assert_array_equal(np.asarray(final), sc.decode(data))
    assert len(quality) >= 3 and quality == sorted(quality)
