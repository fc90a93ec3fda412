"""The format's test vectors (tests/vectors/, made by tests/vectors/generate.py) and the
specification (docs/FORMAT.md) against the code.

Each vector decodes to the counts (exactly: entropy decoding is integer) and the image recorded
in vectors.json, also up to the instants ``until=0.5`` and ``0.75``; re-encoding its source
image with its parameters gives the same bytes (the encoder is deterministic); and the
constants and tables that FORMAT.md states can be read off mechanically agree with the code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import struct
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import spikecodec
from spikecodec import tables
from spikecodec.data import load_sample
from spikecodec.entropy import contexts, rangecoder, slices
from spikecodec.format import container
from spikecodec.tables import ZIGZAG, table_weights
from spikecodec.transform import colour, lapped

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
SPEC = ROOT / "docs" / "FORMAT.md"
INDEX = json.loads((VECTORS / "vectors.json").read_text())
ENTRIES = INDEX["vectors"]
IDS = [entry["file"] for entry in ENTRIES]
BYTES_PARAMS = ("icc_profile", "exif", "xmp")

pytestmark = pytest.mark.filterwarnings("error")  # the vectors are whole, undamaged streams


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def data_of(entry) -> bytes:
    return (VECTORS / entry["file"]).read_bytes()


def assert_counts(states, expected) -> None:
    assert len(states) == len(expected)
    for c, (st, want) in enumerate(zip(states, expected, strict=True)):
        assert list(st.prefix.shape) == want["shape"], c
        counts = np.ascontiguousarray(st.counts(), "<i8").tobytes()
        assert sha256(counts) == want["counts_sha256"], f"plane {c}: counts"
        assert sha256(np.ascontiguousarray(st.level, np.int8).tobytes()) == want["level_sha256"], (
            f"plane {c}: levels"
        )


def assert_image(image, expected) -> None:
    assert list(image.shape) == expected["shape"]
    assert str(image.dtype) == expected["dtype"]
    assert sha256(np.ascontiguousarray(image).tobytes()) == expected["sha256"]


# --------------------------------------------------------------------------------------------
# The vectors


def test_the_index_lists_every_file_and_the_format_version():
    assert INDEX["format_version"] == container.FORMAT_VERSION
    assert sorted(IDS) == sorted(p.name for p in VECTORS.glob("*.spk"))
    assert sum(entry["size"] for entry in ENTRIES) < 20480  # a few KB in all


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_file_and_its_header(entry):
    data = data_of(entry)
    assert len(data) == entry["size"]
    assert sha256(data) == entry["sha256"]
    assert dataclasses.asdict(container.read_header(data)) == entry["header"]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_chunks_are_in_the_documented_order(entry):
    """FORMAT.md section 3, read off the tags: the header, a lossless or 16-bit stream's
    SAMPLES chunk (10 bytes, 11 with a colour byte), a STRIPES chunk (11 bytes) where there
    are sub-streams, an ALPHA chunk, the metadata chunks (each
    at most once), then only slices, at most S; a cut vector ends inside a slice or a slice's
    head."""
    data = data_of(entry)
    kinds, pos = [], container.HEADER_SIZE
    while pos + 8 <= len(data) and any(data[pos : pos + 8]):
        (tag,) = struct.unpack_from("<I", data, pos)
        kinds.append(tag >> 28)
        pos += 8 + (tag & 0x0FFFFFFF)
    samples = kinds[:1] == [3]
    reversible = entry["header"]["transform"] > 0
    assert reversible == ("lossless" in entry["encode"])
    assert samples == (reversible or entry["header"]["depth"] == 16)
    kinds = kinds[samples:]
    stripes = kinds[:1] == [5]
    header = entry["header"]
    assert stripes == (header["stripes"] > 1 or header["split"])
    assert header["stripes"] == entry["encode"].get("stripes", 1)
    assert header["split"] == entry["encode"].get("split_chroma", False)
    kinds = kinds[stripes:]
    alpha = kinds[:1] == [4]
    assert alpha == entry["header"]["alpha"] == ("alpha" in entry["source"])
    kinds = kinds[alpha:]
    metadata = [kind for kind in kinds if kind != 2]
    assert kinds == metadata + [2] * (len(kinds) - len(metadata))
    assert set(metadata) <= {8, 9, 10} and len(set(metadata)) == len(metadata)
    assert len(metadata) == len(entry["metadata"]) and kinds.count(2) <= data[64]
    stream = container.unpack(data)
    alpha_bytes = 8 + len(stream.alpha.payload(entry["header"]["depth"])) if alpha else 0
    samples_bytes = (10 + (entry["header"]["transform"] == 2)) * samples
    before = container.HEADER_SIZE + samples_bytes + 11 * stripes + alpha_bytes
    assert stream.first_slice == before + sum(
        8 + len(bytes.fromhex(value)) for value in entry["metadata"].values()
    )
    assert (pos == len(data)) == (entry["truncate"] is None)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "alpha" in e], ids=lambda e: e["file"])
def test_the_alpha_plane(entry):
    """FORMAT.md 5.4: the level table, the inner stream, and the plane decoded: the source's
    alpha, exactly when lossless, at every instant."""
    alpha = container.unpack(data_of(entry)).alpha
    assert list(alpha.levels) == entry["alpha"]["levels"]
    assert sha256(alpha.stream) == entry["alpha"]["stream_sha256"]
    assert dataclasses.asdict(container.read_header(alpha.stream)) == entry["alpha"]["header"]
    source = source_image(entry["source"])[:, :, -1]
    for until in (None, 0.5):
        plane = spikecodec.decode(data_of(entry), until=until, strict=True)[:, :, -1]
        if "alpha_quality" in entry["encode"]:
            assert spikecodec.metrics.psnr(source, plane) > 30
        else:
            assert np.array_equal(plane, source)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_counts_are_exact(entry):
    _, states = spikecodec.decode_counts(data_of(entry), strict=True)
    assert_counts(states, entry["decoded"]["counts"])


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_image_and_metadata(entry):
    image, info = spikecodec.decode(data_of(entry), with_info=True, strict=True)
    assert_image(image, entry["decoded"]["image"])
    assert {key: value.hex() for key, value in info.items()} == entry["metadata"]


@pytest.mark.parametrize("until", ["0.5", "0.75"])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_decoding_until_an_instant(entry, until):
    data, expected = data_of(entry), entry["until"][until]
    _, states = spikecodec.decode_counts(data, until=float(until), strict=True)
    assert_counts(states, expected["counts"])
    assert_image(spikecodec.decode(data, until=float(until), strict=True), expected["image"])


def source_image(source) -> np.ndarray:
    rows, cols = source["rows"], source["cols"]
    image = load_sample(source["sample"])[rows[0] : rows[1], cols[0] : cols[1]]
    if source["gray"] and source["gray"] != "rgb16":
        image = np.asarray(Image.fromarray(image).convert("L"))
    if source["gray"] in ("gray16", "rgb16"):  # FORMAT.md 17.2: x * 256 + 37 i mod 256
        low = np.arange(image.size).reshape(image.shape) * 37 % 256
        image = (image.astype(np.uint16) * 256 + low).astype(np.uint16)
    if "alpha" not in source:
        return image
    r, c = np.indices(image.shape[:2])
    if source["alpha"] == "mask":  # 255 where r + c < 40, else 128 where r < c, else 0
        alpha = np.where(r + c < 40, 255, np.where(r < c, 128, 0))
    else:  # "ramp": (8r + 3c) mod 256
        alpha = (8 * r + 3 * c) % 256
    return np.dstack([image, alpha.astype(np.uint8)])


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if not e.get("frozen")], ids=lambda e: e["file"]
)
def test_reencoding_the_source_gives_the_same_bytes(entry):
    params = {
        key: bytes.fromhex(value) if key in BYTES_PARAMS else value
        for key, value in entry["encode"].items()
    }
    data = spikecodec.encode(source_image(entry["source"]), **params)
    if entry["truncate"] is not None:
        data = spikecodec.truncate(data, entry["truncate"])
    assert data == data_of(entry)


# --------------------------------------------------------------------------------------------
# FORMAT.md against the code

TEXT = SPEC.read_text()


def spec_array(name: str) -> list[str]:
    """The whitespace-separated items of the code block after ``<!-- array: name -->``."""
    match = re.search(rf"<!-- array: {name} -->\s*```[^\n]*\n(.*?)```", TEXT, re.S)
    assert match, f"no array {name} in FORMAT.md"
    return match.group(1).split()


def spec_table(name: str) -> list[list[str]]:
    """The body rows of the markdown table after ``<!-- table: name -->``, cells stripped of
    backquotes."""
    match = re.search(rf"<!-- table: {name} -->\s*\n((?:\|.*\n)+)", TEXT)
    assert match, f"no table {name} in FORMAT.md"
    rows = [line.strip().strip("|").split("|") for line in match.group(1).splitlines()]
    return [[cell.strip().replace("`", "") for cell in row] for row in rows[2:]]


def ints(name: str) -> list[int]:
    return [int(x) for x in spec_array(name)]


def test_spec_model_table_is_the_code_models():
    rows = spec_table("models")
    assert [row[0] for row in rows] == list(contexts.MODELS)
    for name, dims, size, offset in rows:
        stated = re.findall(r"(\w+) \((\d+)\)", dims)
        assert [(d, int(s)) for d, s in stated] == list(contexts._DIMENSIONS[name]), name
        assert int(size) == contexts.MODELS[name].size, name
        assert int(offset) == contexts.MODELS[name].offset, name
    assert sum(int(row[2]) for row in rows) == contexts.CONTEXTS


def resolve(dotted: str):
    module, _, attribute = dotted.rpartition(".")
    return getattr(import_module(module), attribute)


def test_spec_constants_are_the_code_constants():
    rows = spec_table("constants")
    assert len(rows) >= 15
    for name, value, code in rows:
        assert float(value) == float(resolve(code)), f"{name}: {value} vs {code}"


def test_spec_tables_are_the_code_tables():
    assert ints("ZIGZAG") == ZIGZAG.tolist()
    assert ints("BAND") == contexts.BAND.tolist()
    assert ints("COARSE_BAND") == contexts.COARSE_BAND.tolist()
    assert ints("EOB_DISTANCE") == contexts.EOB_DISTANCE.tolist()
    assert ints("BITLEN") == contexts.BITLEN.tolist()
    assert ints("DC_SIGNIFICANCE_SPLITS") == contexts.DC_SIGNIFICANCE_SPLITS.tolist()
    assert ints("DC_REFINEMENT_SPLITS") == contexts.DC_REFINEMENT_SPLITS.tolist()
    assert ints("RECIP") == rangecoder._RECIPROCAL.tolist()
    assert spec_array("STEPS") == list(slices.STEPS)
    assert ints("JPEG_LUMA") == tables._JPEG_LUMA.astype(int).ravel().tolist()
    assert ints("JPEG_CHROMA") == tables._JPEG_CHROMA.astype(int).ravel().tolist()
    v_gain = np.array([float(x) for x in spec_array("V_GAIN")]).reshape(4, 4)
    assert np.array_equal(v_gain, lapped.V_GAIN)
    assert np.array_equal(np.eye(4) + 0.7 * (v_gain - np.eye(4)), lapped.V)
    taps = [float(x) for x in spec_array("CATMULL_ROM_EVEN")]
    assert taps == colour._EVEN.tolist() and taps[::-1] == colour._ODD.tolist()
    assert taps == [t / 128 for t in (-3, 29, 111, -9, 0)]


def test_spec_frequency_masks_and_edge_mask():
    # FMASK as section 9.3 defines it
    position = np.argsort(ZIGZAG)
    for k, r in enumerate(ZIGZAG):
        u, v = divmod(int(r), 8)
        near = [(u - 1, v), (u + 1, v), (u, v - 1), (u, v + 1)]
        bits = [int(position[a * 8 + b]) for a, b in near if 0 <= a < 8 and 0 <= b < 8]
        assert contexts.FREQUENCY_MASK[k] == contexts.bit_mask(bits), k


def test_spec_wavelet_geometry():
    # WBAND, WCOARSE and WMASK as section 9.4 defines them, from a block's Mallat layout
    assert ints("WAVELET_BAND") == contexts.WAVELET_BAND.tolist()
    assert ints("WAVELET_COARSE_BAND") == contexts.WAVELET_COARSE_BAND.tolist()
    position = np.argsort(ZIGZAG)

    def place(row, column):  # level (1 finest, 0 the low band), orientation, row and column
        if row == column == 0:
            return 0, 0, 0, 0
        n = next(n for n in (1, 2, 4) if max(row, column) < 2 * n)
        return {1: 3, 2: 2, 4: 1}[n], (row >= n) + (row >= n and column >= n), row % n, column % n

    def raster(level, orientation, u, v):
        n = 8 >> level
        return 0 if level == 4 else (u + n * (orientation > 0)) * 8 + v + n * (orientation != 1)

    for k, r in enumerate(ZIGZAG):
        level, o, u, v = place(*divmod(int(r), 8))
        if level == 0:
            continue
        n = 8 >> level
        assert contexts.WAVELET_BAND[k] == ([1, 1, 2][o] if level == 3 else 9 - 3 * level + o)
        assert contexts.WAVELET_COARSE_BAND[k] == 3 - level
        near = [
            raster(level, o, u + a, v + b)
            for a, b in ((-1, 0), (1, 0), (0, -1), (0, 1))
            if 0 <= u + a < n and 0 <= v + b < n
        ]
        near.append(raster(level + 1, o, u // 2, v // 2))
        if level > 1:
            near += [raster(level - 1, o, 2 * u + a, 2 * v + b) for a in (0, 1) for b in (0, 1)]
        assert contexts.WAVELET_MASK[k] == contexts.bit_mask(position[near]), k


@pytest.mark.parametrize(
    "column, table, chroma",
    [(3, "flat", False), (3, "flat", True), (4, "jpeg", False), (5, "jpeg", True)]
    + [(6, "mild", False), (7, "mild", True)],
)
def test_spec_edge_weights_are_the_code_ones(column, table, chroma):
    rows = spec_table("edge_weights")
    expected = np.zeros((64, 4), np.int64)
    for row in rows:
        k, u, v, value = int(row[0]), int(row[1]), int(row[2]), int(row[column])
        assert divmod(int(ZIGZAG[k]), 8) == (u, v)
        if u == 0:
            expected[k, 0], expected[k, 1] = value, (-1) ** v * value
        if v == 0:
            expected[k, 2], expected[k, 3] = value, (-1) ** u * value
    # as the codec builds them: from a plane's band thresholds (any theta, any chroma factor)
    for scale in (1.0, 3.7e-3, 1234.5678):
        edges = contexts.edge_weights(tuple(table_weights(table, chroma) * scale))
        assert np.array_equal(edges, expected)
    mask = contexts.bit_mask(int(row[0]) for row in rows if int(row[0]))
    assert mask == contexts.bit_mask(np.flatnonzero(np.any(expected[1:] != 0, axis=1)) + 1)


def test_spec_header_offsets_read_the_header():
    """Section 4's table: every field at its stated offset, of its type and size, in each
    vector."""
    rows = [row for row in spec_table("header") if row[1] != "—"]
    assert sum(int(row[2]) for row in rows) == 57
    formats = {"u8": "B", "u32": "I", "f64": "d", "f32": "f"}
    modes = {("L", "4:2:0"): 0, ("RGB", "4:2:0"): 1, ("RGB", "4:4:4"): 2}
    for entry in ENTRIES:
        data = data_of(entry)
        header = container.read_header(data)
        read = {}
        for stream_offset, payload_offset, size, kind, name, _ in rows:
            assert int(stream_offset) == 12 + int(payload_offset), name
            assert struct.calcsize("<" + formats[kind]) == int(size), name
            read[name] = struct.unpack_from("<" + formats[kind], data, int(stream_offset))[0]
        expected = {
            "version": container.FORMAT_VERSION,
            "flags": int(header.cut),
            "mode": modes[header.mode, header.subsampling],
            "size": len(data),
        }
        expected |= {name: getattr(header, name) for name in read if name not in expected}
        assert read == expected, entry["file"]
    assert struct.unpack_from("<I", data, 4)[0] == 0x10000039


def test_spec_lists_the_vectors():
    rows = spec_table("vectors")
    assert sorted(row[0] for row in rows) == sorted(IDS)
