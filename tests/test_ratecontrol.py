"""Rate control by truncation: exact byte targets, bit rates, PSNR targets, and cut files that
decode strictly, without warnings, exactly like the prefix of the stream they were cut from."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import spikecodec as sc
from spikecodec import RateControlError, SpikeCodecError, truncate
from spikecodec.data import load_sample
from spikecodec.format import container
from spikecodec.metrics import psnr
from spikecodec.ratecontrol import cut_to_target


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return load_sample("kodim05")[:64, :96]


@pytest.fixture(scope="module")
def gray(rgb) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


@pytest.fixture(scope="module", params=["gray", "rgb"])
def image(request, rgb, gray) -> np.ndarray:
    return {"gray": gray, "rgb": rgb}[request.param]


@pytest.fixture(scope="module")
def stream(gray) -> bytes:
    return sc.encode(gray, quality=90)


def strict_decode(data: bytes, **kwargs) -> np.ndarray:
    """Decode with every check on: a damaged slice raises, any warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return sc.decode(data, strict=True, **kwargs)


def pixels(image: np.ndarray) -> int:
    return image.shape[0] * image.shape[1]


# --------------------------------------------------------------------------------------------
# Byte and bit-rate targets


@pytest.mark.parametrize("n", [container.HEADER_SIZE, 200, 777, 1500])
def test_a_byte_target_is_met_exactly_by_a_cut_stream(image, n):
    data = sc.encode(image, target_bytes=n)
    assert len(data) == n
    # A cut stream, or a stream that happens to be n bytes long.
    whole = sc.encode(image, theta=container.read_header(data).theta)
    assert container.read_header(data).cut == (len(whole) > n)
    assert strict_decode(data).shape == image.shape


@pytest.mark.parametrize("bpp", [0.25, 0.5, 1.0, 2.0])
def test_a_bit_rate_target_is_met_within_one_percent(image, bpp):
    data = sc.encode(image, target_bpp=bpp)
    achieved = 8 * len(data) / pixels(image)
    assert len(data) == math.floor(bpp * pixels(image) / 8)  # never over the target
    assert bpp * 0.99 <= achieved <= bpp
    strict_decode(data)


def test_the_stream_cut_is_the_coarsest_just_over_the_budget(gray):
    n = 1000
    data = sc.encode(gray, target_bytes=n)
    whole = sc.encode(gray, theta=container.read_header(data).theta)
    assert n <= len(whole) <= n * 1.005
    assert data == truncate(whole, n)


def test_a_rate_target_with_a_quality_cuts_that_stream(gray):
    data = sc.encode(gray, quality=80, target_bytes=900)
    assert data == truncate(sc.encode(gray, quality=80), 900)
    data = sc.encode(gray, theta=700.0, target_bpp=0.5)
    assert data == truncate(sc.encode(gray, theta=700.0), bpp=0.5)


def test_rate_control_beats_cutting_a_high_quality_stream(gray):
    n = 800
    controlled = psnr(gray, sc.decode(sc.encode(gray, target_bytes=n)))
    assert controlled > psnr(gray, sc.decode(sc.encode(gray, quality=95)[:n]))


# --------------------------------------------------------------------------------------------
# PSNR targets


@pytest.mark.parametrize("goal", [26.0, 31.5, 38.0])
def test_a_psnr_target_is_reached_with_the_fewest_bytes_of_the_stream_cut(image, goal):
    data = sc.encode(image, target_psnr=goal)
    assert psnr(image, strict_decode(data)) >= goal
    # One byte less (the cut stream's prefix, i.e. the original's) falls below the target.
    assert psnr(image, sc.decode(data[:-1])) < goal


def test_a_psnr_target_with_a_quality_cuts_that_stream(gray):
    whole = sc.encode(gray, quality=85)
    data = sc.encode(gray, quality=85, target_psnr=30.0)
    assert data == truncate(whole, len(data))
    assert psnr(gray, sc.decode(data)) >= 30.0 > psnr(gray, sc.decode(data[:-1]))


def test_an_unreachable_psnr_reports_the_best_reachable(gray):
    best = psnr(gray, sc.decode(sc.encode(gray, quality=20)))
    with pytest.raises(RateControlError, match="out of reach") as info:
        sc.encode(gray, quality=20, target_psnr=best + 1)
    assert info.value.best == pytest.approx(best)
    assert f"{best:.2f} dB" in str(info.value)


# --------------------------------------------------------------------------------------------
# Cut files


def test_a_cut_file_decodes_like_the_prefix_it_was_cut_from(stream):
    for n in (container.HEADER_SIZE + 40, len(stream) // 3, len(stream) - 5):
        short = truncate(stream, n)
        assert len(short) == n
        np.testing.assert_array_equal(strict_decode(short), sc.decode(stream[:n]))
        # In time too: the partial slice keeps its place (its whole length is kept).
        np.testing.assert_array_equal(
            strict_decode(short, until=0.3), sc.decode(stream[:n], until=0.3)
        )
        got, expected = list(sc.decode_progressive(short)), list(sc.decode_progressive(stream[:n]))
        assert [t for t, _ in got] == [t for t, _ in expected]
        for (_, a), (_, b) in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_cut_is_exact_strict_and_equal_to_the_prefix(stream, data):
    n = data.draw(st.integers(container.HEADER_SIZE, len(stream)), label="n")
    m = data.draw(st.integers(container.HEADER_SIZE, n), label="m")
    short = truncate(stream, n)
    assert len(short) == n
    np.testing.assert_array_equal(strict_decode(short), sc.decode(stream[:n]))
    # A cut of a cut is the cut of the original.
    assert truncate(short, m) == truncate(stream, m)


def test_a_cut_at_an_instant_decodes_like_decoding_until_it(stream):
    for until in (0.05, 0.3, 0.5, 1.0):
        short = truncate(stream, until=until)
        np.testing.assert_array_equal(strict_decode(short), sc.decode(stream, until=until))
    assert truncate(stream, until=1.0) == stream


def test_a_cut_to_a_bit_rate_and_to_the_whole_length(stream, gray):
    assert len(truncate(stream, bpp=0.75)) == math.floor(0.75 * pixels(gray) / 8)
    assert truncate(stream, len(stream)) == stream
    assert container.read_header(truncate(stream, len(stream) - 1)).cut


def test_a_truncated_download_becomes_a_proper_file(stream):
    received = stream[: len(stream) // 2]
    whole = truncate(received, len(received))
    assert whole == truncate(stream, len(received))
    np.testing.assert_array_equal(strict_decode(whole), sc.decode(received))


# --------------------------------------------------------------------------------------------
# Bad targets


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(target_bpp=0),
        dict(target_bpp=-1.0),
        dict(target_bpp=float("nan")),
        dict(target_bpp=float("inf")),
        dict(target_bpp=0.5, target_bytes=500),
        dict(target_bytes=container.HEADER_SIZE - 1),
        dict(target_bytes=500.0),
        dict(target_bytes=True),
        dict(target_bpp=0.01),  # 7 bytes: less than the header
        dict(target_psnr=30.0, target_bpp=1.0),
        dict(target_psnr=float("inf")),
        dict(target_psnr="30"),
    ],
)
def test_bad_targets_are_refused(gray, kwargs):
    with pytest.raises(RateControlError) as info:
        sc.encode(gray, **kwargs)
    assert isinstance(info.value, SpikeCodecError)
    assert isinstance(info.value, ValueError)


def test_a_byte_target_beyond_the_finest_stream_is_refused(gray):
    finest = len(sc.encode(gray, quality=100))
    with pytest.raises(RateControlError, match=f"{finest}-byte stream of quality 100") as info:
        sc.encode(gray, target_bytes=finest + 1)
    assert info.value.best == finest
    with pytest.raises(RateControlError, match="the quality or theta given"):
        sc.encode(gray, quality=10, target_bpp=8.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(n_bytes=100, bpp=0.5),
        dict(n_bytes=100, until=0.5),
        dict(n_bytes=10),
        dict(bpp=0),
        dict(until=0),
        dict(until=1.5),
        dict(n_bytes=10**7),
    ],
)
def test_bad_cuts_are_refused(stream, kwargs):
    with pytest.raises(RateControlError):
        truncate(stream, **kwargs)


def test_a_damaged_stream_is_not_cut(stream):
    bad = bytearray(stream)
    bad[-1] ^= 1
    with pytest.raises(sc.CorruptStreamError):
        truncate(bytes(bad), len(stream) // 2)


def test_encode_dispatches_to_rate_control(gray):
    # Without a quality: the coarsest stream of at least 700 bytes, searched from quality 100.
    expected = cut_to_target(
        gray,
        lambda: sc.encode(gray, 100),
        lambda theta: sc.encode(gray, theta=theta),
        sc.decode,
        target_bytes=700,
    )
    assert sc.encode(gray, target_bytes=700) == expected
