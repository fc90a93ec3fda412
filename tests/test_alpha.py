"""Alpha planes: LA, RGBA and palettes with transparency, coded with their alpha.

Round trips are exact where the plane is lossless (the default) whatever the colour's rate,
the plane is whole at every instant and cut, a fully opaque plane is dropped unless kept, the
level table of few-level planes is checked against its formula (FORMAT.md 5.4), and Pillow
reads and writes these modes as a real client.
"""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

import spikecodec as sc
from spikecodec.alpha import indexed_levels, level_indices, levels_of
from spikecodec.errors import ParameterError, RateControlError, UnsupportedImageError
from spikecodec.format import container
from spikecodec.metrics import psnr

with_alpha = st.tuples(st.integers(1, 20), st.integers(1, 20), st.sampled_from([2, 4])).flatmap(
    lambda s: arrays(np.uint8, s)
)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return sc.data.load_sample("kodim23")[:64, :96]


def disc(shape, levels=(0, 255)) -> np.ndarray:
    """A mask: ``levels[-1]`` inside a disc, ``levels[0]`` outside, the others in rings."""
    r, c = np.indices(shape)
    distance = np.hypot(r - shape[0] / 2, c - shape[1] / 2) / (min(shape) / 2)
    ring = np.clip((1 - distance) * len(levels), 0, len(levels) - 1).astype(int)
    return np.asarray(levels, np.uint8)[ring]


def test_rgba_and_la_come_back_exactly_lossless(photo):
    alpha = disc(photo.shape[:2], (0, 90, 255))
    for image in (np.dstack([photo, alpha]), np.dstack([photo[:, :, 1], alpha])):
        decoded = sc.decode(sc.encode(image, lossless=True), strict=True)
        assert decoded.dtype == np.uint8 and decoded.shape == image.shape
        np.testing.assert_array_equal(decoded, image)


@settings(max_examples=30, deadline=None)
@given(with_alpha)
def test_every_image_with_alpha_comes_back_exactly(image):
    if image[:, :, -1].min() == 255:  # fully opaque: dropped
        image[0, 0, -1] = 254
    np.testing.assert_array_equal(sc.decode(sc.encode(image, lossless=True)), image)


def test_a_lossy_image_keeps_its_alpha_exact_at_every_instant_and_cut(photo):
    alpha = disc(photo.shape[:2])
    data = sc.encode(np.dstack([photo, alpha]), 60)
    colour = sc.decode(sc.encode(photo, 60))
    decoded = sc.decode(data)
    np.testing.assert_array_equal(decoded[:, :, 3], alpha)
    np.testing.assert_array_equal(decoded[:, :, :3], colour)  # the colour is coded as without
    for until in (2**-4, 0.3, 1.0):
        np.testing.assert_array_equal(sc.decode(data, until=until)[:, :, 3], alpha)
    first = container.unpack(data).first_slice
    for n in (first, (first + len(data)) // 2):
        np.testing.assert_array_equal(sc.decode(sc.truncate(data, n))[:, :, 3], alpha)
    steps = list(sc.decode_progressive(data))
    assert all(np.array_equal(image[:, :, 3], alpha) for _, image in steps)


def test_the_level_table_follows_its_formula():
    """FORMAT.md 5.4: indices ``first + i``, ``first = 2**(depth-1) - n//2``."""
    alpha = np.array([[0, 255, 90], [90, 0, 255]], np.uint8)
    levels = levels_of(alpha)
    np.testing.assert_array_equal(levels, [0, 90, 255])
    np.testing.assert_array_equal(level_indices(alpha, levels), [[127, 129, 128], [128, 127, 129]])
    samples = np.array([[0, 127, 128, 129, 130, 255]], np.uint8)  # outside the table: clipped
    np.testing.assert_array_equal(indexed_levels(samples, levels), [[0, 0, 90, 255, 255, 255]])
    deep = np.array([[0, 65535]], np.uint16)
    np.testing.assert_array_equal(level_indices(deep, levels_of(deep)), [[32767, 32768]])
    assert levels_of(np.arange(256, dtype=np.uint8)) is None  # every level: no table
    assert len(levels_of(np.arange(128, dtype=np.uint8))) == 128


def test_a_mask_is_coded_through_its_level_table_and_costs_less(photo):
    mask = disc(photo.shape[:2])
    data = sc.encode(np.dstack([photo, mask]), 60)
    alpha = container.unpack(data).alpha
    assert alpha.levels == (0, 255)
    plain = sc.encode(mask, lossless=True, strip=True)
    assert len(alpha.stream) < len(plain) / 2
    # a smooth plane of every level has no table
    ramp = np.tile(np.arange(96, dtype=np.uint8) * 2 + 40, (64, 1))
    ramp[0, :] = np.arange(96) + 100
    assert container.unpack(sc.encode(np.dstack([photo, ramp]), 60)).alpha.levels == ()


def test_alpha_quality_codes_the_plane_lossy(photo):
    ramp = np.tile(np.linspace(0, 255, 96).astype(np.uint8), (64, 1))
    data = sc.encode(np.dstack([photo, ramp]), 60, alpha_quality=50)
    inner = container.unpack(data).alpha
    assert inner.levels == () and not container.read_header(inner.stream).reversible
    assert 30 < psnr(ramp, sc.decode(data)[:, :, 3]) < 99
    smaller = sc.encode(np.dstack([photo, ramp]), 60, alpha_quality=10)
    assert len(smaller) < len(data)


def test_a_fully_opaque_plane_is_dropped_unless_kept(photo):
    opaque = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    assert sc.encode(opaque, 60) == sc.encode(photo, 60)
    kept = sc.decode(sc.encode(opaque, 60, keep_alpha=True))
    assert kept.shape == opaque.shape and (kept[:, :, 3] == 255).all()
    deep = np.dstack([photo[:, :, 0].astype(np.uint16) * 257, np.full((64, 96), 65535, np.uint16)])
    assert sc.decode(sc.encode(deep, lossless=True)).ndim == 2


def test_16_bit_gray_with_alpha_comes_back_exactly(photo):
    rng = np.random.default_rng(3)
    gray = photo[:, :, 0].astype(np.uint16) * 256 + rng.integers(0, 256, (64, 96))
    alpha = disc((64, 96)).astype(np.uint16) * 257
    image = np.dstack([gray, alpha]).astype(np.uint16)
    data = sc.encode(image, lossless=True)
    assert container.unpack(data).alpha.levels == (0, 65535)
    decoded = sc.decode(data)
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, image)


def test_files_and_pil_images_with_alpha(photo, tmp_path):
    alpha = disc(photo.shape[:2], (0, 128, 255))
    rgba = np.dstack([photo, alpha])
    png = tmp_path / "a.png"
    Image.fromarray(rgba).save(png)
    np.testing.assert_array_equal(sc.decode(sc.encode(png, lossless=True)), rgba)
    la = Image.fromarray(np.dstack([photo[:, :, 0], alpha]), "LA")
    np.testing.assert_array_equal(sc.decode(sc.encode(la, lossless=True)), np.asarray(la))
    palette = Image.fromarray(photo).quantize(16)
    palette.info["transparency"] = 3
    decoded = sc.decode(sc.encode(palette, lossless=True))
    np.testing.assert_array_equal(decoded, np.asarray(palette.convert("RGBA")))
    keyed = Image.fromarray(photo[:, :, 0])
    keyed.info["transparency"] = int(photo[0, 0, 0])
    decoded = sc.decode(sc.encode(keyed, lossless=True))
    assert decoded.shape == (64, 96, 2) and decoded[0, 0, 1] == 0


def test_rate_targets_count_the_alpha_and_measure_the_colour(photo):
    rgba = np.dstack([photo, disc(photo.shape[:2])])
    data = sc.encode(rgba, target_bytes=2000)
    assert len(data) == 2000
    np.testing.assert_array_equal(sc.decode(data)[:, :, 3], rgba[:, :, 3])
    data = sc.encode(rgba, target_psnr=32.0)
    assert psnr(photo, sc.decode(data)[:, :, :3]) >= 32.0
    first = container.unpack(data).first_slice
    with pytest.raises(RateControlError, match="header, alpha and metadata"):
        sc.encode(rgba, target_bytes=first - 1)


def test_bad_alpha_options_and_modes_are_refused(photo):
    rgba = np.dstack([photo, disc(photo.shape[:2])])
    for bad in (0, 101, float("nan"), "50", True):
        with pytest.raises(ParameterError, match="alpha_quality"):
            sc.encode(photo, alpha_quality=bad)
    with pytest.raises(ParameterError, match="keep_alpha"):
        sc.encode(rgba, keep_alpha="yes")
    with pytest.raises(UnsupportedImageError, match=r"\(H, W, 4\)"):
        sc.encode(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(UnsupportedImageError, match="alpha"):  # the neurons' spikes: colour only
        sc.spike_counts(rgba)


@pytest.mark.filterwarnings("ignore::spikecodec.SpikeCodecWarning")  # the parser's prefixes
def test_pillow_opens_and_saves_alpha_modes(photo):
    import spikecodec.pillow

    spikecodec.pillow.register_pillow()
    alpha = disc(photo.shape[:2], (0, 100, 255))
    for mode, array in (
        ("RGBA", np.dstack([photo, alpha])),
        ("LA", np.dstack([photo[:, :, 2], alpha])),
    ):
        buf = io.BytesIO()
        Image.fromarray(array, mode).save(buf, "SPK", lossless=True)
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            assert im.mode == mode and im.size == (96, 64)
            np.testing.assert_array_equal(np.asarray(im), array)
        parser = __import__("PIL.ImageFile", fromlist=["Parser"]).Parser()
        for at in range(0, len(buf.getvalue()), 500):
            parser.feed(buf.getvalue()[at : at + 500])
        assert parser.close().mode == mode
    buf = io.BytesIO()
    Image.fromarray(np.dstack([photo, alpha])).save(buf, "SPK", quality=40, alpha_quality=30)
    assert not container.read_header(container.unpack(buf.getvalue()).alpha.stream).reversible


def test_the_command_line_keeps_alpha_where_the_format_can(photo, tmp_path):
    rgba = np.dstack([photo, disc(photo.shape[:2])])
    Image.fromarray(rgba).save(tmp_path / "in.png")
    run = [sys.executable, "-m", "spikecodec.cli"]

    def cli(*args):
        return subprocess.run([*run, *map(str, args)], capture_output=True, text=True, check=True)

    cli("encode", tmp_path / "in.png", tmp_path / "a.spk", "-q", 50)
    assert "with alpha" in cli("info", tmp_path / "a.spk").stdout
    assert "lossless, 2 levels" in cli("info", tmp_path / "a.spk").stdout
    cli("decode", tmp_path / "a.spk", tmp_path / "out.png")
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / "out.png"))[:, :, 3], rgba[:, :, 3]
    )
    done = cli("decode", tmp_path / "a.spk", tmp_path / "out.jpg")
    assert "holds no alpha plane" in done.stderr and Image.open(tmp_path / "out.jpg").mode == "RGB"
    cli("encode", tmp_path / "in.png", tmp_path / "b.spk", "-q", 50, "--alpha-q", 20)
    assert "lossy" in cli("info", tmp_path / "b.spk").stdout
    Image.fromarray(photo).convert("RGBA").save(tmp_path / "opaque.png")
    cli("encode", tmp_path / "opaque.png", tmp_path / "c.spk", "--keep-alpha")
    assert "with alpha" in cli("info", tmp_path / "c.spk").stdout
    bad = subprocess.run(
        [*run, "encode", str(tmp_path / "in.png"), str(tmp_path / "d.spk"), "--alpha-q", "0"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "alpha_quality" in bad.stderr
    assert not (tmp_path / "d.spk").exists()


def test_the_alpha_chunk_is_read_with_the_header(photo):
    """FORMAT.md 5.4 and 6.2: after the header and SAMPLES, checked whole; a stream that ends
    inside it is truncated, one whose chunk is damaged or misplaced refused whole."""
    rgba = np.dstack([photo, disc(photo.shape[:2])])
    data = sc.encode(rgba, 60)
    stream = container.unpack(data)
    name, at, length, _ = stream.chunks[0]
    assert name == "ALPHA" and at == container.HEADER_SIZE
    assert container.read_header(data).alpha and container.read_header(data[:77]).alpha
    with pytest.raises(sc.TruncatedStreamError, match="inside its ALPHA"):
        sc.decode(data[: at + 8 + length // 2])
    damaged = bytearray(data)
    damaged[at + 8 + length // 2] ^= 1
    with pytest.raises(sc.CorruptStreamError, match="ALPHA chunk fails its checksum") as info:
        sc.decode(bytes(damaged))  # not even leniently: no colour image without its alpha
    assert info.value.header is None
    last = bytearray(data)
    last[-1] ^= 1  # a damaged last slice: the intact ones decode, with the alpha
    with pytest.warns(sc.SpikeCodecWarning):
        np.testing.assert_array_equal(sc.decode(bytes(last))[:, :, 3], rgba[:, :, 3])
    lossless = sc.encode(np.dstack([photo, disc(photo.shape[:2])]), lossless=True)
    assert [c[0] for c in container.unpack(lossless).chunks[:2]] == ["SAMPLES", "ALPHA"]


def test_pack_refuses_an_alpha_plane_that_is_not_the_images(photo):
    header, counts = sc.spike_counts(photo, 60)
    wrong_size = container.Alpha(sc.encode(photo[:8, :8, 0], lossless=True))
    colour = container.Alpha(sc.encode(photo, lossless=True))
    lossy_table = container.Alpha(sc.encode(photo[:, :, 0], 50), (0, 255))
    for alpha in (wrong_size, colour, lossy_table, container.Alpha(b"not a stream")):
        with pytest.raises(ParameterError, match="not an alpha plane"):
            container.pack(header, [], alpha=alpha)


def test_read_header_looks_at_no_chunk_past_the_declared_end(photo):
    """A header-only stream (size 69) followed by the chunks of another: they are trailing
    garbage, not its SAMPLES or ALPHA (found by the fuzzer: decode then gave no alpha)."""
    data = sc.encode(np.dstack([photo, disc(photo.shape[:2])]), lossless=True)
    header = container.read_header(data)
    plain = replace(header, depth=8, transform=0, colour=0, alpha=False)
    alone = container.pack(plain, [])
    assert len(alone) == container.HEADER_SIZE
    garbage = alone + data[container.HEADER_SIZE :]
    assert container.read_header(garbage) == plain
    with pytest.warns(sc.SpikeCodecWarning, match="unexpected bytes"):
        assert sc.decode(garbage).shape == (64, 96, 3)
