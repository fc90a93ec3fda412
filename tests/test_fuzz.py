"""Malformed streams: ``decode`` raises only ``SpikeCodecError`` subclasses (or decodes what a
truncated stream holds), never anything else, never hangs, never allocates for a lying header.

A short seeded run of the fuzzing harness (``fuzz/fuzz_decode.py``, which runs for hours with
atheris), then targeted checks: every truncation, every bit flip in a chunk, a huge declared
image, extreme header parameters, and byte-identical encoding across processes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import struct
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

import spikecodec as sc
from spikecodec import params
from spikecodec.data import load_sample
from spikecodec.errors import CorruptStreamError, LimitError, SpikeCodecError, SpikeCodecWarning
from spikecodec.format import container

ROOT = Path(__file__).resolve().parents[1]


def _load_harness():
    spec = importlib.util.spec_from_file_location("fuzz_decode", ROOT / "fuzz" / "fuzz_decode.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_decode", module)
    spec.loader.exec_module(module)
    return module


fd = _load_harness()


def decode_quietly(data: bytes, **options) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikeCodecWarning)
        return sc.decode(data, **options)


def with_header(data: bytes, **fields) -> bytes:
    """The stream with header fields rewritten and the header CRC recomputed."""
    head = bytearray(data[: container.HEADER_SIZE])
    for name, value in fields.items():
        offset, fmt = fd._FIELDS[name]
        struct.pack_into("<" + fmt, head, offset, value)
    return fd.recrc_header(bytes(head) + data[container.HEADER_SIZE :])


@pytest.fixture(scope="module")
def kodak75() -> bytes:
    """A Kodak crop (64x64 RGB of kodim05) at quality 75: about 1.9 KB, 8 time slices."""
    return sc.encode(load_sample("kodim05")[:64, :64], quality=75)


@pytest.fixture(scope="module")
def small() -> bytes:
    """A small grayscale stream (a few hundred bytes) for exhaustive bit flips."""
    gray = load_sample("kodim23")[100:124, 60:92].mean(axis=2).round().astype(np.uint8)
    return sc.encode(gray, quality=75)


# --------------------------------------------------------------------------------------------
# The harness, briefly


def test_a_short_seeded_fuzz_run_finds_nothing():
    stats = fd.Stats(findings_dir=None, quiet=True)
    kwargs = dict(max_pixels=1 << 16, time_limit=2.0, trace=False, hard_timeout=5.0)
    fd.fuzz_random(fd.make_seeds(), runs=300, seconds=12, seed=0, stats=stats, run_kwargs=kwargs)
    assert stats.executions >= 150, stats.summary()
    assert stats.kinds.get("ok", 0) > 0 and stats.kinds.get("error", 0) > 0, stats.summary()
    assert not stats.findings, stats.summary()


def test_the_mutator_keeps_crcs_valid_so_garbage_reaches_the_entropy_decoder(kodak75):
    mutator = fd.Mutator(fd.random.Random(1), [kodak75])
    reached = 0
    for _ in range(40):
        data = mutator.payload_bit_flip(kodak75)
        header, chunks, _ = container.unpack(data)  # CRC-valid: the container accepts it
        reached += data != kodak75
    assert reached >= 30


def test_findings_are_classified():
    ok = fd.run_one(sc.encode(np.zeros((8, 8), np.uint8)), trace=True)
    assert ok.kind == "ok" and ok.peak > 0
    assert fd.run_one(b"garbage").kind == "error"
    # A decoder that raised anything else would be a crash.
    assert fd.Outcome("crash", 0.0, 0, "Traceback\nIndexError: x").finding


# --------------------------------------------------------------------------------------------
# Truncation


def _check_every_truncation(data: bytes, shape: tuple[int, ...], direct_every: int) -> None:
    """Every cut decodes, and exactly: each count it knows, at its instant ``T/2**level``, is
    the whole stream's count at that instant (``sign * (|N| >> level)``); and what it knows
    never shrinks as bytes arrive."""
    _, full = sc.decode_counts(data)
    whole = [st.counts() for st in full]
    known_before = -1
    for cut in range(container.HEADER_SIZE, len(data) + 1):
        header, states = sc.decode_counts(data[:cut])  # a cut stream is not an error or warning
        known = 0
        for st, n in zip(states, whole, strict=True):
            level = st.level.astype(np.int64)
            np.testing.assert_array_equal(st.counts(), np.sign(n) * (np.abs(n) >> level))
            known += int((header.slices - level).sum())
        assert known >= known_before, cut
        known_before = known
        if cut % direct_every == 0:
            image = sc.decode(data[:cut])
            assert image.shape == shape and image.dtype == np.uint8, cut
    np.testing.assert_array_equal(sc.decode(data[: len(data)]), sc.decode(data))


def test_every_truncation_past_the_header_decodes(kodak75):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # truncation is silent: no warning of any kind
        _check_every_truncation(kodak75, (64, 64, 3), direct_every=16)


@pytest.mark.slow
def test_every_truncation_of_a_whole_sample_decodes():
    data = sc.encode(load_sample("kodim05"), quality=75)
    _check_every_truncation(data, (256, 256, 3), direct_every=64)


def test_every_truncation_inside_the_header_is_a_library_error(kodak75):
    for cut in range(container.HEADER_SIZE):
        with pytest.raises(SpikeCodecError):
            sc.decode(kodak75[:cut])


# --------------------------------------------------------------------------------------------
# Damage inside chunks: payload, length and CRC fields


def test_every_bit_flip_in_a_chunk_is_detected(small):
    """Any flipped bit after the header (length field, CRC field or payload of any slice) is a
    CorruptStreamError with strict=True; without it, a SpikeCodecWarning and the image of the
    intact slices before the damaged one."""
    header, chunks, _ = container.unpack(small)
    prefix_images: dict[int, np.ndarray] = {}
    for byte in range(container.HEADER_SIZE, len(small)):
        for bit in range(8):
            bad = bytearray(small)
            bad[byte] ^= 1 << bit
            with pytest.raises(CorruptStreamError) as info:
                sc.decode(bytes(bad), strict=True)
            good = len(info.value.chunks)
            assert info.value.chunks == chunks[:good]
            if bit == byte % 8:  # the lenient path for one bit of every byte (it decodes)
                with pytest.warns(SpikeCodecWarning, match=f"after the {good} intact"):
                    image = sc.decode(bytes(bad))
                if good not in prefix_images:
                    prefix_images[good] = sc.decode(container.pack(header, chunks[:good]))
                np.testing.assert_array_equal(image, prefix_images[good])


def test_a_damaged_length_in_a_complete_stream_is_never_mistaken_for_truncation(kodak75):
    header, chunks, _ = container.unpack(kodak75)
    pos = container.HEADER_SIZE
    for s, payload in enumerate(chunks):
        for value in (0, len(payload) - 1, len(payload) + 1, len(payload) + 2**20, 2**32 - 1):
            bad = bytearray(kodak75)
            struct.pack_into("<I", bad, pos, value)
            with pytest.raises(CorruptStreamError, match=f"time slice {s}") as info:
                container.unpack(bytes(bad))
            assert info.value.chunks == chunks[:s]
        pos += 8 + len(payload)


def test_a_damaged_length_in_a_truncated_stream(kodak75):
    """The one ambiguous case (see the container's docstring): the stream is cut inside slice s
    and slice s's length field claims more bytes that still end inside the declared size. It
    reads as a partial slice; the intact slices before it decode. A length reaching past the
    declared size, or a cut after the claimed end (the CRC then covers the claim), is damage."""
    header, chunks, _ = container.unpack(kodak75)
    s = 3
    pos = container.HEADER_SIZE + sum(8 + len(c) for c in chunks[:s])
    cut = pos + 8 + len(chunks[s]) // 2
    bad = bytearray(kodak75)
    struct.pack_into("<I", bad, pos, len(chunks[s]) + 1)
    got_header, got_chunks, partial = container.unpack(bytes(bad[:cut]))
    assert got_chunks == chunks[:s] and partial.declared == len(chunks[s]) + 1
    assert decode_quietly(bytes(bad[:cut])).shape == (64, 64, 3)
    with pytest.raises(CorruptStreamError, match="crc|checksum"):
        container.unpack(bytes(bad[: pos + 8 + len(chunks[s]) + 1]))
    struct.pack_into("<I", bad, pos, len(kodak75))
    with pytest.raises(CorruptStreamError, match="past the end"):
        container.unpack(bytes(bad[:cut]))


def test_trailing_bytes_and_a_lying_size_field_are_corrupt(kodak75):
    _, chunks, _ = container.unpack(kodak75)
    with pytest.raises(CorruptStreamError, match="unexpected bytes") as info:
        sc.decode(kodak75 + b"\0", strict=True)
    assert info.value.chunks == chunks
    with pytest.warns(SpikeCodecWarning):
        np.testing.assert_array_equal(sc.decode(kodak75 + b"\0"), sc.decode(kodak75))
    for size in (0, container.HEADER_SIZE - 1):
        with pytest.raises(CorruptStreamError, match="stream size"):
            sc.decode(with_header(kodak75, size=size))
    with pytest.raises(CorruptStreamError, match="unexpected bytes"):
        sc.decode(with_header(kodak75, size=len(kodak75) + 100), strict=True)


def test_crc_valid_garbage_slices_raise_only_library_errors(kodak75):
    mutator = fd.Mutator(fd.random.Random(3), [kodak75])
    ops = [mutator.payload_fill, mutator.payload_splice, mutator.payload_random]
    for op in ops:
        for _ in range(12):
            data = op(kodak75)
            outcome = fd.run_one(data, options={}, trace=False, hard_timeout=5.0)
            assert not outcome.finding, outcome.detail


# --------------------------------------------------------------------------------------------
# The header: limits and parameter domains


def test_a_huge_declared_image_is_refused_before_allocating(kodak75):
    data = with_header(kodak75, width=100_000, height=100_000)
    tracemalloc.start()
    try:
        with pytest.raises(LimitError, match="100000x100000"):
            sc.decode(data)
        with pytest.raises(LimitError):
            sc.decode(data[: container.HEADER_SIZE])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (name, value)
        for name in ("R", "C", "T", "theta", "chroma")
        for value in (0.0, -1.0, float("nan"), float("inf"), 1e-31, 1e31)
    ]
    + [("bias", v) for v in (-0.5, 1.0, 2.0, float("nan"), float("inf"))]
    + [("table", 3), ("table", 255), ("mode", 3), ("slices", 0), ("slices", 41)],
)
def test_header_parameters_outside_their_domain_are_corrupt(kodak75, field, value):
    data = with_header(kodak75, **{field: value})
    with pytest.raises(CorruptStreamError, match=field if field != "slices" else "time slices"):
        sc.decode(data)


def test_extreme_header_parameters_inside_the_domain_decode_cleanly(kodak75):
    """Every corner of the allowed parameter box: an image or a library error, no numpy warning
    (a NaN cast to uint8 would make the output platform-dependent), never a crash."""
    lo, hi = params.PARAM_MIN, params.PARAM_MAX
    for R, C, T, theta, chroma in itertools.product((lo, hi), repeat=5):
        for bias, slices in ((0.0, 1), (0.99, params.MAX_SLICES)):
            data = with_header(
                kodak75, R=R, C=C, T=T, theta=theta, chroma=chroma, bias=bias, slices=slices
            )
            outcome = fd.run_one(data, options={}, trace=False, hard_timeout=5.0)
            assert not outcome.finding, (R, C, T, theta, chroma, bias, slices, outcome.detail)


def test_a_bias_current_cancelling_the_threshold_does_not_hang(kodak75):
    # b = beta*C/T = float32(0.3) * 1 / 0.3 = 1.0000000397 against theta/R = 1: decode hung.
    data = with_header(kodak75, R=1.0, C=1.0, T=0.3, bias=0.3)
    outcome = fd.run_one(data, options={}, trace=False, hard_timeout=2.0)
    assert outcome.kind in ("ok", "error"), outcome.detail


# --------------------------------------------------------------------------------------------
# Determinism

_ENCODE = """
import hashlib, sys
import numpy as np
import spikecodec as sc
from spikecodec.data import load_sample
k23 = load_sample("kodim23")
gray = np.asarray(load_sample("kodim05").mean(axis=2).round(), np.uint8)
streams = [
    sc.encode(k23[:61, :83], quality=75),
    sc.encode(gray[:40, :56], quality=20, table="jpeg"),
    sc.encode(k23[100:133, 7:40], quality=90, R=50.0),
]
print(" ".join(hashlib.sha256(s).hexdigest() for s in streams))
"""


def test_encoding_is_byte_identical_across_processes():
    digests = []
    for hash_seed in ("1", "2"):
        env = {"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"}
        out = subprocess.run(
            [sys.executable, "-c", _ENCODE], capture_output=True, text=True, env=env, check=True
        )
        digests.append(out.stdout.split())
    assert digests[0] == digests[1]
    assert len(set(digests[0])) == 3
    here = hashlib.sha256(sc.encode(load_sample("kodim23")[:61, :83], quality=75)).hexdigest()
    assert digests[0][0] == here
