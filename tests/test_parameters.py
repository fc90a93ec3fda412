"""Every public parameter of the codec refuses a bad value, of any type, with a
:class:`ParameterError` (a :class:`SpikeCodecError` and a ``ValueError``) that names it.

Bad values are drawn with hypothesis: values of a wrong type (strings, lists, dicts, None where
None means nothing, booleans for numbers and numbers for booleans) and values of the right type
outside the parameter's domain (non-finite, negative, zero, out of range).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spikecodec as sc
from spikecodec.errors import ParameterError, SpikeCodecError
from spikecodec.format.container import HEADER_SIZE

IMAGE = np.arange(16 * 24, dtype=np.uint8).reshape(16, 24)
STREAM = sc.encode(IMAGE)

other_types = st.one_of(
    st.text(max_size=5), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(), st.none())
)
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
not_positive = st.one_of(st.floats(max_value=0, allow_nan=False), st.integers(max_value=0))
not_bool = st.one_of(other_types, st.integers(), st.floats(allow_nan=False), st.none())
not_real = st.one_of(other_types, st.booleans())
not_name = st.one_of(st.text(max_size=6), st.integers(), st.none(), st.booleans())

ENCODE = {
    "quality": st.one_of(
        not_real,
        non_finite,
        st.floats(max_value=0.99, allow_nan=False),
        st.floats(min_value=100.01),
    ),
    "theta": st.one_of(not_real, non_finite, not_positive),
    "R": st.one_of(not_real, non_finite, not_positive, st.none()),
    "C": st.one_of(not_real, non_finite, not_positive, st.none()),
    "T": st.one_of(not_real, non_finite, not_positive, st.none()),
    "table": not_name.filter(lambda v: v not in ("flat", "jpeg")),
    "bias": st.one_of(not_real, non_finite, st.floats(max_value=-1e-9, allow_nan=False)),
    "chroma": st.one_of(not_real, non_finite, not_positive),
    "tune": not_name.filter(lambda v: v not in ("ssim", "psnr")),
    "subsampling": not_name.filter(lambda v: v not in ("auto", "4:2:0", "4:4:4")),
    "target_bytes": st.one_of(
        other_types, st.booleans(), st.floats(), st.integers(max_value=HEADER_SIZE - 1)
    ),
    "target_bpp": st.one_of(not_real, non_finite, not_positive),
    "target_psnr": st.one_of(not_real, non_finite, not_positive),
    "icc_profile": st.one_of(st.integers(), st.lists(st.integers(), max_size=2), st.booleans()),
    "exif": st.one_of(st.integers(), st.lists(st.integers(), max_size=2), st.booleans()),
    "xmp": st.one_of(st.integers(), st.lists(st.integers(), max_size=2), st.booleans()),
    "strip": not_bool,
    "lossless": not_bool,
    "alpha_quality": st.one_of(
        not_real,
        non_finite,
        st.floats(max_value=0.99, allow_nan=False),
        st.floats(min_value=100.01),
    ),
    "keep_alpha": not_bool,
    # IMAGE has 2 block rows: at most 2 stripes
    "stripes": st.one_of(
        other_types, st.booleans(), st.floats(), st.integers(max_value=0), st.integers(min_value=3)
    ),
    "split_chroma": st.one_of(other_types, st.integers(), st.floats(allow_nan=False)),
    "threads": st.one_of(other_types, st.booleans(), st.floats(), st.integers(max_value=0)),
}
DECODE = {
    "until": st.one_of(not_real, non_finite, not_positive, st.floats(min_value=1.0001)),
    "until_ms": st.one_of(not_real, non_finite, not_positive),
    "strict": not_bool,
    "max_pixels": st.one_of(other_types, st.booleans(), st.floats(), st.integers(max_value=0)),
    "with_info": not_bool,
    "auto_orient": not_bool,
    "threads": ENCODE["threads"],
}
TRUNCATE = {
    "n_bytes": ENCODE["target_bytes"],
    "bpp": ENCODE["target_bpp"],
    "until": DECODE["until"],
}
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def refused(call, name: str) -> ParameterError:
    with pytest.raises(ParameterError) as caught:
        call()
    assert isinstance(caught.value, SpikeCodecError) and isinstance(caught.value, ValueError)
    return caught.value


def test_the_domains_cover_every_public_parameter():
    """Each parameter of the public functions has its bad values here (none forgotten)."""
    import inspect

    for function, table in ((sc.encode, ENCODE), (sc.decode, DECODE), (sc.truncate, TRUNCATE)):
        names = set(inspect.signature(function).parameters) - {"image", "data"}
        assert names == set(table), function.__name__


@pytest.mark.parametrize("name", sorted(ENCODE))
@SETTINGS
@given(data=st.data())
def test_encode_refuses_a_bad_value_of_each_parameter(name, data):
    value = data.draw(ENCODE[name], label=name)
    error = refused(lambda: sc.encode(IMAGE, **{name: value}), name)
    # the message names the parameter (or, for a byte target, what it is)
    assert name.replace("target_", "") in str(error) or "target" in str(error), str(error)


@pytest.mark.parametrize("name", sorted(DECODE))
@SETTINGS
@given(data=st.data())
def test_decode_refuses_a_bad_value_of_each_parameter(name, data):
    value = data.draw(DECODE[name], label=name)
    assert name in str(refused(lambda: sc.decode(STREAM, **{name: value}), name))
    if name not in ("with_info", "auto_orient"):
        assert name in str(refused(lambda: sc.decode_counts(STREAM, **{name: value}), name))


@pytest.mark.parametrize("name", sorted(TRUNCATE))
@SETTINGS
@given(data=st.data())
def test_truncate_refuses_a_bad_value_of_each_parameter(name, data):
    value = data.draw(TRUNCATE[name], label=name)
    refused(lambda: sc.truncate(STREAM, **{name: value}), name)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((4, 4), np.float64),
        np.zeros((4, 4), np.int16),
        np.zeros((4, 4, 5), np.uint8),
        np.zeros((4, 4, 4, 1), np.uint8),
        np.zeros((0, 4), np.uint8),
        "no-such-file.png",
        b"\x89PNG\r\n\x1a\n not an image",
        12,
        None,
    ],
    ids=["float", "int16", "5 channels", "4-d", "empty", "missing", "bad bytes", "int", "none"],
)
def test_encode_refuses_what_is_not_an_image(image):
    refused(lambda: sc.encode(image), "image")


@pytest.mark.parametrize("data", [12, "stream", None, [1, 2], np.zeros(4, np.uint8)])
def test_decode_refuses_what_is_not_bytes(data):
    refused(lambda: sc.decode(data), "data")


def test_a_gray_image_with_one_channel_is_a_gray_image():
    """(H, W, 1) is coded as (H, W), as Pillow's mode "L" holds it: decode gives (H, W)."""
    column = IMAGE[:, :, None]
    assert sc.encode(column) == sc.encode(IMAGE)
    assert sc.decode(sc.encode(column)).shape == IMAGE.shape
