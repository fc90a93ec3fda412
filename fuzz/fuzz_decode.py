"""Fuzz ``spikecodec.decode``: every malformed stream must raise a ``SpikeCodecError`` subclass.

Usage::

    python fuzz/fuzz_decode.py --runs 100000 --seconds 1200       # atheris when installed
    python fuzz/fuzz_decode.py --engine random --seconds 60 --seed 1
    python fuzz/fuzz_decode.py --reproduce fuzz/findings/crash-<sha1>.spk
    python fuzz/fuzz_decode.py --minimize fuzz/findings/crash-<sha1>.spk

Seeds are encoded at start (bundled samples, odd crops, gray and RGB, qualities 5..95, the jpeg
table, a leaky neuron R=50, two with ICC/EXIF/XMP metadata), never read from disk. Mutations
follow the container's chunks (``tag = type << 28 | length``, ``crc``, payload; see
:mod:`spikecodec.format.container`): besides bit flips, byte changes, truncations, insertions,
deletions and chunk swaps/duplications, most of them rewrite a header field or a time-slice
payload and **recompute the CRCs**, so that CRC-valid garbage reaches the entropy decoder
instead of stopping at the checksum. Others insert, duplicate, delete, reorder or move metadata
chunks (random or EXIF-like bytes, valid CRCs or not), insert unknown ancillary and critical
chunks, change a chunk's type, declare huge lengths, and cut streams (``cut_stream``).

Each input runs in this process, timed (``--time-limit``, default 2 s) and with its peak of
traced memory (tracemalloc, ``--mem-limit-mb``); the process's address space is capped
(``--rss-limit-mb``) so a runaway allocation is a ``MemoryError`` finding, not a swapping machine.
The decoder's options (``strict``, ``until``, ``with_info``, ``auto_orient``) derive from the
input's last bytes, so that a saved finding replays identically.

A finding is anything other than: an image of the declared shape (or its transpose with
``auto_orient``) and dtype uint8 (with ``with_info``, and a dict of metadata bytes), a
``SpikeCodecError``, and ``SpikeCodecWarning`` warnings. Other warnings (e.g. numpy's
RuntimeWarning on NaN) are findings of kind ``warning``; slow or memory-hungry inputs of kind
``slow``/``memory``. With ``--check-cuts`` (on by default) an input the container reads is also
cut (:func:`~spikecodec.format.container.cut_stream`) at a size derived from it: a cut that does
not read like the input truncated there is a finding of kind ``cut-mismatch``. Findings are
written to ``fuzz/findings/<kind>-<sha1>.spk`` with a ``.txt`` beside it (traceback, options,
timing).

With atheris the harness is coverage-guided (libFuzzer keeps inputs reaching new code) and uses
the same structure-aware mutator as a custom mutator; ``--engine random`` is a plain seeded
mutation loop (what ``tests/test_fuzz.py`` runs).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import math
import os
import random
import re
import resource
import signal
import struct
import sys
import time
import traceback
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FINDINGS = HERE / "findings"

# --------------------------------------------------------------------------------------------
# Seeds

_XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
    b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""'
    b' xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF>'
    b'</x:xmpmeta><?xpacket end="w"?>'
)


def _icc_profile() -> bytes:
    """A small ICC-like profile: a 128-byte header (size, 'acsp' signature) and no tags."""
    head = struct.pack(
        ">I4sI4s4s4s12s4s", 132, b"lcms", 0x04300000, b"mntr", b"RGB ", b"XYZ ", bytes(12), b"acsp"
    )
    return head.ljust(128, b"\0") + struct.pack(">I", 0)


def exif_block(orientation: int = 6, description: str | None = "spikecodec fuzz seed") -> bytes:
    """An EXIF block as Pillow writes it (``b"Exif\\0\\0"``, a TIFF header, one IFD)."""
    from PIL import Image

    tags = Image.Exif()
    tags[0x0112] = orientation
    if description is not None:
        tags[0x010E] = description
    return tags.tobytes()


def make_seeds() -> list[tuple[str, bytes]]:
    """Encoded streams covering the coder's paths: gray and RGB, odd sizes, all qualities,
    metadata chunks, lossless streams (a SAMPLES chunk), 16-bit samples, alpha planes (an
    ALPHA chunk: a level table, a lossy plane), streams in stripes (a STRIPES chunk, slices of
    sub-streams)."""
    import spikecodec as sc
    from spikecodec.data import load_sample

    k23, k05 = load_sample("kodim23"), load_sample("kodim05")
    gray05 = np.asarray(k05.mean(axis=2).round(), np.uint8)
    gray23 = np.asarray(k23.mean(axis=2).round(), np.uint8)
    flat = np.full((9, 11), 77, np.uint8)
    meta = dict(icc_profile=_icc_profile(), exif=exif_block(6), xmp=_XMP)
    rows, cols = np.indices((20, 27))
    mask = np.where(rows + cols < 24, 255, np.where(rows < cols, 100, 0)).astype(np.uint8)
    ramp = ((8 * rows + 3 * cols) % 256).astype(np.uint8)
    deep = (gray23[10:30, 10:37].astype(np.uint16) * 256 + (rows * 37 + cols) % 256).astype(
        np.uint16
    )
    specs = [
        ("k05-rgb-64x64-q75", k05[:64, :64], dict(quality=75)),
        ("k23-rgb-37x53-q50", k23[100:137, 60:113], dict(quality=50)),
        ("k05-gray-29x37-q5", gray05[40:69, 80:117], dict(quality=5)),
        ("k23-gray-33x65-q95-jpeg", gray23[:33, 100:165], dict(quality=95, table="jpeg")),
        ("k05-rgb-17x23-q90-leaky", k05[200:217, 10:33], dict(quality=90, R=50.0)),
        ("k23-rgb-1x1-q75", k23[5:6, 5:6], dict(quality=75)),
        ("k05-gray-8x8-q95-flat", gray05[:8, :8], dict(quality=95, table="flat", bias=0.0)),
        ("flat-gray-9x11-q60", flat, dict(quality=60)),
        ("k23-rgb-24x40-q30-chroma2", k23[50:74, 50:90], dict(quality=30, chroma=2.0)),
        ("k05-rgb-21x30-q60-icc-exif-xmp", k05[120:141, 90:120], dict(quality=60, **meta)),
        ("k05-rgb-24x31-lossless", k05[60:84, 30:61], dict(lossless=True)),
        ("k23-gray-16x21-lossless-xmp", gray23[70:86, 20:41], dict(lossless=True, xmp=_XMP)),
        ("k23-gray16-20x27-q70", deep, dict(quality=70)),
        ("k05-rgba-20x27-q60-mask", np.dstack([k05[:20, :27], mask]), dict(quality=60)),
        (
            "k23-la-20x27-lossless-alpha-q50",
            np.dstack([gray23[:20, :27], ramp]),
            dict(lossless=True, alpha_quality=50),
        ),
        (
            "k23-la16-20x27-lossless",
            np.dstack([deep, mask.astype(np.uint16) * 257]).astype(np.uint16),
            dict(lossless=True),
        ),
        ("k05-rgb-48x64-q70-stripes3", k05[:48, :64], dict(quality=70, stripes=3)),
        (
            "k23-rgb-40x56-q60-stripes2-split",
            k23[80:120, 40:96],
            dict(quality=60, stripes=2, split_chroma=True),
        ),
        ("k23-gray-40x48-lossless-stripes5", gray23[:40, 60:108], dict(lossless=True, stripes=5)),
        (
            "k05-rgba-20x27-q50-stripes2-mask",
            np.dstack([k05[:20, :27], mask]),
            dict(quality=50, stripes=2),
        ),
        (
            "k23-gray-19x26-q40-exif3-xmp",
            gray23[30:49, 140:166],
            dict(quality=40, exif=exif_block(3, None), xmp=_XMP.decode("utf-8")),
        ),
    ]
    return [(name, sc.encode(image, **options)) for name, image, options in specs]


# --------------------------------------------------------------------------------------------
# Stream structure (the container's documented layout; its sizes from the container itself)

HEADER_TYPE, SLICE_TYPE, SAMPLES_TYPE, ALPHA_TYPE, STRIPES_TYPE = 1, 2, 3, 4, 5
METADATA_TYPES = (8, 9, 10)  # ICC, EXIF, XMP
MAX_LENGTH = (1 << 28) - 1  # a tag's length bits
FIELDS_AT = 12  # the header chunk's payload: after the signature (4) and its head (8)


def _container():
    from spikecodec.format import container

    return container


def make_chunk(kind: int, payload: bytes, *, length: int | None = None, crc_ok=True) -> bytes:
    """A chunk's head and payload: ``tag = kind << 28 | length`` (``length`` defaults to the
    payload's), its CRC over the tag's bytes and the payload (spoiled unless ``crc_ok``)."""
    length = len(payload) if length is None else length
    tag = struct.pack("<I", (kind & 15) << 28 | (length & MAX_LENGTH))
    crc = zlib.crc32(payload, zlib.crc32(tag)) ^ (0 if crc_ok else 0x5A5A5A5A)
    return tag + struct.pack("<I", crc) + payload


def split_stream(data: bytes) -> tuple[bytes, list[tuple[int, bytes]], bytes]:
    """(header fields: the header chunk's payload, the chunks after it as ``(type, payload)``,
    trailing bytes: a chunk cut short, padding, garbage), tolerant of any damage."""
    c = _container()
    fields = data[FIELDS_AT : c.HEADER_SIZE]
    chunks, pos = [], c.HEADER_SIZE
    while pos + c.CHUNK_HEAD_SIZE <= len(data):
        (tag,) = struct.unpack_from("<I", data, pos)
        start, length = pos + c.CHUNK_HEAD_SIZE, tag & MAX_LENGTH
        if start + length > len(data):
            break
        chunks.append((tag >> 28, data[start : start + length]))
        pos = start + length
    return fields, chunks, data[pos:]


def join_stream(fields: bytes, chunks: list, tail: bytes = b"", fix_size=True) -> bytes:
    """A stream with a valid header chunk and, for each ``(type, payload)`` of ``chunks``, a
    chunk with a valid CRC (an item of ``bytes`` is a serialized chunk, kept as it is); with
    ``fix_size`` the declared size is the stream's length (``tail`` included)."""
    c = _container()
    n = c.HEADER_SIZE - FIELDS_AT
    fields = bytearray(fields[:n].ljust(n, b"\0"))
    body = b"".join(x if isinstance(x, bytes) else make_chunk(*x) for x in chunks) + tail
    if fix_size:
        struct.pack_into("<I", fields, n - 4, (c.HEADER_SIZE + len(body)) & 0xFFFFFFFF)
    return c.MAGIC + make_chunk(HEADER_TYPE, bytes(fields)) + body


def recrc_header(data: bytes) -> bytes:
    """The stream with its header chunk's CRC recomputed over its tag and fields."""
    c = _container()
    if len(data) < c.HEADER_SIZE:
        return data
    crc = zlib.crc32(data[FIELDS_AT : c.HEADER_SIZE], zlib.crc32(data[4:8]))
    return data[:8] + struct.pack("<I", crc) + data[12:]


def chunk_heads(data: bytes) -> list[tuple[int, int, int]]:
    """(offset of the head, type, declared length) of the chunks after the header, as far as
    their heads are present (the last one's payload may run past the end)."""
    c = _container()
    heads, pos = [], c.HEADER_SIZE
    while pos + c.CHUNK_HEAD_SIZE <= len(data):
        (tag,) = struct.unpack_from("<I", data, pos)
        heads.append((pos, tag >> 28, tag & MAX_LENGTH))
        pos += c.CHUNK_HEAD_SIZE + (tag & MAX_LENGTH)
    return heads


# Header field offsets in the stream: (offset, struct format).
_FIELDS = {
    name: (FIELDS_AT + offset, fmt)
    for name, offset, fmt in [
        ("version", 0, "B"),
        ("flags", 1, "B"),
        ("mode", 2, "B"),
        ("width", 3, "I"),
        ("height", 7, "I"),
        ("R", 11, "d"),
        ("C", 19, "d"),
        ("T", 27, "d"),
        ("theta", 35, "d"),
        ("bias", 43, "f"),
        ("table", 47, "B"),
        ("chroma", 48, "f"),
        ("slices", 52, "B"),
        ("size", 53, "I"),
    ]
}
_SPECIAL_FLOATS = [
    0.0,
    -0.0,
    -1.0,
    1.0,
    0.5,
    1e-300,
    5e-324,
    1e-45,
    1e-30,
    1e30,
    1e300,
    3.4e38,
    1.7e308,
    math.inf,
    -math.inf,
    math.nan,
    50.0,
    100.0,
    1e4,
    0.999,
    0.3,
    2.0,
]
_SPECIAL_INTS = [
    0,
    1,
    2,
    3,
    7,
    8,
    9,
    15,
    16,
    17,
    31,
    32,
    63,
    64,
    65,
    255,
    256,
    4095,
    65535,
    2**28 - 1,
    2**31,
    2**32 - 1,
]


# --------------------------------------------------------------------------------------------
# The mutator


class Mutator:
    """Structure-aware mutations of ``.spk`` streams (deterministic for a given ``rng``)."""

    def __init__(self, rng: random.Random, seeds: list[bytes]):
        self.rng = rng
        self.seeds = seeds
        self.ops = [
            (self.bit_flip, 6),
            (self.byte_set, 4),
            (self.truncate, 5),
            (self.insert, 2),
            (self.delete, 2),
            (self.chunk_swap, 2),
            (self.chunk_duplicate, 2),
            (self.chunk_drop, 1),
            (self.chunk_splice, 2),
            (self.header_field, 8),
            (self.payload_bit_flip, 10),
            (self.payload_bytes, 6),
            (self.payload_random, 3),
            (self.payload_truncate, 3),
            (self.payload_fill, 6),
            (self.payload_splice, 4),
            (self.chunk_length_field, 3),
            (self.size_field, 2),
            (self.metadata_insert, 3),
            (self.metadata_duplicate, 1),
            (self.metadata_delete, 1),
            (self.metadata_reorder, 1),
            (self.metadata_move, 1),
            (self.exif_payload, 2),
            (self.ancillary_insert, 2),
            (self.critical_insert, 1),
            (self.samples_chunk, 2),
            (self.alpha_chunk, 3),
            (self.stripes_chunk, 2),
            (self.stripe_table, 4),
            (self.chunk_type, 2),
            (self.huge_length, 2),
            (self.cut, 2),
        ]
        self.weights = [w for _, w in self.ops]

    def mutate(self, data: bytes, rounds: int | None = None) -> bytes:
        rounds = rounds or self.rng.choice([1, 1, 1, 2, 3])
        for _ in range(rounds):
            (op, _), *_ = self.rng.choices(self.ops, self.weights)
            data = op(data)
        return data

    # -- raw byte mutations (CRCs left alone: mostly exercise the container checks)
    def _offset(self, data: bytes) -> int:
        return self.rng.randrange(len(data)) if data else 0

    def bit_flip(self, data: bytes) -> bytes:
        if not data:
            return data
        b = bytearray(data)
        b[self._offset(data)] ^= 1 << self.rng.randrange(8)
        return bytes(b)

    def byte_set(self, data: bytes) -> bytes:
        if not data:
            return data
        b = bytearray(data)
        b[self._offset(data)] = self.rng.choice([0, 1, 0x7F, 0x80, 0xFF, self.rng.randrange(256)])
        return bytes(b)

    def truncate(self, data: bytes) -> bytes:
        return data[: self.rng.randrange(len(data) + 1)]

    def insert(self, data: bytes) -> bytes:
        at = self.rng.randrange(len(data) + 1)
        blob = self.rng.randbytes(self.rng.choice([1, 2, 4, 8, self.rng.randrange(64)]))
        return data[:at] + blob + data[at:]

    def delete(self, data: bytes) -> bytes:
        at = self._offset(data)
        return data[:at] + data[at + self.rng.choice([1, 2, 4, 8, self.rng.randrange(64)]) :]

    # -- chunk-level mutations (CRCs and size recomputed)
    def _chunks_op(self, data: bytes, fn) -> bytes:
        fields, chunks, tail = split_stream(data)
        chunks = fn(list(chunks))
        return join_stream(fields, chunks, tail, fix_size=self.rng.random() < 0.9)

    def _random_payload(self) -> bytes:
        n = self.rng.choice([0, 1, 4, 8, 16, self.rng.randrange(300)])
        return self.rng.randbytes(n)

    def _random_chunk(self, kind: int, payload: bytes) -> bytes | tuple[int, bytes]:
        """``(kind, payload)`` (a valid CRC) mostly, else a serialized chunk with a bad CRC."""
        return (kind, payload) if self.rng.random() < 0.85 else make_chunk(kind, payload, crc_ok=0)

    def _first_slice(self, chunks) -> int:
        """The index of the first slice among ``chunks`` (their number if none)."""
        kinds = [x[0] if isinstance(x, tuple) else None for x in chunks]
        return kinds.index(SLICE_TYPE) if SLICE_TYPE in kinds else len(chunks)

    def _place(self, chunks) -> int:
        """Where to insert a chunk: before the slices mostly, else anywhere."""
        if self.rng.random() < 0.7:
            return self.rng.randrange(self._first_slice(chunks) + 1)
        return self.rng.randrange(len(chunks) + 1)

    def chunk_swap(self, data: bytes) -> bytes:
        def fn(chunks):
            if len(chunks) >= 2:
                i, j = self.rng.sample(range(len(chunks)), 2)
                chunks[i], chunks[j] = chunks[j], chunks[i]
            return chunks

        return self._chunks_op(data, fn)

    def chunk_duplicate(self, data: bytes) -> bytes:
        def fn(chunks):
            if chunks:
                i = self.rng.randrange(len(chunks))
                chunks.insert(self.rng.randrange(len(chunks) + 1), chunks[i])
            return chunks

        return self._chunks_op(data, fn)

    def chunk_drop(self, data: bytes) -> bytes:
        def fn(chunks):
            if chunks:
                del chunks[self.rng.randrange(len(chunks))]
            return chunks

        return self._chunks_op(data, fn)

    def chunk_splice(self, data: bytes) -> bytes:
        """A slice from another seed in place of one of this stream's chunks."""
        other = [x for x in split_stream(self.rng.choice(self.seeds))[1] if x[0] == SLICE_TYPE]

        def fn(chunks):
            if chunks and other:
                chunks[self.rng.randrange(len(chunks))] = self.rng.choice(other)
            return chunks

        return self._chunks_op(data, fn)

    # -- metadata and other chunk types
    def _metadata_payload(self, kind: int) -> bytes:
        """Bytes for a metadata chunk of ``kind``: a seed's, EXIF-like, text, or random."""
        seeded = [p for s in self.seeds for k, p in split_stream(s)[1] if k == kind]
        roll = self.rng.random()
        if roll < 0.3 and seeded:
            payload = bytearray(self.rng.choice(seeded))
            for _ in range(self.rng.choice([0, 1, 3])):
                if payload:
                    payload[self.rng.randrange(len(payload))] = self.rng.randrange(256)
            return bytes(payload)
        if roll < 0.55 and kind == 9:
            return self.exif_bytes()
        if roll < 0.65:
            return b"<x:xmpmeta>" + self.rng.randbytes(self.rng.randrange(40)) + b"</x:xmpmeta>"
        return self._random_payload()

    def exif_bytes(self) -> bytes:
        """An EXIF block: Pillow's, or a hand-made TIFF header and IFD with lying entries."""
        if self.rng.random() < 0.3:
            return exif_block(self.rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 65535]))
        order = self.rng.choice([b"II", b"MM", b"IM", b"\0\0"])
        e = "<" if order == b"II" else ">"
        magic = self.rng.choice([42, 42, 42, 43, 0])
        ifd = self.rng.choice([8, 8, 8, 0, 7, 2**31, 2**32 - 1])
        entries = []
        for _ in range(self.rng.choice([0, 1, 1, 2, 5, 300])):
            tag = self.rng.choice([0x0112, 0x0112, 0x010E, 0x8769, 0x8825, 0xA005, 0x927C])
            typ = self.rng.choice([3, 3, 1, 2, 4, 5, 7, 9, 10, 0, 13, 255])
            count = self.rng.choice([1, 1, 0, 2, 4, 2**16, 2**31, 2**32 - 1])
            value = self.rng.choice([1, 3, 6, 8, 0, 9, 2**16 - 1, 8, 26, 2**31])
            entries.append(struct.pack(e + "HHII", tag, typ, count, value & 0xFFFFFFFF))
        body = struct.pack(e + "H", len(entries) & 0xFFFF) + b"".join(entries)
        body += struct.pack(e + "I", self.rng.choice([0, 0, 8, 26, 2**32 - 1]))
        prefix = self.rng.choice([b"Exif\0\0", b"Exif\0\0", b"", b"Exif\0\0Exif\0\0"])
        block = prefix + order + struct.pack(e + "HI", magic, ifd) + body
        return block[: self.rng.choice([len(block), len(block), self.rng.randrange(len(block))])]

    def metadata_insert(self, data: bytes) -> bytes:
        """A metadata chunk (ICC, EXIF or XMP; maybe a second one of its type)."""
        kind = self.rng.choice(METADATA_TYPES)

        def fn(chunks):
            chunk = self._random_chunk(kind, self._metadata_payload(kind))
            chunks.insert(self._place(chunks), chunk)
            return chunks

        return self._chunks_op(data, fn)

    def _metadata_indices(self, chunks) -> list[int]:
        return [i for i, x in enumerate(chunks) if isinstance(x, tuple) and x[0] >= 8]

    def _with_metadata(self, data: bytes, fn) -> bytes:
        """``fn`` applied to the chunks, after inserting metadata chunks if there are none."""
        if not self._metadata_indices(split_stream(data)[1]):
            for _ in range(self.rng.choice([1, 2, 3])):
                data = self.metadata_insert(data)
        return self._chunks_op(data, fn)

    def metadata_duplicate(self, data: bytes) -> bytes:
        def fn(chunks):
            meta = self._metadata_indices(chunks)
            if meta:
                chunks.insert(self._place(chunks), chunks[self.rng.choice(meta)])
            return chunks

        return self._with_metadata(data, fn)

    def metadata_delete(self, data: bytes) -> bytes:
        def fn(chunks):
            meta = self._metadata_indices(chunks)
            for i in sorted(self.rng.sample(meta, self.rng.randint(min(1, len(meta)), len(meta))))[
                ::-1
            ]:
                del chunks[i]
            return chunks

        return self._with_metadata(data, fn)

    def metadata_reorder(self, data: bytes) -> bytes:
        def fn(chunks):
            meta = self._metadata_indices(chunks)
            moved = [chunks[i] for i in meta]
            self.rng.shuffle(moved)
            for i, chunk in zip(meta, moved, strict=True):
                chunks[i] = chunk
            return chunks

        return self._with_metadata(data, fn)

    def metadata_move(self, data: bytes) -> bytes:
        """A metadata chunk moved after the slices, or between two of them."""

        def fn(chunks):
            meta = self._metadata_indices(chunks)
            if meta:
                chunk = chunks.pop(self.rng.choice(meta))
                first = self._first_slice(chunks)
                at = (
                    len(chunks) if self.rng.random() < 0.5 else self.rng.randint(first, len(chunks))
                )
                chunks.insert(at, chunk)
            return chunks

        return self._with_metadata(data, fn)

    def exif_payload(self, data: bytes) -> bytes:
        """The EXIF chunk replaced by (or a new one made of) EXIF-like bytes, CRC valid."""

        def fn(chunks):
            exif = [i for i, x in enumerate(chunks) if isinstance(x, tuple) and x[0] == 9]
            chunk = (9, self.exif_bytes())
            if exif:
                chunks[self.rng.choice(exif)] = chunk
            else:
                chunks.insert(self._place(chunks), chunk)
            return chunks

        return self._chunks_op(data, fn)

    def ancillary_insert(self, data: bytes) -> bytes:
        """An ancillary chunk of a type this reader does not know (11-15), anywhere."""

        def fn(chunks):
            kind = self.rng.randint(11, 15)
            at = self.rng.randrange(len(chunks) + 1)
            chunks.insert(at, self._random_chunk(kind, self._random_payload()))
            return chunks

        return self._chunks_op(data, fn)

    def critical_insert(self, data: bytes) -> bytes:
        """A critical chunk this reader must refuse: type 0, 4-7, or a second header."""
        fields = split_stream(data)[0]

        def fn(chunks):
            kind = self.rng.choice([0, 1, 4, 5, 6, 7])  # 4: ALPHA, where it may not be
            payload = fields if kind == HEADER_TYPE else self._random_payload()
            chunks.insert(self.rng.randrange(len(chunks) + 1), self._random_chunk(kind, payload))
            return chunks

        return self._chunks_op(data, fn)

    def samples_chunk(self, data: bytes) -> bytes:
        """A SAMPLES chunk (type 3) of known and unknown depths and transforms, or of another
        length, put first (where it belongs) or elsewhere, or replacing the stream's own."""
        depth = self.rng.choice([8, 8, 16, 0, self.rng.randrange(256)])
        transform = self.rng.choice([0, 1, 1, 2, self.rng.randrange(256)])
        payload = bytes([depth, transform])
        if self.rng.random() < 0.1:
            payload = self._random_payload()

        def fn(chunks):
            if chunks and isinstance(chunks[0], tuple) and chunks[0][0] == SAMPLES_TYPE:
                chunks.pop(0)
            at = 0 if self.rng.random() < 0.7 else self.rng.randrange(len(chunks) + 1)
            chunks.insert(at, self._random_chunk(SAMPLES_TYPE, payload))
            return chunks

        return self._chunks_op(data, fn)

    def stripes_chunk(self, data: bytes) -> bytes:
        """A STRIPES chunk (type 5) of any count (0, 1, a few, past the planes' rows, 65535)
        with luma and chroma apart or not (or a value past 1), or another length, after the
        header and SAMPLES (where it belongs) or elsewhere, or replacing the stream's own: the
        slices then split by the wrong count."""
        count = self.rng.choice([0, 1, 2, 3, 4, 7, 64, 256, 257, 65535])
        payload = struct.pack("<HB", count, self.rng.choice([0, 0, 1, 1, 2, 255]))
        if self.rng.random() < 0.1:
            payload = self._random_payload()

        def fn(chunks):
            own = [i for i, x in enumerate(chunks) if isinstance(x, tuple) and x[0] == STRIPES_TYPE]
            if own and self.rng.random() < 0.7:
                chunks.pop(own[0])
            first = int(bool(chunks) and isinstance(chunks[0], tuple) and chunks[0][0] == 3)
            at = first if self.rng.random() < 0.7 else self.rng.randrange(len(chunks) + 1)
            chunks.insert(at, self._random_chunk(STRIPES_TYPE, payload))
            return chunks

        return self._chunks_op(data, fn)

    def stripe_table(self, data: bytes) -> bytes:
        """A slice's table of sub-stream lengths rewritten (CRC right): an entry set to 0, to
        a neighbour of its value, to the slice's length or past it, or to 2**32 - 1."""

        def fn(chunks):
            slices = [
                i for i, x in enumerate(chunks) if isinstance(x, tuple) and x[0] == SLICE_TYPE
            ]
            if not slices:
                return chunks
            i = self.rng.choice(slices)
            payload = bytearray(chunks[i][1])
            if len(payload) < 4:
                return chunks
            at = 4 * self.rng.randrange(min(len(payload) // 4, 8))
            (value,) = struct.unpack_from("<I", payload, at)
            value = self.rng.choice(
                [0, value - 1, value + 1, len(payload), len(payload) + 1, 0xFFFFFFFF]
            )
            struct.pack_into("<I", payload, at, value & 0xFFFFFFFF)
            chunks[i] = (SLICE_TYPE, bytes(payload))
            return chunks

        return self._chunks_op(data, fn)

    def alpha_chunk(self, data: bytes) -> bytes:
        """An ALPHA chunk (type 4): the stream's own (or a seed as its inner stream) with its
        inner stream mutated in turn, its level table rewritten (counts, widths, orders), or
        another seed inside; in its place (after SAMPLES), elsewhere, or a second one."""

        def fn(chunks):
            own = [i for i, x in enumerate(chunks) if isinstance(x, tuple) and x[0] == ALPHA_TYPE]
            payload = chunks[own[0]][1] if own else bytes(2) + self.rng.choice(self.seeds)
            count = int.from_bytes(payload[:2], "little") if len(payload) >= 2 else 0
            width = self.rng.choice([1, 1, 2])  # 2: a 16-bit stream's table
            table, inner = payload[2 : 2 + width * count], payload[2 + width * count :]
            roll = self.rng.random()
            if roll < 0.5:
                inner = self.mutate(inner, rounds=1)
            elif roll < 0.8:
                count = self.rng.choice([0, 1, 2, 3, 128, 256, 300, self.rng.randrange(65536)])
                top = 256**width
                levels = sorted(self.rng.sample(range(top), min(count, 300, top)))
                if self.rng.random() < 0.2 and levels:
                    levels.reverse()
                table = b"".join(v.to_bytes(width, "little") for v in levels)
            else:
                inner = self.rng.choice(self.seeds)
            new = struct.pack("<H", count & 0xFFFF) + table + inner
            if own and self.rng.random() < 0.8:
                chunks[own[0]] = self._random_chunk(ALPHA_TYPE, new)
            else:
                chunks.insert(self._place(chunks), self._random_chunk(ALPHA_TYPE, new))
            return chunks

        return self._chunks_op(data, fn)

    def chunk_type(self, data: bytes) -> bytes:
        """A chunk's type changed (a random one, or one bit flipped), its CRC recomputed or not."""
        heads = chunk_heads(data)
        if not heads:
            return data
        pos, kind, length = self.rng.choice(heads)
        new = (
            self.rng.randrange(16) if self.rng.random() < 0.5 else kind ^ 1 << self.rng.randrange(4)
        )
        b = bytearray(data)
        struct.pack_into("<I", b, pos, new << 28 | length)
        if self.rng.random() < 0.5:
            payload = bytes(b[pos + 8 : pos + 8 + length])
            struct.pack_into("<I", b, pos + 4, zlib.crc32(payload, zlib.crc32(b[pos : pos + 4])))
        return bytes(b)

    def huge_length(self, data: bytes) -> bytes:
        """A chunk declaring a huge length (its CRC over what is present, or stale), the stream
        maybe declared 4 GiB long (so it reads as truncated) or cut after the head."""
        heads = chunk_heads(data)
        if not heads:
            return data
        pos, kind, _ = self.rng.choice(heads)
        length = self.rng.choice([MAX_LENGTH, 2**27, 2**24 + 1, len(data), len(data) - pos])
        b = bytearray(data)
        struct.pack_into("<I", b, pos, kind << 28 | (length & MAX_LENGTH))
        if self.rng.random() < 0.6:
            payload = bytes(b[pos + 8 : pos + 8 + length])
            struct.pack_into("<I", b, pos + 4, zlib.crc32(payload, zlib.crc32(b[pos : pos + 4])))
        if self.rng.random() < 0.3:
            b = b[: self.rng.randint(pos + 8, len(b))]
        if self.rng.random() < 0.6 and len(b) >= _FIELDS["size"][0] + 4:
            struct.pack_into("<I", b, _FIELDS["size"][0], 2**32 - 1)
            return recrc_header(bytes(b))
        return bytes(b)

    def cut(self, data: bytes) -> bytes:
        """The stream cut (``cut_stream``) at a random size past its header and metadata."""
        from spikecodec.errors import SpikeCodecError

        c = _container()
        try:
            first = c.unpack(data, max_pixels=1 << 30).first_slice
            if first > len(data):
                return data  # it ends inside its metadata: it cannot be cut
            return c.cut_stream(data, self.rng.randint(first, len(data)), max_pixels=1 << 30)
        except SpikeCodecError:
            return data

    # -- header fields, header CRC recomputed
    def header_field(self, data: bytes) -> bytes:
        c = _container()
        if len(data) < c.HEADER_SIZE:
            return data
        name = self.rng.choice(list(_FIELDS))
        offset, fmt = _FIELDS[name]
        b = bytearray(data)
        if fmt in "df":
            old = struct.unpack_from("<" + fmt, b, offset)[0]
            value = self.rng.choice(
                _SPECIAL_FLOATS + [old * self.rng.choice([-1, 0.5, 2, 10, 1e-3]), old + 1]
            )
            if fmt == "f" and math.isfinite(value) and abs(value) > 3.4e38:
                value = math.inf
            struct.pack_into("<" + fmt, b, offset, value)
        else:
            bits = 8 * struct.calcsize(fmt)
            old = struct.unpack_from("<" + fmt, b, offset)[0]
            value = self.rng.choice(
                _SPECIAL_INTS + [old + 1, old - 1, old * 2, old // 2, self.rng.getrandbits(bits)]
            )
            if name in ("width", "height") and self.rng.random() < 0.7:
                value = self.rng.choice([1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 257, 1000])
            if name == "flags" and self.rng.random() < 0.7:
                value = old ^ 1  # the cut flag
            struct.pack_into("<" + fmt, b, offset, value % (1 << bits))
        return recrc_header(bytes(b))

    def size_field(self, data: bytes) -> bytes:
        c = _container()
        if len(data) < c.HEADER_SIZE:
            return data
        b = bytearray(data)
        value = self.rng.choice([0, len(data) - 1, len(data) + 1, len(data) + 8, 2**32 - 1])
        struct.pack_into("<I", b, _FIELDS["size"][0], max(value, 0) % 2**32)
        return recrc_header(bytes(b))

    def chunk_length_field(self, data: bytes) -> bytes:
        """Alter a chunk's length (type kept; the CRC mostly not recomputed: damage, not
        garbage; else recomputed over the bytes the new length covers)."""
        heads = chunk_heads(data)
        if not heads:
            return data
        pos, kind, length = self.rng.choice(heads)
        b = bytearray(data)
        value = self.rng.choice([0, length - 1, length + 1, length ^ (1 << self.rng.randrange(28))])
        struct.pack_into("<I", b, pos, kind << 28 | (value & MAX_LENGTH))
        if self.rng.random() < 0.25:
            payload = bytes(b[pos + 8 : pos + 8 + (value & MAX_LENGTH)])
            struct.pack_into("<I", b, pos + 4, zlib.crc32(payload, zlib.crc32(b[pos : pos + 4])))
        return bytes(b)

    # -- payload mutations with the chunk CRC recomputed: CRC-valid garbage
    def _payload_op(self, data: bytes, fn) -> bytes:
        fields, chunks, tail = split_stream(data)
        slices = [i for i, (kind, _) in enumerate(chunks) if kind == SLICE_TYPE]
        others = [i for i in range(len(chunks)) if i not in slices]
        pick = others if others and (not slices or self.rng.random() < 0.15) else slices
        if not pick:
            return data
        i = self.rng.choice(pick)
        chunks = list(chunks)
        kind, payload = chunks[i]
        chunks[i] = (kind, fn(payload))
        return join_stream(fields, chunks, tail)

    def payload_bit_flip(self, data: bytes) -> bytes:
        def fn(p):
            if not p:
                return p
            b = bytearray(p)
            for _ in range(self.rng.choice([1, 1, 2, 4])):
                b[self.rng.randrange(len(b))] ^= 1 << self.rng.randrange(8)
            return bytes(b)

        return self._payload_op(data, fn)

    def payload_bytes(self, data: bytes) -> bytes:
        def fn(p):
            if not p:
                return p
            b = bytearray(p)
            at = self.rng.randrange(len(b))
            n = self.rng.choice([1, 2, 4, 8])
            fill = self.rng.choice([b"\0" * n, b"\xff" * n, self.rng.randbytes(n)])
            b[at : at + n] = fill
            return bytes(b)

        return self._payload_op(data, fn)

    def payload_random(self, data: bytes) -> bytes:
        return self._payload_op(
            data, lambda p: self.rng.randbytes(self.rng.choice([len(p), self.rng.randrange(200)]))
        )

    def payload_truncate(self, data: bytes) -> bytes:
        return self._payload_op(data, lambda p: p[: self.rng.randrange(len(p) + 1)])

    def payload_fill(self, data: bytes) -> bytes:
        """A slice of constant bytes (all zeros, all ones, one repeated byte) of a chosen size."""
        sizes = [0, 1, 3, 4, 5, 16, 4096]

        def fn(p):
            byte = self.rng.choice([b"\0", b"\xff", self.rng.randbytes(1)])
            return byte * self.rng.choice(sizes + [len(p), 2 * len(p)])

        return self._payload_op(data, fn)

    def payload_splice(self, data: bytes) -> bytes:
        """A slice made of pieces of other slices (valid range-coder bytes in the wrong place)."""
        chunks = [p for _, p in split_stream(data)[1]]

        def fn(p):
            other = self.rng.choice(chunks)
            cut = self.rng.randrange(len(p) + 1)
            return p[:cut] + other[self.rng.randrange(len(other) + 1) :]

        return self._payload_op(data, fn)


# --------------------------------------------------------------------------------------------
# Running one input


@dataclasses.dataclass
class Outcome:
    kind: str  # "ok", "error" (a SpikeCodecError), or a finding kind
    seconds: float
    peak: int  # tracemalloc peak, bytes (0 when not traced)
    detail: str = ""
    options: dict = dataclasses.field(default_factory=dict)

    @property
    def finding(self) -> bool:
        return self.kind not in ("ok", "error")


class _Timeout(BaseException):
    """Raised by the alarm inside a hung decode (a BaseException: no `except Exception` eats it)."""


def _alarm(signum, frame):
    raise _Timeout()


def decode_options(data: bytes) -> dict:
    """Decoder options derived from the input (so a saved finding replays identically)."""
    h = zlib.crc32(data[-16:]) if data else 0
    options: dict = {"strict": bool(h & 1)}
    if h & 0x30 == 0x30:
        options["until"] = ((h >> 8) % 1000 + 1) / 1000
    if h & 0x40:
        options["with_info"] = True
    if h & 0x180 == 0x180:
        options["auto_orient"] = True  # parses the EXIF chunk
    return options


def _content(stream) -> tuple:
    """What a read stream gives a decoder (all but its header and size)."""
    partial = stream.partial
    return stream.slices, bytes(partial), partial.declared, stream.metadata, stream.damaged


def check_cut(data: bytes, max_pixels: int) -> tuple[str, str] | None:
    """A finding ``(kind, detail)`` if the container reads ``data`` but its cut at a size
    derived from it does not read like ``data`` truncated there (the container's promise)."""
    from spikecodec.errors import SpikeCodecError
    from spikecodec.format import container

    try:
        stream = container.unpack(data, max_pixels)
    except SpikeCodecError:
        return None
    first = stream.first_slice
    if first > len(data):
        return None  # it ends inside its metadata: it cannot be cut
    n = first + (zlib.crc32(data) >> 3) % (len(data) - first + 1)
    try:
        step = f"cut_stream(data, {n}) of a {len(data)}-byte stream that reads"
        short = container.cut_stream(data, n, max_pixels)
        step = f"unpack(data[:{n}]) of a stream that reads"
        want = _content(container.unpack(data[:n], max_pixels))
        step = f"unpack(cut_stream(data, {n})) (a {len(data)}-byte stream that reads)"
        got = _content(container.unpack(short, max_pixels))
    except SpikeCodecError as err:
        return "cut-mismatch", f"cut_stream: {step} raised\n{type(err).__name__}: {err}"
    except Exception:
        return "crash", f"{step}\n{traceback.format_exc()}"
    if got != want:
        names = ("slices", "partial", "declared", "metadata", "damaged")
        diff = [name for name, a, b in zip(names, got, want, strict=True) if a != b]
        return (
            "cut-mismatch",
            f"cut_stream: the cut at {n} reads differently from the stream truncated there\n"
            f"differs in: {', '.join(diff)}\ncut: {got!r}\ntruncated: {want!r}",
        )
    return None


_COUNTER = [0]


def run_one(
    data: bytes,
    *,
    options: dict | None = None,
    max_pixels: int = 1 << 20,
    time_limit: float = 2.0,
    mem_limit: int = 256 << 20,
    trace: bool | int = True,
    hard_timeout: float = 30.0,
    check_cuts: bool | int = False,
) -> Outcome:
    """Decode ``data`` once, classifying the outcome (see the module docstring); with
    ``check_cuts`` (``True``, or ``N``: one input in N, chosen by its CRC) also cut it
    (:func:`check_cut`)."""
    import spikecodec as sc
    from spikecodec.format import container

    options = decode_options(data) if options is None else options
    kind, detail = "ok", ""
    if trace is not True and trace is not False:  # an int N: trace one call in N
        _COUNTER[0] += 1
        trace = bool(trace) and _COUNTER[0] % int(trace) == 1 % int(trace)
    if trace:
        tracemalloc.start()
        tracemalloc.reset_peak()
    old = signal.signal(signal.SIGALRM, _alarm) if hard_timeout else None
    if hard_timeout:
        signal.setitimer(signal.ITIMER_REAL, hard_timeout)
    start = time.perf_counter()
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = sc.decode(data, max_pixels=max_pixels, **options)
        header = container.read_header(data, max_pixels)
        channels = (3 if header.mode == "RGB" else 1) + header.alpha
        colour = (channels,) if channels > 1 else ()
        shapes = {(header.height, header.width) + colour}
        if options.get("auto_orient"):  # orientations 5-8 turn the image a quarter
            shapes.add((header.width, header.height) + colour)
        image, info = result, {}
        if options.get("with_info"):
            image, info = result if isinstance(result, tuple) and len(result) == 2 else (None, 0)
        if (
            not isinstance(image, np.ndarray)
            or image.dtype != (np.uint16 if header.depth == 16 else np.uint8)
            or image.shape not in shapes
        ):
            kind = "wrong-output"
            detail = f"got {type(image).__name__} {getattr(image, 'shape', None)}, want {shapes}"
        elif not isinstance(info, dict) or any(
            key not in ("icc_profile", "exif", "xmp") or not isinstance(value, bytes)
            for key, value in info.items()
        ):
            kind, detail = "wrong-output", f"metadata {info!r}"[:2000]
    except sc.SpikeCodecError as err:
        kind, detail = "error", f"{type(err).__name__}: {err}"
    except _Timeout:
        kind, detail = "hang", f"interrupted after {hard_timeout} s\n{traceback.format_exc()}"
    except Exception:  # IndexError, numpy's ValueError, MemoryError, RecursionError, ...
        kind, detail = "crash", traceback.format_exc()
    finally:
        if hard_timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        seconds = time.perf_counter() - start
        peak = 0
        if trace:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    foreign = [w for w in caught if not issubclass(w.category, sc.SpikeCodecWarning)]
    if kind in ("ok", "error") and foreign:
        w = foreign[0]
        kind = "warning"
        detail = f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})\n{detail}"
    if kind in ("ok", "error") and seconds > time_limit:
        kind, detail = "slow", f"{seconds:.2f} s > {time_limit} s\n{detail}"
    if kind in ("ok", "error") and peak > mem_limit:
        kind, detail = "memory", f"traced peak {peak / 2**20:.1f} MiB\n{detail}"
    if kind in ("ok", "error") and check_cuts:
        every = 1 if check_cuts is True else int(check_cuts)
        if zlib.crc32(data) % every == 0:
            kind, detail = check_cut(data, max_pixels) or (kind, detail)
    return Outcome(kind, seconds, peak, detail, options)


def signature(outcome: Outcome) -> str:
    """A finding's identity: its kind and the innermost frame (file:line) of the traceback (a
    warning: its category and where it was issued; a slow or memory-hungry input: the outcome
    under it; a cut: what differs)."""
    first = outcome.detail.splitlines()[0] if outcome.detail else ""
    if outcome.kind == "warning":
        category, _, rest = first.partition(":")
        return f"warning|{category}|{rest[rest.rfind('(') :]}"
    if outcome.kind in ("slow", "memory"):
        under = outcome.detail.splitlines()[1:2] or ["ok"]
        return f"{outcome.kind}|{under[0].split(':')[0] or 'ok'}|"
    if outcome.kind == "cut-mismatch":
        second = outcome.detail.splitlines()[1][:60]
        return re.sub(r"\d+", "N", f"cut-mismatch|{first}|{second}")
    lines = [ln.strip() for ln in outcome.detail.splitlines() if ln.strip().startswith("File ")]
    where = lines[-1] if lines else outcome.detail.splitlines()[0] if outcome.detail else ""
    last = outcome.detail.strip().splitlines()[-1] if outcome.detail.strip() else ""
    exc = last.split(":")[0]
    return f"{outcome.kind}|{exc}|{where}"


# --------------------------------------------------------------------------------------------
# Campaign statistics and findings


class Stats:
    def __init__(self, findings_dir: Path | None, quiet: bool = False):
        self.start = time.perf_counter()
        self.executions = 0
        self.kinds: dict[str, int] = {}
        self.slowest = (0.0, "", b"")
        self.peak = (0, "", b"")
        self.findings: dict[str, tuple[bytes, Outcome]] = {}
        self.findings_dir = findings_dir
        self.quiet = quiet
        self.last_report = self.start

    def record(self, data: bytes, outcome: Outcome, label: str = "") -> None:
        self.executions += 1
        self.kinds[outcome.kind] = self.kinds.get(outcome.kind, 0) + 1
        if outcome.seconds > self.slowest[0]:
            self.slowest = (outcome.seconds, label, data)
        if outcome.peak > self.peak[0]:
            self.peak = (outcome.peak, label, data)
        if outcome.finding:
            sig = signature(outcome)
            if sig not in self.findings or len(data) < len(self.findings[sig][0]):
                if sig in self.findings:  # a smaller input for it: replaces the saved one
                    self.unsave(*self.findings[sig])
                self.findings[sig] = (data, outcome)
                self.save(data, outcome, label)
                if not self.quiet:
                    print(f"FINDING {outcome.kind} ({label}): {sig}", file=sys.stderr, flush=True)
        now = time.perf_counter()
        if not self.quiet and now - self.last_report > 30:
            self.last_report = now
            print(self.line(), file=sys.stderr, flush=True)

    def _name(self, data: bytes, outcome: Outcome) -> str:
        return f"{outcome.kind}-{hashlib.sha1(data).hexdigest()[:16]}"

    def unsave(self, data: bytes, outcome: Outcome) -> None:
        if self.findings_dir is not None:
            for suffix in (".spk", ".txt"):
                (self.findings_dir / (self._name(data, outcome) + suffix)).unlink(missing_ok=True)

    def save(self, data: bytes, outcome: Outcome, label: str) -> None:
        if self.findings_dir is None:
            return
        self.findings_dir.mkdir(parents=True, exist_ok=True)
        name = self._name(data, outcome)
        (self.findings_dir / f"{name}.spk").write_bytes(data)
        (self.findings_dir / f"{name}.txt").write_text(
            f"kind: {outcome.kind}\nfrom: {label}\noptions: {outcome.options}\n"
            f"seconds: {outcome.seconds:.3f}\ntraced peak: {outcome.peak} bytes\n"
            f"signature: {signature(outcome)}\n\n{outcome.detail}\n"
        )

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        return (
            f"[{elapsed:7.0f} s] {self.executions} execs ({self.executions / elapsed:.1f}/s) "
            f"{self.kinds} findings={len(self.findings)} "
            f"maxrss={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )

    def summary(self) -> str:
        elapsed = time.perf_counter() - self.start
        out = io.StringIO()
        print(f"executions        {self.executions} in {elapsed:.1f} s", file=out)
        print(f"executions/s      {self.executions / max(elapsed, 1e-9):.1f}", file=out)
        print(f"outcomes          {dict(sorted(self.kinds.items()))}", file=out)
        print(f"findings          {len(self.findings)} distinct", file=out)
        for sig, (data, outcome) in self.findings.items():
            print(f"  {sig}  ({len(data)} bytes, options {outcome.options})", file=out)
        sec, label, data = self.slowest
        print(f"slowest input     {sec:.3f} s ({label}, {len(data)} bytes)", file=out)
        peak, label, data = self.peak
        print(f"peak traced mem   {peak / 2**20:.1f} MiB ({label}, {len(data)} bytes)", file=out)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS          {rss:.0f} MiB (process maxrss)", file=out)
        return out.getvalue()


# --------------------------------------------------------------------------------------------
# Engines


def warm_up(seeds: list[tuple[str, bytes]]) -> None:
    """Decode the seeds once, untimed: the first decode loads the compiled kernels (seconds on
    a busy machine), which is not a slow input."""
    import spikecodec as sc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, data in seeds:
            with contextlib.suppress(sc.SpikeCodecError):
                sc.decode(data)


def fuzz_random(
    seeds: list[tuple[str, bytes]],
    *,
    runs: int,
    seconds: float,
    seed: int,
    stats: Stats,
    run_kwargs: dict,
) -> Stats:
    """A seeded mutation loop: mutate a seed (or a recent interesting input) and run it."""
    rng = random.Random(seed)
    mutator = Mutator(rng, [d for _, d in seeds])
    pool = list(seeds)
    warm_up(seeds)
    for name, data in seeds:
        stats.record(data, run_one(data, **run_kwargs), f"seed {name}")
    deadline = time.perf_counter() + seconds if seconds else math.inf
    n = 0
    while (not runs or n < runs) and time.perf_counter() < deadline:
        name, base = rng.choice(pool)
        data = mutator.mutate(base)
        outcome = run_one(data, **run_kwargs)
        stats.record(data, outcome, f"mutant of {name}")
        # Keep a few decodable CRC-valid mutants as bases: multi-step mutations go deeper.
        if outcome.kind == "ok" and len(pool) < 200 and rng.random() < 0.05:
            pool.append((name + "*", data))
        n += 1
    return stats


def fuzz_atheris(
    seeds, *, runs: int, seconds: float, seed: int, stats: Stats, run_kwargs, rss_limit_mb: int
) -> None:
    """Coverage-guided fuzzing with atheris/libFuzzer and the structure-aware mutator.

    Does not return: at the end (``runs`` inputs or ``seconds``) it prints the summary and exits
    the process (libFuzzer would exit from C, skipping Python's exit handlers).
    """
    import tempfile

    import atheris

    if "spikecodec" in sys.modules:
        raise RuntimeError("import spikecodec only under atheris.instrument_imports()")
    with atheris.instrument_imports(include=["spikecodec"]):
        import spikecodec.codec
        import spikecodec.entropy  # noqa: F401

    warm_up(seeds)
    corpus = Path(tempfile.mkdtemp(prefix="spk-corpus-"))
    for name, data in seeds:
        (corpus / f"{name}.spk").write_bytes(data)
    rng = random.Random(seed)
    mutator = Mutator(rng, [d for _, d in seeds])
    deadline = time.perf_counter() + seconds if seconds else math.inf

    def custom_mutator(data: bytes, max_size: int, mseed: int) -> bytes:
        rng.seed(mseed)
        if rng.random() < 0.15:
            out = atheris.Mutate(data, max_size)  # libFuzzer's own byte-level mutations
        else:
            out = mutator.mutate(data)
        return out[:max_size]

    def finish() -> None:
        write_stats(stats)
        print(stats.summary(), flush=True)
        sys.stderr.flush()
        os._exit(1 if stats.findings else 0)

    def test_one_input(data: bytes) -> None:
        outcome = run_one(data, **run_kwargs)
        stats.record(data, outcome, "atheris")
        if stats.executions % 500 == 0:
            write_stats(stats)
        if (runs and stats.executions >= runs) or time.perf_counter() > deadline:
            finish()

    argv = [sys.argv[0], str(corpus), f"-seed={seed or 1}", "-max_len=200000"]
    argv += [f"-rss_limit_mb={rss_limit_mb}", "-timeout=60", "-reload=0"]
    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()
    finish()


def write_stats(stats: Stats) -> None:
    if stats.findings_dir is not None:
        stats.findings_dir.mkdir(parents=True, exist_ok=True)
        (stats.findings_dir / "last-run.txt").write_text(stats.summary())


# --------------------------------------------------------------------------------------------
# Minimizing a finding


def minimize(data: bytes, keep, budget: int = 2000) -> bytes:
    """A smaller input for which ``keep(input)`` still holds (greedy, structure-aware)."""
    tries = 0

    def attempt(candidate: bytes) -> bool:
        nonlocal tries
        tries += 1
        return candidate != data and keep(candidate)

    changed = True
    while changed and tries < budget:
        changed = False
        fields, chunks, tail = split_stream(data)
        # Drop trailing chunks, keeping CRCs valid.
        for cut in range(len(chunks)):
            cand = join_stream(fields, chunks[:cut], tail)
            if attempt(cand):
                data, changed = cand, True
                break
        if changed:
            continue
        # Truncate the raw stream.
        for cut in (len(data) // 2, len(data) * 3 // 4, len(data) - 16, len(data) - 4):
            if 0 < cut < len(data) and attempt(data[:cut]):
                data, changed = data[:cut], True
                break
        if changed:
            continue
        # Drop each chunk (metadata, ancillary), keeping CRCs valid.
        for i in range(len(chunks)):
            cand = join_stream(fields, chunks[:i] + chunks[i + 1 :], tail)
            if attempt(cand):
                data, changed = cand, True
                break
        if changed:
            continue
        # Shorten each chunk, keeping its CRC valid.
        for i, (kind, payload) in enumerate(chunks):
            for cut in (0, len(payload) // 2):
                shorter = (kind, payload[:cut])
                cand = join_stream(fields, chunks[:i] + [shorter] + chunks[i + 1 :], tail)
                if cut < len(payload) and attempt(cand):
                    data, changed = cand, True
                    break
            if changed:
                break
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=0, help="mutations to run (0: no limit)")
    parser.add_argument("--seconds", type=float, default=0, help="wall time limit (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=("auto", "atheris", "random"), default="auto")
    parser.add_argument("--max-pixels", type=int, default=1 << 20, help="decode(max_pixels=)")
    parser.add_argument("--time-limit", type=float, default=2.0, help="slow input, seconds")
    parser.add_argument("--mem-limit-mb", type=float, default=256, help="traced peak per input")
    parser.add_argument("--rss-limit-mb", type=int, default=3072, help="address-space cap")
    parser.add_argument(
        "--trace-every",
        type=int,
        default=10,
        help="tracemalloc peak of 1 input in N (tracing slows decoding and grows RSS; 0: never)",
    )
    parser.add_argument(
        "--check-cuts",
        type=int,
        default=1,
        help="cut 1 input in N that the container reads and compare (cut_stream; 0: never)",
    )
    parser.add_argument("--findings", type=Path, default=FINDINGS)
    parser.add_argument("--reproduce", type=Path, help="run one saved input and print outcome")
    parser.add_argument("--minimize", type=Path, help="shrink a saved finding")
    args = parser.parse_args(argv)

    with contextlib.suppress(ValueError, OSError):
        limit = args.rss_limit_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    run_kwargs = dict(
        max_pixels=args.max_pixels,
        time_limit=args.time_limit,
        mem_limit=int(args.mem_limit_mb * 2**20),
        trace=args.trace_every,
        check_cuts=args.check_cuts,
    )
    if args.reproduce or args.minimize:
        path = args.reproduce or args.minimize
        data = path.read_bytes()
        outcome = run_one(data, **run_kwargs)
        print(f"{path}: {outcome.kind} in {outcome.seconds:.3f} s, options {outcome.options}")
        print(outcome.detail)
        if args.minimize and outcome.finding:
            sig = signature(outcome)
            small = minimize(data, lambda d: signature(run_one(d, **run_kwargs)) == sig)
            out = path.with_suffix(".min.spk")
            out.write_bytes(small)
            print(f"minimized {len(data)} -> {len(small)} bytes: {out}")
            print(f"repro: spikecodec.decode(bytes.fromhex('{small.hex()}'), **{outcome.options})")
        return 1 if outcome.finding else 0

    t = time.perf_counter()
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "random"
    if engine == "atheris":  # encode the seeds in a child: spikecodec must be imported instrumented
        import pickle
        import subprocess

        code = f"import pickle,sys; sys.path.insert(0, {str(HERE)!r}); import fuzz_decode as f; "
        code += "sys.stdout.buffer.write(pickle.dumps(f.make_seeds()))"
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
        seeds = pickle.loads(child.stdout)
    else:
        seeds = make_seeds()
    print(f"{len(seeds)} seeds encoded in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    stats = Stats(args.findings)
    print(f"engine: {engine}", file=sys.stderr)
    if engine == "atheris":
        fuzz_atheris(
            seeds,
            runs=args.runs,
            seconds=args.seconds,
            seed=args.seed,
            stats=stats,
            run_kwargs=run_kwargs,
            rss_limit_mb=args.rss_limit_mb,
        )  # does not return
    fuzz_random(
        seeds,
        runs=args.runs,
        seconds=args.seconds,
        seed=args.seed,
        stats=stats,
        run_kwargs=run_kwargs,
    )
    write_stats(stats)
    print(stats.summary())
    return 1 if stats.findings else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
