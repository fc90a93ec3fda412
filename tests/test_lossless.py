"""Lossless streams: listening long enough gives the exact image.

The counts are checked against the 5/3 wavelet written from JPEG 2000's equations
(:func:`naive.wavelet_blocks`) and the colour transforms (YCoCg-R, the RCT) from their lifting
steps, round trips bit-exact, and every prefix of the stream behaves like any cut stream: PSNR
that never falls, ``until=`` instants, rate targets, events.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

import naive
import spikecodec as sc
from spikecodec import codec
from spikecodec.data import load_sample
from spikecodec.errors import ParameterError
from spikecodec.format import container
from spikecodec.metrics import psnr
from spikecodec.params import REVERSIBLE_COLOURS

images = st.tuples(st.integers(1, 20), st.integers(1, 20), st.booleans()).flatmap(
    lambda s: arrays(np.uint8, (s[0], s[1], 3) if s[2] else (s[0], s[1]))
)


def reversible_colour(rgb: np.ndarray, colour: int):
    """Colour transform ``colour`` (docs/FORMAT.md 16.6) in Python integers: YCoCg-R by its
    lifting steps (Malvar & Sullivan, 0..2) or JPEG 2000's RCT (3..5), with red (1, 4) or
    blue (2, 5) in green's place."""
    order = {0: (0, 1, 2), 1: (1, 0, 2), 2: (0, 2, 1)}[colour % 3]
    red, green, blue = (rgb[..., i].astype(object) for i in order)
    if colour >= 3:
        return (red + 2 * green + blue) // 4, blue - green, red - green
    co = red - blue
    t = blue + co // 2
    cg = green - t
    return t + cg // 2, co, cg


def forced_colour(monkeypatch, colour: int) -> None:
    """Make the encoder take colour transform ``colour`` instead of choosing one."""
    monkeypatch.setattr(codec, "_reversible_colour", lambda image, header: colour)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return sc.data.load_sample("kodim05")[:96, :128]


def test_a_gray_and_an_rgb_image_come_back_exactly(image):
    data = sc.encode(image, lossless=True)
    decoded = sc.decode(data, strict=True)
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, image)


@settings(max_examples=40, deadline=None)
@given(images)
def test_every_image_comes_back_exactly(image):
    np.testing.assert_array_equal(sc.decode(sc.encode(image, lossless=True)), image)


@pytest.mark.parametrize("value", [0, 255])
def test_flat_extremes_and_a_checkerboard_come_back(value):
    flat = np.full((17, 23, 3), value, np.uint8)
    np.testing.assert_array_equal(sc.decode(sc.encode(flat, lossless=True)), flat)
    board = (np.indices((19, 21)).sum(axis=0) % 2 * 255).astype(np.uint8)
    board = np.where(value, board, 255 - board).astype(np.uint8)
    np.testing.assert_array_equal(sc.decode(sc.encode(board, lossless=True)), board)


def test_the_counts_are_the_wavelet_coefficients(photo):
    header, counts = sc.spike_counts(photo, lossless=True)
    assert header.reversible and header.subsampling == "4:4:4"
    assert header.theta == header.T / header.C
    y, c1, c2 = reversible_colour(photo, header.colour)
    for k, plane in zip(counts, (y - 128, c1, c2), strict=True):
        np.testing.assert_array_equal(k, naive.wavelet_blocks(plane.astype(np.int64)))
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    header, (k,) = sc.spike_counts(gray, lossless=True)
    np.testing.assert_array_equal(k, naive.wavelet_blocks(gray.astype(np.int64) - 128))


@pytest.mark.parametrize("colour", range(len(REVERSIBLE_COLOURS)))
def test_every_colour_transform_codes_exactly_and_cuts_like_any_stream(photo, colour, monkeypatch):
    forced_colour(monkeypatch, colour)
    data = sc.encode(photo, lossless=True)
    assert container.read_header(data).colour == colour
    header, counts = sc.spike_counts(photo, lossless=True)
    for k, plane in zip(counts, reversible_colour(photo, colour), strict=True):
        offset = 128 if k is counts[0] else 0
        np.testing.assert_array_equal(k, naive.wavelet_blocks(plane.astype(np.int64) - offset))
    np.testing.assert_array_equal(sc.decode(data), photo)
    cuts = (len(data) // 8, len(data) // 2)
    quality = [psnr(photo, sc.decode(sc.truncate(data, n))) for n in cuts]
    assert 24 < quality[0] < quality[1] < 99


def test_the_encoder_takes_the_colour_transform_that_codes_shortest(photo, monkeypatch):
    # Its choice is an estimate on a quarter of the rows: it must be within 1 % of the best
    # of the six whole streams, on a photograph, on an image whose red is its green (where the
    # RCT's V and YCoCg-R/B's Co vanish) and on one whose blue is its red.
    rng = np.random.default_rng(8)
    twins = photo.copy()
    twins[..., 0] = twins[..., 1]
    other = np.dstack([photo[..., 2], rng.integers(0, 256, photo.shape[:2]), photo[..., 2]])
    for image, spread in ((photo, 1.01), (twins, 1.1), (other.astype(np.uint8), 1.1)):
        chosen = len(sc.encode(image, lossless=True))
        sizes = []
        with monkeypatch.context() as patch:
            for colour in range(len(REVERSIBLE_COLOURS)):
                forced_colour(patch, colour)
                sizes.append(len(sc.encode(image, lossless=True)))
        assert chosen <= 1.01 * min(sizes), (chosen, sizes)
        assert max(sizes) > spread * min(sizes)  # the choice matters


def test_the_first_lossless_streams_still_decode_exactly():
    # SAMPLES transform 1 (YCoCg-R and the DCT's context tables), as the first encoder of
    # lossless streams wrote them: tests/vectors keeps two (docs/FORMAT.md 17.2).
    vectors = Path(__file__).parent / "vectors"
    data = (vectors / "first-lossless-rgb-9x17.spk").read_bytes()
    header = container.read_header(data)
    assert header.transform == 1 and header.colour == 0
    source = load_sample("kodim05")[40:49, 40:57]
    np.testing.assert_array_equal(sc.decode(data, strict=True), source)
    cut = (vectors / "first-cut-lossless-rgb-32x48.spk").read_bytes()
    image = sc.decode(cut, strict=True)
    assert 30 < psnr(load_sample("kodim23")[64:96, 96:144], image) < 99


def test_the_stream_says_it_is_lossless(photo):
    data = sc.encode(photo, lossless=True)
    header = container.read_header(data)
    assert header.reversible and header.depth == 8
    assert container.unpack(data).chunks[0][0] == "SAMPLES"
    lossy = sc.encode(photo, quality=90)
    assert not container.read_header(lossy).reversible
    assert "SAMPLES" not in [name for name, *_ in container.unpack(lossy).chunks]


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_psnr_never_falls_as_bytes_arrive_and_ends_exact(photo, mode):
    image = np.asarray(Image.fromarray(photo).convert(mode))
    data = sc.encode(image, lossless=True)
    first = container.unpack(data).first_slice
    values = [
        psnr(image, sc.decode(sc.truncate(data, n)))
        for n in range(first, len(data), max(1, (len(data) - first) // 60))
    ]
    assert all(b >= a - 1e-9 for a, b in zip(values, values[1:], strict=False))
    assert values[len(values) // 2] > 30
    np.testing.assert_array_equal(sc.decode(data), image)


def test_each_earlier_instant_is_a_coarser_image(photo):
    data = sc.encode(photo, lossless=True)
    header, states = sc.decode_counts(data)
    values = [psnr(photo, sc.decode(data, until=2.0**-j)) for j in range(6, 0, -1)]
    assert all(b > a for a, b in zip(values, values[1:], strict=False))
    np.testing.assert_array_equal(sc.decode(data, until=1.0), photo)
    # at T/2: the counts halved, exactly as the quantizer's time rule says
    _, half = sc.decode_counts(data, until=0.5)
    for whole_state, half_state in zip(states, half, strict=True):
        k = whole_state.counts()
        np.testing.assert_array_equal(half_state.counts(), np.sign(k) * (np.abs(k) >> 1))


def test_the_rate_targets_cut_the_lossless_stream(photo):
    data = sc.encode(photo, lossless=True)
    n = len(data) // 3
    cut = sc.encode(photo, lossless=True, target_bytes=n)
    assert cut == sc.truncate(data, n)
    by_bpp = sc.encode(photo, lossless=True, target_bpp=2.0)
    assert len(by_bpp) == int(2.0 * photo.shape[0] * photo.shape[1] / 8)
    reached = sc.encode(photo, lossless=True, target_psnr=40.0)
    assert psnr(photo, sc.decode(reached)) >= 40.0
    assert len(reached) < len(data)


def test_the_spikes_give_the_exact_image_back(photo):
    events = sc.to_events(photo, lossless=True)
    np.testing.assert_array_equal(sc.from_events(events), photo)
    stream = sc.encode(photo, lossless=True)
    np.testing.assert_array_equal(sc.from_events(sc.to_events(stream)), photo)
    np.testing.assert_array_equal(sc.from_events(events, until=0.25), sc.decode(stream, until=0.25))


@pytest.mark.parametrize(
    "neurons", [{"R": 1e6}, {"T": 40.0}, {"C": 0.25, "R": 4e4}, {"bias": 0.2}, {"bias": 0.9}]
)
def test_other_neurons_that_count_integers_exactly_are_lossless_too(photo, neurons):
    data = sc.encode(photo, lossless=True, **neurons)
    np.testing.assert_array_equal(sc.decode(data), photo)


@pytest.mark.parametrize("neurons, why", [({"bias": 0.0}, "integers"), ({"R": 100.0}, "integers")])
def test_neurons_whose_counts_are_not_the_integers_are_refused(photo, neurons, why):
    with pytest.raises(ParameterError, match=why):
        sc.encode(photo, lossless=True, **neurons)


@pytest.mark.parametrize(
    "options",
    [
        {"quality": 90},
        {"theta": 100.0},
        {"chroma": 1.0},
        {"table": "jpeg"},
        {"tune": "psnr"},
        {"subsampling": "4:2:0"},
    ],
)
def test_options_lossless_sets_itself_are_refused(photo, options):
    (name,) = options
    with pytest.raises(ParameterError, match=f"lossless=True .* do not give {name}"):
        sc.encode(photo, lossless=True, **options)


@pytest.mark.parametrize("value", [1, "yes", None, 1.0])
def test_lossless_takes_a_bool(photo, value):
    with pytest.raises(ParameterError, match="lossless must be True or False"):
        sc.encode(photo, lossless=value)


def test_the_pillow_plugin_saves_lossless(photo):
    from spikecodec.pillow import register_pillow

    register_pillow()
    out = io.BytesIO()
    Image.fromarray(photo).save(out, "SPK", lossless=True, xmp=b"<x/>")
    with Image.open(io.BytesIO(out.getvalue())) as im:
        assert im.spk_header.reversible and im.info["xmp"] == b"<x/>"
        im.verify()
    with Image.open(io.BytesIO(out.getvalue())) as im:
        np.testing.assert_array_equal(np.asarray(im), photo)


def test_the_nir_graph_refuses_lossless(photo):
    with pytest.raises(ParameterError, match="lossless=True has no NIR graph"):
        sc.to_nir(photo[:16, :16], lossless=True)


# --------------------------------------------------------------------------------------------
# 16-bit samples

deep_images = st.tuples(st.integers(1, 20), st.integers(1, 20), st.booleans()).flatmap(
    lambda s: arrays(np.uint16, (s[0], s[1], 3) if s[2] else (s[0], s[1]))
)


def spread(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """An 8-bit image spread to 16 bits with real low bits: ``256 v + noise``."""
    noise = np.random.default_rng(seed).integers(0, 256, image.shape)
    return (image.astype(np.uint16) * 256 + noise).astype(np.uint16)


@settings(max_examples=40, deadline=None)
@given(deep_images)
def test_every_16_bit_image_comes_back_exactly(image):
    decoded = sc.decode(sc.encode(image, lossless=True))
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, image)


def test_a_spread_photograph_and_a_smooth_gradient_come_back(photo):
    for image in (spread(photo), spread(np.asarray(Image.fromarray(photo).convert("L")))):
        data = sc.encode(image, lossless=True)
        assert container.read_header(data).depth == 16
        np.testing.assert_array_equal(sc.decode(data), image)
    ramp = np.linspace(0, 65535, 301)[None, :] * np.linspace(0.2, 1.0, 77)[:, None]
    ramp = np.rint(ramp).astype(np.uint16)
    data = sc.encode(ramp, lossless=True)
    np.testing.assert_array_equal(sc.decode(data), ramp)
    assert 8 * len(data) / ramp.size < 4  # smooth: far below its 16 bits


def test_16_bit_files_and_pillow_images_come_back(photo, tmp_path):
    gray = spread(np.asarray(Image.fromarray(photo).convert("L")), seed=3)
    im = Image.fromarray(gray)
    assert im.mode == "I;16"
    for name in ("g.png", "g.tif"):
        im.save(tmp_path / name)
        np.testing.assert_array_equal(sc.decode(sc.encode(tmp_path / name, lossless=True)), gray)
    np.testing.assert_array_equal(sc.decode(sc.encode(im, lossless=True)), gray)
    as_bytes = (tmp_path / "g.png").read_bytes()
    np.testing.assert_array_equal(sc.decode(sc.encode(as_bytes, lossless=True)), gray)


def test_16_bit_files_and_pil_images_code_lossy_too(photo, tmp_path):
    """A 16-bit source, array, PIL image or file, at a quality: the codec's lossy path on the
    8-bit scale (tests/test_deep.py), decoded back to uint16."""
    gray = spread(np.asarray(Image.fromarray(photo).convert("L")))
    Image.fromarray(gray).save(tmp_path / "g.png")
    for source in (gray, Image.fromarray(gray), tmp_path / "g.png"):
        decoded = sc.decode(sc.encode(source, quality=90))
        assert decoded.dtype == np.uint16 and psnr(gray, decoded) > 40


def test_pillow_opens_and_saves_16_bit_gray_as_i16(photo):
    from spikecodec.pillow import register_pillow

    register_pillow()
    gray = spread(np.asarray(Image.fromarray(photo).convert("L")), seed=5)
    out = io.BytesIO()
    Image.fromarray(gray).save(out, "SPK", lossless=True)
    with Image.open(io.BytesIO(out.getvalue())) as im:
        assert im.mode == "I;16" and im.spk_header.depth == 16
        np.testing.assert_array_equal(np.asarray(im), gray)
    colour = spread(photo, seed=6)
    with Image.open(io.BytesIO(sc.encode(colour, lossless=True))) as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), colour >> 8)


def test_the_spikes_of_a_16_bit_image_give_it_back(photo):
    image = spread(photo[:32, :40], seed=7)
    np.testing.assert_array_equal(sc.from_events(sc.to_events(image, lossless=True)), image)


def test_a_16_bit_stream_is_measured_with_its_peak(photo):
    image = spread(photo)
    data = sc.encode(image, lossless=True)
    prefixes = [sc.decode(sc.truncate(data, n)) for n in (len(data) // 8, len(data) // 2)]
    assert all(p.dtype == np.uint16 for p in prefixes)
    values = [psnr(image, p) for p in prefixes]
    assert values[0] < values[1] and values[0] == psnr(image, prefixes[0], peak=65535)
    reached = sc.encode(image, lossless=True, target_psnr=60.0)
    assert psnr(image, sc.decode(reached)) >= 60.0 and len(reached) < len(data)


def test_the_16_bit_counts_are_the_wavelet_coefficients(photo):
    image = spread(photo[:40, :48])
    header, counts = sc.spike_counts(image, lossless=True)
    assert header.depth == 16
    y, c1, c2 = reversible_colour(image, header.colour)
    for k, plane in zip(counts, (y - 32768, c1, c2), strict=True):
        np.testing.assert_array_equal(k, naive.wavelet_blocks(plane.astype(np.int64)))


def _corpus_image(path, mode):
    with Image.open(path) as im:
        return np.asarray(im.convert(mode))


def test_a_kodak_image_comes_back_exactly(data_dir):
    path = data_dir / "kodak" / "kodim07.png"
    for mode in ("L", "RGB"):
        image = _corpus_image(path, mode)
        np.testing.assert_array_equal(sc.decode(sc.encode(image, lossless=True)), image)


@pytest.mark.slow
def test_every_dev_image_comes_back_exactly(corpus_path):
    with Image.open(corpus_path) as im:
        modes = ("L", "RGB") if im.mode == "RGB" else ("L",)
    for mode in modes:
        image = _corpus_image(corpus_path, mode)
        np.testing.assert_array_equal(sc.decode(sc.encode(image, lossless=True)), image)
        deep = spread(image, seed=len(corpus_path.name))
        np.testing.assert_array_equal(sc.decode(sc.encode(deep, lossless=True)), deep)
