"""The independent check of docs/FORMAT.md: ``tests/spec_decoder.py``, a decoder written from
the document alone, against the library on the test vectors (tests/vectors/).

Counts and levels must be equal (the entropy decoding is integer), pixels within the tolerance
of FORMAT.md section 1.3 (one unit per sample); the container reading of section 6 must accept
and refuse exactly what :func:`spikecodec.format.container.unpack` does, on every truncation
and cut of the vectors and on damaged copies of them.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import spec_decoder as spec
import spikecodec
from spikecodec.errors import SpikeCodecError
from spikecodec.format import container

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"
ENTRIES = json.loads((VECTORS / "vectors.json").read_text())["vectors"]
IDS = [entry["file"] for entry in ENTRIES]
TOLERANCE = 1  # FORMAT.md section 1.3

# truncated and damaged streams are the point here: the library's warnings about them are not
pytestmark = pytest.mark.filterwarnings("ignore::spikecodec.SpikeCodecWarning")


def data_of(entry) -> bytes:
    return (VECTORS / entry["file"]).read_bytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_same_counts(data: bytes, until: float | None = None) -> None:
    _, states = spikecodec.decode_counts(data, until=until)
    _, planes = spec.decode_counts(data, until)
    assert len(planes) == len(states)
    for c, (st, plane) in enumerate(zip(states, planes, strict=True)):
        counts, level = spec.counts_array(plane)
        assert np.array_equal(counts, st.counts()), f"plane {c}: counts"
        assert np.array_equal(level, st.level), f"plane {c}: levels"


def assert_close_image(data: bytes, until: float | None = None) -> None:
    reference = spikecodec.decode(data, until=until).astype(int)
    mine = spec.decode(data, until).astype(int)
    assert mine.shape == reference.shape
    assert np.abs(mine - reference).max(initial=0) <= TOLERANCE


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_spec_decoder_gives_the_vectors_counts(entry):
    data = data_of(entry)
    assert_same_counts(data)
    _, planes = spec.decode_counts(data)
    for plane, want in zip(planes, entry["decoded"]["counts"], strict=True):
        counts, level = spec.counts_array(plane)
        assert sha256(np.ascontiguousarray(counts, "<i8").tobytes()) == want["counts_sha256"]
        assert sha256(level.tobytes()) == want["level_sha256"]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_spec_decoder_gives_the_vectors_images(entry):
    data = data_of(entry)
    assert_close_image(data)
    image = spec.decode(data)
    exact = sha256(np.ascontiguousarray(image).tobytes()) == entry["decoded"]["image"]["sha256"]
    if not exact:  # allowed by the tolerance, but worth seeing
        print(f"{entry['file']}: within +-{TOLERANCE}, not bit-exact")


@pytest.mark.parametrize("until", [0.3, 0.5, 0.75])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_spec_decoder_until_an_instant(entry, until):
    assert_same_counts(data_of(entry), until)


def cut_points(data: bytes, count: int) -> list[int]:
    """About ``count`` lengths from the header and metadata to the whole stream, and every
    length within 9 bytes of a slice's start or end (chunk heads and the coder's first and
    last bytes)."""
    stream = container.unpack(data)
    first, size = stream.first_slice, len(data)
    points = set(range(first, size + 1, max(1, (size - first) // count))) | {size}
    for end in [first, *stream.ends]:
        points |= set(range(end - 9, end + 10))
    return sorted(n for n in points if first <= n <= size)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_spec_decoder_on_truncations(entry):
    """A stream cut short anywhere (in transit, or as a cut stream) decodes to the same counts
    (section 14), pixels within the tolerance at a few of them."""
    data = data_of(entry)
    points = cut_points(data, 12)
    for n in points:
        assert_same_counts(data[:n])
        assert_same_counts(container.cut_stream(data, n))
    for n in points[:: max(1, len(points) // 4)]:
        assert_close_image(data[:n])


# --------------------------------------------------------------------------------------------
# Section 6: what a reader accepts and refuses


def outcome_of_library(data: bytes):
    try:
        stream = container.unpack(data)
    except SpikeCodecError as err:
        return "refused", type(err).__name__
    metadata = {k: stream.metadata[v] for k, v in ((8, "icc_profile"), (9, "exif"), (10, "xmp"))
                if v in stream.metadata}  # fmt: skip
    types = {"ICC": 8, "EXIF": 9, "XMP": 10}
    damaged = sorted(types[n] if n in types else int(n.split()[-1]) for n in stream.damaged)
    partial = bytes(stream.partial), stream.partial.declared
    alpha = None if stream.alpha is None else (list(stream.alpha.levels), stream.alpha.stream)
    return (
        stream.slices,
        partial,
        metadata,
        damaged,
        stream.first_slice,
        stream.header.reversible,
        alpha,
    )


def outcome_of_spec(data: bytes):
    try:
        stream = spec.read_stream(data)
    except spec.SpecError:
        return "refused", None
    return (
        stream.slices,
        (stream.partial, stream.declared),
        stream.metadata,
        sorted(stream.damaged),
        stream.first_slice,
        stream.header.transform in (1, 2),
        None if stream.alpha is None else (stream.alpha[0], bytes(stream.alpha[1])),
    )


def same_outcome(data: bytes) -> None:
    library, mine = outcome_of_library(data), outcome_of_spec(data)
    if library[0] == "refused":
        assert mine[0] == "refused", f"the library refuses ({library[1]}), the spec accepts"
    else:
        assert mine == library


def with_crc(data: bytearray, head: int, length: int) -> None:
    """Recompute the CRC of the chunk whose head is at ``head`` (``length`` payload bytes)."""
    payload = bytes(data[head + 8 : head + 8 + length])
    struct.pack_into(
        "<I", data, head + 4, zlib.crc32(payload, zlib.crc32(bytes(data[head : head + 4])))
    )


STRIPED = [entry for entry in ENTRIES if entry["header"]["stripes"] > 1]


@pytest.mark.parametrize("entry", STRIPED, ids=[entry["file"] for entry in STRIPED])
def test_reading_slices_whose_table_of_sub_streams_is_damaged(entry):
    """Section 5.2: sub-stream lengths rewritten (the slice's CRC made right again) to every
    value around the slice's own: the reader refuses those that do not fit, and the library
    and the spec decoder agree on every outcome."""
    data = data_of(entry)
    n = entry["header"]["stripes"]
    stream = container.unpack(data)
    refused = 0
    for _name, head, length, present in [c for c in stream.chunks if c[0] == "SLICE"]:
        lengths = struct.unpack_from(f"<{n - 1}I", data, head + 8)
        room = length - 4 * (n - 1)
        for k in range(n - 1):
            for value in {
                0,
                1,
                lengths[k] - 1,
                lengths[k] + 1,
                room - sum(lengths) + lengths[k],
                room - sum(lengths) + lengths[k] + 1,
                2**32 - 1,
            }:
                damaged = bytearray(data)
                struct.pack_into("<I", damaged, head + 8 + 4 * k, max(value, 0))
                with_crc(damaged, head, present)
                same_outcome(bytes(damaged))
                refused += outcome_of_library(bytes(damaged))[0] == "refused"
    assert refused  # the lengths past the slice's end


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_reading_truncated_and_cut_streams(entry):
    data = data_of(entry)
    for n in range(len(data) + 1):
        same_outcome(data[:n])
    first = container.unpack(data).first_slice
    for n in range(first, len(data) + 1):
        cut = container.cut_stream(data, n)
        same_outcome(cut)
        for m in range(0, len(cut) + 1, 7):
            same_outcome(cut[:m])
    same_outcome(data + b"\0")


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_reading_damaged_streams(entry):
    data = data_of(entry)
    rng = np.random.default_rng(len(data))
    for pos in range(len(data)):
        for flip in (0x01, 0x80, int(rng.integers(1, 256))):
            damaged = bytearray(data)
            damaged[pos] ^= flip
            same_outcome(bytes(damaged))
    # damage that keeps the CRCs right: lengths, types and header fields rewritten
    stream = container.unpack(data)
    for _name, head, length, _ in stream.chunks:
        tag = struct.unpack_from("<I", data, head)[0]
        for kind in range(16):
            for new_length in {0, 1, length - 1, length + 1, length + 9, 1 << 27}:
                if new_length < 0:
                    continue
                damaged = bytearray(data)
                struct.pack_into("<I", damaged, head, kind << 28 | new_length)
                with_crc(damaged, head, min(new_length, len(data) - head - 8))
                same_outcome(bytes(damaged))
        assert tag >> 28 in (2, 3, 4, 5, 8, 9, 10)
    header = bytearray(data)
    for offset, fmt, values in [
        (12, "B", (11, 13)),
        (13, "B", (1, 2)),
        (14, "B", (3,)),
        (15, "I", (0,)),
        (23, "d", (0.0, float("nan"), 1e31)),
        (55, "f", (1.0, -0.5)),
        (59, "B", (3,)),
        (64, "B", (0, 32)),
        (65, "I", (68, len(data) - 1, len(data) + 1)),
    ]:
        for value in values:
            damaged = bytearray(header)
            struct.pack_into("<" + fmt, damaged, offset, value)
            with_crc(damaged, 4, 57)
            same_outcome(bytes(damaged))
    if stream.header.reversible:  # a SAMPLES chunk with its CRC right: other depths, transforms,
        # colours
        size = 2 + (stream.header.transform == 2)
        payloads = {
            2: (b"\x08\x00", b"\x10\x01", b"\x08\x02", b"\x07\x01", b"\x08\x03"),
            3: (b"\x08\x02\x01", b"\x10\x02\x05", b"\x08\x02\x06", b"\x08\x01\x00")
            + (b"\x08\x00\x00", b"\x08\x03\x00"),
        }[size]
        for payload in payloads:
            damaged = bytearray(data)
            at = container.HEADER_SIZE
            damaged[at + 8 : at + 8 + size] = payload
            with_crc(damaged, at, size)
            same_outcome(bytes(damaged))
    if stream.alpha is not None:  # an ALPHA chunk with its CRC right, its contents rewritten
        at = next(head for name, head, _, _ in stream.chunks if name == "ALPHA")
        inner = stream.alpha.stream
        inner_header = bytearray(inner)
        inner_header[14] = 2  # the inner stream made RGB 4:4:4, its header CRC right
        with_crc(inner_header, 4, 57)
        odd = bytearray(inner)
        odd[15:19] = struct.pack("<I", stream.header.width + 1)  # another width
        with_crc(odd, 4, 57)
        levels = list(stream.alpha.levels)
        for payload in (
            b"",
            b"\x01",
            struct.pack("<H", 300) + bytes(2),  # a table longer than the payload
            struct.pack("<H", 2) + bytes([5, 5]) + inner,  # levels not increasing
            struct.pack("<H", 1) + bytes([7]) + inner,  # one level
            struct.pack("<H", len(levels)) + bytes(levels) + bytes(inner_header),
            struct.pack("<H", len(levels)) + bytes(levels) + bytes(odd),
            struct.pack("<H", len(levels)) + bytes(levels) + inner[:-1],  # truncated inside
            struct.pack("<H", 0) + inner,  # no table
            struct.pack("<H", 0) + data,  # the whole stream: it has alpha itself
        ):
            damaged = data[:at] + chunk(4, payload) + data[at + 8 + len(stream.alpha.payload()) :]
            damaged = bytearray(damaged)
            struct.pack_into("<I", damaged, 65, len(damaged))
            with_crc(damaged, 4, 57)
            same_outcome(bytes(damaged))


def test_the_spec_decoder_refuses_what_the_library_refuses_to_decode():
    """Header-level refusals of section 6.1 on a valid stream's header."""
    data = data_of(ENTRIES[0])
    for bad in (b"", b"\x89S", b"PNG\x89" + data[4:], data[:68]):
        with pytest.raises(spec.SpecError):
            spec.read_stream(bad)
        with pytest.raises(SpikeCodecError):
            container.unpack(bad)


def chunk(kind: int, payload: bytes) -> bytes:
    tag = struct.pack("<I", kind << 28 | len(payload))
    return tag + struct.pack("<I", zlib.crc32(payload, zlib.crc32(tag))) + payload


def inserted(data: bytes, at: int, blob: bytes) -> bytes:
    """``blob`` inserted at ``at``, the header's size and CRC made right."""
    out = bytearray(data[:at] + blob + data[at:])
    struct.pack_into("<I", out, 65, len(out))
    with_crc(out, 4, 57)
    return bytes(out)


METADATA_ENTRY = next(entry for entry in ENTRIES if entry["metadata"])


@pytest.mark.parametrize("kind", [8, 9, 10, 11, 15])
def test_a_chunk_other_than_a_slice_after_the_first_slice_is_refused(kind):
    """Section 6.2: metadata and unknown ancillary chunks lie before the first slice; one
    after it is refused, whole, damaged or cut short, by both readers. Before the first slice
    an unknown one is skipped by both."""
    for entry in (ENTRIES[0], METADATA_ENTRY):
        data = data_of(entry)
        stream = container.unpack(data)
        blob = chunk(kind, b"an ancillary chunk")
        for end in stream.ends[:-1]:
            bad = inserted(data, end, blob)
            for variant in (bad, bad[: end + 11], bad[:-1]):
                with pytest.raises(spec.SpecError, match="after the first slice"):
                    spec.read_stream(variant)
                same_outcome(variant)
        if kind > 10:
            before = inserted(data, stream.first_slice, blob)
            assert outcome_of_spec(before)[:4] == outcome_of_library(data)[:4]
            assert outcome_of_spec(before)[4] == stream.first_slice + len(blob)
            same_outcome(before)


@pytest.mark.parametrize("kind", [8, 9, 10])
def test_a_metadata_chunk_present_twice_is_refused(kind):
    """Section 6.2: a metadata chunk of a type already read intact is refused (its CRC right
    or not); after one that failed its CRC it is read."""
    data = data_of(METADATA_ENTRY)
    stream = container.unpack(data)
    _, head, length, _ = next(c for c in stream.chunks if c[0] == container.TYPES[kind])
    for second in (chunk(kind, b"again"), chunk(kind, b"")):
        for at in (head + 8 + length, stream.first_slice):
            bad = inserted(data, at, second)
            for variant in (bad, bad[: at + 8]):
                with pytest.raises(spec.SpecError, match="second metadata chunk"):
                    spec.read_stream(variant)
                same_outcome(variant)
    damaged = bytearray(data)
    damaged[head + 4] ^= 1
    after = inserted(bytes(damaged), head + 8 + length, chunk(kind, b"again"))
    got = spec.read_stream(after)
    assert got.damaged == [kind] and got.metadata[kind] == b"again"
    same_outcome(after)


def test_a_stream_ending_inside_its_metadata():
    """Sections 6.2 and 6.4: no slice is read, and the header and metadata end where the chunk
    cut short would end, past the bytes present: such a stream cannot be cut."""
    data = data_of(METADATA_ENTRY)
    stream = container.unpack(data)
    for _, head, length, _ in stream.chunks[:3]:
        for n in range(head, head + 8 + length):
            got = spec.read_stream(data[:n])
            assert got.slices == [] and got.partial == b""
            same_outcome(data[:n])
            if n >= head + 8:
                assert got.first_slice == head + 8 + length > n
                with pytest.raises(SpikeCodecError, match="cannot cut"):
                    container.cut_stream(data[:n], n)
            else:  # inside the chunk's head: it ends at the chunk's start
                assert got.first_slice == head
                same_outcome(container.cut_stream(data[:n], n))
