"""Lossless streams: listening long enough gives the exact image.

The counts are checked against the 5/3 wavelet written from JPEG 2000's equations
(:func:`naive.wavelet_blocks`) and YCoCg-R from its lifting steps, round trips bit-exact, and
every prefix of the stream behaves like any cut stream: PSNR that never falls, ``until=``
instants, rate targets, events.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

import naive
import spikecodec as sc
from spikecodec.errors import ParameterError
from spikecodec.format import container
from spikecodec.metrics import psnr

images = st.tuples(st.integers(1, 20), st.integers(1, 20), st.booleans()).flatmap(
    lambda s: arrays(np.uint8, (s[0], s[1], 3) if s[2] else (s[0], s[1]))
)


def ycocg_r(rgb: np.ndarray):
    """YCoCg-R by its lifting steps (Malvar & Sullivan), in Python integers."""
    red, green, blue = (rgb[..., i].astype(object) for i in range(3))
    co = red - blue
    t = blue + co // 2
    cg = green - t
    return t + cg // 2, co, cg


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
    y, co, cg = ycocg_r(photo)
    for k, plane in zip(counts, (y - 128, co, cg), strict=True):
        np.testing.assert_array_equal(k, naive.wavelet_blocks(plane.astype(np.int64)))
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    header, (k,) = sc.spike_counts(gray, lossless=True)
    np.testing.assert_array_equal(k, naive.wavelet_blocks(gray.astype(np.int64) - 128))


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
