"""Malformed streams: ``decode`` raises only ``SpikeCodecError`` subclasses (or decodes what a
truncated stream holds), never anything else, never hangs, never allocates for a lying header.

A short seeded run of the fuzzing harness (``fuzz/fuzz_decode.py``, which runs for hours with
atheris) and its structure-aware mutations, then targeted checks: every truncation, every bit
flip in a chunk, damaged metadata, unknown chunks, a huge declared image, extreme header
parameters, and byte-identical encoding across processes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import os
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
def with_metadata() -> bytes:
    """A small RGB stream carrying an ICC profile, an EXIF block (orientation 6) and XMP."""
    return sc.encode(
        load_sample("kodim05")[100:124, 40:72],
        quality=60,
        icc_profile=fd._icc_profile(),
        exif=fd.exif_block(6),
        xmp=fd._XMP,
    )


def insert_chunk(data: bytes, at: int, chunk: bytes) -> bytes:
    """``chunk`` inserted at offset ``at``, the declared size and the header CRC fixed."""
    data = data[:at] + chunk + data[at:]
    return with_header(data, size=len(data))


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
        stream = container.unpack(data)  # CRC-valid: the container accepts it
        assert stream.damaged == [] and len(stream.slices) == stream.header.slices
        reached += data != kodak75
    assert reached >= 30


def test_the_harness_follows_the_container_layout(kodak75, with_metadata):
    assert fd._FIELDS["size"][0] + 4 == container.HEADER_SIZE
    header = container.read_header(with_header(kodak75, width=123, height=45, slices=7, R=2.5))
    assert (header.width, header.height, header.slices, header.R) == (123, 45, 7, 2.5)
    assert container.read_header(with_header(kodak75, flags=1)).cut
    for data in (kodak75, with_metadata):
        fields, chunks, tail = fd.split_stream(data)
        stream = container.unpack(data)
        assert [kind for kind, _ in chunks] == [
            {"SLICE": 2, "ICC": 8, "EXIF": 9, "XMP": 10}[name] for name, *_ in stream.chunks
        ]
        assert [p for kind, p in chunks if kind == 2] == stream.slices and tail == b""
        assert fd.join_stream(fields, chunks, tail) == data
        heads = [(pos, length) for pos, _, length in fd.chunk_heads(data)]
        assert heads == [(pos, length) for _, pos, length, _ in stream.chunks]
    assert any(container.unpack(d).metadata for _, d in fd.make_seeds())


def _kinds(data: bytes) -> list[int]:
    return [kind for _, kind, _ in fd.chunk_heads(data)]


def test_the_mutator_reaches_the_new_chunks(kodak75, with_metadata):
    """Metadata inserted, duplicated, deleted, reordered and moved after the slices; unknown
    ancillary and critical chunks; types changed; huge lengths; cut streams."""
    mutator = fd.Mutator(fd.random.Random(2), [kodak75, with_metadata])
    meta = {8, 9, 10}

    def outputs(op, data, n=60):
        return [op(data) for _ in range(n)]

    assert any(meta & set(_kinds(d)) for d in outputs(mutator.metadata_insert, kodak75))
    inserted = [d for d in outputs(mutator.metadata_insert, kodak75, 200) if _readable(d)]
    assert any(container.unpack(d).metadata for d in inserted)
    assert any(container.unpack(d).damaged for d in inserted)  # some with a bad CRC
    dup = outputs(mutator.metadata_duplicate, with_metadata)
    assert any(max(_kinds(d).count(k) for k in meta) > 1 for d in dup)
    assert any(
        len(set(_kinds(d)) & meta) < 3 for d in outputs(mutator.metadata_delete, with_metadata)
    )
    order = [
        [k for k in _kinds(d) if k in meta]
        for d in outputs(mutator.metadata_reorder, with_metadata)
    ]
    assert len({tuple(o) for o in order}) > 1
    moved = outputs(mutator.metadata_move, with_metadata)
    assert any(_kinds(d)[-1] in meta for d in moved)  # after the last slice
    assert any(
        set(_kinds(d)) & {11, 12, 13, 14, 15} for d in outputs(mutator.ancillary_insert, kodak75)
    )
    samples = outputs(mutator.samples_chunk, kodak75, 200)
    assert any(_kinds(d)[:1] == [3] for d in samples) and any(3 in _kinds(d)[1:] for d in samples)
    lossless = sc.encode(load_sample("kodim05")[:16, :24], lossless=True)
    read = [
        container.unpack(d) for d in outputs(mutator.samples_chunk, lossless, 200) if _readable(d)
    ]
    assert any(r.header.reversible for r in read) and any(not r.header.reversible for r in read)
    critical = outputs(mutator.critical_insert, kodak75)
    assert any(set(_kinds(d)) & {0, 1, 4, 5, 6, 7} for d in critical)
    for d in critical:
        with pytest.raises(CorruptStreamError):
            container.unpack(d)
    assert any(set(_kinds(d)) - {2, 8, 9, 10} for d in outputs(mutator.chunk_type, with_metadata))
    huge = outputs(mutator.huge_length, kodak75)
    assert any(length >= 2**24 for d in huge for _, _, length in fd.chunk_heads(d))
    cuts = [d for d in outputs(mutator.cut, with_metadata) if d != with_metadata]
    assert cuts and all(container.unpack(d).header.cut for d in cuts)
    made = [d for d in outputs(mutator.exif_payload, kodak75) if _readable(d)]
    exif = [container.unpack(d).metadata.get("exif") for d in made]
    assert len({e for e in exif if e}) > 10


def _readable(data: bytes) -> bool:
    try:
        container.unpack(data)
    except SpikeCodecError:
        return False
    return True


def test_the_cut_check_compares_a_cut_with_the_truncated_stream(
    kodak75, with_metadata, monkeypatch
):
    for data in (kodak75, with_metadata, kodak75[:1000]):
        assert fd.check_cut(data, 1 << 20) is None
        # Truncated in transit: with strict=True (drawn from the data) a library error.
        assert not fd.run_one(data, trace=False, check_cuts=True).finding
        assert fd.run_one(data, options={}, trace=False, check_cuts=True).kind == "ok"
    assert fd.check_cut(b"garbage", 1 << 20) is None  # what the container refuses is not cut
    # Nor is a stream with an ancillary chunk after a slice (damage), ...
    stream = container.unpack(with_metadata)
    between = insert_chunk(with_metadata, stream.ends[0], fd.make_chunk(12, b"unknown"))
    assert fd.check_cut(between, 1 << 20) is None
    with pytest.raises(CorruptStreamError, match="after the first time slice"):
        container.cut_stream(between, len(between) - 1)
    # ... or one ending inside its metadata (the cut would drop the chunk cut short).
    _, head, length, _ = stream.chunks[1]
    inside = with_metadata[: head + 8 + length // 2]
    assert container.unpack(inside).first_slice == head + 8 + length > len(inside)
    with pytest.raises(SpikeCodecError, match="cannot cut"):
        container.cut_stream(inside, len(inside))
    assert fd.check_cut(inside, 1 << 20) is None
    assert fd.run_one(inside, options={}, trace=False, check_cuts=True).kind == "ok"
    # A cut_stream that kept the bytes as they are (a truncated stream, not a cut one) is caught.
    monkeypatch.setattr(container, "cut_stream", lambda data, n, max_pixels: data[:n] + b"\0")
    kind, detail = fd.check_cut(kodak75, 1 << 20)
    assert kind == "cut-mismatch" and "reads differently" in detail


def test_findings_are_classified():
    ok = fd.run_one(sc.encode(np.zeros((8, 8), np.uint8)), trace=True)
    assert ok.kind == "ok" and ok.peak > 0
    tall = sc.encode(np.zeros((8, 16), np.uint8), exif=fd.exif_block(6))  # turned a quarter
    for options in (
        {"with_info": True},
        {"auto_orient": True},
        {"auto_orient": True, "with_info": True},
    ):
        assert fd.run_one(tall, options=options, trace=False).kind == "ok", options
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
        header, states = sc.decode_counts(data[:cut])  # not an error (a warning: see below)
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
    """Each read of a stream shorter than it declares warns that it is truncated, once; no
    other warning of any kind (a cut stream made by truncate is complete: silent)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _check_every_truncation(kodak75, (64, 64, 3), direct_every=16)
    cuts = range(container.HEADER_SIZE, len(kodak75))
    assert [(w.category, str(w.message).split(":")[0]) for w in caught] == [
        (SpikeCodecWarning, "the stream is truncated")
    ] * (len(cuts) + sum(cut % 16 == 0 for cut in cuts))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for cut in cuts[::97]:
            short = sc.truncate(kodak75, cut)
            np.testing.assert_array_equal(sc.decode(short), decode_quietly(kodak75[:cut]))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:the stream is truncated")
def test_every_truncation_of_a_whole_sample_decodes():
    data = sc.encode(load_sample("kodim05"), quality=75)
    _check_every_truncation(data, (256, 256, 3), direct_every=64)


def test_every_truncation_inside_the_header_is_a_library_error(kodak75):
    for cut in range(container.HEADER_SIZE):
        with pytest.raises(SpikeCodecError):
            sc.decode(kodak75[:cut])


# --------------------------------------------------------------------------------------------
# Damage inside chunks: payload, length and CRC fields


def _slice_type_bits(data: bytes) -> list[tuple[int, int]]:
    """(byte, bit) of each slice tag's top type bit (type 2 -> 10), in stream order: in the
    first slice's, see the xfail test below."""
    return sorted((pos + 3, 7) for pos, kind, _ in fd.chunk_heads(data) if kind == 2)


def test_every_bit_flip_in_a_chunk_is_detected(small):
    """Any flipped bit after the header (tag, CRC field or payload of any slice) is a
    CorruptStreamError with strict=True; without it, a SpikeCodecWarning and the image of the
    intact slices before the damaged one."""
    stream = container.unpack(small)
    header, chunks = stream.header, stream.slices
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


def _check_slice_turned_ancillary(data: bytes, s: int) -> None:
    stream = container.unpack(data)
    byte, bit = _slice_type_bits(data)[s]
    bad = bytearray(data)
    bad[byte] ^= 1 << bit
    with pytest.raises(CorruptStreamError) as info:
        sc.decode(bytes(bad), strict=True)
    assert info.value.chunks == stream.slices[: len(info.value.chunks)], s
    prefix = sc.decode(container.pack(stream.header, stream.slices[:s]))
    np.testing.assert_array_equal(decode_quietly(bytes(bad)), prefix)


def test_a_later_slice_turned_ancillary_by_a_bit_flip_ends_decoding_there(small):
    """Type 2 -> 10 after the first slice: an XMP chunk after the first time slice, refused."""
    for s in range(1, container.unpack(small).header.slices):
        _check_slice_turned_ancillary(small, s)


def test_the_first_slice_turned_ancillary_by_a_bit_flip_ends_decoding_there(small):
    _check_slice_turned_ancillary(small, 0)


def test_a_damaged_metadata_chunk_is_dropped_and_the_image_decodes(with_metadata):
    """A flipped bit in a metadata chunk's CRC or payload: with strict=True a CorruptStreamError;
    without it a SpikeCodecWarning, the whole image, and the other metadata."""
    image, info = sc.decode(with_metadata, with_info=True)
    assert set(info) == {"icc_profile", "exif", "xmp"}
    stream = container.unpack(with_metadata)
    for name, pos, length, _ in stream.chunks[:3]:
        key = {"ICC": "icc_profile", "EXIF": "exif", "XMP": "xmp"}[name]
        for byte in (pos + 4, pos + 8, pos + 8 + length - 1):
            bad = bytearray(with_metadata)
            bad[byte] ^= 0x10
            with pytest.raises(CorruptStreamError, match=f"damaged metadata chunk.*{name}"):
                sc.decode(bytes(bad), strict=True)
            with pytest.warns(SpikeCodecWarning, match=name):
                got, got_info = sc.decode(bytes(bad), with_info=True)
            np.testing.assert_array_equal(got, image)
            assert got_info == {k: v for k, v in info.items() if k != key}


@pytest.mark.parametrize("kind", [11, 15])
def test_an_unknown_ancillary_chunk_before_the_slices_decodes_as_without_it(
    kodak75, with_metadata, kind
):
    chunk = fd.make_chunk(kind, b"a chunk from a later writer")
    for data in (kodak75, with_metadata):
        stream = container.unpack(data)
        image, info = sc.decode(data, with_info=True)
        places = {container.HEADER_SIZE, stream.first_slice} | {pos for _, pos, *_ in stream.chunks}
        for at in sorted(p for p in places if p <= stream.first_slice):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # skipped silently
                got, got_info = sc.decode(insert_chunk(data, at, chunk), with_info=True)
            np.testing.assert_array_equal(got, image)
            assert got_info == info


@pytest.mark.parametrize("kind", [8, 9, 10, 11, 15])
def test_a_chunk_other_than_a_slice_after_the_first_slice_ends_decoding_there(kodak75, kind):
    """Metadata and unknown ancillary chunks lie before the first slice: one after slice s is
    damage: with strict=True a CorruptStreamError with the s + 1 slices before it; without, a
    SpikeCodecWarning and the image of those slices."""
    stream = container.unpack(kodak75)
    chunk = fd.make_chunk(kind, b"after a slice")
    for s in (0, 2):
        data = insert_chunk(kodak75, stream.ends[s], chunk)
        with pytest.raises(CorruptStreamError, match="chunk after the first time slice") as info:
            sc.decode(data, strict=True)
        assert info.value.chunks == stream.slices[: s + 1]
        with pytest.warns(SpikeCodecWarning, match="after the first time slice"):
            image = sc.decode(data)
        prefix = sc.decode(container.pack(stream.header, stream.slices[: s + 1]))
        np.testing.assert_array_equal(image, prefix)


@pytest.mark.parametrize("key", ["icc_profile", "exif", "xmp"])
def test_a_metadata_chunk_present_twice_is_damage(with_metadata, key):
    stream = container.unpack(with_metadata)
    kind = {"icc_profile": 8, "exif": 9, "xmp": 10}[key]
    name = {8: "ICC", 9: "EXIF", 10: "XMP"}[kind]
    data = insert_chunk(with_metadata, stream.first_slice, fd.make_chunk(kind, b"again"))
    with pytest.raises(CorruptStreamError, match=f"a second {name} chunk") as info:
        sc.decode(data, strict=True)
    assert info.value.chunks == []
    with pytest.warns(SpikeCodecWarning, match=f"a second {name} chunk"):
        image = sc.decode(data)
    np.testing.assert_array_equal(image, sc.decode(container.pack(stream.header, [])))


@pytest.mark.parametrize("kind", [0, 6, 7])
def test_an_unknown_critical_chunk_is_refused_by_name(kodak75, kind):
    stream = container.unpack(kodak75)
    data = insert_chunk(kodak75, stream.ends[2], fd.make_chunk(kind, b"must be understood"))
    with pytest.raises(CorruptStreamError, match=f"type {kind}") as info:
        sc.decode(data, strict=True)
    assert info.value.chunks == stream.slices[:3]


def test_a_damaged_length_in_a_complete_stream_is_never_mistaken_for_truncation(kodak75):
    stream = container.unpack(kodak75)
    chunks = stream.slices
    pos = stream.first_slice
    for s, payload in enumerate(chunks):
        for value in (0, len(payload) - 1, len(payload) + 1, len(payload) + 2**20, 2**28 - 1):
            bad = bytearray(kodak75)
            struct.pack_into("<I", bad, pos, 2 << 28 | value)  # a SLICE, its CRC left as it was
            with pytest.raises(CorruptStreamError, match=f"time slice {s}") as info:
                container.unpack(bytes(bad))
            assert info.value.chunks == chunks[:s]
        pos += 8 + len(payload)


def test_a_damaged_length_in_a_truncated_stream(kodak75):
    """The one ambiguous case (see the container's docstring): the stream is cut inside slice s
    and slice s's length field claims more bytes that still end inside the declared size. It
    reads as a partial slice; the intact slices before it decode. A length reaching past the
    declared size, or a cut after the claimed end (the CRC then covers the claim), is damage."""
    stream = container.unpack(kodak75)
    chunks = stream.slices
    s = 3
    pos = stream.ends[s - 1]
    cut = pos + 8 + len(chunks[s]) // 2
    bad = bytearray(kodak75)
    struct.pack_into("<I", bad, pos, 2 << 28 | len(chunks[s]) + 1)
    got = container.unpack(bytes(bad[:cut]))
    assert got.slices == chunks[:s] and got.partial.declared == len(chunks[s]) + 1
    assert decode_quietly(bytes(bad[:cut])).shape == (64, 64, 3)
    with pytest.raises(CorruptStreamError, match="crc|checksum"):
        container.unpack(bytes(bad[: pos + 8 + len(chunks[s]) + 1]))
    struct.pack_into("<I", bad, pos, 2 << 28 | len(kodak75))
    with pytest.raises(CorruptStreamError, match="past the end"):
        container.unpack(bytes(bad[:cut]))


def test_trailing_bytes_and_a_lying_size_field_are_corrupt(kodak75):
    chunks = container.unpack(kodak75).slices
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
    + [("table", 3), ("table", 255), ("mode", 3), ("slices", 0), ("slices", params.MAX_SLICES + 1)]
    + [("flags", 2), ("flags", 0x80), ("version", 11), ("version", 13)],
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


# --------------------------------------------------------------------------------------------
# Metadata read by the decoder: EXIF orientation


def _tiff_orientation(kind: int, count: int, value: int) -> bytes:
    """An EXIF block whose IFD0 holds one orientation entry of TIFF type ``kind``."""
    entry = struct.pack("<HHI", 0x0112, kind, count) + struct.pack("<I", value)
    return b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 1) + entry + bytes(4)


_BAD_EXIF = {
    "not-tiff": b"Exif\x00\x00garbage, not a TIFF header",  # Pillow: SyntaxError
    "short-ifd": b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00",  # 5 entries, none there
    "ifd-past-end": b"Exif\x00\x00MM\x00*\xff\xff\xff\xff",  # the IFD past the end
    "short-header": b"Exif\x00\x00II*\x00\x08",  # the TIFF header cut short
    "long-orientation": _tiff_orientation(4, 1, 6),  # a LONG, not a SHORT
    "two-orientations": _tiff_orientation(3, 2, 6 | 6 << 16),  # two SHORTs
}
_BAD_ORIENTATION = {
    "orientation-0": fd.exif_block(0),
    "orientation-9": fd.exif_block(9),
    "orientation-65535": fd.exif_block(65535),
}


@pytest.mark.parametrize(
    "exif",
    [*_BAD_EXIF.values(), *_BAD_ORIENTATION.values()],
    ids=[*_BAD_EXIF, *_BAD_ORIENTATION],
)
def test_a_malformed_exif_block_with_auto_orient_leaves_the_image_as_it_is(exif):
    """An EXIF block that cannot be read, or an orientation outside 1-8: the image and its
    metadata as stored, with a SpikeCodecWarning and no other warning or exception."""
    data = sc.encode(np.arange(8 * 16, dtype=np.uint8).reshape(8, 16), quality=50, exif=exif)
    stored, info = sc.decode(data, with_info=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image, got_info = sc.decode(data, auto_orient=True, with_info=True)
    message = "unreadable EXIF block" if exif in _BAD_EXIF.values() else "invalid EXIF orientation"
    assert [(w.category, message in str(w.message)) for w in caught] == [(SpikeCodecWarning, True)]
    np.testing.assert_array_equal(image, stored)
    assert got_info == info and info["exif"] == exif
    outcome = fd.run_one(data, options={"auto_orient": True}, trace=False, hard_timeout=5.0)
    assert outcome.kind == "ok", outcome.detail


def _exif_without_orientation() -> bytes:
    from PIL import Image

    tags = Image.Exif()
    tags[0x010E] = "no orientation"
    return tags.tobytes()


@pytest.mark.parametrize(
    "exif",
    [fd.exif_block(1), _tiff_orientation(3, 1, 1), _exif_without_orientation()],
    ids=["1", "1-le", "none"],
)
def test_an_upright_exif_block_with_auto_orient_is_silent(exif):
    data = sc.encode(np.arange(8 * 16, dtype=np.uint8).reshape(8, 16), quality=50, exif=exif)
    stored, info = sc.decode(data, with_info=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image, got_info = sc.decode(data, auto_orient=True, with_info=True)
    np.testing.assert_array_equal(image, stored)
    assert got_info == info


_UPRIGHT = {  # TIFF 6.0's orientations, undone by hand (rows, columns of the stored array)
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: a.T,
    6: lambda a: a[::-1, :].T,
    7: lambda a: a[::-1, ::-1].T,
    8: lambda a: a[:, ::-1].T,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_exif_orientation_is_applied_with_auto_orient(orientation):
    """The stored image turned upright, and the EXIF block returned with its orientation set
    to 1 in place: every other byte kept."""
    image = np.arange(8 * 16, dtype=np.uint8).reshape(8, 16)
    exif = fd.exif_block(orientation)
    data = sc.encode(image, quality=100, exif=exif)
    stored = decode_quietly(data)
    assert stored.shape == (8, 16)  # without auto_orient: as stored
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        upright, info = sc.decode(data, auto_orient=True, with_info=True)
    np.testing.assert_array_equal(upright, _UPRIGHT[orientation](stored))
    assert upright.flags.c_contiguous
    changed = [i for i, (a, b) in enumerate(zip(info["exif"], exif, strict=True)) if a != b]
    at = fd.exif_block(orientation).index(struct.pack(">HHI", 0x0112, 3, 1)) + 8
    assert len(info["exif"]) == len(exif) and set(changed) <= {at, at + 1}
    assert info["exif"] == fd.exif_block(1)


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
print(sc.__file__)
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
    # The subprocess imports the spikecodec this process tests (not an installed one).
    source = str(Path(sc.__file__).resolve().parents[1])
    for hash_seed in ("1", "2"):
        env = {"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin", "PYTHONPATH": source}
        if "NUMBA_CACHE_DIR" in os.environ:
            env["NUMBA_CACHE_DIR"] = os.environ["NUMBA_CACHE_DIR"]
        out = subprocess.run(
            [sys.executable, "-c", _ENCODE], capture_output=True, text=True, env=env, check=True
        )
        where, *hashes = out.stdout.split()
        assert Path(where).resolve() == Path(sc.__file__).resolve()
        digests.append(hashes)
    assert digests[0] == digests[1]
    assert len(set(digests[0])) == 3
    here = hashlib.sha256(sc.encode(load_sample("kodim23")[:61, :83], quality=75)).hexdigest()
    assert digests[0][0] == here
