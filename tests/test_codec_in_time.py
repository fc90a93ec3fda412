"""Decoding in time: until=, truncated streams, damaged slices, decode_progressive."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import spikecodec as sc
from spikecodec.codec import decode_progressive
from spikecodec.data import load_sample
from spikecodec.format import container
from spikecodec.metrics import psnr
from spikecodec.params import slice_instants


@pytest.fixture(scope="module")
def sample():
    return load_sample("kodim23")[:96, :128]


@pytest.fixture(scope="module")
def stream(sample):
    return sc.encode(sample, quality=90)


@pytest.mark.parametrize("j", [0, 1, 2, 3, 5])
def test_until_a_dyadic_instant_equals_a_shorter_window(sample, stream, j):
    # The same neurons (same absolute bias current b = beta*C*theta/T, the same planes)
    # observed for T/2^j.
    header, states = sc.decode_counts(stream, until=1 / 2**j)
    _, fresh = sc.spike_counts(
        sample,
        theta=header.theta,
        T=header.T / 2**j,
        bias=header.bias / 2**j,
        subsampling=header.subsampling,
    )
    for state, counts in zip(states, fresh, strict=True):
        np.testing.assert_array_equal(state.counts(), counts)
        assert np.all(state.level == j)


def test_until_ms_and_fraction_agree(stream):
    T = container.read_header(stream).T
    for u in (0.1, 0.3, 0.75):
        np.testing.assert_array_equal(sc.decode(stream, until=u), sc.decode(stream, until_ms=u * T))


def test_psnr_never_falls_as_time_goes_on(sample, stream):
    instants = slice_instants(container.read_header(stream))
    times = np.unique(np.concatenate([instants, np.linspace(instants[0] / 4, instants[-1], 40)]))
    values = [psnr(sample, sc.decode(stream, until_ms=t)) for t in times]
    assert np.all(np.diff(values) >= -1e-9)


def test_decode_progressive_yields_every_slice(sample, stream):
    steps = list(decode_progressive(stream))
    header = container.read_header(stream)
    assert [t for t, _ in steps] == pytest.approx(list(slice_instants(header)))
    np.testing.assert_array_equal(steps[-1][1], sc.decode(stream))
    np.testing.assert_array_equal(steps[2][1], sc.decode(stream, until_ms=steps[2][0]))


def test_a_partial_slice_reports_the_instant_its_bytes_reach(stream):
    stream_ = container.unpack(stream)
    header, chunks = stream_.header, stream_.slices
    cut = len(stream) - len(chunks[-1]) // 2
    steps = list(decode_progressive(stream[:cut]))
    instants = slice_instants(header)
    assert len(steps) == header.slices
    assert instants[-2] < steps[-1][0] < instants[-1]


def test_bad_until_raises(stream):
    for bad in (0, -0.5, 1.5):
        with pytest.raises(ValueError, match="until"):
            sc.decode(stream, until=bad)
    with pytest.raises(ValueError, match="not both"):
        sc.decode(stream, until=0.5, until_ms=10.0)


def test_a_damaged_slice_warns_and_stops_or_raises_when_strict(stream):
    chunks = container.unpack(stream).slices
    damaged = bytearray(stream)
    damaged[-len(chunks[-1]) // 2] ^= 0x10  # inside the last slice's payload
    with pytest.warns(sc.SpikeCodecWarning, match="intact time slices"):
        image = sc.decode(bytes(damaged))
    np.testing.assert_array_equal(image, sc.decode(stream, until=0.5))
    with pytest.raises(sc.CorruptStreamError, match="checksum"):
        sc.decode(bytes(damaged), strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sc.decode(stream)  # an intact stream decodes without a warning


def test_a_stream_cut_short_by_accident_warns_and_strict_refuses_it(stream):
    short = stream[: len(stream) // 2]
    with pytest.warns(sc.SpikeCodecWarning, match=f"truncated: {len(short)} of the {len(stream)}"):
        image = sc.decode(short)
    with pytest.raises(sc.TruncatedStreamError, match="truncated"):
        sc.decode(short, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a cut stream is complete: no warning
        cut = sc.truncate(stream, len(short))
        np.testing.assert_array_equal(sc.decode(cut, strict=True), image)
