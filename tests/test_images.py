"""What the codec takes as an image (:func:`spikecodec.load_image`, through ``encode``):
arrays, PIL images, paths and file objects; the modes converted and those refused."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

import spikecodec as sc
from spikecodec.data import load_sample
from spikecodec.errors import SpikeCodecError, UnsupportedImageError
from spikecodec.metrics import psnr


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return load_sample("kodim23")


def png_bytes(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def raw_png(width: int, height: int, depth: int, colour: int, raw: bytes) -> bytes:
    """A PNG written by hand (to get what Pillow cannot save: 16-bit RGB, huge sizes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_encode_accepts_a_path_a_file_object_and_a_pil_image(tmp_path, sample):
    path = tmp_path / "in.png"
    Image.fromarray(sample).save(path)
    expected = sc.encode(sample)
    assert sc.encode(path) == expected
    assert sc.encode(str(path)) == expected
    with open(path, "rb") as f:
        assert sc.encode(f) == expected
    assert sc.encode(Image.fromarray(sample)) == expected


def test_a_non_image_file_is_refused(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(UnsupportedImageError, match="cannot read an image"):
        sc.encode(path)


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(UnsupportedImageError, match="cannot read an image"):
        sc.encode(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(UnsupportedImageError, match="cannot read an image"):
        sc.encode(tmp_path / "absent.png")


def test_a_truncated_png_is_refused(tmp_path, sample):
    data = png_bytes(Image.fromarray(sample))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnsupportedImageError, match="truncated"):
        sc.encode(path)


def test_a_16_bit_grayscale_png_loads_as_uint16_when_asked(tmp_path):
    path = tmp_path / "deep.png"
    deep = (np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)
    Image.fromarray(deep).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith("I")  # Pillow keeps the 16 bits
    with pytest.raises(UnsupportedImageError, match="16-bit samples are not taken here"):
        sc.load_image(path)
    np.testing.assert_array_equal(sc.load_image(path, deep=True), deep)
    assert sc.decode(sc.encode(path)).dtype == np.uint16


def test_a_16_bit_rgb_png_loads_its_16_bits(tmp_path):
    """Pillow reads it at 8 bits; the codec reads its samples (pypng) when it takes 16 bits."""
    w, h = 5, 4
    rows = (np.arange(w * h * 3) * 1000).astype(">u2").reshape(h, w * 3)
    path = tmp_path / "deep_rgb.png"
    path.write_bytes(raw_png(w, h, 16, 2, b"".join(b"\0" + r.tobytes() for r in rows)))
    with pytest.raises(UnsupportedImageError, match="16-bit samples"):
        sc.load_image(path)
    expected = rows.astype(np.uint16).reshape(h, w, 3)
    np.testing.assert_array_equal(sc.load_image(path, deep=True), expected)
    np.testing.assert_array_equal(sc.decode(sc.encode(path, lossless=True)), expected)
    with_alpha = tmp_path / "deep_rgba.png"  # colour type 6: RGBA
    rgba = (np.arange(w * h * 4) * 700).astype(">u2").reshape(h, w * 4)
    with_alpha.write_bytes(raw_png(w, h, 16, 6, b"".join(b"\0" + r.tobytes() for r in rgba)))
    with pytest.raises(UnsupportedImageError, match="alpha"):
        sc.load_image(with_alpha, deep=True)
    decoded = sc.decode(sc.encode(with_alpha, lossless=True))
    np.testing.assert_array_equal(decoded, rgba.astype(np.uint16).reshape(h, w, 4))


def test_a_16_bit_rgb_tiff_loads_its_16_bits(tmp_path):
    """Pillow reads it at 8 bits; the codec reads its samples (tifffile) when it takes 16 bits.
    The file is written here by hand (TIFF 6.0: one strip of interleaved little-endian RGB)."""
    path = tmp_path / "deep.tif"
    Image.frombytes("RGB", (4, 3), bytes(36)).save(path)  # 8-bit: read
    assert sc.load_image(path).shape == (3, 4, 3)
    deep = tmp_path / "deep16.tif"
    samples = (np.arange(3 * 4 * 3) * 1811 % 65536).astype("<u2")
    header = b"II*\x00" + struct.pack("<I", 8)
    entries = [(256, 3, 1, 4), (257, 3, 1, 3), (258, 3, 3, 200), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, 300), (277, 3, 1, 3), (278, 3, 1, 3), (279, 4, 1, 72)]  # fmt: skip
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
    body = header + ifd + bytes(4)
    body += bytes(200 - len(body)) + struct.pack("<HHH", 16, 16, 16)
    deep.write_bytes(body + bytes(300 - len(body)) + samples.tobytes())
    with pytest.raises(UnsupportedImageError, match="16-bit samples"):
        sc.load_image(deep)
    expected = samples.astype(np.uint16).reshape(3, 4, 3)
    np.testing.assert_array_equal(sc.load_image(deep, deep=True), expected)
    np.testing.assert_array_equal(sc.decode(sc.encode(deep, lossless=True)), expected)


def test_16_bit_tiff_layouts_orientation_and_alpha(tmp_path):
    rgb = np.random.default_rng(3).integers(0, 65536, (5, 7, 3)).astype(np.uint16)
    planar = tmp_path / "planar.tif"  # the bands one after the other
    tifffile.imwrite(planar, np.moveaxis(rgb, -1, 0), photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(sc.load_image(planar, deep=True), rgb)
    turned = tmp_path / "turned.tif"  # Orientation 6: turned upright as Pillow turns it
    tifffile.imwrite(turned, rgb, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    upright = sc.load_image(turned, deep=True)
    assert upright.shape == (7, 5, 3)
    np.testing.assert_array_equal(upright >> 8, np.asarray(Image.open(turned)))
    rgba = np.dstack([rgb, np.arange(35, dtype=np.uint16).reshape(5, 7) * 1800])
    alpha = tmp_path / "alpha.tif"
    tifffile.imwrite(alpha, rgba, photometric="rgb", extrasamples=["unassalpha"])
    with pytest.raises(UnsupportedImageError, match="alpha"):
        sc.load_image(alpha, deep=True)
    np.testing.assert_array_equal(sc.decode(sc.encode(alpha, lossless=True)), rgba)
    cmyk = tmp_path / "cmyk.tif"
    tifffile.imwrite(cmyk, np.dstack([rgb, rgb[..., :1]]), photometric="separated")
    with pytest.raises(UnsupportedImageError, match="SEPARATED"):
        sc.encode(cmyk, lossless=True)


def test_a_decompression_bomb_is_a_limit_error(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(raw_png(30_000, 30_000, 8, 0, b"\0" * 31))
    with pytest.raises(SpikeCodecError, match="pixels"):
        sc.encode(path)


def test_cmyk_is_converted_and_decodes_to_rgb(sample):
    cmyk = Image.fromarray(sample).convert("CMYK")
    out = sc.decode(sc.encode(cmyk, quality=90))
    assert out.shape == sample.shape
    assert psnr(np.asarray(cmyk.convert("RGB")), out) > 35.0


def test_palette_is_converted_and_decodes_to_rgb(sample):
    pal = Image.fromarray(sample).quantize(64)
    assert pal.mode == "P"
    out = sc.decode(sc.encode(pal, quality=90))
    assert out.shape == sample.shape
    assert psnr(np.asarray(pal.convert("RGB")), out) > 30.0


def test_bilevel_is_converted_to_grayscale():
    im = Image.fromarray(np.eye(16, dtype=bool))
    assert im.mode == "1"
    out = sc.decode(sc.encode(im, quality=100))
    assert out.shape == (16, 16)
    assert np.abs(out.astype(int) - 255 * np.eye(16)).max() <= 8


@pytest.mark.parametrize("mode, channels", [("RGBA", 4), ("LA", 2), ("PA", 4), ("La", 2)])
def test_images_with_alpha_load_with_it_only_when_asked(mode, channels):
    image = Image.new(mode, (9, 7))
    with pytest.raises(UnsupportedImageError, match="alpha"):
        sc.load_image(image)
    assert sc.load_image(image, alpha=True).shape == (7, 9, channels)
    with pytest.raises(UnsupportedImageError, match="alpha"):
        sc.load_image(np.zeros((7, 9, channels), np.uint8))


def test_a_palette_with_transparency_loads_as_rgba():
    im = Image.new("P", (9, 7))
    im.putpalette([10, 20, 30, 40, 50, 60])
    im.putpixel((0, 0), 1)
    im.info["transparency"] = 0
    with pytest.raises(UnsupportedImageError, match="alpha"):
        sc.load_image(im)
    array = sc.load_image(im, alpha=True)
    assert array.shape == (7, 9, 4)
    assert tuple(array[0, 0]) == (40, 50, 60, 255) and tuple(array[1, 1]) == (10, 20, 30, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, bool, np.int16])
def test_arrays_neither_uint8_nor_uint16_are_refused(dtype):
    for lossless in (False, True):
        with pytest.raises(UnsupportedImageError, match="uint8"):
            sc.encode(np.zeros((8, 8), dtype=dtype), lossless=lossless)


@pytest.mark.parametrize("shape", [(8,), (8, 8, 5), (2, 8, 8, 3), ()])
def test_wrong_array_shapes_are_refused(shape):
    with pytest.raises(UnsupportedImageError, match="shape"):
        sc.encode(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0, 3)])
def test_empty_arrays_are_refused(shape):
    with pytest.raises(UnsupportedImageError, match="empty"):
        sc.encode(np.zeros(shape, np.uint8))


# --------------------------------------------------------------------------------------------
# Metadata


def icc_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "spikecodec tests"  # Make
    return exif.tobytes()


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_metadata_is_read_from_image_files(sample, fmt):
    buf = io.BytesIO()
    Image.fromarray(sample[:32, :48]).save(
        buf, format=fmt, icc_profile=icc_profile(), exif=exif_with_orientation(6), xmp=XMP
    )
    array, info = sc.load_image(buf.getvalue(), with_info=True)
    assert info["icc_profile"] == icc_profile()
    exif = Image.Exif()
    exif.load(info["exif"])
    assert info["exif"].startswith(b"Exif\x00\x00") and exif[0x010F] == "spikecodec tests"
    if fmt == "TIFF":  # Pillow's TIFF loader turns the pixels upright and drops the tag
        assert array.shape == (48, 32, 3) and 0x0112 not in exif
    else:  # kept as metadata
        assert array.shape == (32, 48, 3) and exif[0x0112] == 6
    if fmt in ("JPEG", "WEBP"):  # Pillow writes XMP into these
        assert info["xmp"] == XMP


def test_arrays_have_no_metadata(sample):
    assert sc.load_image(sample, with_info=True)[1] == {}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_turns_the_image_upright_as_pillow_does(sample, orientation):
    from PIL import ImageOps

    from spikecodec.images import orient

    image = sample[:20, :30]
    upright, info = orient(image, {"exif": exif_with_orientation(orientation)})
    pil = Image.fromarray(image)
    pil.info["exif"] = exif_with_orientation(orientation)
    np.testing.assert_array_equal(upright, np.asarray(ImageOps.exif_transpose(pil)))
    exif = Image.Exif()
    exif.load(info["exif"])
    assert exif.get(0x0112, 1) == 1 and exif[0x010F] == "spikecodec tests"
