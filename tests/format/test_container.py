"""The ``.spk`` container: header, checksummed chunks, truncation, corruption and limits.

Expected offsets are computed here from the documented layout (a 60-byte header record ending
with the stream size, plus a 4-byte CRC32, then per chunk ``u32 length, u32 crc32(length field +
payload), payload``), with :mod:`zlib` and :mod:`struct`, not from the module's own structs.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikecodec import CorruptStreamError, LimitError, SpikeCodecError, TruncatedStreamError
from spikecodec.format.container import MAGIC, Header, cut_stream, pack, read_header, unpack

# magic 4 + version 1 + mode 1 + width 4 + height 4 + R, C, T, theta 4 * 8 + bias 4 + table 1
# + chroma 4 + planes 1 + stream size 4 = 60 bytes, then the header CRC32.
FIELDS_SIZE = 60
PLANES_AT = 55
SIZE_AT = 56
HEADER_SIZE = FIELDS_SIZE + 4
CHUNK_HEAD = 8


def make_header(**changes) -> Header:
    fields = dict(
        mode="RGB",
        width=37,
        height=21,
        R=1e4,
        C=1.0,
        T=100.0,
        theta=800.0,
        bias=0.25,
        table=1,
        chroma=1.5,
        slices=3,
    )
    fields.update(changes)
    return Header(**fields)


CHUNKS = [b"first slice", b"", b"\x00\xff" * 9]


def patch(data: bytes, offset: int, fmt: str, value) -> bytes:
    """Overwrite one little-endian header field and recompute the header CRC."""
    size = struct.calcsize("<" + fmt)
    fields = data[:offset] + struct.pack("<" + fmt, value) + data[offset + size : FIELDS_SIZE]
    return fields + struct.pack("<I", zlib.crc32(fields)) + data[HEADER_SIZE:]


def chunk_ends(chunks: list[bytes]) -> list[tuple[int, int]]:
    """(payload start, payload end) offsets of each chunk in a packed stream."""
    spans, pos = [], HEADER_SIZE
    for c in chunks:
        spans.append((pos + CHUNK_HEAD, pos + CHUNK_HEAD + len(c)))
        pos += CHUNK_HEAD + len(c)
    return spans


# --------------------------------------------------------------------------------------------
# Layout and round trip


def test_layout_matches_the_documented_format():
    data = pack(make_header(), CHUNKS)
    assert data[:4] == MAGIC == b"\x89SPK"
    assert data[4] == 10  # format version
    assert data[5] == 1  # mode RGB
    assert struct.unpack_from("<II", data, 6) == (37, 21)
    assert struct.unpack_from("<4d", data, 14) == (1e4, 1.0, 100.0, 800.0)
    assert struct.unpack_from("<I", data, FIELDS_SIZE)[0] == zlib.crc32(data[:FIELDS_SIZE])
    assert data[PLANES_AT] == 3  # planes
    assert struct.unpack_from("<I", data, SIZE_AT)[0] == len(data)  # the whole stream's size
    pos = HEADER_SIZE
    for payload in CHUNKS:
        length = struct.pack("<I", len(payload))
        assert struct.unpack_from("<II", data, pos) == (len(payload), zlib.crc32(length + payload))
        assert data[pos + CHUNK_HEAD : pos + CHUNK_HEAD + len(payload)] == payload
        pos += CHUNK_HEAD + len(payload)
    assert pos == len(data)


finite = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False)
# The header's domains: bias (a fraction of the step) in [0, 1), chroma a positive factor.
bias32 = st.floats(min_value=0, max_value=1, exclude_max=True, width=32)
chroma32 = st.floats(min_value=2**-20, max_value=2**20, width=32)


@settings(max_examples=60, deadline=None)
@given(
    mode=st.sampled_from(["L", "RGB"]),
    width=st.integers(1, 2**16),
    height=st.integers(1, 2**12),
    R=finite,
    C=finite,
    T=finite,
    theta=finite,
    bias=bias32,
    table=st.integers(0, 1),
    chroma=chroma32,
    chunks=st.lists(st.binary(max_size=40), min_size=1, max_size=6),
)
def test_pack_unpack_round_trip(mode, width, height, R, C, T, theta, bias, table, chroma, chunks):
    header = Header(mode, width, height, R, C, T, theta, bias, table, chroma, len(chunks))
    data = pack(header, chunks)
    assert len(data) == HEADER_SIZE + sum(CHUNK_HEAD + len(c) for c in chunks)
    got, got_chunks, partial = unpack(data, max_pixels=2**28)  # the sizes drawn reach 2**28
    assert got == header
    assert got_chunks == chunks
    assert partial == b""
    assert read_header(data, max_pixels=2**28) == header


def test_unpack_accepts_bytearray_and_memoryview():
    data = pack(make_header(), CHUNKS)
    for view in (bytearray(data), memoryview(data)):
        header, chunks, partial = unpack(view)
        assert header == make_header()
        assert chunks == CHUNKS
        assert partial == b""


def test_a_stream_may_stop_after_fewer_chunks_than_planes():
    header, chunks, partial = unpack(pack(make_header(slices=5), CHUNKS))
    assert header.slices == 5
    assert chunks == CHUNKS
    assert partial == b""


# --------------------------------------------------------------------------------------------
# Truncation


def test_every_truncation_past_the_header_returns_the_complete_chunks_and_the_partial_one():
    data = pack(make_header(), CHUNKS)
    spans = chunk_ends(CHUNKS)
    for cut in range(HEADER_SIZE, len(data) + 1):
        header, chunks, partial = unpack(data[:cut])
        assert header == make_header()
        complete = [c for c, (_, end) in zip(CHUNKS, spans) if end <= cut]
        assert chunks == complete, cut
        nxt = len(complete)
        if nxt < len(CHUNKS) and cut >= spans[nxt][0]:
            assert partial == data[spans[nxt][0] : cut], cut
        else:
            assert partial == b"", cut


def test_every_truncation_inside_the_header_raises_a_library_error():
    data = pack(make_header(), CHUNKS)
    for cut in range(HEADER_SIZE):
        with pytest.raises(TruncatedStreamError, match="header"):
            unpack(data[:cut])


# --------------------------------------------------------------------------------------------
# Cut streams (version 11)


def expected_cut(data: bytes, chunks: list[bytes], n: int) -> bytes:
    """The documented cut of a packed stream at ``n`` bytes, built from the layout: version 11
    and size ``n`` in the header, the CRC of the chunk cut inside recomputed over its length
    field and the payload bytes kept, a chunk head cut short replaced by zeros."""
    head = patch(patch(data, 4, "B", 11), SIZE_AT, "I", n)[:HEADER_SIZE]
    body = bytearray(data[HEADER_SIZE:n])
    for start, end in chunk_ends(chunks):
        if start - CHUNK_HEAD < n < start:  # inside the chunk head
            body[start - CHUNK_HEAD - HEADER_SIZE :] = bytes(n - start + CHUNK_HEAD)
        elif start <= n < end:  # inside the payload
            kept = data[start - CHUNK_HEAD : start - 4] + data[start:n]
            struct.pack_into("<I", body, start - 4 - HEADER_SIZE, zlib.crc32(kept))
    return head + bytes(body)


def test_every_cut_is_the_documented_layout_and_reads_like_the_truncated_stream():
    data = pack(make_header(), CHUNKS)
    for n in range(HEADER_SIZE, len(data)):
        short = cut_stream(data, n)
        assert short == expected_cut(data, CHUNKS, n), n
        header, chunks, partial = unpack(short)  # complete: every check applies
        assert header == make_header(cut=True)
        truncated = unpack(data[:n])
        assert (chunks, partial) == truncated[1:], n
        assert partial.declared == truncated[2].declared, n
    assert cut_stream(data, len(data)) == data  # nothing to cut: the version-10 stream as it is


def test_a_cut_of_a_cut_or_truncated_stream_is_the_cut_of_the_original():
    data = pack(make_header(), CHUNKS)
    for n in range(HEADER_SIZE, len(data) + 1):
        short = cut_stream(data, n)
        assert cut_stream(short, n) == short
        for m in range(HEADER_SIZE, n + 1):
            assert cut_stream(short, m) == cut_stream(data, m) == cut_stream(data[:n], m), (n, m)
            # A cut stream truncated in transit reads like the original truncated there.
            assert unpack(short[:m])[1:] == unpack(data[:m])[1:], (n, m)


def test_every_bit_flip_in_a_cut_stream_is_detected():
    data = pack(make_header(), CHUNKS)
    (_, end0), _, (start2, _) = chunk_ends(CHUNKS)
    # Cuts inside the last payload, at a slice end, inside a chunk head (zero padding).
    for n in (start2 + 5, end0, end0 + 3):
        short = cut_stream(data, n)
        for byte in range(len(short)):
            for bit in range(8):
                bad = bytearray(short)
                bad[byte] ^= 1 << bit
                with pytest.raises(CorruptStreamError):
                    unpack(bytes(bad))


def test_a_cut_stream_with_trailing_bytes_is_corrupt():
    short = cut_stream(pack(make_header(), CHUNKS), HEADER_SIZE + 30)
    with pytest.raises(CorruptStreamError, match="unexpected bytes"):
        unpack(short + b"\x00")


@pytest.mark.parametrize("n", [-1, 0, HEADER_SIZE - 1, 118, 10**6])
def test_cuts_outside_the_stream_are_refused(n):
    data = pack(make_header(), CHUNKS)
    assert len(data) == 117
    with pytest.raises(SpikeCodecError, match="cannot cut"):
        cut_stream(data, n)


def test_a_damaged_stream_is_not_cut():
    bad = bytearray(pack(make_header(), CHUNKS))
    bad[-1] ^= 1
    with pytest.raises(CorruptStreamError, match="checksum"):
        cut_stream(bytes(bad), HEADER_SIZE + 10)


# --------------------------------------------------------------------------------------------
# Corruption


def test_every_bit_flip_in_the_header_is_detected():
    data = pack(make_header(), CHUNKS)
    for byte in range(HEADER_SIZE):
        for bit in range(8):
            bad = bytearray(data)
            bad[byte] ^= 1 << bit
            with pytest.raises(CorruptStreamError):
                unpack(bytes(bad))


def test_every_bit_flip_in_a_chunk_payload_or_crc_is_detected():
    data = pack(make_header(), CHUNKS)
    (start0, end0), _, (start2, end2) = chunk_ends(CHUNKS)
    # The payload and the CRC field of the first chunk, and the payload of the last.
    targets = list(range(start0 - 4, end0)) + list(range(start2, end2))
    for byte in targets:
        for bit in range(8):
            bad = bytearray(data)
            bad[byte] ^= 1 << bit
            with pytest.raises(CorruptStreamError, match="checksum") as info:
                unpack(bytes(bad))
            # The intact slices before the damage are handed back.
            assert info.value.chunks == ([] if byte < end0 else CHUNKS[:2])


def test_a_damaged_chunk_length_never_escapes_as_another_error():
    # The length is not under a checksum: a flip may look like a truncation, but the chunks
    # returned are always a prefix of the true ones and nothing but CorruptStreamError is raised.
    data = pack(make_header(), CHUNKS)
    for start, _ in chunk_ends(CHUNKS):
        for byte in range(start - CHUNK_HEAD, start - 4):
            for bit in range(8):
                bad = bytearray(data)
                bad[byte] ^= 1 << bit
                try:
                    _, chunks, _ = unpack(bytes(bad))
                except CorruptStreamError:
                    continue
                assert chunks == CHUNKS[: len(chunks)]


def test_bad_magic_is_corrupt():
    data = pack(make_header(), CHUNKS)
    with pytest.raises(CorruptStreamError, match="magic"):
        unpack(b"\x89PNG" + data[4:])
    with pytest.raises(CorruptStreamError, match="magic"):
        unpack(b"GIF89a" + bytes(100))


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 255])
def test_unknown_version_is_corrupt(version):
    data = patch(pack(make_header(), CHUNKS), 4, "B", version)
    with pytest.raises(CorruptStreamError, match="version"):
        unpack(data)


def test_unknown_mode_is_corrupt():
    data = patch(pack(make_header(), CHUNKS), 5, "B", 3)
    with pytest.raises(CorruptStreamError, match="mode"):
        unpack(data)


@pytest.mark.parametrize(
    ("byte", "mode", "subsampling"), [(1, "RGB", "4:2:0"), (2, "RGB", "4:4:4")]
)
def test_the_mode_byte_carries_the_chroma_resolution(byte, mode, subsampling):
    header = replace(make_header(), mode=mode, subsampling=subsampling)
    data = pack(header, CHUNKS)
    assert data[5] == byte
    assert unpack(data)[0] == header


@pytest.mark.parametrize(("width", "height"), [(0, 5), (5, 0), (0, 0)])
def test_empty_image_size_is_corrupt(width, height):
    data = patch(patch(pack(make_header(), CHUNKS), 6, "I", width), 10, "I", height)
    with pytest.raises(CorruptStreamError, match="size"):
        unpack(data)


@pytest.mark.parametrize("planes", [0, 41, 255])
def test_planes_out_of_range_are_corrupt(planes):
    data = patch(pack(make_header(), CHUNKS), PLANES_AT, "B", planes)
    with pytest.raises(CorruptStreamError, match="time slices"):
        unpack(data)


def test_trailing_garbage_is_corrupt():
    data = pack(make_header(), CHUNKS)
    with pytest.raises(CorruptStreamError, match="unexpected bytes"):
        unpack(data + b"x")
    # A chunk more than the header declares is trailing garbage too.
    with pytest.raises(CorruptStreamError, match="unexpected bytes"):
        unpack(pack(make_header(slices=2), CHUNKS))


# --------------------------------------------------------------------------------------------
# Limits


def test_a_huge_declared_image_hits_the_pixel_limit_before_any_allocation():
    data = pack(make_header(width=100_000, height=100_000), CHUNKS)
    with pytest.raises(LimitError, match="100000x100000"):
        unpack(data)
    with pytest.raises(LimitError):
        read_header(data)


def test_the_pixel_limit_is_configurable():
    data = pack(make_header(width=100, height=100), CHUNKS)
    with pytest.raises(LimitError, match="limit of 10815"):
        unpack(data, max_pixels=104 * 104 - 1)  # the image padded to 8x8 blocks
    header, _, _ = unpack(data, max_pixels=104 * 104)
    assert header.width * header.height == 10_000


def test_the_pixel_limit_counts_whole_blocks():
    """A one-pixel-wide image costs the decoder eight columns: the limit counts them."""
    data = pack(make_header(width=1, height=4096), CHUNKS)
    with pytest.raises(LimitError, match="1x4096 pixels \\(32768 in 8x8 blocks\\)"):
        unpack(data, max_pixels=32_767)
    assert unpack(data, max_pixels=32_768)[0].height == 4096


def test_all_errors_are_spikecodec_errors_and_value_errors():
    for cls in (CorruptStreamError, LimitError, TruncatedStreamError):
        assert issubclass(cls, SpikeCodecError)
        assert issubclass(cls, ValueError)
