"""``spikecodec.encode`` / ``spikecodec.decode``: lossless coding of the spike counts, shapes,
rate and quality, truncation, bad inputs.

The central check is that the entropy coder is lossless: the counts the decoder recovers
(:func:`spikecodec.decode_counts`) equal the counts the encoder's neurons fire
(:func:`spikecodec.spike_counts`), and those equal the counts of 64 real neurons per plane built
here from the formulas (:func:`reference_counts`, with T.81's tables). PSNR is computed here.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from PIL import Image

import naive
import spikecodec as sc
from spikecodec import LIF, NeuroQuantizer
from spikecodec.data import load_sample
from spikecodec.entropy import PlaneState
from spikecodec.errors import (
    CorruptStreamError,
    LimitError,
    ParameterError,
    SpikeCodecError,
    TruncatedStreamError,
    UnsupportedImageError,
)
from spikecodec.format import container
from spikecodec.params import Header, band_thresholds
from spikecodec.quantizer import unit_quantizer
from spikecodec.transform import colour_planes, lapped_dct

QUALITIES = [1, 5, 25, 50, 75, 95, 100]


# --------------------------------------------------------------------------------------------
# Helpers


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def gray(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


def encoder_counts(image: np.ndarray, **options) -> tuple[Header, list[np.ndarray]]:
    """The neurons' spike counts, before any entropy coding (what ``encode`` codes)."""
    return sc.spike_counts(image, **options)


def decoder_states(data: bytes) -> tuple[Header, list[PlaneState]]:
    """What the decoder reads back from a stream: one PlaneState per colour plane."""
    return sc.decode_counts(data)


def assert_counts_round_trip(image: np.ndarray, **options) -> bytes:
    """Encode, then check that the decoder's counts are exactly the encoder's."""
    data = sc.encode(image, **options)
    header, states = decoder_states(data)
    assert header.mode == ("L" if image.ndim == 2 else "RGB")
    assert (header.height, header.width) == image.shape[:2]
    enc_header, counts = encoder_counts(image, **options)
    assert enc_header == header
    assert len(states) == len(counts) == (1 if image.ndim == 2 else 3)
    top = max(int(np.abs(c).max()) for c in counts)
    assert header.slices == max(top.bit_length(), 1)
    for c, (state, expected) in enumerate(zip(states, counts)):
        assert np.all(state.level == 0), f"plane {c} not decoded to the end of the window"
        np.testing.assert_array_equal(state.counts(), expected, err_msg=f"plane {c}")
    return data


# ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), raster order.
K1 = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ]
)
K2 = np.full((8, 8), 99)
K2[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]
T81_ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
])  # fmt: skip


def reference_counts(
    image, quality, table, subsampling, R=1e4, C=1.0, T=100.0, bias=0.4, chroma=2.0
):
    """Spike counts from 64 real neurons per plane, each with its own threshold ``theta_f``.

    libjpeg's scale: ``S = 5000/q`` (q < 50) or ``200 - 2q``, base step ``16*max(S, 1)/100``,
    ``theta = step*T/C``; band ``f`` fires at ``theta*W[f]`` (W = 1, T.81's table / 16, or its
    fourth root for "mild"), times on Co and Cg ``chroma * sqrt(w_Y / (a w_c))`` with ``w`` the
    squared column norms of the inverse colour matrix and ``a`` the pixels of a chroma sample;
    bias current ``beta*C*theta_f/T``.
    """
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    theta = 16.0 * max(scale, 1.0) / 100.0 * T / C
    w = (np.linalg.inv(naive.RGB_TO_YCOCG) ** 2).sum(axis=0)
    area = 4 if subsampling == "4:2:0" else 1
    out = []
    for c, plane in enumerate(reference_planes(image, subsampling)):
        coeffs = naive.lapped_dct(plane)
        if table == "flat":
            weights = np.ones(64)
        else:
            weights = (K2 if c else K1).ravel()[T81_ZIGZAG] / 16.0
            weights = weights if table == "jpeg" else weights**0.25
        counts = np.empty(coeffs.shape, np.int64)
        for f in range(64):
            theta_f = theta * weights[f] * (chroma * np.sqrt(w[0] / (area * w[c])) if c else 1.0)
            neuron = LIF(R, C, theta_f, bias=bias * C * theta_f / T)
            counts[..., f] = NeuroQuantizer(neuron, T).encode(coeffs[..., f])
        out.append(counts)
    return out


def reference_planes(image, subsampling="4:2:0") -> list[np.ndarray]:
    """The colour planes, from numpy: the gray image, or YCoCg, 4:2:0 or 4:4:4."""
    if image.ndim == 2:
        return [image.astype(np.float64)]
    y, cb, cr = naive.rgb_to_ycocg(image)
    if subsampling == "4:4:4":
        return [y, cb, cr]
    return [y, naive.downsample_420(cb), naive.downsample_420(cr)]


def rng_image(shape, seed=0) -> np.ndarray:
    """A smooth random image (so the counts are not all zero at low quality) plus noise."""
    rng = np.random.default_rng(seed)
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    base = 128 + 90 * np.sin(xx / 5.0 + seed) * np.cos(yy / 7.0)
    if len(shape) == 3:
        base = base[..., None] + np.array([-30.0, 0.0, 30.0])
    return np.clip(base + rng.normal(0, 20, shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return load_sample("kodim23")


# --------------------------------------------------------------------------------------------
# The counts survive the entropy coder exactly


@pytest.mark.parametrize("quality", QUALITIES)
@pytest.mark.parametrize("colour", ["rgb", "gray"])
def test_counts_round_trip_on_a_sample(sample, colour, quality):
    image = sample if colour == "rgb" else gray(sample)
    assert_counts_round_trip(image, quality=quality)


@pytest.mark.parametrize("quality", [5, 50, 95])
@pytest.mark.parametrize("table", ["flat", "jpeg", "mild"])
@pytest.mark.parametrize("colour", ["rgb", "gray"])
def test_spike_counts_equal_per_band_neurons(sample, colour, table, quality):
    # The codec's one unit-threshold quantizer on x/theta_f fires like 64 neurons of threshold
    # theta_f: the counts are those of the real neurons, with T.81's tables.
    image = sample[:40, :56] if colour == "rgb" else gray(sample[:40, :56])
    for subsampling in ("4:2:0", "4:4:4"):
        _, counts = sc.spike_counts(image, quality=quality, table=table, subsampling=subsampling)
        expected = reference_counts(image, quality, table, subsampling)
        assert len(counts) == len(expected)
        for got, want in zip(counts, expected):
            np.testing.assert_array_equal(got, want)
    _, counts = sc.spike_counts(image, quality=quality, table=table)
    header, _ = sc.spike_counts(image, quality=quality, table=table)
    expected = reference_counts(image, quality, table, header.subsampling)
    assert len(counts) == len(expected)
    for got, want in zip(counts, expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("quality", QUALITIES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (1, 4097), (4097, 1), (3, 5, 3), (9, 17, 3)])
def test_counts_round_trip_on_odd_sizes(shape, quality):
    image = rng_image(shape, seed=sum(shape))
    data = assert_counts_round_trip(image, quality=quality)
    out = sc.decode(data)
    assert out.shape == image.shape
    assert out.dtype == np.uint8


@pytest.mark.parametrize("theta", [3.0, 0.05, 0.01])
@pytest.mark.parametrize("colour", ["rgb", "gray"])
def test_spike_counts_quantize_the_quotients_past_the_threshold_table(sample, colour, theta):
    # Counts up to 1e4, 6e5, 3e6: the quantizer's grid, a search in its table, closed forms.
    image = sample[:24, :40] if colour == "rgb" else gray(sample[:24, :40])
    header, counts = sc.spike_counts(image, theta=theta)
    quantizer = unit_quantizer(header.R, header.C, header.T, header.bias)
    planes = colour_planes(image, header.subsampling)
    for c, (plane, got) in enumerate(zip(planes, counts, strict=True)):
        x = lapped_dct(plane) / band_thresholds(header, c)
        np.testing.assert_array_equal(got, quantizer.encode(x))
    assert_counts_round_trip(image, theta=theta)


def traced_peak(function, *args, **kwargs):
    """``function``'s result and the peak of the memory it allocated (tracemalloc), in bytes."""
    tracemalloc.start()
    try:
        return function(*args, **kwargs), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("colour", "subsampling", "samples"),
    [("rgb", "4:2:0", 1.5), ("rgb", "4:4:4", 3), ("gray", "", 1)],
)
def test_peak_memory_stays_under_20_bytes_per_sample(sample, colour, subsampling, samples):
    # A 2-megapixel image: encoding and decoding hold about two planes of floats at a time, so
    # memory grows with the samples coded (a pixel has 1.5 of them at 4:2:0, 3 at 4:4:4).
    image = np.tile(sample, (5, 7, 1))[:1200, :1700]
    image = image if colour == "rgb" else gray(image)
    options = {"subsampling": subsampling} if subsampling else {}
    sc.decode(sc.encode(image[:64, :64], **options))  # the kernels loaded before measuring
    data, peak = traced_peak(sc.encode, image, quality=90, **options)
    assert peak < 20 * samples * image.shape[0] * image.shape[1]
    out, peak = traced_peak(sc.decode, data)
    assert out.shape == image.shape
    assert peak < 20 * samples * image.shape[0] * image.shape[1]


@pytest.mark.parametrize("table", ["flat", "jpeg"])
def test_counts_round_trip_with_other_neuron_parameters(sample, table):
    # A leaky neuron (T/tau = 1), no bias, coarse chroma: the counts still survive exactly.
    assert_counts_round_trip(sample[:64, :80], quality=60, R=100.0, table=table, bias=0.0)
    assert_counts_round_trip(sample[:64, :80], theta=300.0, chroma=3.0, table=table, bias=0.5)


def test_counts_round_trip_on_a_corpus_image(data_dir):
    paths = [data_dir / "kodak" / "kodim01.png", data_dir / "set12" / "01.png"]
    if not all(p.is_file() for p in paths):
        pytest.skip("kodak/kodim01.png or set12/01.png missing from the corpus")
    for path in paths:
        with Image.open(path) as im:
            image = np.asarray(im)
        data = assert_counts_round_trip(image, quality=75)
        assert sc.decode(data).shape == image.shape


@pytest.mark.slow
@pytest.mark.parametrize("quality", [10, 50, 90])
def test_counts_round_trip_on_the_whole_corpus(corpus_path, quality):
    with Image.open(corpus_path) as im:
        image = np.asarray(im)
    data = assert_counts_round_trip(image, quality=quality)
    assert psnr(image, sc.decode(data)) > 20.0


# --------------------------------------------------------------------------------------------
# Shapes, rate and quality


@pytest.mark.parametrize("shape", [(1, 1), (2, 2, 3), (8, 8), (31, 17, 3), (256, 256)])
def test_decode_returns_the_input_shape_and_dtype(shape):
    image = rng_image(shape)
    out = sc.decode(sc.encode(image))
    assert out.shape == image.shape
    assert out.dtype == np.uint8


@pytest.mark.parametrize("colour", ["rgb", "gray"])
def test_psnr_and_bytes_grow_with_quality(sample, colour):
    image = sample if colour == "rgb" else gray(sample)
    sizes, psnrs = [], []
    for quality in (10, 30, 50, 70, 90):
        data = sc.encode(image, quality=quality)
        sizes.append(len(data))
        psnrs.append(psnr(image, sc.decode(data)))
    assert sizes == sorted(sizes), sizes
    assert psnrs == sorted(psnrs), psnrs
    assert psnrs[0] > 20.0  # a recognisable image even at quality 10
    assert psnrs[-1] > 38.0


@pytest.mark.parametrize("value", [0, 1, 117, 128, 254, 255])
@pytest.mark.parametrize("channels", [0, 3])
def test_a_flat_image_is_tiny_and_exact(value, channels):
    shape = (256, 256, channels) if channels else (256, 256)
    image = np.full(shape, value, np.uint8)
    data = sc.encode(image, quality=75)
    assert len(data) < 0.02 * image.size, len(data)  # under 2 % of the raw bytes
    np.testing.assert_array_equal(sc.decode(data), image)
    # At quality >= 75 the DC step is <= 8, a cell of at most one gray level: decoded exactly.
    np.testing.assert_array_equal(sc.decode(sc.encode(image, quality=100)), image)


def test_mid_gray_needs_no_spike_at_all():
    # 128 is the level shift: every coefficient is 0, no neuron fires, one empty-ish slice.
    image = np.full((64, 48), 128, np.uint8)
    data = sc.encode(image, quality=100)
    header, states = decoder_states(data)
    assert header.slices == 1
    assert not np.any(states[0].counts())
    np.testing.assert_array_equal(sc.decode(data), image)


def test_encoding_is_deterministic(sample):
    first = sc.encode(sample, quality=60)
    assert sc.encode(sample, quality=60) == first
    assert sc.encode(sample.copy(order="F"), quality=60) == first


def test_encoding_is_deterministic_across_processes(sample):
    script = (
        "import hashlib, spikecodec as sc; from spikecodec.data import load_sample;"
        "print(hashlib.sha256(sc.encode(load_sample('kodim23'), quality=60)).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == hashlib.sha256(sc.encode(sample, quality=60)).hexdigest()


def test_jpeg_table(sample):
    data = assert_counts_round_trip(sample, quality=75, table="jpeg")
    header = container.unpack(data).header
    assert header.table == 1
    assert data != sc.encode(sample, quality=75, table="flat")
    assert psnr(sample, sc.decode(data)) > 30.0


def test_jpeg_table_codes_high_frequencies_coarser(sample):
    # JPEG's luminance table weighs band 63 (raster (7, 7)) 99/16 times the DC step, the flat
    # table 1: the jpeg table leaves far fewer high-frequency neurons firing.
    image = gray(sample)
    header_flat, flat = decoder_states(sc.encode(image, quality=90))
    header_jpeg, jpeg = decoder_states(sc.encode(image, quality=90, table="jpeg"))
    high_flat = np.count_nonzero(flat[0].counts()[..., 36:])
    high_jpeg = np.count_nonzero(jpeg[0].counts()[..., 36:])
    assert high_jpeg < high_flat / 3


def test_theta_instead_of_quality(sample):
    # libjpeg's scale: quality 50 is S = 100 %, the base step 16, so theta = 16 * T / C = 1600.
    assert sc.encode(sample, theta=1600.0) == sc.encode(sample, quality=50)
    data = sc.encode(sample, theta=1234.5)
    assert container.unpack(data).header.theta == 1234.5
    assert len(sc.encode(sample, theta=4000.0)) < len(data) < len(sc.encode(sample, theta=300.0))
    assert_counts_round_trip(sample, theta=1234.5)


def test_spike_counts_returns_the_stream_header(sample):
    image = sample[:16, :16]
    for options in (dict(quality=75), dict(quality=75, bias=0.1, chroma=1.3)):
        header, _ = sc.spike_counts(image, **options)
        assert header == container.unpack(sc.encode(image, **options)).header


def test_quality_and_theta_together_are_refused(sample):
    with pytest.raises(ValueError, match="either quality or theta"):
        sc.encode(sample, quality=50, theta=1000.0)


@pytest.mark.parametrize("quality", [0, 101, -5, 0.5, math.nan, math.inf])
def test_quality_out_of_range_is_refused(sample, quality):
    with pytest.raises(ValueError, match="quality"):
        sc.encode(sample, quality=quality)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(table="mpeg"), "table"),
        (dict(bias=1.0), "bias"),
        (dict(bias=-0.1), "bias"),
        (dict(chroma=0.0), "chroma"),
        (dict(chroma=math.nan), "chroma"),
    ],
)
def test_bad_parameters_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        sc.encode(np.zeros((8, 8), np.uint8), **options)


def test_error_classes_are_value_errors():
    for cls in (
        SpikeCodecError,
        CorruptStreamError,
        LimitError,
        TruncatedStreamError,
        UnsupportedImageError,
    ):
        assert issubclass(cls, SpikeCodecError)
        assert issubclass(cls, ValueError)


# --------------------------------------------------------------------------------------------
# Decoding bad, short and damaged streams


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", TruncatedStreamError),
        (b"\x89SPK", TruncatedStreamError),
        (b"garbage bytes that are no stream", CorruptStreamError),
        (b"\x89PNG\r\n\x1a\n" + bytes(80), CorruptStreamError),
        (bytes(100), CorruptStreamError),
    ],
)
def test_decode_of_garbage_raises_library_errors(data, error):
    with pytest.raises(error):
        sc.decode(data)


@pytest.mark.parametrize("data", [None, "a string", 42, [1, 2, 3]])
def test_decode_of_non_bytes_is_refused(data):
    with pytest.raises(SpikeCodecError, match="bytes"):
        sc.decode(data)


def test_decode_of_every_truncated_header_raises_truncated(sample):
    data = sc.encode(sample[:16, :16])
    for cut in range(container.HEADER_SIZE):
        with pytest.raises(TruncatedStreamError):
            sc.decode(data[:cut])


def test_decode_honours_the_pixel_limit(sample):
    data = sc.encode(sample[:16, :20])
    with pytest.raises(LimitError):
        sc.decode(data, max_pixels=16 * 24 - 1)  # 16x20 in 8x8 blocks: 16x24
    assert sc.decode(data, max_pixels=16 * 24).shape == (16, 20, 3)


def test_decode_accepts_bytearray_and_memoryview(sample):
    data = sc.encode(sample[:16, :16])
    expected = sc.decode(data)
    np.testing.assert_array_equal(sc.decode(bytearray(data)), expected)
    np.testing.assert_array_equal(sc.decode(memoryview(data)), expected)


def test_a_damaged_slice_is_corrupt(sample):
    data = bytearray(sc.encode(sample[:32, :32]))
    data[container.HEADER_SIZE + 8] ^= 0x10  # first payload byte of the first slice
    with pytest.raises(CorruptStreamError, match="checksum"):
        sc.decode(bytes(data), strict=True)
    with pytest.warns(sc.SpikeCodecWarning, match="after the 0 intact time slices"):
        assert np.all(sc.decode(bytes(data)) == 128)  # nothing intact: the mid-gray image


def test_garbage_slices_with_valid_checksums_raise_only_library_errors(sample):
    # Rewrite the payloads (checksums recomputed): the entropy decoder must fail cleanly.
    image = sample[:40, :48]
    stream_ = container.unpack(sc.encode(image, quality=80))
    header, chunks = stream_.header, stream_.slices
    rng = np.random.default_rng(7)
    for trial in range(150):
        damaged = [bytearray(c) for c in chunks]
        s = int(rng.integers(len(damaged)))
        if trial % 3 == 0:
            damaged[s] = bytearray(rng.integers(0, 256, len(damaged[s]), dtype=np.uint8))
        elif damaged[s]:
            i = int(rng.integers(len(damaged[s])))
            damaged[s][i] ^= 1 << int(rng.integers(8))
        data = container.pack(header, [bytes(c) for c in damaged])
        try:
            out = sc.decode(data)
        except SpikeCodecError:
            continue
        assert out.shape == image.shape


@pytest.mark.parametrize("colour", ["rgb", "gray"])
def test_every_truncation_decodes_to_what_the_neurons_said_by_then(sample, colour):
    # Past the header, any prefix decodes to an image of the right shape; the decoder's counts
    # are the true counts at the instant T / 2**level it reached: |N_T| >> level.
    image = sample[:24, :40] if colour == "rgb" else gray(sample[:24, :40])
    data = sc.encode(image, quality=90)
    _, truth = encoder_counts(image, quality=90)
    for cut in range(container.HEADER_SIZE, len(data) + 1):
        out = sc.decode(data[:cut])
        assert out.shape == image.shape
        assert out.dtype == np.uint8
        _, states = decoder_states(data[:cut])
        for state, counts in zip(states, truth):
            known = np.abs(counts) >> state.level.astype(np.int64)
            np.testing.assert_array_equal(state.prefix, known, err_msg=f"cut at {cut}")
            firing = state.prefix > 0
            np.testing.assert_array_equal(state.sign[firing], np.sign(counts[firing]))


def test_a_stream_of_only_the_header_decodes_to_mid_gray(sample):
    # No slice received: every neuron silent, every coefficient 0, every pixel the level 128.
    data = sc.encode(sample[:20, :30])
    out = sc.decode(data[: container.HEADER_SIZE])
    np.testing.assert_array_equal(out, np.full((20, 30, 3), 128, np.uint8))


def test_whole_slices_received_give_the_counts_at_dyadic_instants(sample):
    # After s of P slices the decoder holds N at T / 2**(P - s): the top s bits of every count.
    image = gray(sample[:64, :64])
    data = sc.encode(image, quality=95)
    stream_ = container.unpack(data)
    header, chunks = stream_.header, stream_.slices
    truth = encoder_counts(image, quality=95)[1][0]
    full_error = np.mean((sc.decode(data).astype(float) - image) ** 2)
    pos = container.HEADER_SIZE
    for s in range(header.slices + 1):
        _, states = decoder_states(data[:pos])
        level = header.slices - s
        assert np.all(states[0].level == level)
        np.testing.assert_array_equal(states[0].counts(), np.sign(truth) * (np.abs(truth) >> level))
        error = np.mean((sc.decode(data[:pos]).astype(float) - image) ** 2)
        assert full_error <= error
        if s < header.slices:
            pos += 8 + len(chunks[s])
    assert pos == len(data)


@pytest.mark.parametrize("theta", [-5.0, 0.0, 1e-300, float("inf"), float("nan")])
def test_a_threshold_outside_the_format_domain_is_refused(sample, theta):
    with pytest.raises(ParameterError, match="theta"):
        sc.encode(sample[:16, :16], theta=theta)


# --------------------------------------------------------------------------------------------
# Metadata


def jpeg_with_metadata(image, orientation=6) -> bytes:
    from PIL import ImageCms

    exif = Image.Exif()
    exif[0x0112] = orientation
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", icc_profile=icc, exif=exif, xmp=b"<x/>")
    return buf.getvalue()


def test_metadata_survives_encode_and_decode(sample):
    jpeg = jpeg_with_metadata(sample[:40, :56])
    expected = sc.load_image(jpeg, with_info=True)[1]
    data = sc.encode(jpeg, quality=60)
    image, info = sc.decode(data, with_info=True)
    assert image.shape == (40, 56, 3)
    assert info == expected and set(info) == {"icc_profile", "exif", "xmp"}
    assert sc.decode(data).shape == image.shape  # without with_info: the image alone
    # A cut keeps them, and so does a stream cut short past them.
    first = container.unpack(data).first_slice
    cut = sc.truncate(data, (first + len(data)) // 2)
    assert sc.decode(cut, strict=True, with_info=True)[1] == expected
    assert sc.decode(data[: first + 3], with_info=True)[1] == expected


def test_metadata_can_be_given_replaced_and_stripped(sample):
    jpeg = jpeg_with_metadata(sample[:16, :16])
    data = sc.encode(jpeg, quality=60, xmp="<replaced/>", icc_profile=b"icc")
    info = sc.decode(data, with_info=True)[1]
    assert info["xmp"] == b"<replaced/>" and info["icc_profile"] == b"icc" and "exif" in info
    stripped = sc.encode(jpeg, quality=60, strip=True)
    assert sc.decode(stripped, with_info=True)[1] == {}
    assert stripped == sc.encode(sc.load_image(jpeg), quality=60)
    assert len(data) > len(stripped)
    with pytest.raises(ParameterError, match="strip"):
        sc.encode(jpeg, strip=True, exif=b"x")
    with pytest.raises(ParameterError, match="icc_profile must be bytes"):
        sc.encode(sample[:8, :8], icc_profile=5)


def test_auto_orient_applies_the_exif_orientation(sample):
    image = sample[:40, :56]
    data = sc.encode(jpeg_with_metadata(image, orientation=6), quality=90)
    kept = sc.decode(data)
    turned, info = sc.decode(data, with_info=True, auto_orient=True)
    assert kept.shape == (40, 56, 3) and turned.shape == (56, 40, 3)
    np.testing.assert_array_equal(turned, np.rot90(kept, k=-1))  # 6: rotate 90 degrees clockwise
    exif = Image.Exif()
    exif.load(info["exif"])
    assert exif.get(0x0112, 1) == 1


def test_an_rgb_decode_lets_each_planes_counts_go_once_its_plane_is_made():
    # The three planes' counts (6 bytes a coefficient) and the three float64 planes (8 bytes a
    # pixel each, at 4:4:4) are never all held at once: 24 + 18 = 42 bytes a pixel would be.
    image = np.tile(load_sample("kodim05"), (2, 2, 1))[:1024, :1024]
    data = sc.encode(image, 85, subsampling="4:4:4")
    expected = sc.decode(data)
    tracemalloc.start()
    try:
        decoded = sc.decode(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(decoded, expected)
    assert peak / image[..., 0].size < 36


def test_an_rgb_encode_holds_its_counts_as_int32():
    # Three planes' int64 counts (24 bytes a pixel at 4:4:4) beside the coder's state (18) would
    # be 42 bytes a pixel; the coder takes int32 counts (a stream's stay below 2**31), while
    # spike_counts still gives int64 arrays.
    image = np.tile(load_sample("kodim05"), (2, 2, 1))[:1024, :1024]
    expected = sc.encode(image, 85, subsampling="4:4:4")
    tracemalloc.start()
    try:
        data = sc.encode(image, 85, subsampling="4:4:4")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data == expected
    assert peak / image[..., 0].size < 39
    _, counts = sc.spike_counts(image, 85, subsampling="4:4:4")
    assert all(c.dtype == np.int64 for c in counts)
